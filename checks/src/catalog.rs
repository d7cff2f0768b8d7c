//! The steps and their checks.

use crate::probe::Probe;
use crate::verdict::Verdict;
use lab::Profile;
use std::time::Duration;

/// One check.
pub struct Check {
    /// Short name, unique within its step (the report shows `NN.name`).
    pub name: &'static str,
    /// What is checked, as one line.
    pub title: &'static str,
    /// The hint level a learner should read when this check fails.
    pub hint: u8,
    /// How long the whole check, lab included, may take.
    pub limit: Duration,
    /// The lab host's starting state.
    pub profile: Profile,
    /// The check itself, run inside a fresh lab.
    pub run: fn(&Probe) -> Verdict,
}

/// The default time limit of a whole check, lab included. It is the last line of defence and
/// must stay above the probe's own limits (starting plus stopping a container: 16 s), which
/// report a learner's hang with more to say; a loaded 2-core machine must not reach it.
pub const LIMIT: Duration = Duration::from_secs(30);

/// One step of the workshop.
pub struct Step {
    /// `01`, `02`, ...
    pub number: &'static str,
    /// The step's folder under `steps/` and `solutions/`.
    pub slug: &'static str,
    pub title: &'static str,
    /// The learner's file, relative to the step's folder.
    pub file: &'static str,
    pub checks: &'static [Check],
}

impl Step {
    /// The check's id as reports show it.
    pub fn id(&self, check: &Check) -> String {
        format!("{}.{}", self.number, check.name)
    }
}

/// Every step, in order.
pub fn steps() -> &'static [Step] {
    &[
        crate::steps::s01::STEP,
        crate::steps::s02::STEP,
        crate::steps::s03::STEP,
        crate::steps::s04::STEP,
        crate::steps::s05::STEP,
        crate::steps::s06::STEP,
    ]
}

/// The step with this number (`1`, `01`).
pub fn step(number: &str) -> Option<&'static Step> {
    let wanted: u32 = number.parse().ok()?;
    steps()
        .iter()
        .find(|s| s.number.parse::<u32>().ok() == Some(wanted))
}

/// The check with this id (`01.lo-up`).
pub fn check(id: &str) -> Option<(&'static Step, &'static Check)> {
    let (number, name) = id.split_once('.')?;
    let step = step(number)?;
    step.checks
        .iter()
        .find(|c| c.name == name)
        .map(|c| (step, c))
}

/// "01, 02, ..." for error messages.
pub fn step_list() -> String {
    steps()
        .iter()
        .map(|s| s.number)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{START_LIMIT, STOP_LIMIT};

    #[test]
    fn every_check_outlasts_the_probe_limits() {
        for step in steps() {
            for check in step.checks {
                assert!(
                    check.limit > START_LIMIT + STOP_LIMIT,
                    "{} would be cut before the probe could say why",
                    step.id(check)
                );
            }
        }
    }

    #[test]
    fn ids_are_unique_and_found_again() {
        for step in steps() {
            for check in step.checks {
                let id = step.id(check);
                let (found_step, found) = super::check(&id).expect("found");
                assert_eq!((found_step.number, found.name), (step.number, check.name));
            }
        }
    }
}
