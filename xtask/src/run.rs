//! `cargo xtask run NN [-- CMD...]`: one container of the step in a fresh lab, to explore by
//! hand.

use crate::workspace::{self, Paths};
use crate::{build, cli, messages, rootfs, runner};
use anyhow::{bail, Result};
use std::process::ExitCode;

/// The step binary's option that `--publish` passes on, as the steps' `run-options` name it.
const PUBLISH: &str = "-p";

pub fn main(args: cli::Run) -> Result<ExitCode> {
    let paths = Paths::new();
    let steps = workspace::steps(&paths)?;
    let step = workshop::one(&steps, Some(&args.step))?;
    // Only the options the step's containers take (its step.toml's `run-options`), checked
    // before anything is built.
    if !args.publish.is_empty() && !step.run_options.iter().any(|o| o == PUBLISH) {
        let takers: Vec<&str> = steps
            .iter()
            .filter(|s| s.run_options.iter().any(|o| o == PUBLISH))
            .map(|s| s.id.as_str())
            .collect();
        bail!(messages::run_option_not_taken(&step.id, PUBLISH, &takers));
    }
    build::packages(&["checks".to_string(), step.package(args.solution)])?;
    rootfs::ensure(&paths)?;
    let mut checker_args = vec![
        "--profile".to_string(),
        args.profile.0.name().to_string(),
        paths
            .binary(&step.binary(args.solution))
            .display()
            .to_string(),
        "run".to_string(),
        "--name".to_string(),
        args.name,
    ];
    for port in args.publish {
        checker_args.extend([PUBLISH.to_string(), port]);
    }
    if !args.command.is_empty() {
        checker_args.push("--".to_string());
        checker_args.extend(args.command);
    }
    let status = runner::interactive(&paths, args.sudo, "run", &checker_args)?;
    Ok(runner::exit_code(status))
}
