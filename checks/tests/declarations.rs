//! The steps' declarations (`steps/*/step.toml`) and the folders agree, and every step has all
//! of its pieces: a lesson that opens with its title and shows commands, hints with the levels
//! its checks point at, a stub with a TODO, a solution, Cargo packages named after it, and
//! mutants. Read from the files alone: nothing is built or run.

mod common;

use common::{root, steps};
use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn folders(top: &str) -> BTreeSet<String> {
    let dir = root().join(top);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_folder_is_a_declared_step_and_every_step_has_both_folders() {
    let declared: BTreeSet<String> = steps().iter().map(|s| s.decl.folder.clone()).collect();
    assert_eq!(
        folders("steps"),
        declared,
        "every folder of steps/ declares a step in its step.toml"
    );
    assert_eq!(
        folders("solutions"),
        declared,
        "solutions/ has one folder per declared step, named as in steps/"
    );
}

#[test]
fn every_set_of_checks_judges_a_step() {
    for (set, _) in checks::steps::SETS {
        assert!(
            steps().iter().any(|s| s.decl.checks == *set),
            "the checks '{set}' (checks/src/steps/mod.rs) judge no declared step"
        );
    }
}

#[test]
fn every_check_points_at_a_hint_level_the_step_has() {
    for step in steps() {
        let levels = step.decl.hint_levels(&root()).len();
        assert!(
            levels > 0,
            "steps/{}/hints.md has no `## Level N` section",
            step.decl.folder
        );
        for check in step.checks {
            assert!(
                (1..=levels).contains(&usize::from(check.hint)),
                "{} points at hint level {}, but steps/{}/hints.md has levels 1 to {levels}",
                step.id(check),
                check.hint,
                step.decl.folder
            );
        }
    }
}

#[test]
fn every_lesson_opens_with_the_declared_title_and_shows_commands() {
    for step in steps() {
        let lesson = read(&step.decl.lesson(&root()));
        let first = lesson.lines().next().unwrap_or("");
        assert_eq!(
            first,
            step.decl.heading(),
            "steps/{}/README.md opens with the step's title as step.toml declares it",
            step.decl.folder
        );
        assert!(
            lesson.contains("```console")
                && (lesson.contains("\ncontainer# ") || lesson.contains("\nlab# ")),
            "steps/{}/README.md shows no command for the lesson test to run",
            step.decl.folder
        );
    }
}

#[test]
fn every_stub_has_its_todos_and_every_solution_none() {
    for step in steps() {
        let root = &root();
        let stub = read(&step.decl.dir(root, false).join(&step.decl.file));
        assert!(
            stub.contains("// TODO") && stub.contains("todo!("),
            "{} has no `// TODO` with a todo!() for the learner",
            step.decl.learner_file()
        );
        let solution = read(&step.decl.dir(root, true).join(&step.decl.file));
        assert!(
            !solution.contains("todo!(") && !solution.contains("// TODO"),
            "solutions/{}/{} still has a TODO",
            step.decl.folder,
            step.decl.file
        );
    }
}

#[test]
fn every_package_and_binary_is_named_after_its_step() {
    for step in steps() {
        for solution in [false, true] {
            let manifest = step.decl.dir(&root(), solution).join("Cargo.toml");
            let value: toml::Value = toml::from_str(&read(&manifest))
                .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
            assert_eq!(
                value["package"]["name"].as_str(),
                Some(step.decl.package(solution).as_str()),
                "the package name in {}",
                manifest.display()
            );
            let bins: Vec<&str> = value["bin"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|b| b["name"].as_str())
                .collect();
            assert!(
                bins.contains(&step.decl.binary(solution).as_str()),
                "{} builds no binary {}",
                manifest.display(),
                step.decl.binary(solution)
            );
        }
    }
}

#[test]
fn every_reference_is_an_adapter_binary() {
    let adapters = root().join("adapters");
    for step in steps() {
        let Some(reference) = &step.decl.reference else {
            continue;
        };
        let found = std::fs::read_dir(&adapters)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                read(&e.path().join("Cargo.toml")).contains(&format!("name = \"{reference}\""))
            });
        assert!(
            found,
            "step {} names the reference {reference}, which no adapter builds",
            step.decl.id
        );
    }
}
