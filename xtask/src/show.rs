//! `cargo xtask show`: draws a running lab (one opened with
//! `cargo xtask lab` or `cargo xtask run` in another terminal) from its real state. The
//! checker does the work: it finds the lab, joins its namespaces and draws it.

use crate::workspace::{self, Paths};
use crate::{build, cli, progress, runner, status};
use anyhow::Result;
use std::process::ExitCode;

pub fn main(args: cli::Show) -> Result<ExitCode> {
    from_outside("show", Vec::new(), args.lab, args.sudo, args.no_build)
}

/// Runs `checker VERB ARGS` on a running lab (`lab`, or the only one), from outside it, as
/// `show` and `trace` do: the checker, built first unless `no_build`, is told the learner's
/// step too, for the `cargo xtask lab NN` it suggests when no lab runs.
pub fn from_outside(
    verb: &str,
    mut checker_args: Vec<String>,
    lab: Option<u32>,
    sudo: bool,
    no_build: bool,
) -> Result<ExitCode> {
    let paths = Paths::new();
    if !no_build {
        build::packages(&["checks".to_string()])?;
    }
    if let Some(pid) = lab {
        checker_args.extend(["--lab".to_string(), pid.to_string()]);
    }
    let steps = workspace::steps(&paths)?;
    let progress = progress::Progress::load(&paths)?;
    if let Some(step) = status::current(&steps, &progress) {
        checker_args.extend(["--step".to_string(), step.id.clone()]);
    }
    let status = runner::checker(&paths, sudo, verb, &checker_args)?;
    Ok(runner::exit_code(status))
}
