//! Inside one lab: run one check and print its result for the coordinator.

use crate::catalog;
use crate::coordinator::RESULT_PREFIX;
use crate::invariants;
use crate::probe::{stop_together, Probe};
use crate::verdict::{Outcome, Verdict};
use anyhow::{bail, Context, Result};
use lab::{Lab, LabPaths};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Builds a lab for the checks `ids` (one, or a set's `TOGETHER` group, comma-separated),
/// runs them in turn against `binary`, and prints each one's result as it ends. Returns in
/// the lab.
pub fn run(paths: LabPaths, ids: &str, binary: PathBuf) -> Result<()> {
    let checks = ids
        .split(',')
        .map(|id| catalog::check(id).with_context(|| format!("no check named {id}")))
        .collect::<Result<Vec<_>>>()?;
    let profile = checks[0].profile;
    if checks.iter().any(|c| c.profile != profile) {
        bail!("the checks {ids} want different profiles: they cannot share a lab");
    }
    let lab = match Lab::enter(paths, profile, false) {
        Ok(lab) => lab,
        Err(e) => {
            let outcome = Outcome::LabError {
                message: format!("{e:#}"),
            };
            for _ in &checks {
                print_result(&outcome)?;
            }
            return Ok(());
        }
    };
    let probe = Probe::new(&lab, binary);
    for (i, (id, check)) in ids.split(',').zip(&checks).enumerate() {
        // The lab host as built: what no check's code may take away (crate::invariants).
        let judged = || -> Verdict {
            invariants::take_baseline().context("picturing the lab host as built")?;
            (check.run)(&probe)
        };
        let mut outcome = match catch_unwind(AssertUnwindSafe(judged)) {
            Ok(Ok(())) => Outcome::Passed,
            Ok(Err(outcome)) => outcome,
            Err(_) => Outcome::LabError {
                message: format!("the check {id} itself panicked (a bug in the workshop)"),
            },
        };
        // The last of the lab's checks stops what they shared, all at once.
        if i + 1 == checks.len() {
            let kept = probe.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(Ok(kept)) = kept {
                let stopped = stop_together(kept);
                if let (Outcome::Passed, Err(failure)) = (&outcome, stopped) {
                    outcome = failure;
                }
            }
        }
        if let (Outcome::Passed, Err(failure)) = (&outcome, invariants::verify("after the check")) {
            outcome = failure;
        }
        // A base root filesystem broken while the check ran (a file deleted, the folder
        // removed) fails containers whatever the code: that is the lab's failure. A pass is
        // no verdict either then (a container that never started changed nothing).
        if !matches!(outcome, Outcome::LabError { .. }) {
            let rootfs = &lab.paths().rootfs;
            if let Some(what) = container::base_incomplete(rootfs) {
                outcome = Outcome::LabError {
                    message: lab::base_incomplete_message(rootfs, &what),
                };
            }
        }
        print_result(&outcome)?;
    }
    Ok(())
}

/// One check's result, on a line of its own, at once: the coordinator reads what a lab
/// printed before it was stopped.
fn print_result(outcome: &Outcome) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{RESULT_PREFIX}{}", serde_json::to_string(outcome)?)?;
    out.flush()?;
    Ok(())
}
