//! The builds a verb starts show cargo's progress as it comes, say nothing when there was
//! nothing to build, and name what failed. Cargo here is a script (`CARGO`), so nothing is
//! really built; `show` is the verb, with the checker the workspace built and an empty
//! registry of labs (a scratch workshop's).

mod common;

use common::{one_line, scratch, xtask};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const NO_LAB: &str = "no lab is running: start one with `cargo xtask lab";

/// A scratch workshop whose cargo is a script printing `messages` on stderr and exiting with
/// `code`; its target directory holds the real checker.
fn workshop(name: &str, messages: &str, code: u8) -> (PathBuf, PathBuf, PathBuf) {
    let root = scratch(name);
    let built = common::built_target(&["debug/checker"]).join("debug/checker");
    let target = root.join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::os::unix::fs::symlink(&built, target.join("debug/checker")).unwrap();
    let cargo = root.join("fake-cargo");
    std::fs::write(
        &cargo,
        format!("#!/bin/sh\nprintf '%s' '{messages}' >&2\nexit {code}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    (root, target, cargo)
}

fn show(root: &Path, target: &Path, cargo: &Path) -> assert_cmd::Command {
    let mut command = xtask(root);
    command
        .arg("show")
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO", cargo);
    command
}

#[test]
fn a_build_shows_its_progress() {
    let (root, target, cargo) = workshop(
        "build-progress",
        "   Compiling checks v0.1.0\n    Finished `dev` profile in 9.1s\n",
        0,
    );
    let output = show(&root, &target, &cargo).assert().code(1);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert!(
        stderr.starts_with("   Compiling checks v0.1.0\n    Finished `dev` profile in 9.1s\n"),
        "{stderr}"
    );
    assert!(stderr.contains(NO_LAB), "{stderr}");
}

#[test]
fn nothing_to_build_says_nothing() {
    let (root, target, cargo) =
        workshop("build-nothing", "    Finished `dev` profile in 0.1s\n", 0);
    show(&root, &target, &cargo)
        .assert()
        .code(1)
        .stderr(one_line(NO_LAB));
}

#[test]
fn a_failed_build_names_what_failed() {
    let (root, target, cargo) = workshop("build-failed", "error: expected one of 7 tokens\n", 101);
    let output = show(&root, &target, &cargo).assert().code(2);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert_eq!(
        stderr,
        "error: expected one of 7 tokens\n\
         xtask: building checks failed (the compiler's messages are above)\n"
    );
}
