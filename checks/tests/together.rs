//! Checks that share one lab and its containers (a set's `TOGETHER`) give the verdicts they
//! give alone: every group is run together and each of its checks alone, against the
//! solution and against mutants that fail one check of the group, and each check's verdict
//! (PASS, FAIL, ...) must be the same both ways.
//!
//! The mutants are rows of the step's `mutants.toml`, named in [`MUTANTS`]; they are built as
//! every variant is (common/variant.rs), under a kind of their own (`together`).

mod common;

use common::variant::{self, Edit, Variant};
use common::{entries, paths};
use serde::Deserialize;
use std::path::Path;

/// Per step: mutants of its solution that fail a check of one of its groups (each a
/// different one), so that a failing check sits beside passing ones.
const MUTANTS: &[(&str, &[&str])] = &[(
    "05",
    &[
        "no-loopback",
        "no-master",
        "masquerade-between-containers",
        "masquerade-without-source",
        // Then the checks that stop containers, stop-one and cleanup.
        "no-release",
        "no-rule-check",
        "release-deletes-bridge",
    ],
)];

/// What this test reads of a `mutants.toml` row (the mutants test reads all of it).
#[derive(Debug, Deserialize)]
struct File {
    mutant: Vec<Row>,
}

#[derive(Debug, Deserialize)]
struct Row {
    name: String,
    file: Option<String>,
    find: Option<String>,
    replace: Option<String>,
    edits: Option<Vec<Edit>>,
}

impl Row {
    fn edits(&self) -> Vec<Edit> {
        match (&self.file, &self.find, &self.replace, &self.edits) {
            (Some(file), Some(find), Some(replace), _) => vec![Edit {
                file: file.clone(),
                find: find.clone(),
                replace: replace.clone(),
            }],
            (_, _, _, Some(edits)) => edits.clone(),
            _ => panic!("mutant {}: no edit", self.name),
        }
    }
}

/// The verdicts (check id, tag) of the checks `names` of `step`, run by one checker with
/// `--only` naming them all.
fn verdicts(step: &checks::catalog::Step, binary: &Path, names: &[&str]) -> Vec<(String, String)> {
    let ran = common::check(&[
        "--only".to_string(),
        names.join(","),
        format!("{}={}", step.decl.id, binary.display()),
    ]);
    let seen = entries(&ran.stdout);
    names
        .iter()
        .map(|name| {
            let id = format!("{}.{name}", step.decl.id);
            let entry = seen
                .iter()
                .find(|e| e.id == id)
                .unwrap_or_else(|| panic!("no {id} in the report:\n{}", ran.describe()));
            (id, entry.tag.clone())
        })
        .collect()
}

/// Every group of `step`, together and each check alone, against `binary` (`what`, for
/// messages): the same verdicts. Returns the verdicts seen together.
fn same_verdicts(step: &checks::catalog::Step, binary: &Path, what: &str) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for (_, groups) in checks::steps::TOGETHER
        .iter()
        .filter(|(set, _)| *set == step.decl.checks)
    {
        for group in groups.iter() {
            let together = verdicts(step, binary, group);
            let alone: Vec<(String, String)> = group
                .iter()
                .flat_map(|name| verdicts(step, binary, &[name]))
                .collect();
            assert_eq!(
                together, alone,
                "{what}: the checks {group:?} together (left) and alone (right)"
            );
            seen.extend(together);
        }
    }
    seen
}

#[test]
fn grouped_checks_give_the_verdicts_they_give_alone() {
    for &(id, names) in MUTANTS {
        let step = common::step(id);
        let solution = paths().bin(&step.decl.binary(true));
        let verdicts = same_verdicts(step, &solution, &format!("solution {id}"));
        assert!(
            verdicts.iter().all(|(_, tag)| tag == "PASS"),
            "the solution {id} passes: {verdicts:?}"
        );

        let path = step.decl.dir(&paths().root, true).join("mutants.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        for name in names {
            let row = file
                .mutant
                .iter()
                .find(|r| r.name == *name)
                .unwrap_or_else(|| panic!("no mutant {name} in {}", path.display()));
            let mutant = Variant {
                step,
                kind: "together",
                name: row.name.clone(),
                edits: row.edits(),
            };
            let binary = variant::build(&mutant);
            let verdicts = same_verdicts(step, &binary, &format!("mutant {}", mutant.id()));
            // Each mutant fails a check of the group beside checks that pass: otherwise it
            // proves nothing about sharing.
            assert!(
                verdicts.iter().any(|(_, tag)| tag == "FAIL")
                    && verdicts.iter().any(|(_, tag)| tag == "PASS"),
                "mutant {}: {verdicts:?}",
                mutant.id()
            );
        }
    }
}
