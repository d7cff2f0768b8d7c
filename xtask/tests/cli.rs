//! Bad input to `cargo xtask` gets one clear line and a non-zero exit, never a panic.
//! These run the xtask binary against a scratch copy of the workshop (`NETLAB_ROOT`), so the
//! real progress file is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&root);
    let step = root.join("steps/01-netns");
    std::fs::create_dir_all(&step).unwrap();
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../steps/01-netns/hints.md");
    std::fs::copy(real, step.join("hints.md")).unwrap();
    root
}

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("NETLAB_ROOT", root)
        .output()
        .unwrap()
}

fn one_line_error(output: &Output, words: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, got: {stderr}");
    assert!(stderr.contains(words), "expected {words:?} in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_verb_lists_the_verbs() {
    let root = scratch("verb");
    one_line_error(
        &xtask(&root, &["frobnicate"]),
        "use one of check, hint, run, lab, doctor, test, bench",
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
