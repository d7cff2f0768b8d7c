//! Runs checks, each in a lab of its own: a fresh process (this same binary, `lab-task`) that
//! builds the lab, runs one check and prints its result. The coordinator enforces each check's
//! time limit by killing that process, which takes its whole lab with it.

use crate::catalog::{Check, Step};
use crate::verdict::{CheckResult, Outcome};
use anyhow::{Context, Result};
use lab::LabPaths;
use nix::sys::signal::Signal;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
    index: usize,
    child: Child,
    started: Instant,
    output: thread::JoinHandle<(String, String)>,
}

/// Runs the jobs, at most `parallel` at once, and returns their results in order.
pub fn run(jobs: &[Job], paths: &LabPaths, parallel: usize) -> Result<Vec<CheckResult>> {
    let me = std::env::current_exe().context("finding the checker's own path")?;
    let mut results: Vec<Option<CheckResult>> = jobs.iter().map(|_| None).collect();
    let mut active: Vec<Active> = Vec::new();
    let mut next = 0;
    while next < jobs.len() || !active.is_empty() {
        while next < jobs.len() && active.len() < parallel.max(1) {
            active.push(spawn(&me, next, &jobs[next], paths)?);
            next += 1;
        }
        let mut still = Vec::new();
        for mut task in active {
            let job = &jobs[task.index];
            let done = match task.child.try_wait() {
                Ok(Some(_)) => true,
                Ok(None) if task.started.elapsed() > job.check.limit => {
                    let _ = task.child.kill();
                    let _ = task.child.wait();
                    let _ = task.output.join();
                    results[task.index] = Some(result(
                        job,
                        Outcome::TimedOut {
                            seconds: job.check.limit.as_secs(),
                            doing: "the whole check (it was stopped, with its lab)".into(),
                        },
                    ));
                    continue;
                }
                Ok(None) => false,
                Err(e) => return Err(e).context("waiting for a lab"),
            };
            if done {
                let (stdout, stderr) = task.output.join().unwrap_or_default();
                results[task.index] = Some(result(job, parse(&stdout, &stderr)));
            } else {
                still.push(task);
            }
        }
        active = still;
        thread::sleep(Duration::from_millis(3));
    }
    Ok(results.into_iter().flatten().collect())
}

fn spawn(me: &PathBuf, index: usize, job: &Job, paths: &LabPaths) -> Result<Active> {
    let mut command = Command::new(me);
    command
        .arg("lab-task")
        .arg("--rootfs")
        .arg(&paths.rootfs)
        .arg("--state")
        .arg(&paths.state)
        .arg("--check")
        .arg(job.step.id(job.check))
        .arg("--bin")
        .arg(&job.binary)
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
    let output = crate::probe::collect(&mut child);
    Ok(Active {
        index,
        child,
        started: Instant::now(),
        output,
    })
}

fn parse(stdout: &str, stderr: &str) -> Outcome {
    stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(RESULT_PREFIX))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| Outcome::LabError {
            message: format!("the lab ended without a result: {}", stderr.trim()),
        })
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
