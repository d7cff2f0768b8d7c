//! Correct code passes, whatever correct mechanism it chose: each alternative is a step's
//! solution rewritten the way another competent engineer would have written it (native
//! nftables instead of iptables, ioctls instead of `ip`, another lease format...), and every
//! check of its step must pass against it. A check that fails one rejects correct code.
//!
//! A step's alternatives are declared beside its solution, in
//! `solutions/<folder>/alternatives.toml`:
//!
//! ```toml
//! [[alternative]]
//! name = "nftables"
//! why = "native nftables instead of iptables: a table of its own"
//! edits = [ { file = "src/veth.rs", find = "...", replace = "..." } ]
//! ```
//!
//! Each `find` occurs exactly once at the point its edit is applied. They are built the way
//! mutants are (common/variant.rs). `NETLAB_ALTERNATIVES_STEP=05` keeps one step's.

mod common;

use common::variant::{self, Edit, Variant};
use common::{assert_passes, entries, paths};
use serde::Deserialize;
use std::path::Path;
use std::sync::OnceLock;

/// The file of a step's alternatives, in its solution's folder.
const ALTERNATIVES_FILE: &str = "alternatives.toml";

/// NETLAB_ALTERNATIVES_STEP=05 keeps one step's alternatives.
const STEP_VAR: &str = "NETLAB_ALTERNATIVES_STEP";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    alternative: Vec<Declared>,
}

/// One alternative, as declared.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    name: String,
    /// What it does differently, and why that is correct too.
    why: String,
    edits: Vec<Edit>,
    /// Checks known to reject this correct code, until they are fixed: they must fail (the
    /// test says when one passes, so that it is taken off), every other check must pass.
    #[serde(default, rename = "known-false-rejections")]
    known_false_rejections: Vec<String>,
}

/// An alternative, built as a variant of its step's solution.
#[derive(Debug)]
struct Alternative {
    variant: Variant,
    why: String,
    known_false_rejections: Vec<String>,
}

fn selected(step: &checks::catalog::Step) -> bool {
    variant::selected(STEP_VAR, step)
}

/// Every selected step's alternatives.
fn alternatives() -> &'static [Alternative] {
    static ALL: OnceLock<Vec<Alternative>> = OnceLock::new();
    ALL.get_or_init(|| {
        let steps = common::steps().iter().filter(|s| selected(s));
        variant::declared::<File>(steps, ALTERNATIVES_FILE)
            .into_iter()
            .flat_map(|(step, file)| {
                file.alternative
                    .into_iter()
                    .map(move |declared| Alternative {
                        variant: Variant {
                            step,
                            kind: "alternative",
                            name: declared.name,
                            edits: declared.edits,
                        },
                        why: declared.why,
                        known_false_rejections: declared.known_false_rejections,
                    })
            })
            .collect()
    })
}

/// The selected steps with no alternative declared.
fn steps_without() -> Vec<&'static str> {
    common::steps()
        .iter()
        .filter(|s| selected(s))
        .filter(|s| {
            !alternatives()
                .iter()
                .any(|a| std::ptr::eq(a.variant.step, *s))
        })
        .map(|s| s.decl.id.as_str())
        .collect()
}

#[test]
fn alternatives_are_declared_well() {
    for step in common::steps().iter().filter(|s| selected(s)) {
        let ours: Vec<&Alternative> = alternatives()
            .iter()
            .filter(|a| std::ptr::eq(a.variant.step, step))
            .collect();
        for alternative in &ours {
            let id = alternative.variant.id();
            assert!(
                !alternative.why.trim().is_empty(),
                "alternative {id} does not say why it is correct"
            );
            assert!(
                !alternative.variant.edits.is_empty(),
                "alternative {id} has no edit"
            );
            for check in &alternative.known_false_rejections {
                assert!(
                    step.checks.iter().any(|c| step.id(c) == *check),
                    "alternative {id} names {check}, which is not a check of step {}",
                    step.decl.id
                );
            }
        }
        let twice = variant::repeated(ours.iter().map(|a| a.variant.name.as_str()));
        assert!(
            twice.is_empty(),
            "step {} names an alternative twice: {}",
            step.decl.id,
            twice.join(", ")
        );
    }
}

/// Every alternative is built (one at a time) and checked (four at a time); the test fails
/// with every alternative that some check rejected.
#[test]
fn every_alternative_passes_every_check() {
    let without = steps_without();
    if !without.is_empty() {
        println!(
            "steps without alternatives (declare them in solutions/<folder>/{ALTERNATIVES_FILE}): {}",
            without.join(", ")
        );
    }
    for alternative in alternatives() {
        println!(
            "alternative {}: {}",
            alternative.variant.id(),
            alternative.why
        );
        if !alternative.known_false_rejections.is_empty() {
            println!(
                "  KNOWN FALSE REJECTIONS (checks to fix): {}",
                alternative.known_false_rejections.join(", ")
            );
        }
    }
    let failures = variant::build_and_check(alternatives(), |a| &a.variant, check_alternative);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn check_alternative(alternative: &'static Alternative, binary: &Path) {
    let variant = &alternative.variant;
    let ran = common::check(&[format!("{}={}", variant.step.decl.id, binary.display())]);
    let what = format!(
        "alternative {} ({}), which is correct code: a check that fails rejects it falsely",
        variant.id(),
        alternative.why
    );
    let known = &alternative.known_false_rejections;
    if known.is_empty() {
        return assert_passes(variant.step, &ran, &what);
    }
    let seen = entries(&ran.stdout);
    for check in variant.step.checks {
        let id = variant.step.id(check);
        let entry = seen
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("{what}: no {id} in the report:\n{}", ran.describe()));
        if known.contains(&id) {
            assert_eq!(
                entry.tag,
                "FAIL",
                "{what}: {id} no longer rejects it: take it off known-false-rejections\n{}",
                ran.describe()
            );
        } else {
            assert_eq!(
                entry.tag,
                "PASS",
                "{what}: {id} did not pass:\n{}",
                ran.describe()
            );
        }
    }
}

#[test]
fn the_declared_alternatives_name_existing_files() {
    for alternative in alternatives() {
        let variant = &alternative.variant;
        let dir = variant.step.decl.dir(&paths().root, true);
        for edit in &variant.edits {
            let file = dir.join(&edit.file);
            assert!(
                file.is_file(),
                "alternative {} edits {}, which does not exist",
                variant.id(),
                file.display()
            );
        }
    }
}
