//! A step binary as a child process: its output read in the background, waited for with a
//! deadline, stopped the way a user stops a container.

use super::clock::LearnerClock;
use super::trouble::learner_trouble;
use super::Finished;
use crate::verdict::Outcome;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::process::Child;
use std::thread;
use std::time::Duration;

/// A step binary and the thread reading its stdout and stderr; killed (and reaped) when
/// dropped while it still runs.
pub(super) struct Process {
    child: Child,
    output: Option<thread::JoinHandle<(String, String)>>,
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

    /// Its stdout and stderr, once it has ended (or been killed).
    pub(super) fn output(&mut self) -> (String, String) {
        self.output
            .take()
            .and_then(|output| output.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

/// Reads a child's stdout and stderr to their ends, in the background.
fn collect(child: &mut Child) -> thread::JoinHandle<(String, String)> {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    thread::spawn(move || {
        let err_reader = thread::spawn(move || {
            let mut text = String::new();
            if let Some(stream) = stderr.as_mut() {
                let _ = stream.read_to_string(&mut text);
            }
            text
        });
        let mut out = String::new();
        if let Some(stream) = stdout.as_mut() {
            let _ = stream.read_to_string(&mut out);
        }
        (out, err_reader.join().unwrap_or_default())
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
