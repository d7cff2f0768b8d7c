//! `cargo xtask bench`: medians measured side by side in one run, written to
//! `target/netlab/bench.md`. Performance targets live here, never in tests.
//!
//! The container measurements run inside one lab: `checker run ... xtask bench-lab`, this
//! file's [`in_lab`], starts the step binaries there and times them.

use crate::workspace::Paths;
use crate::{build, messages, rootfs, workspace};
use anyhow::{bail, Context, Result};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

pub fn main(args: &[String]) -> Result<ExitCode> {
    let mut runs = 20usize;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = runs_value(args.next())?,
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
    let steps = workspace::steps(&paths)?;
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
        report.push_str(&format!(
            "| check {} --solution (built) | {} | < 2 s | {:.2} to target |\n",
            step.id,
            describe(times),
            median(times).as_secs_f64() / 2.0,
        ));
    }
    print!("{report}");
    // The container measurements, in one lab.
    let output = Command::new(&checker)
        .arg("run")
        .args(&common)
        .arg(paths.binary("xtask"))
        .args(["bench-lab", "--runs", &runs.to_string()])
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

fn describe(sorted: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{:>7.1} ms ({:.1}-{:.1})",
        ms(median(sorted)),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1])
    )
}

/// How many containers the flat-cost measurement keeps running on one bridge.
const CONTAINERS: usize = 100;

/// `xtask bench-lab [--runs N] BIN_DIR`, run by `checker run` on a lab host: the table rows of
/// the container measurements, on stdout.
pub fn in_lab(args: &[String]) -> Result<ExitCode> {
    let mut runs = 20usize;
    let mut bin_dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = runs_value(args.next())?,
            other => bin_dir = Some(std::path::PathBuf::from(other)),
        }
    }
    let bin_dir = bin_dir.context("bench-lab needs the binaries' directory")?;
    let state = std::env::var_os("NETLAB_STATE")
        .map(std::path::PathBuf::from)
        .context("bench-lab runs inside a lab (NETLAB_STATE is not set)")?;
    let lab = Lab {
        state,
        baseline: bin_dir.join("fixture-fail"),
        solution: bin_dir.join("solution05"),
        cni: bin_dir.join("cni05"),
        solution06: bin_dir.join("solution06"),
        cni06: bin_dir.join("cni06"),
    };
    let runs = runs.max(3);
    let cni = lab.cni.is_file() && std::path::Path::new("/usr/lib/cni/bridge").is_file();
    let cni06 = lab.cni06.is_file() && std::path::Path::new("/usr/lib/cni/portmap").is_file();

    // One container at a time on an existing bridge: the three binaries in turn, so that any
    // drift of the machine touches them alike. The baseline is a container with a network
    // namespace and no networking: what is left is the attaching.
    // Publishing one port (`-p 8080:80`) is measured the same way, with step 06's binaries.
    let (mut baseline, mut solution, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    let (mut published, mut reference_published) = (Vec::new(), Vec::new());
    lab.cycle(&lab.solution, NO_PORT, "warm-solution")?;
    lab.cycle(&lab.solution06, ONE_PORT, "warm-solution06")?;
    if cni {
        lab.cycle(&lab.cni, NO_PORT, "warm-cni")?;
    }
    if cni06 {
        lab.cycle(&lab.cni06, ONE_PORT, "warm-cni06")?;
    }
    for i in 0..runs {
        baseline.push(lab.cycle(&lab.baseline, NO_PORT, &format!("base{i}"))?);
        solution.push(lab.cycle(&lab.solution, NO_PORT, &format!("sol{i}"))?);
        if cni {
            reference.push(lab.cycle(&lab.cni, NO_PORT, &format!("cni{i}"))?);
        }
        published.push(lab.cycle(&lab.solution06, ONE_PORT, &format!("pub{i}"))?);
        if cni06 {
            reference_published.push(lab.cycle(&lab.cni06, ONE_PORT, &format!("cnipub{i}"))?);
        }
    }
    for times in [
        &mut baseline,
        &mut solution,
        &mut reference,
        &mut published,
        &mut reference_published,
    ] {
        times.sort();
    }
    let base = median(&baseline);
    let attach = |times: &[Duration]| median(times).saturating_sub(base);
    let mut out = String::new();
    out.push_str(&format!(
        "| container start, no networking (baseline) | {} | | |\n\
         | container start, solution05 | {} | | attach {:.1} ms |\n",
        describe(&baseline),
        describe(&solution),
        ms(attach(&solution)),
    ));
    if cni {
        out.push_str(&format!(
            "| container start, CNI bridge plugin (cni05) | {} | | attach {:.1} ms, \
             CNI/solution {:.2} |\n",
            describe(&reference),
            ms(attach(&reference)),
            ms(attach(&reference)) / ms(attach(&solution)).max(0.001),
        ));
    } else {
        out.push_str("| container start, CNI bridge plugin | (not measured: no cni05 or no /usr/lib/cni) | | |\n");
    }
    out.push_str(&format!(
        "| container start -p 8080:80, solution06 | {} | | attach+publish {:.1} ms |\n",
        describe(&published),
        ms(attach(&published)),
    ));
    if cni06 {
        out.push_str(&format!(
            "| container start -p 8080:80, CNI bridge+portmap (cni06) | {} | | attach+publish \
             {:.1} ms, CNI/solution {:.2} |\n",
            describe(&reference_published),
            ms(attach(&reference_published)),
            ms(attach(&reference_published)) / ms(attach(&published)).max(0.001),
        ));
    } else {
        out.push_str("| container start -p 8080:80, CNI portmap plugin | (not measured: no cni06 or no /usr/lib/cni/portmap) | | |\n");
    }

    // Memory: the lab's first process, an idle container and its step binary.
    let idle = lab.start(&lab.solution, NO_PORT, "idle")?;
    // The PID file is written as the container is released: wait for its command to run.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && !std::fs::read(format!("/proc/{}/cmdline", idle.pid))
            .is_ok_and(|c| c.starts_with(b"sleep"))
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let rss_lab = rss(1);
    let rss_container = rss(idle.pid);
    let rss_step = rss(idle.step.id() as i32);
    idle.stop()?;
    out.push_str(&format!(
        "| VmRSS of the lab process (its PID 1) | {rss_lab} | | |\n\
         | VmRSS of one idle container (sleep) | {rss_container} | | |\n\
         | VmRSS of its step binary (solution05, waiting) | {rss_step} | | |\n"
    ));

    // A hundred containers on one bridge: the cost of attaching must not grow.
    let mut binaries = vec![("solution05", &lab.solution)];
    if cni {
        binaries.push(("cni05", &lab.cni));
    }
    // Each of the first and last ten starts follows a baseline start at the same fill, so
    // that what grows with the number of running containers (processes, namespaces) and
    // what grows with the bridge can be told apart.
    for (name, binary) in binaries {
        let mut running = Vec::new();
        let (mut times, mut bases) = (Vec::new(), Vec::new());
        for i in 0..CONTAINERS {
            let window = !(10..CONTAINERS - 10).contains(&i);
            if window {
                bases.push(lab.cycle(&lab.baseline, NO_PORT, &format!("{name}-base{i}"))?);
            }
            let start = Instant::now();
            let started = lab.start(binary, NO_PORT, &format!("{name}-many{i}"))?;
            times.push(start.elapsed());
            running.push(started);
        }
        for container in running {
            container.stop()?;
        }
        let window = |from: usize, all: &[Duration]| {
            let mut part: Vec<Duration> = all[from..from + 10].to_vec();
            part.sort();
            part
        };
        let (first, last) = (window(0, &times), window(CONTAINERS - 10, &times));
        let (base_first, base_last) = (window(0, &bases), window(10, &bases));
        let attach_first = median(&first).saturating_sub(median(&base_first));
        let attach_last = median(&last).saturating_sub(median(&base_last));
        out.push_str(&format!(
            "| {name}: containers 1-10 on one bridge | {} | | attach {:.1} ms (baseline {:.1} ms) |\n\
             | {name}: containers 91-100 on one bridge | {} | flat | attach {:.1} ms (baseline \
             {:.1} ms): {:.2} to 1-10 |\n",
            describe(&first),
            ms(attach_first),
            ms(median(&base_first)),
            describe(&last),
            ms(attach_last),
            ms(median(&base_last)),
            ms(attach_last) / ms(attach_first).max(0.001),
        ));
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The lab the container measurements run in.
struct Lab {
    state: std::path::PathBuf,
    baseline: std::path::PathBuf,
    solution: std::path::PathBuf,
    cni: std::path::PathBuf,
    solution06: std::path::PathBuf,
    cni06: std::path::PathBuf,
}

/// The `run` options of a container that publishes nothing, and of one publishing a port.
const NO_PORT: &[&str] = &[];
const ONE_PORT: &[&str] = &["-p", "8080:80"];

/// A running container and its step binary.
struct Started {
    step: std::process::Child,
    pid: i32,
}

impl Lab {
    /// Starts `binary run --name NAME OPTIONS... -- sleep 600`; returns once the container
    /// runs.
    fn start(&self, binary: &std::path::Path, options: &[&str], name: &str) -> Result<Started> {
        let pid_file = self.state.join("containers").join(name).join("pid");
        let mut step = Command::new(binary)
            .args(["run", "--name", name])
            .args(options)
            .args(["--", "sleep", "600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return Ok(Started { step, pid });
            }
            if let Some(status) = step.try_wait()? {
                bail!("{} {name} ended at once ({status})", binary.display());
            }
            if Instant::now() > deadline {
                let _ = step.kill();
                let _ = step.wait();
                bail!("{} {name} did not start within 30 s", binary.display());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// Starts a container, stops it; returns the time it took to run.
    fn cycle(&self, binary: &std::path::Path, options: &[&str], name: &str) -> Result<Duration> {
        let start = Instant::now();
        let started = self.start(binary, options, name)?;
        let took = start.elapsed();
        started.stop()?;
        Ok(took)
    }
}

impl Started {
    /// SIGTERM to the step binary, as a user stops a container; waits for its cleanup.
    fn stop(mut self) -> Result<()> {
        // xtask keeps few dependencies: kill(1) rather than a signal crate.
        let _ = Command::new("kill")
            .args(["-TERM", &self.step.id().to_string()])
            .status();
        let status = self.step.wait().context("waiting for a step binary")?;
        // 143: the container was stopped by the signal, as asked.
        if !status.success() && status.code() != Some(143) && status.code() != Some(137) {
            bail!("a step binary ended badly when stopped ({status})");
        }
        Ok(())
    }
}

/// `VmRSS` of a process, as /proc shows it (`123 kB`).
fn rss(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_string()))
        })
        .unwrap_or_else(|| "?".to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The value of `--runs`.
fn runs_value(value: Option<&String>) -> Result<usize> {
    value
        .context("--runs needs a number")?
        .parse()
        .context("--runs takes a number")
}
