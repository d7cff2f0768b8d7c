//! `cargo xtask check NN|all [--solution] [--sudo] [--no-build] [--json]`.

use crate::workspace::{self, Paths, Step};
use crate::{build, messages, progress, rootfs, runner};
use anyhow::{bail, Context, Result};
use std::process::{Command, ExitCode, ExitStatus};

/// How to check: the options `check` takes (and `watch`, in part).
#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// The solution's binary instead of the learner's (progress is not recorded).
    pub solution: bool,
    /// The check runner through sudo.
    pub sudo: bool,
    /// The binaries already built.
    pub no_build: bool,
    /// Machine-readable results.
    pub json: bool,
}

pub fn main(args: &[String]) -> Result<ExitCode> {
    let mut step = None;
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "--solution" => options.solution = true,
            "--sudo" => options.sudo = true,
            "--no-build" => options.no_build = true,
            "--json" => options.json = true,
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
    let status = run(&paths, &steps, options)?;
    Ok(runner::exit_code(status))
}

/// Builds, checks (the checker prints the report) and records progress: the whole of
/// `check`, for these steps.
pub fn run(paths: &Paths, steps: &[Step], options: Options) -> Result<ExitStatus> {
    let status = prepare(paths, steps, options)?
        .status()
        .with_context(|| format!("starting {}", paths.binary("checker").display()))?;
    record(paths, steps, options, status)?;
    Ok(status)
}

/// Builds what the checks need (unless `no_build`) and returns the checker's command,
/// ready to start; its report goes to our standard output.
pub fn prepare(paths: &Paths, steps: &[Step], options: Options) -> Result<Command> {
    if !options.no_build {
        let mut packages = vec!["checks".to_string()];
        packages.extend(steps.iter().map(|s| s.package(options.solution)));
        build::packages(&packages)?;
    }
    rootfs::ensure(paths)?;
    let mut checker_args: Vec<String> = Vec::new();
    if options.json {
        checker_args.push("--json".into());
    }
    for s in steps {
        let binary = paths.binary(&s.binary(options.solution));
        checker_args.push(format!("{}={}", s.number, binary.display()));
    }
    Ok(runner::command(paths, options.sudo, "check", &checker_args))
}

/// After the checker ended with `status`: when every check passed (on the learner's own
/// code), the steps are marked passed in the progress file.
pub fn record(paths: &Paths, steps: &[Step], options: Options, status: ExitStatus) -> Result<()> {
    if status.success() && !options.solution {
        let mut progress = progress::Progress::load(paths)?;
        for s in steps {
            progress.step(&s.number).passed = Some(progress::now());
        }
        progress.save()?;
    }
    Ok(())
}
