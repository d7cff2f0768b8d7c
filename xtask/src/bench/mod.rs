//! `cargo xtask bench`: medians measured side by side in one run, written to
//! `target/netlab/bench.md`. Performance targets live here, never in tests.
//!
//! The container measurements run inside one lab: `checker run ... xtask bench-lab`,
//! [`in_lab`], starts the step binaries there and times them.

mod lab;

pub use lab::in_lab;

use crate::workspace::Paths;
use crate::{build, cli, rootfs, workspace};
use anyhow::{bail, Context, Result};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

pub fn main(args: cli::Bench) -> Result<ExitCode> {
    let runs = args.runs;
    let paths = Paths::new();
    // The step first: a step that does not exist is refused before anything is built.
    let steps = selected(&paths, args.step.as_deref())?;
    build::workspace()?;
    if steps.iter().any(|s| s.checks == "09") {
        build::cni_driver(&paths, true)?;
    }
    rootfs::ensure(&paths)?;
    let checker = paths.binary("checker");
    let common = [
        "--rootfs".to_string(),
        paths.rootfs.display().to_string(),
        "--state".to_string(),
        paths.state.display().to_string(),
    ];
    let lab = time(runs, || {
        let mut c = Command::new(&checker);
        c.arg("lab-up-down").args(&common);
        c
    })?;
    let mut report = format!(
        "netlab benchmark, {runs} runs each, medians (min-max)\n\n\
         | what | median (min-max) | target | ratio |\n\
         |---|---|---|---|\n\
         | lab up and down | {} | < 100 ms | {:.2} to target |\n",
        describe(&lab),
        median(&lab).as_secs_f64() / 0.1,
    );
    // Every step's checks against its solution, as `cargo xtask check NN --solution` runs
    // them once built: the steps in turn within each run, so that drift touches them alike.
    let mut checks: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
    for _ in 0..runs.max(1) {
        for (step, times) in steps.iter().zip(&mut checks) {
            let solution = paths.binary(&step.binary(true));
            times.push(time_once(|| {
                let mut c = Command::new(&checker);
                c.arg("check")
                    .args(&common)
                    .arg(format!("{}={}", step.id, solution.display()));
                c
            })?);
        }
    }
    for (step, times) in steps.iter().zip(&mut checks) {
        times.sort();
        let within = step.checks_within_ms();
        report.push_str(&format!(
            "| check {} --solution (built) | {} | < {} ms | {:.2} to target |\n",
            step.id,
            describe(times),
            within,
            median(times).as_secs_f64() * 1000.0 / within as f64,
        ));
    }
    print!("{report}");
    // The container measurements, in one lab (none for a step without a [bench] table).
    if steps.iter().all(|s| s.bench.is_none()) {
        let file = paths.target.join("netlab/bench.md");
        std::fs::write(&file, &report).with_context(|| format!("writing {}", file.display()))?;
        println!("(written to {})", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut lab = Command::new(&checker);
    lab.arg("run")
        .args(&common)
        .arg(paths.binary("xtask"))
        .args(["bench-lab", "--runs", &runs.to_string()]);
    if let Some(step) = &args.step {
        lab.args(["--step", step]);
    }
    let output = lab
        .arg(paths.target.join("debug"))
        .stdin(Stdio::null())
        .output()
        .context("running the lab part of the benchmark")?;
    let lab_part = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "the lab part of the benchmark failed ({}):\n{lab_part}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    print!("{lab_part}");
    report.push_str(&lab_part);
    let file = paths.target.join("netlab/bench.md");
    std::fs::write(&file, &report).with_context(|| format!("writing {}", file.display()))?;
    println!("(written to {})", file.display());
    Ok(ExitCode::SUCCESS)
}

/// The steps measured: every step, or the one `--step` names.
pub(crate) fn selected(paths: &Paths, step: Option<&str>) -> Result<Vec<workspace::Step>> {
    match step {
        Some(step) => Ok(vec![workspace::one(paths, step)?]),
        None => workspace::steps(paths),
    }
}

fn time(runs: usize, command: impl Fn() -> Command) -> Result<Vec<Duration>> {
    let mut times = (0..runs.max(1))
        .map(|_| time_once(&command))
        .collect::<Result<Vec<_>>>()?;
    times.sort();
    Ok(times)
}

/// Runs the command once to its end; its time, or an error if it failed.
fn time_once(command: impl Fn() -> Command) -> Result<Duration> {
    let start = Instant::now();
    let status = command()
        .stdout(Stdio::null())
        .status()
        .context("running the checker")?;
    let took = start.elapsed();
    if !status.success() {
        bail!("a benchmark run failed ({status}): run it by hand to see why");
    }
    Ok(took)
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn describe(sorted: &[Duration]) -> String {
    format!(
        "{:>7.1} ms ({:.1}-{:.1})",
        ms(median(sorted)),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    )
}
