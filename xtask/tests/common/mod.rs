//! Shared by xtask's integration tests: scratch copies of the workshop (`NETLAB_ROOT`), the
//! target directory `cargo xtask test` built, and the one-line-error rule.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Step 01's files that the verbs read or write, copied into a scratch workshop.
pub const STEP01_FILES: &[&str] = &[
    "steps/01-netns/step.toml",
    "steps/01-netns/Cargo.toml",
    "steps/01-netns/step.toml",
    "steps/01-netns/hints.md",
    "steps/01-netns/README.md",
    "steps/01-netns/src/main.rs",
    "steps/01-netns/src/netns.rs",
    "solutions/01-netns/src/netns.rs",
];

/// The real workspace, this xtask's.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh scratch workshop `name` holding a copy of `STEP01_FILES`.
pub fn scratch(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&root);
    let real = workspace();
    for file in STEP01_FILES {
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().expect("a file has a folder")).expect("mkdir");
        std::fs::copy(real.join(file), &to)
            .unwrap_or_else(|e| panic!("copying {file} into {}: {e}", root.display()));
    }
    root
}

/// `cargo xtask` on the scratch workshop `root` (so the real progress file is never touched).
pub fn xtask(root: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::cargo::cargo_bin_cmd!("xtask");
    command.env("NETLAB_ROOT", root);
    command
}

/// `target/`, where this xtask was built; it must already hold `needed` (paths below it),
/// which `cargo xtask test` builds before it runs the tests.
pub fn built_target(needed: &[&str]) -> PathBuf {
    let xtask = Path::new(env!("CARGO_BIN_EXE_xtask"));
    let target = xtask
        .parent()
        .and_then(Path::parent)
        .expect("xtask is in target/debug");
    for file in needed {
        assert!(
            target.join(file).exists(),
            "{} is missing: run the tests with `cargo xtask test`, which builds it first",
            target.join(file).display()
        );
    }
    target.to_path_buf()
}

/// One line containing `words`, never a panic: what bad input gets on stderr.
pub fn one_line(words: &str) -> impl Predicate<str> {
    predicate::function(|text: &str| text.lines().count() == 1)
        .and(predicate::str::contains(words.to_string()))
        .and(predicate::str::contains("panicked").not())
}

/// Bad input: exit status 2 and [`one_line`] on stderr.
pub fn refused(command: &mut assert_cmd::Command, words: &str) -> assert_cmd::assert::Assert {
    command.assert().code(2).stderr(one_line(words))
}

/// Bad input: exit status 2 and one line on stderr containing `words`, never a panic (for
/// tests that run xtask themselves).
pub fn one_line_error(output: &Output, words: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, got: {stderr}");
    assert!(stderr.contains(words), "expected {words:?} in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
