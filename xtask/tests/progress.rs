//! The progress file is the learner's, and it may be broken (an editor's crash, a bad merge,
//! a hand edit). A check that ran gives its verdict all the same: the report, its exit status,
//! one line saying the file was unreadable and was started anew, and a progress file that
//! records the verdict; never "5 passed, 0 failed" followed by an error.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

/// A target directory of its own holding the checker and, as the learner's step 01, the
/// solution's binary (so that the check passes); its rootfs is built on first use.
fn target_with_a_passing_step01(name: &str) -> PathBuf {
    let built = common::built_target(&["debug/checker", "debug/solution01"]);
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(target.join("debug")).expect("mkdir");
    for (from, to) in [("checker", "checker"), ("solution01", "step01")] {
        std::fs::copy(
            built.join("debug").join(from),
            target.join("debug").join(to),
        )
        .unwrap_or_else(|e| panic!("copying {from}: {e}"));
    }
    target
}

fn check_01(root: &Path, target: &Path) -> Output {
    common::xtask(root)
        .args(["check", "01", "--no-build"])
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("running xtask")
}

#[test]
fn a_corrupt_progress_file_does_not_undo_the_verdict() {
    let root = common::scratch("corrupt-progress");
    let target = target_with_a_passing_step01("corrupt-progress-target");
    let progress = root.join(".netlab-progress");
    let aside = root.join(".netlab-progress.unreadable");
    let garbage: [&[u8]; 2] = [b"this is not progress\n", b"\xff\xfe\x00 not even text"];
    for bytes in garbage {
        std::fs::write(&progress, bytes).expect("writing garbage");
        let output = check_01(&root, &target);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "the check passed, so xtask does: {stdout}\n{stderr}"
        );
        assert!(stdout.contains("0 failed"), "the report: {stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !stderr.contains("Error"),
            "no error after the report: {stderr}"
        );
        let warnings: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(".netlab-progress"))
            .collect();
        assert_eq!(warnings.len(), 1, "one line about the file: {stderr}");
        assert!(
            warnings[0].contains("was unreadable") && warnings[0].contains("started anew"),
            "{stderr}"
        );
        let recorded = std::fs::read_to_string(&progress).expect("a new progress file");
        assert!(recorded.contains("01 hint=0 passed="), "{recorded}");
        assert_eq!(
            std::fs::read(&aside).expect("the old file kept aside"),
            bytes,
            "the unreadable file is kept as it was"
        );
    }
    // The new file is whole: the next check says nothing about it.
    let output = check_01(&root, &target);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(".netlab-progress"), "{stderr}");
}
