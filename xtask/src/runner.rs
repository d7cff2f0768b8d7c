//! Starting the checker: the one program that needs privileges. It gets them from a user
//! namespace of its own, or, with `--sudo`, from sudo; cargo itself always runs as the user.
//!
//! However the checker ends, xtask ends promptly and says so: the checker is told who started
//! it (`--starter`, see [`lab::starter`]) and ends its labs when xtask is gone, and xtask, a
//! child subreaper, cleans up after a checker killed by a signal ([`crate::orphans`]).

use crate::orphans;
use crate::workspace::Paths;
use anyhow::{Context, Result};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

/// Runs `checker VERB --rootfs .. --state .. ARGS...`, through sudo when asked.
pub fn checker(paths: &Paths, sudo: bool, verb: &str, args: &[String]) -> Result<ExitStatus> {
    wait(paths, command(paths, sudo, verb, args))
}

/// [`checker`] for a lab the user works in (`run`, `lab`): Ctrl-C belongs to the lab's
/// foreground program, so it does not end xtask (SIGTERM and SIGHUP still do).
pub fn interactive(paths: &Paths, sudo: bool, verb: &str, args: &[String]) -> Result<ExitStatus> {
    lab::sandbox::keep_going_on_ctrl_c();
    checker(paths, sudo, verb, args)
}

/// Starts the checker's `command` and waits for it. Orphans of the checker come to us (a
/// child subreaper); when a signal killed it, what it left is reaped and swept away, and one
/// line says so.
pub fn wait(paths: &Paths, mut command: Command) -> Result<ExitStatus> {
    // Not fatal: without it the orphans go to init, which reaps them too.
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", paths.binary("checker").display()))?;
    let status = child.wait().context("waiting for the checker")?;
    if let Some(signal) = status.signal() {
        orphans::after_killed_checker(paths, signal);
    }
    Ok(status)
}

/// The command [`checker`] runs, for callers that start and wait for it themselves.
pub fn command(paths: &Paths, sudo: bool, verb: &str, args: &[String]) -> Command {
    let checker = paths.binary("checker");
    let mut command = if sudo {
        let mut command = Command::new("sudo");
        command.arg("--").arg(&checker);
        command
    } else {
        Command::new(&checker)
    };
    if let Ok(start) = lab::registry::start_time(std::process::id() as i32) {
        command
            .arg(lab::starter::OPTION)
            .arg(lab::starter::value(std::process::id(), start));
    }
    command
        .arg(verb)
        .arg("--rootfs")
        .arg(&paths.rootfs)
        .arg("--state")
        .arg(&paths.state)
        .args(args);
    command
}

/// Exit code to pass on from the checker's status: its own, or 128 + the signal that killed
/// it, as a shell says.
pub fn exit_code(status: ExitStatus) -> std::process::ExitCode {
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    std::process::ExitCode::from(code as u8)
}
