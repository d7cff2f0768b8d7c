//! `xtask bench-lab --runs N BIN_DIR`, run by `checker run` on a lab host: the table rows of
//! the container measurements, on stdout. What is measured comes from the steps' declarations:
//! each step with a `[bench]` table in its step.toml, its solution and (where it declares one)
//! its reference adapter, started with the table's `start` options.

use super::{describe, median, ms};
use crate::cli;
use crate::workspace::{Paths, Step};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// How many containers the flat-cost measurement keeps running at once.
const CONTAINERS: usize = 100;

/// A binary whose container starts are timed: a step's solution, or its reference adapter.
struct Subject {
    /// The binary's name: `solution05`, `cni05`.
    name: String,
    binary: PathBuf,
    /// The options of `run` its containers get (`[bench] start`: `-p 8080:80`).
    start: Vec<String>,
    /// What the cost over the baseline is called (`[bench] measures`: `attach`).
    measures: String,
    /// For a reference adapter: the step it does, and the index of that step's solution.
    reference_of: Option<(String, usize)>,
    /// The index of the same binary started with the step's `[bench] baseline` options.
    baseline: Option<usize>,
}

impl Subject {
    /// `container start -p 8080:80, solution06`
    fn what(&self) -> String {
        let options = if self.start.is_empty() {
            String::new()
        } else {
            format!(" {}", self.start.join(" "))
        };
        match &self.reference_of {
            None => format!("container start{options}, {}", self.name),
            Some((step, _)) => format!(
                "container start{options}, {} (step {step}'s reference)",
                self.name
            ),
        }
    }
}

pub fn in_lab(args: cli::BenchLab) -> Result<ExitCode> {
    let state = std::env::var_os("NETLAB_STATE")
        .map(PathBuf::from)
        .context("bench-lab runs inside a lab (NETLAB_STATE is not set)")?;
    let steps = super::selected(&Paths::new(), args.step.as_deref())?;
    let lab = Lab { state };
    let baseline = args.bin_dir.join("fixture-fail");
    let runs = args.runs.max(3);
    let mut out = String::new();

    let (subjects, not_measured) = subjects(&lab, &steps, &args.bin_dir)?;
    // One container at a time: the baseline and every binary in turn, so that any drift of
    // the machine touches them alike. The baseline is a container with a network namespace
    // and no networking: what is left is the attaching (and publishing).
    let mut base = Vec::new();
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); subjects.len()];
    for i in 0..runs {
        base.push(lab.cycle(&baseline, &[], &format!("base{i}"))?);
        for (subject, times) in subjects.iter().zip(&mut times) {
            times.push(lab.cycle(
                &subject.binary,
                &subject.start,
                &format!("{}-{i}", subject.name),
            )?);
        }
    }
    base.sort();
    times.iter_mut().for_each(|t| t.sort());
    let cost = |times: &[Duration]| ms(median(times).saturating_sub(median(&base)));
    out.push_str(&format!(
        "| container start, no networking (baseline) | {} | | |\n",
        describe(&base)
    ));
    for (subject, mine) in subjects.iter().zip(&times) {
        let compared = match &subject.reference_of {
            Some((_, solution)) => format!(
                ", {}/{} {:.2}",
                subject.name,
                subjects[*solution].name,
                cost(mine) / cost(&times[*solution]).max(0.001)
            ),
            None => String::new(),
        };
        let compared = match subject.baseline {
            Some(own) => format!(
                "{compared}; {:.1} ms over {}",
                ms(median(mine).saturating_sub(median(&times[own]))),
                subjects[own].what()
            ),
            None => compared,
        };
        out.push_str(&format!(
            "| {} | {} | | {} {:.1} ms{compared} |\n",
            subject.what(),
            describe(mine),
            subject.measures,
            cost(mine),
        ));
    }
    out.push_str(&not_measured);

    // The first benchmarked step: its memory, and a hundred containers at once.
    let first: Vec<&Subject> = subjects
        .iter()
        .enumerate()
        .filter(|(i, s)| *i == 0 || s.reference_of.as_ref().is_some_and(|r| r.1 == 0))
        .map(|(_, s)| s)
        .collect();
    if let Some(solution) = first.first() {
        out.push_str(&memory(&lab, solution)?);
        for subject in &first {
            out.push_str(&many(&lab, subject, &baseline)?);
        }
    }
    for step in steps
        .iter()
        .filter(|s| s.bench.as_ref().is_some_and(|b| b.first_packet))
    {
        out.push_str(&first_packet(
            &lab,
            &args.bin_dir.join(step.binary(true)),
            runs,
        )?);
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Every benchmarked step's solution and reference adapter, warmed up; the rows of the
/// references that cannot start a container here (not built, or the tools they drive are
/// missing), which are not measured.
fn subjects(lab: &Lab, steps: &[Step], bin_dir: &Path) -> Result<(Vec<Subject>, String)> {
    let mut subjects = Vec::new();
    let mut not_measured = String::new();
    for step in steps {
        let Some(bench) = &step.bench else { continue };
        let baseline = if bench.baseline.is_empty() {
            None
        } else {
            let bare = Subject {
                name: format!("{}-bare", step.binary(true)),
                binary: bin_dir.join(step.binary(true)),
                start: bench.baseline.clone(),
                measures: "runtime".to_string(),
                reference_of: None,
                baseline: None,
            };
            lab.cycle(&bare.binary, &bare.start, &format!("warm-{}", bare.name))?;
            subjects.push(bare);
            Some(subjects.len() - 1)
        };
        let solution = Subject {
            name: step.binary(true),
            binary: bin_dir.join(step.binary(true)),
            start: bench.start.clone(),
            measures: bench.measures.clone(),
            reference_of: None,
            baseline,
        };
        lab.cycle(
            &solution.binary,
            &solution.start,
            &format!("warm-{}", solution.name),
        )?;
        let index = subjects.len();
        subjects.push(solution);
        let Some(reference) = &step.reference else {
            continue;
        };
        let subject = Subject {
            name: reference.clone(),
            binary: bin_dir.join(reference),
            start: bench.start.clone(),
            measures: bench.measures.clone(),
            reference_of: Some((step.id.clone(), index)),
            baseline: None,
        };
        match lab.cycle(
            &subject.binary,
            &subject.start,
            &format!("warm-{reference}"),
        ) {
            Ok(_) => subjects.push(subject),
            Err(e) => not_measured.push_str(&format!(
                "| {} | (not measured: {}) | | |\n",
                subject.what(),
                format!("{e:#}").replace('|', "/")
            )),
        }
    }
    Ok((subjects, not_measured))
}

/// The first ping from one container to another, its gateway's MAC forgotten before each:
/// with the host end answering ARP for the gateway at once (`proxy_delay` 0, as the solution
/// sets it) and with the kernel's default delay (up to 0.8 s, at random), alternately.
fn first_packet(lab: &Lab, binary: &Path, runs: usize) -> Result<String> {
    let a = lab.start(binary, &[], "first-a")?;
    let b = lab.start(binary, &[], "first-b")?;
    let measured = (|| {
        let target = eth0_address(b.pid)?;
        let end = host_end(a.pid)?;
        let delay = format!("/proc/sys/net/ipv4/neigh/{end}/proxy_delay");
        // The containers' own busybox ping (the machine may have none), in a's namespace.
        let busybox = Paths::new().rootfs.join("bin/busybox");
        let busybox = busybox.to_str().context("the rootfs's path is not UTF-8")?;
        let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..runs.max(5) {
            for (value, times) in ["0", "80"].into_iter().zip(&mut times) {
                std::fs::write(&delay, value).with_context(|| format!("writing {delay}"))?;
                in_netns(a.pid, "ip", &["neigh", "flush", "dev", "eth0"])?;
                let start = Instant::now();
                in_netns(a.pid, busybox, &["ping", "-c", "1", "-W", "3", &target])?;
                times.push(start.elapsed());
            }
        }
        times.iter_mut().for_each(|t| t.sort());
        let [now, default] = &times;
        Ok::<_, anyhow::Error>(format!(
            "| first ping to another container, proxy_delay 0 | {} | | |\n\
             | first ping to another container, proxy_delay 80 (default) | {} | | {:.1} times \
             slower |\n",
            describe(now),
            describe(default),
            ms(median(default)) / ms(median(now)).max(0.001)
        ))
    })();
    a.stop()?;
    b.stop()?;
    measured
}

/// Runs `program` (the lab host's) in the network namespace of process `pid`; fails unless
/// it succeeds.
fn in_netns(pid: i32, program: &str, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program} in the namespace of {pid}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed in the namespace of {pid}",
            args.join(" ")
        );
    }
    Ok(out.stdout)
}

/// The IPv4 address on eth0 in the namespace of process `pid`.
fn eth0_address(pid: i32) -> Result<String> {
    let json = in_netns(pid, "ip", &["-j", "-4", "addr", "show", "dev", "eth0"])?;
    let links: serde_json::Value = serde_json::from_slice(&json).context("reading ip -j")?;
    links[0]["addr_info"][0]["local"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no IPv4 address on eth0 in the namespace of {pid}"))
}

/// The lab host's end of the veth whose other end is eth0 in the namespace of `pid`.
fn host_end(pid: i32) -> Result<String> {
    let json = in_netns(pid, "ip", &["-j", "link", "show", "dev", "eth0"])?;
    let links: serde_json::Value = serde_json::from_slice(&json).context("reading ip -j")?;
    let peer = links[0]["link_index"]
        .as_u64()
        .with_context(|| format!("eth0 of {pid} is no veth"))?;
    let out = Command::new("ip").args(["-j", "link"]).output()?;
    let host: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading ip -j")?;
    host.as_array()
        .and_then(|links| links.iter().find(|l| l["ifindex"].as_u64() == Some(peer)))
        .and_then(|l| l["ifname"].as_str())
        .map(str::to_string)
        .with_context(|| format!("no host end of eth0 of {pid}"))
}

/// Resident memory: the lab's first process, an idle container and its step binary.
fn memory(lab: &Lab, solution: &Subject) -> Result<String> {
    let idle = lab.start(&solution.binary, &solution.start, "idle")?;
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
    Ok(format!(
        "| VmRSS of the lab process (its PID 1) | {rss_lab} | | |\n\
         | VmRSS of one idle container (sleep) | {rss_container} | | |\n\
         | VmRSS of its step binary ({}, waiting) | {rss_step} | | |\n",
        solution.name
    ))
}

/// A hundred containers at once: the cost of starting one must not grow. Each of the first
/// and last ten starts follows a baseline start at the same fill, so that what grows with the
/// number of running containers (processes, namespaces) and what grows with the step's own
/// networking can be told apart. The hundred are started [`ROUNDS`] times and each window's
/// starts pooled: ten starts alone are too few to tell a growth of a tenth from the machine's
/// noise.
fn many(lab: &Lab, subject: &Subject, baseline: &Path) -> Result<String> {
    let name = &subject.name;
    let (mut first, mut last, mut base_first, mut base_last) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut full, mut ten) = (Duration::ZERO, Duration::ZERO);
    for round in 0..ROUNDS {
        let mut running = Vec::new();
        for i in 0..CONTAINERS {
            let window = if i < 10 {
                Some((&mut first, &mut base_first))
            } else if i >= CONTAINERS - 10 {
                Some((&mut last, &mut base_last))
            } else {
                None
            };
            let tag = format!("{name}-r{round}-{i}");
            let Some((times, bases)) = window else {
                running.push(lab.start(&subject.binary, &subject.start, &tag)?);
                continue;
            };
            bases.push(lab.cycle(baseline, &[], &format!("{tag}-base"))?);
            let start = Instant::now();
            let started = lab.start(&subject.binary, &subject.start, &tag)?;
            times.push(start.elapsed());
            running.push(started);
        }
        if round + 1 < ROUNDS {
            for container in running {
                container.stop()?;
            }
            continue;
        }
        // Steady state, the steadier measure: one more container started (and stopped) at a
        // hundred, then at ten, each start next to a baseline start at the same fill.
        full = fill_cycles(lab, subject, baseline, "full")?;
        for container in running.drain(10..) {
            container.stop()?;
        }
        ten = fill_cycles(lab, subject, baseline, "ten")?;
        for container in running {
            container.stop()?;
        }
    }
    for window in [&mut first, &mut last, &mut base_first, &mut base_last] {
        window.sort();
    }
    let cost_first = median(&first).saturating_sub(median(&base_first));
    let cost_last = median(&last).saturating_sub(median(&base_last));
    let measures = &subject.measures;
    Ok(format!(
        "| {name}: containers 1-10 of {CONTAINERS}, {ROUNDS} fills | {} | | {measures} {:.1} ms \
         (baseline {:.1} ms) |\n\
         | {name}: containers 91-100 of {CONTAINERS}, {ROUNDS} fills | {} | flat | {measures} \
         {:.1} ms (baseline {:.1} ms): {:.2} to 1-10 |\n",
        describe(&first),
        ms(cost_first),
        ms(median(&base_first)),
        describe(&last),
        ms(cost_last),
        ms(median(&base_last)),
        ms(cost_last) / ms(cost_first).max(0.001),
    ) + &format!(
        "| {name}: one more container at 10 running | | | {measures} {:.1} ms ({CYCLES} starts) |\n\
         | {name}: one more container at {CONTAINERS} running | | flat | {measures} {:.1} ms \
         ({CYCLES} starts): {:.2} to at 10 |\n",
        ms(ten),
        ms(full),
        ms(full) / ms(ten).max(0.001),
    ))
}

/// How many times [`many`] fills the lab with a hundred containers.
const ROUNDS: usize = 5;

/// How many extra containers [`fill_cycles`] starts at each fill.
const CYCLES: usize = 40;

/// The median cost over the baseline of starting one more container at the present fill:
/// [`CYCLES`] starts, each stopped again, each next to a baseline start.
fn fill_cycles(lab: &Lab, subject: &Subject, baseline: &Path, fill: &str) -> Result<Duration> {
    let name = &subject.name;
    let (mut times, mut bases) = (Vec::new(), Vec::new());
    for i in 0..CYCLES {
        bases.push(lab.cycle(baseline, &[], &format!("{name}-{fill}-base{i}"))?);
        times.push(lab.cycle(
            &subject.binary,
            &subject.start,
            &format!("{name}-{fill}{i}"),
        )?);
    }
    times.sort();
    bases.sort();
    Ok(median(&times).saturating_sub(median(&bases)))
}

/// The lab the container measurements run in.
struct Lab {
    state: PathBuf,
}

/// A running container and its step binary.
struct Started {
    step: Child,
    pid: i32,
}

impl Lab {
    /// Starts `binary run --name NAME OPTIONS... -- sleep 600`; returns once the container
    /// runs.
    fn start(&self, binary: &Path, options: &[String], name: &str) -> Result<Started> {
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
    fn cycle(&self, binary: &Path, options: &[String], name: &str) -> Result<Duration> {
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
        let pid = nix::unistd::Pid::from_raw(self.step.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
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
