//! `cargo xtask show`: draws a running lab (one opened with
//! `cargo xtask lab` or `cargo xtask run` in another terminal) from its real state. The
//! checker does the work: it finds the lab, joins its namespaces and draws it.

use crate::workspace::{self, Paths};
use crate::{build, cli, progress, runner, status};
use anyhow::Result;
use std::process::ExitCode;

pub fn main(args: cli::Show) -> Result<ExitCode> {
    let paths = Paths::new();
    if !args.no_build {
        build::packages(&["checks".to_string()])?;
    }
    let mut checker_args = Vec::new();
    if let Some(pid) = args.lab {
        checker_args.extend(["--lab".to_string(), pid.to_string()]);
    }
    // The step the learner is on, for the `cargo xtask lab NN` it suggests when no lab runs.
    let steps = workspace::steps(&paths)?;
    let progress = progress::Progress::load(&paths)?;
    if let Some(step) = status::current(&steps, &progress) {
        checker_args.extend(["--step".to_string(), step.id.clone()]);
    }
    let status = runner::checker(&paths, args.sudo, "show", &checker_args)?;
    Ok(runner::exit_code(status))
}
