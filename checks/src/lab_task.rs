//! Inside one lab: run one check and print its result for the coordinator.

use crate::catalog;
use crate::coordinator::RESULT_PREFIX;
use crate::invariants;
use crate::probe::Probe;
use crate::verdict::Outcome;
use anyhow::{Context, Result};
use lab::{Lab, LabPaths};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Builds a lab for check `id`, runs it against `binary`, prints the result. Returns in the lab.
pub fn run(paths: LabPaths, id: &str, binary: PathBuf) -> Result<()> {
    let check = catalog::check(id).with_context(|| format!("no check named {id}"))?;
    let outcome = match Lab::enter(paths, check.profile, false) {
        Ok(lab) => {
            let probe = Probe { lab: &lab, binary };
            // The lab host as built: what no check's code may take away (crate::invariants).
            let judged = || {
                invariants::take_baseline().context("picturing the lab host as built")?;
                (check.run)(&probe)?;
                invariants::verify("after the check")
            };
            match catch_unwind(AssertUnwindSafe(judged)) {
                Ok(Ok(())) => Outcome::Passed,
                Ok(Err(outcome)) => outcome,
                Err(_) => Outcome::LabError {
                    message: format!("the check {id} itself panicked (a bug in the workshop)"),
                },
            }
        }
        Err(e) => Outcome::LabError {
            message: format!("{e:#}"),
        },
    };
    println!("{RESULT_PREFIX}{}", serde_json::to_string(&outcome)?);
    Ok(())
}
