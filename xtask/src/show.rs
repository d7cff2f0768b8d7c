//! `cargo xtask show [--lab PID] [--sudo] [--no-build]`: draws a running lab (one opened with
//! `cargo xtask lab` or `cargo xtask run` in another terminal) from its real state. The
//! checker does the work: it finds the lab, joins its namespaces and draws it.

use crate::workspace::Paths;
use crate::{build, messages, runner};
use anyhow::{bail, Context, Result};
use std::process::ExitCode;

pub fn main(args: &[String]) -> Result<ExitCode> {
    let (mut lab, mut sudo, mut no_build) = (None, false, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lab" => {
                let pid = args.next().context("--lab needs the lab's PID")?;
                if pid.parse::<u32>().is_err() {
                    bail!(
                        "--lab takes the PID of a lab, not '{pid}' (cargo xtask show lists them)"
                    );
                }
                lab = Some(pid.clone());
            }
            "--sudo" => sudo = true,
            "--no-build" => no_build = true,
            "-h" | "--help" => {
                print!("{}", messages::SHOW_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other => bail!("unknown argument {other} (cargo xtask show --help)"),
        }
    }
    let paths = Paths::new();
    if !no_build {
        build::packages(&["checks".to_string()])?;
    }
    let mut checker_args = Vec::new();
    if let Some(pid) = lab {
        checker_args.extend(["--lab".to_string(), pid]);
    }
    let status = runner::checker(&paths, sudo, "show", &checker_args)?;
    Ok(runner::exit_code(status))
}
