//! Every step's solution passes all of the step's checks, and its untouched stub fails all of
//! them, each failure pointing at a `todo!` of the learner's file.

mod common;

use common::{catalog_step, check, entries, paths, step_bins, summary, summary_of, STEPS};

/// One line per step: `step_tests!(module, "NN");`.
macro_rules! step_tests {
    ($module:ident, $number:literal) => {
        mod $module {
            #[test]
            fn solution_passes_every_check() {
                super::solution_passes($number);
            }

            #[test]
            fn stub_fails_every_check_at_a_todo() {
                super::stub_fails_at_todos($number);
            }
        }
    };
}

step_tests!(s01, "01");
step_tests!(s02, "02");
step_tests!(s03, "03");
step_tests!(s04, "04");
step_tests!(s05, "05");
step_tests!(s06, "06");

#[test]
fn every_catalog_step_is_in_the_table() {
    let tested: Vec<&str> = STEPS.iter().map(|s| s.number).collect();
    for step in checks::catalog::steps() {
        assert!(
            tested.contains(&step.number),
            "step {} has checks but no line in STEPS (checks/tests/common/mod.rs) nor \
             step_tests! (checks/tests/steps.rs)",
            step.number
        );
    }
}

fn solution_passes(number: &str) {
    let step = catalog_step(number);
    let ran = check(&[paths().target_arg(number, step_bins(number).solution)]);
    let count = step.checks.len();
    assert!(count > 0, "step {number} has no checks");
    assert_eq!(
        ran.code,
        0,
        "the solution of step {number} fails:\n{}",
        ran.describe()
    );
    assert_eq!(
        summary(&ran.stdout),
        summary_of(count, 0),
        "{}",
        ran.describe()
    );
    let seen = entries(&ran.stdout);
    let ids: Vec<String> = step.checks.iter().map(|c| step.id(c)).collect();
    assert_eq!(
        seen.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        ids,
        "{}",
        ran.describe()
    );
    for entry in &seen {
        assert_eq!(
            entry.tag,
            "PASS",
            "{} did not pass:\n{}",
            entry.id,
            ran.describe()
        );
    }
}

fn stub_fails_at_todos(number: &str) {
    let step = catalog_step(number);
    let ran = check(&[paths().target_arg(number, step_bins(number).stub)]);
    let count = step.checks.len();
    assert_eq!(
        ran.code,
        1,
        "the stub of step {number}:\n{}",
        ran.describe()
    );
    assert_eq!(
        summary(&ran.stdout),
        summary_of(0, count),
        "{}",
        ran.describe()
    );
    let seen = entries(&ran.stdout);
    let ids: Vec<String> = step.checks.iter().map(|c| step.id(c)).collect();
    assert_eq!(
        seen.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        ids,
        "{}",
        ran.describe()
    );

    // The place the report gives is relative to the workspace root.
    let learner_file = format!("steps/{}/{}", step.slug, step.file);
    let text = std::fs::read_to_string(paths().root.join(&learner_file))
        .unwrap_or_else(|e| panic!("reading {learner_file}: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    for entry in &seen {
        assert_eq!(
            entry.tag,
            "TODO",
            "{} is not a TODO:\n{}",
            entry.id,
            ran.describe()
        );
        let place = entry
            .details
            .iter()
            .find_map(|l| l.strip_prefix("not implemented yet: "))
            .unwrap_or_else(|| panic!("{} names no place:\n{}", entry.id, ran.describe()));
        let place = place.split_whitespace().next().unwrap_or("");
        let (file, line) = place
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{}: '{place}' is not FILE:LINE", entry.id));
        assert_eq!(
            file, learner_file,
            "{} points outside the learner's file",
            entry.id
        );
        let line: usize = line
            .parse()
            .unwrap_or_else(|_| panic!("{}: bad line in '{place}'", entry.id));
        let source = line
            .checked_sub(1)
            .and_then(|i| lines.get(i))
            .copied()
            .unwrap_or("");
        assert!(
            source.contains("todo!"),
            "{} points at {place}, which is not a todo!: {source:?}",
            entry.id
        );
    }
}
