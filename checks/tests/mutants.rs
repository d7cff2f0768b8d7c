//! The checks catch real mistakes: each mutant is a step's solution with one thing broken,
//! and the checks named in its row must fail against it. A step's mutants are declared beside
//! its solution, in `solutions/<folder>/mutants.toml`: `file`, `find` and `replace` for one
//! edit, or `edits = [{ file, find, replace }, ...]` for several, applied in order.
//!
//! A mutant is built the way every variant of a solution is (common/variant.rs): a standalone
//! copy of the solution, built offline into `target/mutants-target`.

mod common;

use common::variant::{self, absolute_paths, standalone, Edit, Variant};
use common::{entries, paths};
use serde::Deserialize;
use std::path::Path;
use std::sync::OnceLock;

/// The file of a step's mutants, in its solution's folder.
const MUTANTS_FILE: &str = "mutants.toml";

/// NETLAB_MUTANTS_STEP=07 keeps one step's mutants (the new-step test uses it).
const STEP_VAR: &str = "NETLAB_MUTANTS_STEP";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    mutant: Vec<Mistake>,
}

/// One mistake in a step's solution, as declared.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Mistake {
    name: String,
    /// One edit: the file to edit, relative to the solution's folder (the step's given code
    /// is `../../steps/<folder>/src/given.rs`)...
    file: Option<String>,
    /// ...text that must occur exactly once in that file...
    find: Option<String>,
    /// ...and what it becomes.
    replace: Option<String>,
    /// Or several edits, applied in order.
    edits: Option<Vec<Edit>>,
    /// Checks that must fail against the mutant.
    must_fail: Vec<String>,
}

impl Mistake {
    /// Its edits, whichever form declares them.
    fn edits(&self, step: &str) -> Vec<Edit> {
        match (&self.file, &self.find, &self.replace, &self.edits) {
            (Some(file), Some(find), Some(replace), None) => vec![Edit {
                file: file.clone(),
                find: find.clone(),
                replace: replace.clone(),
            }],
            (None, None, None, Some(edits)) => edits.clone(),
            _ => panic!(
                "mutant {step}-{}: give either file, find and replace, or edits = [...]",
                self.name
            ),
        }
    }
}

/// A mistake, built as a variant of its step's solution.
#[derive(Debug)]
struct Mutant {
    variant: Variant,
    must_fail: Vec<String>,
}

impl std::ops::Deref for Mutant {
    type Target = Variant;
    fn deref(&self) -> &Variant {
        &self.variant
    }
}

/// Every selected step's mutants.
fn mutants() -> &'static [Mutant] {
    static ALL: OnceLock<Vec<Mutant>> = OnceLock::new();
    ALL.get_or_init(|| {
        let steps = common::steps().iter().filter(|s| selected(s));
        variant::declared::<File>(steps, MUTANTS_FILE)
            .into_iter()
            .flat_map(|(step, file)| {
                file.mutant.into_iter().map(move |mistake| Mutant {
                    variant: Variant {
                        step,
                        kind: "mutant",
                        edits: mistake.edits(&step.decl.id),
                        name: mistake.name,
                    },
                    must_fail: mistake.must_fail,
                })
            })
            .collect()
    })
}

fn selected(step: &checks::catalog::Step) -> bool {
    variant::selected(STEP_VAR, step)
}

#[test]
fn every_step_has_mutants_each_naming_its_own_checks() {
    for step in common::steps().iter().filter(|s| selected(s)) {
        let path = step.decl.dir(&paths().root, true).join(MUTANTS_FILE);
        let ours: Vec<&Mutant> = mutants()
            .iter()
            .filter(|m| std::ptr::eq(m.step, step))
            .collect();
        assert!(
            !ours.is_empty(),
            "step {} has no mutants: declare realistic mistakes in {}",
            step.decl.id,
            path.display()
        );
        for mutant in &ours {
            assert!(
                !mutant.must_fail.is_empty(),
                "mutant {} names no check",
                mutant.id()
            );
            for id in &mutant.must_fail {
                assert!(
                    step.checks.iter().any(|c| step.id(c) == *id),
                    "mutant {} names {id}, which is not a check of step {}",
                    mutant.id(),
                    step.decl.id
                );
            }
        }
        let twice = variant::repeated(ours.iter().map(|m| m.name.as_str()));
        assert!(
            twice.is_empty(),
            "step {} names a mutant twice: {}",
            step.decl.id,
            twice.join(", ")
        );
    }
}

/// Every mutant is built (one at a time) and checked (four at a time, as a check run mostly
/// waits) by the checks it names; the test fails with every mutant that was not caught.
#[test]
fn every_mutant_is_caught() {
    let failures = variant::build_and_check(mutants(), |m| &m.variant, check_mutant);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Runs only the checks the mutant must fail (`--only`): a check's verdict does not depend on
/// which others run beside it (the grouping test proves it), and the rest would only cost time.
fn check_mutant(mutant: &'static Mutant, binary: &Path) {
    let id = mutant.id();
    let step = mutant.step;
    let names: Vec<&str> = mutant
        .must_fail
        .iter()
        .filter_map(|wanted| step.checks.iter().find(|c| step.id(c) == *wanted))
        .map(|c| c.name)
        .collect();
    let ran = common::check(&[
        "--only".to_string(),
        names.join(","),
        format!("{}={}", step.decl.id, binary.display()),
    ]);
    let seen = entries(&ran.stdout);
    for check in &mutant.must_fail {
        let entry = seen.iter().find(|e| e.id == *check).unwrap_or_else(|| {
            panic!("mutant {id}: no {check} in the report:\n{}", ran.describe())
        });
        assert_eq!(
            entry.tag,
            "FAIL",
            "mutant {id} must make {check} fail:\n{}",
            ran.describe()
        );
    }
    assert_eq!(
        ran.code,
        1,
        "mutant {id}: the checker's status:\n{}",
        ran.describe()
    );
}

#[test]
fn standalone_manifests_inherit_nothing() {
    let root = Path::new("/w");
    let manifest = "[package]\nname = \"s-x\"\nedition.workspace = true\n\n[lib]\n\
                    path = \"src/x.rs\"\n\n[dependencies]\nanyhow.workspace = true\n\
                    container.workspace = true\n";
    let text = standalone(manifest, &paths().root, "m");
    assert!(text.contains("[package]\nname = \"s-x-m\"\n"), "{text}");
    assert!(
        text.contains("[lib]\nname = \"s_x\"\npath = \"src/x.rs\""),
        "{text}"
    );
    assert!(!text.contains(".workspace"), "{text}");
    assert!(text.contains("edition = \"2021\""), "{text}");
    assert!(text.contains("anyhow = \"1.0\""), "{text}");
    let container = format!(
        "container = {{ path = \"{}\" }}",
        paths().root.join("container").display()
    );
    assert!(text.contains(&container), "{text}");
    assert!(text.trim_end().ends_with("[workspace]"), "{text}");
    assert_eq!(
        absolute_paths("{ path = \"lab\" }", root),
        "{ path = \"/w/lab\" }"
    );
    assert_eq!(absolute_paths("\"1.0\"", root), "\"1.0\"");
}
