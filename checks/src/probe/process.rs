//! A step binary as a child process: its output read in the background, waited for with a
//! deadline, stopped the way a user stops a container.

use super::clock::LearnerClock;
use super::trouble::learner_trouble;
use super::Finished;
use crate::verdict::Outcome;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::os::fd::AsFd;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// A step binary and the thread reading its stdout and stderr; killed (and reaped) when
/// dropped while it still runs.
pub(super) struct Process {
    child: Child,
    /// Boxed: a `Starting` (which holds this) is passed around by value.
    output: Option<Box<Output>>,
}

impl Process {
    pub(super) fn new(mut child: Child) -> Process {
        let output = collect(&mut child);
        Process {
            child,
            output: Some(output),
        }
    }

    /// Its PID.
    pub(super) fn id(&self) -> i32 {
        self.child.id() as i32
    }

    /// Whether it has ended.
    pub(super) fn has_ended(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGTERM, as a user stops a container (the runtime cleans up, then exits).
    pub(super) fn terminate(&self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
    }

    /// SIGKILL, and reaped: no cleanup runs.
    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for its end within `limit` (killing it then) and reads what it said; learner
    /// trouble (a TODO, a panic, a failing hook) is an outcome, and so is a hang while
    /// `doing`.
    pub(super) fn finish(&mut self, limit: Duration, doing: &str) -> Result<Finished, Outcome> {
        let mut clock = LearnerClock::start(self.id());
        let status = wait_until(&mut self.child, &mut clock, limit);
        let (stdout, stderr) = self.output();
        match status {
            Waited::Ended(status) => learner_trouble(Finished {
                status,
                stdout,
                stderr,
            }),
            Waited::Hung => Err(hang(doing, limit, &stdout, &stderr)),
            Waited::Busy => Err(busy(doing, &clock)),
        }
    }

    /// Its stdout and stderr, once it has ended (or been killed): all it wrote, even when a
    /// process it started (a daemon) still holds the pipes, which is then said at the end of
    /// the stderr text ([`HELD_OPEN`]) rather than waited for.
    pub(super) fn output(&mut self) -> (String, String) {
        match self.output.take() {
            Some(output) => output.finish(),
            None => Default::default(),
        }
    }
}

/// Said after a step binary's stderr when, once it had ended, something else still held its
/// output open.
pub const HELD_OPEN: &str = "netlab-check: a process your code started still holds the step \
     binary's output (a daemon?): what it printed after the step binary ended is not shown";
/// How long, once the step binary has ended, its output may take to reach its end (others
/// holding the pipe, such as a container process being killed with it, to let go).
const GRACE: Duration = Duration::from_secs(1);
/// The most read from a pipe after [`GRACE`] (a daemon that writes without end).
const AFTER_GRACE: usize = 1 << 20;

/// A step binary's stdout and stderr, read in the background.
struct Output {
    stdout: Pipe,
    stderr: Pipe,
}

impl Output {
    /// Waits (up to [`GRACE`]) for both pipes to reach their end, then takes what they held.
    fn finish(self) -> (String, String) {
        let until = Instant::now() + GRACE;
        while !(self.stdout.ended() && self.stderr.ended()) && Instant::now() < until {
            thread::sleep(Duration::from_millis(5));
        }
        let (stdout, out_ended) = self.stdout.finish();
        let (mut stderr, err_ended) = self.stderr.finish();
        if !(out_ended && err_ended) {
            if !stderr.is_empty() && !stderr.ends_with('\n') {
                stderr.push('\n');
            }
            stderr.push_str(HELD_OPEN);
            stderr.push('\n');
        }
        (stdout, stderr)
    }
}

/// One pipe, read by a thread of its own into `text` until its end, or, once told to stop,
/// until nothing more is there to read at once.
struct Pipe {
    text: Arc<Mutex<Vec<u8>>>,
    ended: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Pipe {
    fn new(stream: Option<impl Read + AsFd + Send + 'static>) -> Pipe {
        let text = Arc::new(Mutex::new(Vec::new()));
        let ended = Arc::new(AtomicBool::new(stream.is_none()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = stream.map(|stream| {
            let (text, ended, stop) = (text.clone(), ended.clone(), stop.clone());
            thread::spawn(move || read_pipe(stream, &text, &ended, &stop))
        });
        Pipe {
            text,
            ended,
            stop,
            reader,
        }
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// What it read, and whether that is all there will ever be.
    fn finish(mut self) -> (String, bool) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        (String::from_utf8_lossy(&text).into_owned(), self.ended())
    }
}

/// Reads `stream` into `text` to its end (setting `ended`), or, once `stop` is set, until
/// nothing is left to read at once: what a process wrote before it ended is in the pipe, so
/// none of it is lost however late this thread runs.
fn read_pipe(
    mut stream: impl Read + AsFd,
    text: &Mutex<Vec<u8>>,
    ended: &AtomicBool,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 8192];
    let mut after_stop = 0usize;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let wait = if stopping {
            PollTimeout::ZERO
        } else {
            PollTimeout::from(50u16)
        };
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, wait) {
            Ok(0) if stopping => return,
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                ended.store(true, Ordering::SeqCst);
                return;
            }
            Ok(n) => {
                text.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&buf[..n]);
                if stopping {
                    after_stop += n;
                    if after_stop > AFTER_GRACE {
                        return;
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Reads a child's stdout and stderr in the background.
fn collect(child: &mut Child) -> Box<Output> {
    Box::new(Output {
        stdout: Pipe::new(child.stdout.take()),
        stderr: Pipe::new(child.stderr.take()),
    })
}

/// An exit status as a number: 128 + the signal when killed.
fn code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// How a wait ended.
enum Waited {
    /// The process ended, with this status.
    Ended(i32),
    /// The learner's time reached the limit: killed.
    Hung,
    /// The machine was too busy to tell (see [`LearnerClock::machine_over`]): killed.
    Busy,
}

/// Waits for `child` until the learner's time reaches `limit`; kills it then.
fn wait_until(child: &mut Child, clock: &mut LearnerClock, limit: Duration) -> Waited {
    loop {
        let waited = match child.try_wait() {
            Ok(Some(status)) => return Waited::Ended(code(status)),
            Ok(None) if clock.learner_over(limit) => Waited::Hung,
            Ok(None) if clock.machine_over(limit) => Waited::Busy,
            Ok(None) => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => Waited::Hung,
        };
        let _ = child.kill();
        let _ = child.wait();
        return waited;
    }
}

/// The machine, not the learner, took too long while `doing`: the clock says how much of it
/// was the learner's.
pub(super) fn busy(doing: &str, clock: &LearnerClock) -> Outcome {
    Outcome::LabError {
        message: format!(
            "this machine is too busy to judge: while {doing}, {:.1} s went by, of which your \
             code waited or ran for only {:.1} s (the rest it waited for a CPU or for the \
             kernel, which other work held). Nothing was judged: run the check again when the \
             machine is quieter",
            clock.wall().as_secs_f64(),
            clock.spent_so_far().as_secs_f64()
        ),
    }
}

/// A learner's hang while `doing`, with what the step binary printed.
pub(super) fn hang(doing: &str, limit: Duration, stdout: &str, stderr: &str) -> Outcome {
    let said = format!("{stdout}{stderr}");
    Outcome::TimedOut {
        seconds: limit.as_secs(),
        doing: if said.trim().is_empty() {
            doing.to_string()
        } else {
            format!("{doing}; it printed:\n{}", said.trim_end())
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_daemon_holding_the_output_does_not_hold_the_end() {
        // sh says something, starts a background `sleep` that inherits both pipes, and exits.
        let child = Command::new("sh")
            .args(["-c", "echo before; sleep 600 & echo $! >&2; exit 3"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting sh");
        let mut process = Process::new(child);
        // A generous bound, not a timing: sh exits at once.
        let mut clock = LearnerClock::start(process.id());
        let status = match wait_until(&mut process.child, &mut clock, Duration::from_secs(120)) {
            Waited::Ended(status) => Some(status),
            Waited::Hung | Waited::Busy => None,
        };
        let (stdout, stderr) = process.output();
        let daemon = stderr
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok());
        if let Some(pid) = daemon {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        assert_eq!(status, Some(3), "judged by its exit: {stderr}");
        assert_eq!(stdout, "before\n", "all it wrote before it ended");
        assert!(daemon.is_some(), "{stderr}");
        assert!(stderr.ends_with(&format!("{HELD_OPEN}\n")), "{stderr}");
    }

    #[test]
    fn output_that_ends_with_the_process_says_nothing_more() {
        let child = Command::new("sh")
            .args(["-c", "echo out; echo err >&2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting sh");
        let mut process = Process::new(child);
        let mut clock = LearnerClock::start(process.id());
        let status = match wait_until(&mut process.child, &mut clock, Duration::from_secs(120)) {
            Waited::Ended(status) => Some(status),
            Waited::Hung | Waited::Busy => None,
        };
        assert_eq!(status, Some(0));
        assert_eq!(process.output(), ("out\n".to_string(), "err\n".to_string()));
    }
}
