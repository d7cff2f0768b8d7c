//! `cargo xtask bench`: medians measured side by side in one run, written to
//! `target/netlab/bench.txt`. Performance targets live here, never in tests.

use crate::workspace::Paths;
use crate::{build, messages, rootfs};
use anyhow::{bail, Context, Result};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

pub fn main(args: &[String]) -> Result<ExitCode> {
    let mut runs = 20usize;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .context("--runs needs a number")?
                    .parse()
                    .context("--runs takes a number")?
            }
            "-h" | "--help" => {
                print!("{}", messages::BENCH_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other => bail!("unexpected argument {other} (cargo xtask bench --help)"),
        }
    }
    let paths = Paths::new();
    build::workspace()?;
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
    let solution = paths.binary("solution01");
    let check = time(runs, || {
        let mut c = Command::new(&checker);
        c.arg("check")
            .args(&common)
            .arg(format!("01={}", solution.display()));
        c
    })?;
    let report = format!(
        "netlab benchmark, {runs} runs each, medians (min-max)\n\
         lab up and down                 {}   target < 100 ms   ratio to target {:.2}\n\
         check 01 --solution (built)     {}   target < 2 s      ratio to target {:.2}\n",
        describe(&lab),
        median(&lab).as_secs_f64() / 0.1,
        describe(&check),
        median(&check).as_secs_f64() / 2.0,
    );
    print!("{report}");
    let file = paths.target.join("netlab/bench.txt");
    std::fs::write(&file, &report).with_context(|| format!("writing {}", file.display()))?;
    println!("(written to {})", file.display());
    Ok(ExitCode::SUCCESS)
}

fn time(runs: usize, command: impl Fn() -> Command) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let status = command()
            .stdout(Stdio::null())
            .status()
            .context("running the checker")?;
        times.push(start.elapsed());
        if !status.success() {
            bail!("a benchmark run failed ({status}): run it by hand to see why");
        }
    }
    times.sort();
    Ok(times)
}

fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

fn describe(sorted: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:>7.1} ms ({:.1}-{:.1})",
        ms(median(sorted)),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    )
}
