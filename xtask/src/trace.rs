//! `cargo xtask trace --from F --to T`: follows one probe through a running lab (one opened
//! with `cargo xtask lab` or `cargo xtask run` in another terminal) and says where it died.
//! The checker does the work: it finds the lab, joins its namespaces and traces there.

use crate::workspace::{self, Paths};
use crate::{build, cli, progress, runner, status};
use anyhow::Result;
use std::process::ExitCode;

pub fn main(args: cli::Trace) -> Result<ExitCode> {
    let paths = Paths::new();
    if !args.no_build {
        build::packages(&["checks".to_string()])?;
    }
    let mut checker_args = vec![
        "--from".to_string(),
        args.from.to_string(),
        "--to".to_string(),
        args.to.to_string(),
    ];
    if let Some(pid) = args.lab {
        checker_args.extend(["--lab".to_string(), pid.to_string()]);
    }
    // The step the learner is on, for the `cargo xtask lab NN` it suggests when no lab runs.
    let steps = workspace::steps(&paths)?;
    let progress = progress::Progress::load(&paths)?;
    if let Some(step) = status::current(&steps, &progress) {
        checker_args.extend(["--step".to_string(), step.id.clone()]);
    }
    let status = runner::checker(&paths, args.sudo, "trace", &checker_args)?;
    Ok(runner::exit_code(status))
}
