//! Every step's solution passes all of the step's checks, and its untouched stub fails all of
//! them, each failure pointing at a `todo!` of the learner's file. The steps are the declared
//! ones (steps/*/step.toml): a new step is tested without a line here.

mod common;

use common::{assert_passes, check, entries, for_every_step, paths, summary, summary_of};

#[test]
fn every_solution_passes_every_check() {
    for_every_step(solution_passes);
}

#[test]
fn every_stub_fails_every_check_at_a_todo() {
    for_every_step(stub_fails_at_todos);
}

fn solution_passes(step: &'static checks::catalog::Step) {
    let id = &step.decl.id;
    let ran = check(&[paths().target_arg(id, &step.decl.binary(true))]);
    assert_passes(step, &ran, &format!("the solution of step {id}"));
}

fn stub_fails_at_todos(step: &'static checks::catalog::Step) {
    let id = &step.decl.id;
    let ran = check(&[paths().target_arg(id, &step.decl.binary(false))]);
    let count = step.checks.len();
    assert_eq!(ran.code, 1, "the stub of step {id}:\n{}", ran.describe());
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
    let learner_file = step.decl.learner_file();
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
