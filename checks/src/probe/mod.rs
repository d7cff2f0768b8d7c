//! What a check function can do inside its lab: start the step binary's containers, look at
//! them from outside (their namespaces) and from inside (busybox), and look at the lab host.

mod clock;
mod process;
mod trouble;

pub use clock::StartClock;
pub use trouble::learner_trouble;

use crate::verdict::Outcome;
use anyhow::{Context, Result};
use container::protocol::layout;
use lab::netcmd;
use lab::Lab;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use process::{hang, Process};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// How long a container may take to start (learner hooks included).
pub const START_LIMIT: Duration = Duration::from_secs(8);
/// How long a container may take to stop (the learner's cleanup included).
pub const STOP_LIMIT: Duration = Duration::from_secs(8);

/// The check's window on its lab.
pub struct Probe<'a> {
    pub lab: &'a Lab,
    /// The step binary under test.
    pub binary: PathBuf,
    /// The containers [`Probe::kept`] started (or why they could not), for the other checks
    /// of the same lab. None until a check asks for them.
    pub kept: Mutex<Option<Result<Vec<Running>, Outcome>>>,
}

/// The containers the checks of one lab share ([`Probe::kept`]), borrowed by one check at a
/// time. A check that changes them (stops one) changes them for the checks after it.
pub struct Kept<'a>(MutexGuard<'a, Option<Result<Vec<Running>, Outcome>>>);

impl Deref for Kept<'_> {
    type Target = Vec<Running>;
    fn deref(&self) -> &Vec<Running> {
        match &*self.0 {
            Some(Ok(running)) => running,
            // A Kept is made only once the containers have started.
            _ => unreachable!("Kept without running containers"),
        }
    }
}

impl DerefMut for Kept<'_> {
    fn deref_mut(&mut self) -> &mut Vec<Running> {
        match &mut *self.0 {
            Some(Ok(running)) => running,
            _ => unreachable!("Kept without running containers"),
        }
    }
}

/// A step binary that has ended.
#[derive(Debug)]
pub struct Finished {
    /// Exit status (128 + signal when killed).
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Both streams, for "observed" texts.
    pub fn output(&self) -> String {
        let mut text = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&self.stderr);
        }
        text.trim_end().to_string()
    }
}

/// A step binary started without waiting for its container: to start several at once, or to
/// see that it waits (for a lock).
pub struct Starting {
    process: Process,
    pid_file: PathBuf,
    pub name: String,
}

/// A running container.
pub struct Running {
    process: Process,
    /// The container's first process, as the lab host sees it.
    pub pid: i32,
    pub name: String,
}

impl Probe<'_> {
    /// Starts the step binary: `run --name NAME OPTIONS -- ARGS`, its output read in the
    /// background.
    pub fn spawn(&self, name: &str, options: &[&str], args: &[&str]) -> Result<Starting, Outcome> {
        let child = self
            .lab
            .step_command(&self.binary)
            .args(["run", "--name", name])
            .args(options)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the step binary")?;
        Ok(Starting {
            process: Process::new(child),
            pid_file: layout::pid_file(&self.lab.paths().state, name),
            name: name.to_string(),
        })
    }

    /// Runs a container with `args` as its command, to its end.
    pub fn run(&self, name: &str, args: &[&str]) -> Result<Finished, Outcome> {
        self.run_with(name, &[], args)
    }

    /// [`Probe::run`] with options of `run` before the command (`-p 8080:80`).
    pub fn run_with(
        &self,
        name: &str,
        options: &[&str],
        args: &[&str],
    ) -> Result<Finished, Outcome> {
        self.spawn(name, options, args)?
            .process
            .finish(START_LIMIT + STOP_LIMIT, "running a container")
    }

    /// A probe of `lab` for `binary`, with no container kept.
    pub fn new<'a>(lab: &'a Lab, binary: PathBuf) -> Probe<'a> {
        Probe {
            lab,
            binary,
            kept: Mutex::new(None),
        }
    }

    /// The containers `names`, each running `args`, started one after the other by the first
    /// check that asks and kept running for the checks of its lab that only look at them (a
    /// set's `TOGETHER`): they are stopped once all of those have run. When they could not all
    /// start, each of those checks gets that same failure (a lab they would all have found
    /// clean, they would all have met it).
    pub fn kept(&self, names: &[&str], args: &[&str]) -> Result<Kept<'_>, Outcome> {
        let kept = self.kept_as_left(names, args)?;
        let same = kept.len() == names.len() && kept.iter().zip(names).all(|(k, n)| k.name == *n);
        if !same {
            return Err(Outcome::LabError {
                message: format!(
                    "checks of one lab asked for different containers ({} and {}): a bug in the \
                     workshop",
                    kept.iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    names.join(" ")
                ),
            });
        }
        Ok(kept)
    }

    /// The kept containers as the checks before left them (one stopped, say), or `names`
    /// started now when no check has asked yet: for the check of a lab that ends them.
    pub fn kept_as_left(&self, names: &[&str], args: &[&str]) -> Result<Kept<'_>, Outcome> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.is_none() {
            let started = || -> Result<Vec<Running>, Outcome> {
                let mut running = Vec::new();
                for name in names {
                    running.push(self.start(name, args)?);
                }
                Ok(running)
            };
            *kept = Some(started());
        }
        if let Some(Err(failure)) = &*kept {
            return Err(failure.clone());
        }
        Ok(Kept(kept))
    }

    /// Starts a container with `args` as its command and returns once it runs.
    pub fn start(&self, name: &str, args: &[&str]) -> Result<Running, Outcome> {
        self.start_with(name, &[], args)
    }

    /// [`Probe::start`] with options of `run` before the command (`-p 8080:80`).
    pub fn start_with(
        &self,
        name: &str,
        options: &[&str],
        args: &[&str],
    ) -> Result<Running, Outcome> {
        self.spawn(name, options, args)?.wait_running()
    }

    /// Runs a program on the lab host and returns its output.
    pub fn host(&self, program: &str, args: &[&str]) -> Result<Output> {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program} on the lab host"))
    }

    /// The lab host's own network namespace, as `net:[inode]`.
    pub fn host_netns(&self) -> Result<String> {
        netns_of("self")
    }

    /// One probe like the one that failed (`from`, to `to`), followed through the lab with
    /// nft's tracing ([`crate::trace`]), for the failure's "observed" text: where the packet
    /// died. Only on failure: it takes seconds.
    pub fn trace(&self, from: &lab::endpoint::From, to: &lab::endpoint::To) -> String {
        crate::trace::in_lab(self.lab, from, to)
    }

    /// The trace ([`Probe::trace`]) of a probe from container `from`.
    pub fn trace_from(&self, from: &Running, to: &lab::endpoint::To) -> String {
        self.trace(&lab::endpoint::From::Container(from.name.clone()), to)
    }

    /// The diagram of the lab as it is now, for a failure's "observed" text
    /// ([`crate::show::diagram`]).
    pub fn diagram(&self) -> String {
        crate::show::diagram(self.lab)
    }
}

impl Starting {
    /// The container's PID, once it runs (the runtime has written its PID file).
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The step binary's PID (not its container's), to follow what it does (ptrace).
    pub fn step_pid(&self) -> i32 {
        self.process.id()
    }

    /// The start limit on this step binary's clock, from now.
    pub fn clock(&self) -> StartClock {
        StartClock::of(self.process.id())
    }

    /// Whether the step binary has ended already.
    pub fn has_ended(&mut self) -> bool {
        self.process.has_ended()
    }

    /// The container, now that it runs ([`Starting::pid`]); `None` while it does not.
    pub fn running(self) -> Result<Running, Starting> {
        match self.pid() {
            Some(pid) => Ok(Running {
                process: self.process,
                pid,
                name: self.name,
            }),
            None => Err(self),
        }
    }

    /// Waits until the container runs, within [`START_LIMIT`]. The step binary ending first
    /// is a failure ("it ended at once"), or the learner trouble it reported.
    pub fn wait_running(self) -> Result<Running, Outcome> {
        let mut clock = clock::LearnerClock::start(self.process.id());
        let mut starting = self;
        loop {
            starting = match starting.running() {
                Ok(running) => return crate::invariants::started(running),
                Err(starting) => starting,
            };
            if starting.has_ended() {
                return Err(starting.ended("the container keeps running"));
            }
            let hung = clock.learner_over(START_LIMIT);
            if hung || clock.machine_over(START_LIMIT) {
                starting.process.kill();
                let (stdout, stderr) = starting.process.output();
                return Err(if hung {
                    hang("starting a container", START_LIMIT, &stdout, &stderr)
                } else {
                    process::busy("starting a container", &clock)
                });
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the step binary's end (killing it past [`STOP_LIMIT`]) and reads what it
    /// said; learner trouble (a TODO, a panic, a failing hook) is an outcome.
    pub fn finish(mut self) -> Result<Finished, Outcome> {
        let doing = format!("stopping container {} (cleanup)", self.name);
        self.process.finish(STOP_LIMIT, &doing)
    }

    /// The outcome of a step binary that ended while it should have started (or waited):
    /// the trouble it reported, or a failure of `expected` ("it ended at once").
    pub fn ended(self, expected: &str) -> Outcome {
        match self.finish() {
            Err(outcome) => outcome,
            Ok(finished) => Outcome::failed(
                expected,
                format!("it ended at once:\n{}", finished.output()),
            ),
        }
    }

    /// SIGTERM, as a user stops a container, then [`Starting::finish`].
    pub fn stop(self) -> Result<Finished, Outcome> {
        self.process.terminate();
        self.finish()
    }
}

impl Running {
    /// The start limit on this step binary's clock, from now (a wait of its own: a lock).
    pub fn clock(&self) -> StartClock {
        StartClock::of(self.process.id())
    }

    /// Runs a lab program (iproute2, ...) in the container's network namespace.
    pub fn in_netns(&self, program: &str, args: &[&str]) -> Result<Output> {
        netcmd::in_netns_of(self.pid, program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program} in the container's network namespace"))
    }

    /// Runs a command inside the container (its busybox), like `docker exec`.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output> {
        netcmd::in_container(self.pid, program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program} inside the container"))
    }

    /// The container's network namespace, as `net:[inode]`.
    pub fn netns(&self) -> Result<String> {
        netns_of(&self.pid.to_string())
    }

    /// Stops the container the way a user would (SIGTERM to the step binary) and waits for the
    /// step binary to clean up and exit.
    pub fn stop(mut self) -> Result<Finished, Outcome> {
        self.process.terminate();
        self.process
            .finish(STOP_LIMIT, "stopping a container (cleanup)")
    }

    /// Ends the container's command (SIGKILL to its first process) and leaves its step binary
    /// to notice and clean up, without waiting for it.
    pub fn end_command(&self) -> Result<()> {
        kill(Pid::from_raw(self.pid), Signal::SIGKILL)
            .with_context(|| format!("killing the command of container {}", self.name))
    }

    /// Whether the step binary has ended already.
    pub fn has_ended(&mut self) -> bool {
        self.process.has_ended()
    }

    /// Waits for the step binary to clean up and exit by itself (after [`Running::end_command`]).
    pub fn finish(mut self) -> Result<Finished, Outcome> {
        self.process
            .finish(STOP_LIMIT, "a container whose command ended (cleanup)")
    }

    /// A crash: the step binary is killed with SIGKILL (no cleanup runs), then its container.
    pub fn crash(mut self) {
        self.process.kill();
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
    }
}

/// Stops the containers at once, as `docker stop a b c` does: SIGTERM to every step binary,
/// then each waited for in turn ([`Running::stop`]'s limit, each on its own clock from when
/// its wait begins); the first failure is the outcome.
pub fn stop_together(running: Vec<Running>) -> Result<(), Outcome> {
    for container in &running {
        container.process.terminate();
    }
    let mut first = Ok(());
    for mut container in running {
        let stopped = container
            .process
            .finish(STOP_LIMIT, "stopping a container (cleanup)");
        if let (Ok(()), Err(failure)) = (&first, stopped) {
            first = Err(failure);
        }
    }
    first
}

/// Stops the containers in order ([`Running::stop`]); the first failure is the outcome.
pub fn stop_all(running: Vec<Running>) -> Result<(), Outcome> {
    for container in running {
        container.stop()?;
    }
    Ok(())
}

fn netns_of(pid: &str) -> Result<String> {
    let link = std::fs::read_link(Path::new("/proc").join(pid).join("ns/net"))
        .with_context(|| format!("reading /proc/{pid}/ns/net"))?;
    Ok(link.to_string_lossy().into_owned())
}
