//! `cargo xtask check NN|all [--solution] [--sudo] [--no-build] [--json]`.

use crate::workspace::{self, Paths};
use crate::{build, messages, progress, rootfs, runner};
use anyhow::{bail, Result};
use std::process::ExitCode;

pub fn main(args: &[String]) -> Result<ExitCode> {
    let mut step = None;
    let (mut solution, mut sudo, mut no_build, mut json) = (false, false, false, false);
    for arg in args {
        match arg.as_str() {
            "--solution" => solution = true,
            "--sudo" => sudo = true,
            "--no-build" => no_build = true,
            "--json" => json = true,
            "-h" | "--help" => {
                print!("{}", messages::CHECK_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => {
                bail!("unknown option {other} (cargo xtask check --help)")
            }
            other if step.is_none() => step = Some(other.to_string()),
            other => bail!("unexpected argument {other}: check takes one step (or all)"),
        }
    }
    let paths = Paths::new();
    let Some(step) = step else {
        bail!("which step? for example: cargo xtask check 01")
    };
    let steps = workspace::select(&paths, &step)?;
    if !no_build {
        let mut packages = vec!["checks".to_string()];
        packages.extend(steps.iter().map(|s| s.package(solution)));
        build::packages(&packages)?;
    }
    rootfs::ensure(&paths)?;
    let mut checker_args: Vec<String> = Vec::new();
    if json {
        checker_args.push("--json".into());
    }
    for s in &steps {
        let binary = paths.binary(&s.binary(solution));
        checker_args.push(format!("{}={}", s.number, binary.display()));
    }
    let status = runner::checker(&paths, sudo, "check", &checker_args)?;
    if status.success() && !solution {
        let mut progress = progress::Progress::load(&paths)?;
        for s in &steps {
            progress.step(&s.number).passed = Some(progress::now());
        }
        progress.save()?;
    }
    Ok(runner::exit_code(status))
}
