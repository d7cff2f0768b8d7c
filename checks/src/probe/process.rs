//! A step binary as a child process: its output read in the background, waited for with a
//! deadline, stopped the way a user stops a container.

use super::trouble::learner_trouble;
use super::Finished;
use crate::verdict::Outcome;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

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
        let status = wait_until(&mut self.child, Instant::now() + limit);
        let (stdout, stderr) = self.output();
        match status {
            Some(status) => learner_trouble(Finished {
                status,
                stdout,
                stderr,
            }),
            None => Err(hang(doing, limit, &stdout, &stderr)),
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

/// Waits for `child` until `deadline`; kills it then. `None` means it had to be killed.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<i32> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(code(status)),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
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
