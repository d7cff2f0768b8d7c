//! Starting the checker: the one program that needs privileges. It gets them from a user
//! namespace of its own, or, with `--sudo`, from sudo; cargo itself always runs as the user.

use crate::workspace::Paths;
use anyhow::{Context, Result};
use std::process::{Command, ExitStatus};

/// Runs `checker VERB --rootfs .. --state .. ARGS...`, through sudo when asked.
pub fn checker(paths: &Paths, sudo: bool, verb: &str, args: &[String]) -> Result<ExitStatus> {
    command(paths, sudo, verb, args)
        .status()
        .with_context(|| format!("starting {}", paths.binary("checker").display()))
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
    command
        .arg(verb)
        .arg("--rootfs")
        .arg(&paths.rootfs)
        .arg("--state")
        .arg(&paths.state)
        .args(args);
    command
}

/// Exit code to pass on from the checker's status.
pub fn exit_code(status: ExitStatus) -> std::process::ExitCode {
    std::process::ExitCode::from(status.code().map_or(1, |c| c as u8))
}
