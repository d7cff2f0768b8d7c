//! Which steps a learner's argument names: `01`, `1`, `01-netns`, `02-nft`, or `all`.

use crate::Step;
use std::fmt;

/// An argument that names no step (or `all` where one step is wanted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    Unknown { arg: String, known: String },
    NotOne,
    Missing,
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::Unknown { arg, known } => {
                write!(f, "unknown step '{arg}': the steps are {known}")
            }
            SelectError::NotOne => write!(f, "this verb takes one step, not all"),
            SelectError::Missing => write!(f, "which step? give its number, for example 01"),
        }
    }
}

impl std::error::Error for SelectError {}

/// The steps `arg` names: one step by its id (`02`, `02-nft`), by its number written without
/// the leading zero (`2`), or by its folder (`02-veth`); or `all` of them.
pub fn select(steps: &[Step], arg: &str) -> Result<Vec<Step>, SelectError> {
    if arg == "all" {
        return Ok(steps.to_vec());
    }
    let by_number = |step: &Step| {
        !step.is_variant()
            && arg
                .parse::<u32>()
                .ok()
                .is_some_and(|n| step.number.parse::<u32>() == Ok(n))
    };
    steps
        .iter()
        .find(|s| s.id == arg || s.folder == arg || by_number(s))
        .map(|s| vec![s.clone()])
        .ok_or_else(|| SelectError::Unknown {
            arg: arg.to_string(),
            known: list(steps),
        })
}

/// The one step `arg` names (`all` is not one).
pub fn one(steps: &[Step], arg: Option<&str>) -> Result<Step, SelectError> {
    match arg {
        None => Err(SelectError::Missing),
        Some("all") => Err(SelectError::NotOne),
        Some(arg) => Ok(select(steps, arg)?.remove(0)),
    }
}

/// `01, 02, 02-nft, ... or all`, for messages.
pub fn list(steps: &[Step]) -> String {
    let mut names: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    names.push("all");
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<Step> {
        [("01-netns", "01"), ("02-veth", "02"), ("02-nft", "02-nft")]
            .iter()
            .map(|(folder, id)| {
                let text = format!(
                    "id = \"{id}\"\ntitle = \"t\"\nfile = \"src/x.rs\"\nchecks = \"{}\"\n",
                    &id[..2]
                );
                Step::parse(folder, &text).expect("parses")
            })
            .collect()
    }

    #[test]
    fn a_step_is_named_by_id_number_or_folder() {
        let steps = steps();
        for arg in ["02", "2", "02-veth"] {
            assert_eq!(
                select(&steps, arg).expect(arg)[0].folder,
                "02-veth",
                "{arg}"
            );
        }
        assert_eq!(select(&steps, "02-nft").expect("variant")[0].id, "02-nft");
        assert_eq!(select(&steps, "all").expect("all").len(), 3);
    }

    #[test]
    fn an_unknown_step_lists_the_known_ones() {
        let err = select(&steps(), "07").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown step '07': the steps are 01, 02, 02-nft, all"
        );
        assert_eq!(
            select(&steps(), "02-xyz")
                .unwrap_err()
                .to_string()
                .lines()
                .count(),
            1
        );
        assert_eq!(one(&steps(), Some("all")), Err(SelectError::NotOne));
    }
}
