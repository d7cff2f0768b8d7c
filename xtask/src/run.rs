//! `cargo xtask run NN [--solution] [--profile P] [--name NAME] [-p H:C]... [-- CMD...]`: one container of
//! the step in a fresh lab, to explore by hand.

use crate::workspace::{self, Paths};
use crate::{build, messages, rootfs, runner};
use anyhow::{bail, Context, Result};
use std::process::ExitCode;

pub fn main(args: &[String]) -> Result<ExitCode> {
    let (mut step, mut solution, mut sudo) = (None, false, false);
    let mut profile = "fresh".to_string();
    let mut name = "c1".to_string();
    let mut command: Vec<String> = Vec::new();
    let mut publish: Vec<String> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--solution" => solution = true,
            "--sudo" => sudo = true,
            "--profile" => profile = args.next().context("--profile needs a name")?.clone(),
            "--name" => name = args.next().context("--name needs a value")?.clone(),
            "-p" | "--publish" => {
                let port = args.next().context("-p needs a value, like 8080:80")?;
                publish.extend(["-p".to_string(), port.clone()]);
            }
            "--" => command = args.by_ref().cloned().collect(),
            "-h" | "--help" => {
                print!("{}", messages::RUN_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => {
                bail!("unknown option {other} (cargo xtask run --help)")
            }
            _ => step = Some(arg.clone()),
        }
    }
    let paths = Paths::new();
    let step = workspace::one(&paths, step.as_ref())?;
    build::packages(&["checks".to_string(), step.package(solution)])?;
    rootfs::ensure(&paths)?;
    let mut checker_args = vec![
        "--profile".to_string(),
        profile,
        paths.binary(&step.binary(solution)).display().to_string(),
        "run".to_string(),
        "--name".to_string(),
        name,
    ];
    // The step binary checks the ports itself; steps before 06 ignore them.
    checker_args.extend(publish);
    if !command.is_empty() {
        checker_args.push("--".to_string());
        checker_args.extend(command);
    }
    let status = runner::checker(&paths, sudo, "run", &checker_args)?;
    Ok(runner::exit_code(status))
}
