//! Bad input to `cargo xtask` gets one clear line and a non-zero exit, never a panic.
//! These run the xtask binary against a scratch copy of the workshop (`NETLAB_ROOT`), so the
//! real progress file is never touched.

mod common;

use common::{one_line_error, scratch};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("NETLAB_ROOT", root)
        .output()
        .unwrap()
}

#[test]
fn unknown_verb_lists_the_verbs() {
    let root = scratch("verb");
    one_line_error(
        &xtask(&root, &["frobnicate"]),
        "use one of check, watch, hint, run, lab, show, doctor, test, bench, status, reset, solution",
    );
}

#[test]
fn unknown_step_lists_the_steps() {
    let root = scratch("step");
    one_line_error(
        &xtask(&root, &["check", "42"]),
        "unknown step '42': the steps are 01, all",
    );
    one_line_error(&xtask(&root, &["hint", "07"]), "unknown step '07'");
    one_line_error(&xtask(&root, &["run", "01-nope"]), "unknown step '01-nope'");
}

#[test]
fn missing_or_unknown_arguments() {
    let root = scratch("args");
    one_line_error(&xtask(&root, &["check"]), "which step?");
    one_line_error(
        &xtask(&root, &["check", "01", "--frob"]),
        "unknown option --frob",
    );
    one_line_error(
        &xtask(&root, &["hint", "01", "--level", "9"]),
        "hint levels 1 to 3",
    );
    one_line_error(
        &xtask(&root, &["hint", "01", "--level", "x"]),
        "--level takes a number",
    );
}

#[test]
fn hints_come_one_level_at_a_time_and_are_remembered() {
    let root = scratch("hints");
    for (level, title) in [(1, "concept"), (2, "command"), (3, "code"), (3, "code")] {
        let output = xtask(&root, &["hint", "01"]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success());
        assert!(
            stdout.starts_with(&format!("step 01 · hint {level} of 3 · {title}")),
            "{stdout}"
        );
    }
    let progress = std::fs::read_to_string(root.join(".netlab-progress")).unwrap();
    assert!(progress.contains("01 hint=3"), "{progress}");
}

#[test]
fn a_corrupt_progress_file_is_named() {
    let root = scratch("corrupt");
    std::fs::write(root.join(".netlab-progress"), "this is not progress\n").unwrap();
    one_line_error(&xtask(&root, &["hint", "01"]), ".netlab-progress line 1");
}

fn stdout(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// Every verb, as the unknown-verb message lists them (so a new verb cannot be forgotten).
fn verbs(root: &Path) -> Vec<String> {
    let output = xtask(root, &["frobnicate"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let list = stderr
        .split("use one of ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("no verb list in {stderr:?}"));
    list.split(", ").map(str::to_string).collect()
}

#[test]
fn every_verb_answers_help() {
    let root = scratch("help");
    let verbs = verbs(&root);
    assert!(verbs.len() >= 11, "{verbs:?}");
    let usage = stdout(&xtask(&root, &["--help"]));
    for verb in &verbs {
        for flag in ["--help", "-h"] {
            let output = xtask(&root, &[verb, flag]);
            assert_eq!(output.status.code(), Some(0), "{verb} {flag}");
            let out = stdout(&output);
            assert!(
                out.starts_with(&format!("cargo xtask {verb}")),
                "{verb} {flag}: {out}"
            );
        }
        assert!(
            usage.contains(&format!("\n  {verb} ")) || usage.contains(&format!("\n  {verb}\n")),
            "{verb} is not in the usage: {usage}"
        );
    }
    for verb in [
        "status",
        "reset NN",
        "solution NN",
        "watch NN",
        "doctor [--json]",
        "show [--lab PID]",
    ] {
        assert!(usage.contains(verb), "{usage}");
    }
    assert_eq!(stdout(&xtask(&root, &[])), usage);
    assert_eq!(stdout(&xtask(&root, &["help"])), usage);
}

#[test]
fn status_lists_the_steps_and_what_is_next() {
    let root = scratch("status");
    let out = stdout(&xtask(&root, &["status"]));
    assert!(out.contains("01    the network namespace"), "{out}");
    assert!(!out.contains("Step 01:"), "{out}");
    assert!(out.contains("0 of 3"), "{out}");
    assert!(out.contains("next: step 01"), "{out}");

    std::fs::write(
        root.join(".netlab-progress"),
        "# mine\n01 hint=2 passed=2026-01-02 03:04\n",
    )
    .unwrap();
    let out = stdout(&xtask(&root, &["status"]));
    assert!(out.contains("yes 2026-01-02 03:04"), "{out}");
    assert!(out.contains("2 of 3"), "{out}");
    assert!(out.contains("all steps passed (1 of 1)"), "{out}");
    assert!(!out.contains("next:"), "{out}");

    one_line_error(&xtask(&root, &["status", "01"]), "status takes no step");
    one_line_error(
        &xtask(&root, &["status", "--frob"]),
        "unknown option --frob",
    );
    std::fs::write(root.join(".netlab-progress"), "this is not progress\n").unwrap();
    one_line_error(&xtask(&root, &["status"]), ".netlab-progress line 1");
}

#[test]
fn reset_restores_the_committed_file() {
    let root = scratch("reset");
    let file = root.join("steps/01-netns/src/netns.rs");
    let original = std::fs::read_to_string(&file).unwrap();
    one_line_error(
        &xtask(&root, &["reset", "01", "--yes"]),
        "not a git checkout",
    );

    git(&root, &["init", "-q"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-q", "-m", "workshop"]);
    std::fs::write(&file, "my attempt\n").unwrap();

    one_line_error(&xtask(&root, &["reset", "42"]), "unknown step '42'");
    one_line_error(&xtask(&root, &["reset", "all"]), "one step, not all");
    one_line_error(&xtask(&root, &["reset"]), "which step?");
    let refused = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["reset", "01"])
        .env("NETLAB_ROOT", &root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    one_line_error(&refused, "--yes");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "my attempt\n");

    let out = stdout(&xtask(&root, &["reset", "01", "--yes"]));
    assert!(out.contains("steps/01-netns/src"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

#[test]
fn solution_only_once_passed() {
    let root = scratch("solution");
    one_line_error(
        &xtask(&root, &["solution", "01"]),
        "step 01 has not passed yet: `cargo xtask check 01` first, or --force to look anyway",
    );
    one_line_error(&xtask(&root, &["solution", "42"]), "unknown step '42'");
    one_line_error(&xtask(&root, &["solution", "all"]), "one step, not all");

    std::fs::write(
        root.join(".netlab-progress"),
        "01 hint=0 passed=2026-01-02 03:04\n",
    )
    .unwrap();
    let out = stdout(&xtask(&root, &["solution", "01"]));
    assert!(
        out.contains("==> solutions/01-netns/src/netns.rs <=="),
        "{out}"
    );
    assert!(out.contains("CLONE_NEWNET"), "{out}");
    assert!(!out.contains("src/main.rs"), "{out}");
    assert!(out.contains("+++ "), "a diff: {out}");
    assert!(out.contains("-    todo!"), "a diff from the TODOs: {out}");

    std::fs::write(root.join(".netlab-progress"), "").unwrap();
    let forced = stdout(&xtask(&root, &["solution", "01", "--force"]));
    assert!(forced.contains("CLONE_NEWNET"), "{forced}");
}

#[test]
fn show_without_a_lab_says_so_in_one_line() {
    let root = scratch("show");
    // The checker as built for the workspace, in the scratch copy's target directory: the
    // registry `show` reads (target/netlab/labs) is the scratch copy's, empty.
    let built = Path::new(env!("CARGO_BIN_EXE_xtask")).with_file_name("checker");
    assert!(
        built.exists(),
        "{} is missing: run `cargo xtask test`, which builds it first",
        built.display()
    );
    let target = root.join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::os::unix::fs::symlink(&built, target.join("debug/checker")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["show", "--no-build"])
        .env("NETLAB_ROOT", &root)
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(
        stderr, "no lab is running: start one with `cargo xtask lab 05`\n",
        "one line"
    );
    assert!(output.stdout.is_empty());
    one_line_error(
        &xtask(&root, &["show", "--lab", "me"]),
        "--lab takes the PID of a lab",
    );
    one_line_error(&xtask(&root, &["show", "05"]), "unknown argument 05");
}
