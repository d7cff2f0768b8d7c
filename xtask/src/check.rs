//! `cargo xtask check NN|all`: builds, checks in throwaway labs, records what passed.

use crate::workspace::{self, Paths, Step};
use crate::{build, cli, progress, rootfs, runner};
use anyhow::Result;
use std::path::PathBuf;
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

pub fn main(args: cli::Check) -> Result<ExitCode> {
    let options = Options {
        solution: args.solution,
        sudo: args.sudo,
        no_build: args.no_build,
        json: args.json,
    };
    let paths = Paths::new();
    let steps = workspace::select(&paths, &args.step)?;
    let status = run(&paths, &steps, options)?;
    Ok(runner::exit_code(status))
}

/// Builds, checks (the checker prints the report) and records progress: the whole of
/// `check`, for these steps.
pub fn run(paths: &Paths, steps: &[Step], options: Options) -> Result<ExitStatus> {
    let status = runner::wait(paths, prepare(paths, steps, options)?)?;
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
    // Step 09's checks drive CNI plugins through libcni: its Go driver, built once.
    // Only step 09's checks drive plugins through libcni.
    if steps.iter().any(|s| s.checks == "09") {
        build::cni_driver(paths, true)?;
    }
    let mut checker_args: Vec<String> = Vec::new();
    if !options.solution {
        let file = verdicts_file(paths);
        let _ = std::fs::remove_file(&file);
        checker_args.push("--verdicts".into());
        checker_args.push(file.display().to_string());
    }
    if options.json {
        checker_args.push("--json".into());
    }
    for s in steps {
        let binary = paths.binary(&s.binary(options.solution));
        checker_args.push(format!("{}={}", s.id, binary.display()));
    }
    Ok(runner::command(paths, options.sudo, "check", &checker_args))
}

/// Where the checker writes each step's verdict for [`record`].
fn verdicts_file(paths: &Paths) -> PathBuf {
    paths.state.join(format!("verdicts.{}", std::process::id()))
}

/// After the checker ended with `status` (on the learner's own code): each step's verdict,
/// passed or failed, replaces the one before in the progress file. The checker writes them
/// to [`verdicts_file`]; when it wrote none (it ended before its report), a success still
/// counts for every step, and a failure judges no step. A progress file that cannot be read
/// or written gets a one-line warning, never an error: the report already given stands.
pub fn record(paths: &Paths, steps: &[Step], options: Options, status: ExitStatus) -> Result<()> {
    if options.solution {
        return Ok(());
    }
    let file = verdicts_file(paths);
    let written = std::fs::read_to_string(&file).ok();
    let _ = std::fs::remove_file(&file);
    let verdicts: Vec<(String, bool)> = match written {
        Some(text) => text
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(id, verdict)| (id.to_string(), verdict == "passed"))
            .collect(),
        None if status.success() => steps.iter().map(|s| (s.id.clone(), true)).collect(),
        None => Vec::new(),
    };
    if verdicts.is_empty() {
        return Ok(());
    }
    let (mut progress, warning) = progress::Progress::load_or_restart(paths);
    if let Some(warning) = warning {
        eprintln!("{warning}");
    }
    let now = progress::now();
    for (id, passed) in verdicts {
        progress.step(&id).judged(passed, now.clone());
    }
    // The verdict is given; a file that cannot be written does not change it.
    if let Err(e) = progress.save() {
        eprintln!("xtask: warning: this verdict was not recorded: {e:#}");
    }
    Ok(())
}
