//! `cargo xtask test`: builds every binary, prepares the rootfs, runs `cargo test --workspace`.

use crate::workspace::Paths;
use crate::{build, cli, rootfs};
use anyhow::{Context, Result};
use std::process::ExitCode;

pub fn main(args: cli::Test) -> Result<ExitCode> {
    let paths = Paths::new();
    build::workspace()?;
    rootfs::ensure(&paths)?;
    build::cni_driver(&paths, false)?;
    let status = build::cargo()
        .args(["test", "--workspace"])
        .args(&args.cargo_args)
        .current_dir(&paths.root)
        // Run through `sudo cargo`, the checker would take the tests for sudo's caller and
        // refuse their free arguments: they run as root itself.
        .env_remove("SUDO_UID")
        .status()
        .context("running cargo test")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
