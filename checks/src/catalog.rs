//! The steps and their checks: each step as its declaration (`steps/*/step.toml`, read by the
//! `workshop` crate) says, with the set of checks that judges it ([`crate::steps::SETS`]).

use crate::probe::Probe;
use crate::verdict::Verdict;
use anyhow::{bail, Context, Result};
use lab::Profile;
use std::time::Duration;

/// One check.
pub struct Check {
    /// Short name, unique within its set (the report shows `NN.name`).
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

/// A step, as declared, with the checks that judge it.
#[derive(Debug, Clone)]
pub struct Step {
    pub decl: workshop::Step,
    pub checks: &'static [Check],
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("name", &self.name).finish()
    }
}

impl Step {
    /// The check's id as reports show it: `02.host-end` (the set's id, then the name).
    pub fn id(&self, check: &Check) -> String {
        format!("{}.{}", self.decl.checks, check.name)
    }
}

/// The checks of the set `id` (`02`).
pub fn set(id: &str) -> Option<&'static [Check]> {
    crate::steps::SETS
        .iter()
        .find(|(set, _)| *set == id)
        .map(|(_, checks)| *checks)
}

/// Every step of the workspace at `root`, each with its checks; a step whose declaration names
/// no set of checks is an error.
pub fn steps(root: &std::path::Path) -> Result<Vec<Step>> {
    workshop::steps(root)?
        .into_iter()
        .map(|decl| {
            let Some(checks) = set(&decl.checks) else {
                bail!(
                    "step {} is judged by the checks '{}', which checks/src/steps/mod.rs does not \
                     declare",
                    decl.id,
                    decl.checks
                );
            };
            Ok(Step { decl, checks })
        })
        .collect()
}

/// The step an argument names (`02`, `2`, `02-nft`), with its checks.
pub fn step(root: &std::path::Path, arg: &str) -> Result<Step> {
    let all = steps(root)?;
    let decls: Vec<workshop::Step> = all.iter().map(|s| s.decl.clone()).collect();
    let wanted = workshop::one(&decls, Some(arg))?;
    all.into_iter()
        .find(|s| s.decl.id == wanted.id)
        .context("a step that was just found")
}

/// The checks of the set `set` that run in one lab with `name`, sharing the containers they
/// start with [`crate::probe::Probe::kept`] (the set's `TOGETHER`); None for a check alone.
pub fn together(set: &str, name: &str) -> Option<&'static [&'static str]> {
    crate::steps::TOGETHER
        .iter()
        .find(|(id, _)| *id == set)?
        .1
        .iter()
        .find(|group| group.contains(&name))
        .copied()
}

/// The check with this id (`01.lo-up`).
pub fn check(id: &str) -> Option<&'static Check> {
    let (set_id, name) = id.split_once('.')?;
    set(set_id)?.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{START_LIMIT, STOP_LIMIT};

    #[test]
    fn every_check_outlasts_the_probe_limits() {
        for (set, checks) in crate::steps::SETS {
            for check in *checks {
                assert!(
                    check.limit > START_LIMIT + STOP_LIMIT,
                    "{set}.{} would be cut before the probe could say why",
                    check.name
                );
            }
        }
    }

    #[test]
    fn ids_are_unique_and_found_again() {
        for (set, checks) in crate::steps::SETS {
            for (i, c) in checks.iter().enumerate() {
                let id = format!("{set}.{}", c.name);
                let found = super::check(&id).expect("found");
                assert_eq!((found.name, found.title), (c.name, c.title), "{id}");
                assert!(
                    !checks[..i].iter().any(|other| other.name == c.name),
                    "{id} twice"
                );
            }
        }
    }

    #[test]
    fn checks_together_exist_share_a_profile_and_are_in_one_group() {
        for (set, groups) in crate::steps::TOGETHER {
            let checks = super::set(set).expect("a declared set");
            let mut seen: Vec<&str> = Vec::new();
            for group in *groups {
                let profiles: Vec<_> = group
                    .iter()
                    .map(|name| {
                        checks
                            .iter()
                            .find(|c| c.name == *name)
                            .unwrap_or_else(|| panic!("{set}.{name} is no check"))
                            .profile
                    })
                    .collect();
                assert!(
                    profiles.windows(2).all(|w| w[0] == w[1]),
                    "{set}: {group:?}"
                );
                for name in *group {
                    assert!(!seen.contains(name), "{set}.{name} in two groups");
                    seen.push(name);
                    assert_eq!(together(set, name), Some(*group));
                }
            }
        }
        assert_eq!(together("05", "concurrent"), None);
        assert!(together("05", "bridge").is_some_and(|g| g.contains(&"addresses")));
    }

    #[test]
    fn every_declared_step_has_its_checks() {
        let steps = steps(&workshop::root()).expect("the declarations are right");
        assert!(!steps.is_empty());
    }
}
