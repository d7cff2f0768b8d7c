//! `cargo xtask test`: builds every binary, prepares the rootfs, runs `cargo test --workspace`.

use crate::workspace::Paths;
use crate::{build, messages, rootfs};
use anyhow::{Context, Result};
use std::process::ExitCode;

pub fn main(args: &[String]) -> Result<ExitCode> {
    if args.first().is_some_and(|a| a == "-h" || a == "--help") {
        print!("{}", messages::TEST_USAGE);
        return Ok(ExitCode::SUCCESS);
    }
    let extra: Vec<&String> = args.iter().skip_while(|a| *a == "--").collect();
    let paths = Paths::new();
    build::workspace()?;
    rootfs::ensure(&paths)?;
    let status = build::cargo()
        .args(["test", "--workspace"])
        .args(extra)
        .current_dir(&paths.root)
        .status()
        .context("running cargo test")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
