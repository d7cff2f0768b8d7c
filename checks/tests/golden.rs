//! Golden reports. Each folder under `checks/tests/golden/` is one scenario: `args` holds the
//! checker's arguments after `check --rootfs R --state S` (a bare binary name in `NN=NAME` is
//! taken from `target/debug`), and `report.snap` the report the checker must print.
//!
//! A new scenario is a new folder with an `args` file; create its snapshot with
//! `INSTA_UPDATE=always cargo test -p checks --test golden` (or `cargo insta test`) and read it.
//!
//! The reports are compared as printed: they hold no timings, addresses or other varying
//! text (24 concurrent runs of each gave identical reports), so nothing is normalised.

mod common;

use common::{check, paths, summary};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::thread;

/// Scenarios that must exist (more may be added as folders).
const REQUIRED: [&str; 5] = ["pass", "fail", "panic", "hang", "todo"];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The scenario folders, sorted.
fn scenarios() -> Vec<PathBuf> {
    let dir = golden_dir();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

/// `args`, with bare binary names resolved to `target/debug`.
fn arguments(folder: &Path) -> (String, Vec<String>) {
    let file = folder.join("args");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{} needs an args file: {e}", folder.display()));
    let args = text
        .split_whitespace()
        .map(|arg| match arg.split_once('=') {
            Some((step, binary)) if !arg.starts_with('-') && !binary.contains('/') => {
                paths().target_arg(step, binary)
            }
            _ => arg.to_string(),
        })
        .collect();
    (text.trim().to_string(), args)
}

#[test]
fn required_scenarios_exist() {
    let names: Vec<String> = scenarios()
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for name in REQUIRED {
        assert!(
            names.iter().any(|n| n == name),
            "checks/tests/golden/{name}/ is missing"
        );
    }
}

#[test]
fn reports_match_their_snapshots() {
    paths();
    // All scenarios at once: the hang takes 8 s, the others well under one.
    let runs: Vec<_> = scenarios()
        .into_iter()
        .map(|folder| {
            thread::spawn(move || {
                let (shown, args) = arguments(&folder);
                let ran = check(&args);
                (folder, shown, ran)
            })
        })
        .collect();
    let mut failures = Vec::new();
    for run in runs {
        let (folder, shown, ran) = match run.join() {
            Ok(done) => done,
            Err(_) => {
                failures.push("a scenario's checker run failed (see its panic above)".to_string());
                continue;
            }
        };
        let name = folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let verdict = catch_unwind(AssertUnwindSafe(|| {
            assert!(
                ran.stderr.is_empty(),
                "scenario {name}: the checker wrote to stderr:\n{}",
                ran.describe()
            );
            let all_passed = summary(&ran.stdout).ends_with(" 0 failed");
            let expected_code = if all_passed { 0 } else { 1 };
            assert_eq!(
                ran.code,
                expected_code,
                "scenario {name}: the exit status does not match the report:\n{}",
                ran.describe()
            );
            let report = &ran.stdout;
            insta::with_settings!({
                snapshot_path => folder.clone(),
                prepend_module_to_snapshot => false,
                description => format!("checker check --rootfs R --state S {shown}"),
                omit_expression => true,
            }, {
                insta::assert_snapshot!("report", report);
            });
        }));
        if verdict.is_err() {
            failures.push(format!("scenario {name} (checks/tests/golden/{name}/)"));
        }
    }
    assert!(
        failures.is_empty(),
        "golden reports that differ:\n  {}",
        failures.join("\n  ")
    );
}
