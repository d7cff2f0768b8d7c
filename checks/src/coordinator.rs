//! Runs checks, each in a lab of its own: a fresh process (this same binary, `lab-task`) that
//! builds the lab, runs one check and prints its result. The coordinator enforces each check's
//! time limit by killing that process, which takes its whole lab with it.

use crate::catalog::{self, Check, Step};
use crate::verdict::{CheckResult, Outcome};
use anyhow::{Context, Result};
use lab::LabPaths;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::Signal;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The line prefix a lab task's result is printed after.
pub const RESULT_PREFIX: &str = "NETLAB-RESULT ";

/// One check to run against one step binary.
pub struct Job {
    pub step: Step,
    pub check: &'static Check,
    pub binary: PathBuf,
}

struct Active {
    /// The jobs its lab runs, in turn.
    jobs: Vec<usize>,
    /// The slot it holds while it runs (see [`Slots`]).
    _slot: Option<Flock<File>>,
    child: Child,
    /// What the lab printed so far, read in the background.
    progress: Arc<Mutex<Progress>>,
    output: thread::JoinHandle<String>,
}

/// A lab's output so far: how many results, and when the last came (or the lab started).
struct Progress {
    stdout: String,
    results: usize,
    since: Instant,
}

/// Runs the jobs, at most `parallel` labs at once, and returns their results in order. Jobs of
/// one binary whose checks are declared together (a set's `TOGETHER`) share one lab.
pub fn run(jobs: &[Job], paths: &LabPaths, parallel: usize) -> Result<Vec<CheckResult>> {
    let me = std::env::current_exe().context("finding the checker's own path")?;
    let mut results: Vec<Option<CheckResult>> = jobs.iter().map(|_| None).collect();
    let labs = labs(jobs);
    // Twice the labs one checker runs (four per core): labs that wait (a probe's timeout)
    // leave the cores to others, and the machine is never asked for dozens at once.
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let slots = Slots::new(paths, parallel.max(4 * cores));
    let mut active: Vec<Active> = Vec::new();
    let mut next = 0;
    while next < labs.len() || !active.is_empty() {
        while next < labs.len() && active.len() < parallel.max(1) {
            // Labs of other checkers on the same tree count too: wait for a free slot.
            let Some(slot) = slots.take() else { break };
            active.push(spawn(&me, &labs[next], jobs, paths, slot)?);
            next += 1;
        }
        let mut still = Vec::new();
        for mut task in active {
            // The check running now has its own limit, from the end of the one before.
            let (done, since) = {
                let progress = task.progress.lock().unwrap_or_else(|e| e.into_inner());
                (progress.results, progress.since)
            };
            let limit = task
                .jobs
                .get(done)
                .map_or(Duration::from_secs(5), |&j| jobs[j].check.limit);
            let timed_out = match task.child.try_wait() {
                Ok(Some(_)) => false,
                // Slow is not wrong: on a machine too busy to keep time, a check gets up to
                // BUSY_GRACE times its limit before it is stopped as too busy to judge.
                Ok(None)
                    if since.elapsed() > limit * BUSY_GRACE
                        || (since.elapsed() > limit && busy_machine().is_none()) =>
                {
                    let _ = task.child.kill();
                    let _ = task.child.wait();
                    true
                }
                Ok(None) => {
                    still.push(task);
                    continue;
                }
                Err(e) => return Err(e).context("waiting for a lab"),
            };
            let stderr = task.output.join().unwrap_or_default();
            let stdout = std::mem::take(
                &mut task
                    .progress
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .stdout,
            );
            let mut outcomes = parse(&stdout).into_iter();
            let mut first_missing: Option<String> = None;
            for &j in &task.jobs {
                let job = &jobs[j];
                let outcome = match (outcomes.next(), &first_missing) {
                    (Some(outcome), _) => outcome,
                    (None, Some(before)) => Outcome::LabError {
                        message: format!(
                            "not run: {before}, before it in the same lab, did not finish"
                        ),
                    },
                    (None, None) => {
                        first_missing = Some(job.step.id(job.check));
                        if let (true, Some(load)) = (timed_out, busy_machine()) {
                            Outcome::LabError {
                                message: format!(
                                    "this machine is too busy to judge: the check went past its \
                                     {} s while the machine's load was {load}. Nothing was \
                                     judged: run it again when the machine is quieter",
                                    job.check.limit.as_secs()
                                ),
                            }
                        } else if timed_out {
                            Outcome::TimedOut {
                                seconds: job.check.limit.as_secs(),
                                doing: "the whole check (it was stopped, with its lab)".into(),
                            }
                        } else {
                            Outcome::LabError {
                                message: format!(
                                    "the lab ended without a result: {}",
                                    stderr.trim()
                                ),
                            }
                        }
                    }
                };
                results[j] = Some(result(job, outcome));
            }
        }
        active = still;
        thread::sleep(Duration::from_millis(3));
    }
    Ok(results.into_iter().flatten().collect())
}

/// How many times its limit a check may take while the machine is too busy ([`busy_machine`]).
const BUSY_GRACE: u32 = 3;

/// The machine's load, as "9.5 on 2 cores", when it is more than twice its cores: too busy
/// for a time limit to say anything about the learner's code.
fn busy_machine() -> Option<String> {
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    (load > 2.0 * cores as f64).then(|| format!("{load:.1} on {cores} cores"))
}

/// The labs to run: each job alone, or with the later jobs of the same binary and set whose
/// checks are declared together with its own.
fn labs(jobs: &[Job]) -> Vec<Vec<usize>> {
    let mut labs: Vec<Vec<usize>> = Vec::new();
    let mut placed = vec![false; jobs.len()];
    for i in 0..jobs.len() {
        if placed[i] {
            continue;
        }
        placed[i] = true;
        let mut lab = vec![i];
        if let Some(group) = catalog::together(&jobs[i].step.decl.checks, jobs[i].check.name) {
            for j in i + 1..jobs.len() {
                let same = jobs[j].binary == jobs[i].binary
                    && jobs[j].step.decl.checks == jobs[i].step.decl.checks
                    && group.contains(&jobs[j].check.name);
                if !placed[j] && same {
                    placed[j] = true;
                    lab.push(j);
                }
            }
        }
        labs.push(lab);
    }
    labs
}

/// The labs that may run at once on one tree, whichever checker runs them: as many lock files
/// beside the labs' state directory (`slots/0`, `slots/1`, ...), each held with flock by
/// the checker whose lab uses it. Several checkers at once (a room's tests, `check all`
/// twice) then queue their labs instead of starving each other's, and a check's time limit
/// starts when its lab does. Where the folder cannot be made, nothing is shared (None).
struct Slots {
    dir: Option<PathBuf>,
    count: usize,
}

impl Slots {
    fn new(paths: &LabPaths, count: usize) -> Slots {
        let dir = paths.state.parent().map(|parent| parent.join("slots"));
        let dir = dir.filter(|dir| {
            use std::os::unix::fs::DirBuilderExt;
            let made = std::fs::DirBuilder::new().mode(0o700).create(dir);
            made.is_ok() || dir.is_dir()
        });
        Slots { dir, count }
    }

    /// A free slot, held until the file is closed; `Some(None)` where slots are not shared,
    /// None while every slot is taken.
    fn take(&self) -> Option<Option<Flock<File>>> {
        use std::os::unix::fs::OpenOptionsExt;
        let Some(dir) = &self.dir else {
            return Some(None);
        };
        let mut openable = false;
        for i in 0..self.count {
            let Ok(file) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(dir.join(i.to_string()))
            else {
                continue;
            };
            openable = true;
            if let Ok(held) = Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                return Some(Some(held));
            }
        }
        // No slot file can be opened at all: run unqueued rather than never.
        (!openable).then_some(None)
    }
}

fn spawn(
    me: &PathBuf,
    lab: &[usize],
    jobs: &[Job],
    paths: &LabPaths,
    slot: Option<Flock<File>>,
) -> Result<Active> {
    let first = &jobs[lab[0]];
    let ids: Vec<String> = lab
        .iter()
        .map(|&j| jobs[j].step.id(jobs[j].check))
        .collect();
    let mut command = Command::new(me);
    command
        .arg("lab-task")
        .arg("--rootfs")
        .arg(&paths.rootfs)
        .arg("--state")
        .arg(&paths.state)
        .arg("--check")
        .arg(ids.join(","))
        .arg("--bin")
        .arg(&first.binary)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe. The lab dies with the coordinator.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
        });
    }
    let mut child = command.spawn().context("starting a lab")?;
    let progress = Arc::new(Mutex::new(Progress {
        stdout: String::new(),
        results: 0,
        since: Instant::now(),
    }));
    let output = follow(&mut child, progress.clone());
    Ok(Active {
        jobs: lab.to_vec(),
        _slot: slot,
        child,
        progress,
        output,
    })
}

/// Reads a lab's stdout line by line into `progress` and its stderr to the end, in the
/// background; the stderr.
fn follow(child: &mut Child, progress: Arc<Mutex<Progress>>) -> thread::JoinHandle<String> {
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    thread::spawn(move || {
        let out_reader = thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut progress = progress.lock().unwrap_or_else(|e| e.into_inner());
                if line.starts_with(RESULT_PREFIX) {
                    progress.results += 1;
                    progress.since = Instant::now();
                }
                progress.stdout.push_str(&line);
                progress.stdout.push('\n');
            }
        });
        let mut text = String::new();
        if let Some(stream) = stderr.as_mut() {
            let _ = stream.read_to_string(&mut text);
        }
        let _ = out_reader.join();
        text
    })
}

/// The results a lab printed, in the order of its checks.
fn parse(stdout: &str) -> Vec<Outcome> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(RESULT_PREFIX))
        .map(|json| {
            serde_json::from_str(json).unwrap_or_else(|e| Outcome::LabError {
                message: format!("a result the lab printed does not parse: {e}"),
            })
        })
        .collect()
}

fn result(job: &Job, outcome: Outcome) -> CheckResult {
    CheckResult {
        step: job.step.decl.id.clone(),
        step_title: job.step.decl.title.clone(),
        id: job.step.id(job.check),
        title: job.check.title.to_string(),
        hint: job.check.hint,
        outcome,
    }
}
