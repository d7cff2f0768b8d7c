//! Building with cargo, as the user (never through sudo).

use anyhow::{bail, Context, Result};
use std::process::Command;

/// `cargo build` of these packages' binaries, quietly.
pub fn packages(packages: &[String]) -> Result<()> {
    let mut command = cargo();
    command.args(["build", "--quiet", "--bins"]);
    for package in packages {
        command.args(["--package", package]);
    }
    run(command, &packages.join(", "))
}

/// `cargo build` of every binary in the workspace.
pub fn workspace() -> Result<()> {
    let mut command = cargo();
    command.args(["build", "--quiet", "--workspace", "--bins"]);
    run(command, "the workspace")
}

/// The cargo that runs us (so the same toolchain builds everything).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(mut command: Command, what: &str) -> Result<()> {
    let status = command.status().context("running cargo")?;
    if !status.success() {
        bail!("building {what} failed (the compiler's messages are above)");
    }
    Ok(())
}
