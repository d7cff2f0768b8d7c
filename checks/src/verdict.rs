//! What a check found, in terms a learner can act on.

use serde::{Deserialize, Serialize};

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Passed,
    /// The check observed something other than what it expected.
    Failed {
        expected: String,
        observed: String,
    },
    /// The learner's code reached a `todo!()`.
    NotImplemented {
        place: String,
        what: String,
    },
    /// The learner's code panicked.
    Panicked {
        place: String,
        message: String,
    },
    /// A learner hook returned an error.
    HookFailed {
        message: String,
    },
    /// Something did not finish in time.
    TimedOut {
        seconds: u64,
        doing: String,
    },
    /// The lab or the check itself failed: not the learner's fault.
    LabError {
        message: String,
    },
}

impl Outcome {
    /// A failure: what the check expected, and what it saw.
    pub fn failed(expected: impl Into<String>, observed: impl Into<String>) -> Outcome {
        Outcome::Failed {
            expected: expected.into(),
            observed: observed.into(),
        }
    }

    pub fn passed(&self) -> bool {
        *self == Outcome::Passed
    }
}

/// Errors in the harness become lab errors, so `?` works in check functions.
impl From<anyhow::Error> for Outcome {
    fn from(e: anyhow::Error) -> Self {
        Outcome::LabError {
            message: format!("{e:#}"),
        }
    }
}

/// A check's result, with what the report needs to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The step, as its declaration names it: `01`, `02-nft`.
    #[serde(default)]
    pub step: String,
    /// The step's title.
    #[serde(default)]
    pub step_title: String,
    /// `NN.name`, for example `01.lo-up` (the set of checks, then the check).
    pub id: String,
    pub title: String,
    /// The hint level that covers what this check looks at.
    pub hint: u8,
    pub outcome: Outcome,
}

/// What a check function returns: `Ok(())` when it passed.
pub type Verdict = Result<(), Outcome>;
