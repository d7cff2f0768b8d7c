//! What a check function can do inside its lab: start the step binary's containers, look at
//! them from outside (their namespaces) and from inside (busybox), and look at the lab host.

use crate::verdict::Outcome;
use anyhow::{Context, Result};
use container::protocol::{self, layout};
use lab::netcmd;
use lab::Lab;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a container may take to start (learner hooks included).
pub const START_LIMIT: Duration = Duration::from_secs(8);
/// How long a container may take to stop (the learner's cleanup included).
pub const STOP_LIMIT: Duration = Duration::from_secs(8);

/// The check's window on its lab.
pub struct Probe<'a> {
    pub lab: &'a Lab,
    /// The step binary under test.
    pub binary: PathBuf,
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

/// A running container.
pub struct Running {
    child: Child,
    output: Option<thread::JoinHandle<(String, String)>>,
    /// The container's first process, as the lab host sees it.
    pub pid: i32,
    pub name: String,
}

impl Probe<'_> {
    fn command(&self, name: &str, options: &[&str], args: &[&str]) -> Command {
        let mut command = self.lab.step_command(&self.binary);
        command
            .args(["run", "--name", name])
            .args(options)
            .arg("--")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
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
        let mut child = self
            .command(name, options, args)
            .spawn()
            .context("starting the step binary")?;
        let output = collect(&mut child);
        let deadline = Instant::now() + START_LIMIT + STOP_LIMIT;
        let status = wait_until(&mut child, deadline);
        let (stdout, stderr) = output.join().unwrap_or_default();
        match status {
            Some(status) => learner_trouble(Finished {
                status,
                stdout,
                stderr,
            }),
            None => Err(hang(
                "running a container",
                START_LIMIT + STOP_LIMIT,
                &stdout,
                &stderr,
            )),
        }
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
        let pid_file = layout::pid_file(&self.lab.paths().state, name);
        let mut child = self
            .command(name, options, args)
            .spawn()
            .context("starting the step binary")?;
        let output = collect(&mut child);
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.trim().parse().ok())
            {
                return Ok(Running {
                    child,
                    output: Some(output),
                    pid,
                    name: name.to_string(),
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                let (stdout, stderr) = output.join().unwrap_or_default();
                let finished = learner_trouble(Finished {
                    status: code(status),
                    stdout,
                    stderr,
                })?;
                return Err(Outcome::failed(
                    "the container keeps running",
                    format!("it ended at once:\n{}", finished.output()),
                ));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let (stdout, stderr) = output.join().unwrap_or_default();
                return Err(hang("starting a container", START_LIMIT, &stdout, &stderr));
            }
            thread::sleep(Duration::from_millis(5));
        }
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
}

impl Running {
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
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let status = wait_until(&mut self.child, Instant::now() + STOP_LIMIT);
        let (stdout, stderr) = self
            .output
            .take()
            .and_then(|output| output.join().ok())
            .unwrap_or_default();
        match status {
            Some(status) => learner_trouble(Finished {
                status,
                stdout,
                stderr,
            }),
            None => Err(hang(
                "stopping a container (cleanup)",
                STOP_LIMIT,
                &stdout,
                &stderr,
            )),
        }
    }
}

impl Running {
    /// A crash: the step binary is killed with SIGKILL (no cleanup runs), then its container.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn netns_of(pid: &str) -> Result<String> {
    let link = std::fs::read_link(Path::new("/proc").join(pid).join("ns/net"))
        .with_context(|| format!("reading /proc/{pid}/ns/net"))?;
    Ok(link.to_string_lossy().into_owned())
}

/// Reads a child's stdout and stderr to their ends, in the background.
pub(crate) fn collect(child: &mut Child) -> thread::JoinHandle<(String, String)> {
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

fn hang(doing: &str, limit: Duration, stdout: &str, stderr: &str) -> Outcome {
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

/// Turns what the runtime reported about learner code into an outcome; a container that ran
/// (whatever its command's status) comes back as it finished.
pub fn learner_trouble(finished: Finished) -> Result<Finished, Outcome> {
    for line in finished.stderr.lines() {
        if let Some(rest) = line.strip_prefix(protocol::NOT_IMPLEMENTED) {
            let rest = rest.trim();
            let (place, what) = rest.split_once(' ').unwrap_or((rest, ""));
            return Err(Outcome::NotImplemented {
                place: without_column(place),
                what: what.to_string(),
            });
        }
        if let Some(rest) = line.strip_prefix(protocol::PANICKED) {
            let (place, message) = rest.trim().split_once(": ").unwrap_or((rest.trim(), ""));
            return Err(Outcome::Panicked {
                place: without_column(place),
                message: message.to_string(),
            });
        }
        if let Some(rest) = line.strip_prefix(protocol::HOOK_FAILED) {
            // What the failing tool itself said (ip, iptables: cmd_lib logs their stderr just
            // before) is the most useful part for a learner.
            let said: Vec<&str> = finished
                .stderr
                .lines()
                .take_while(|l| !l.starts_with(protocol::HOOK_FAILED))
                .filter(|l| !l.starts_with(protocol::PREFIX) && !l.trim().is_empty())
                .collect();
            let mut message = rest.trim().to_string();
            for line in said.iter().rev().take(5).rev() {
                message.push('\n');
                message.push_str(line.trim());
            }
            return Err(Outcome::HookFailed { message });
        }
    }
    if finished.status == i32::from(protocol::EXIT_RUNTIME)
        && finished.stderr.contains(protocol::PREFIX)
    {
        return Err(Outcome::failed("the container starts", finished.output()));
    }
    Ok(finished)
}

/// `file:line:column` → `file:line`.
fn without_column(place: &str) -> String {
    match place.rsplit_once(':') {
        Some((head, column)) if column.parse::<u32>().is_ok() && head.contains(':') => {
            head.to_string()
        }
        _ => place.to_string(),
    }
}
