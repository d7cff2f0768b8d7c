//! `cargo xtask trace --from F --to T`: follows one probe through a running lab (one opened
//! with `cargo xtask lab` or `cargo xtask run` in another terminal) and says where it died.
//! The checker does the work: it finds the lab, joins its namespaces and traces there.

use crate::{cli, show};
use anyhow::Result;
use std::process::ExitCode;

pub fn main(args: cli::Trace) -> Result<ExitCode> {
    let checker_args = vec![
        "--from".to_string(),
        args.from.to_string(),
        "--to".to_string(),
        args.to.to_string(),
    ];
    show::from_outside("trace", checker_args, args.lab, args.sudo, args.no_build)
}
