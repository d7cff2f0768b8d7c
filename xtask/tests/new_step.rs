//! `cargo xtask new-step` in a scratch copy of the workshop: it writes the files
//! CONTRIBUTING.md lists (at most 11 new files, and edits one existing file, plus Cargo.lock),
//! and the workshop's tests pass with the new step: its solution passes its checks, its stub
//! stops at its TODO, its lesson's commands work, its mutant is caught, and the declarations
//! agree. Nothing outside the scratch copy is written (its builds go to a target directory of
//! their own, kept between runs so that only the first one compiles everything).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file the workshop's git knows (and untracked ones it does not ignore), by path, with
/// its contents.
fn workshop_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let listed = Command::new("git")
        .args(["ls-files", "-co", "--exclude-standard", "-z"])
        .current_dir(root)
        .output()
        .expect("running git ls-files");
    assert!(
        listed.status.success(),
        "git ls-files failed in {}",
        root.display()
    );
    listed
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter_map(|p| std::fs::read(root.join(&p)).ok().map(|bytes| (p, bytes)))
        .collect()
}

fn tree(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            tree(&entry.path(), &format!("{name}/"), out);
        } else if let Ok(bytes) = std::fs::read(entry.path()) {
            out.insert(name, bytes);
        }
    }
}

/// The number of the step the scaffold writes: the one after the workshop's last (`08` when
/// steps 01 to 07 exist).
fn next_step() -> String {
    let steps = Path::new(env!("CARGO_MANIFEST_DIR")).join("../steps");
    let last = std::fs::read_dir(&steps)
        .expect("the workshop's steps")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.get(..2)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("{:02}", last + 1)
}

/// Runs `program args` in `dir` with the scratch workshop's environment; panics with its
/// output when it fails (or, with `expect_ok` false, when it succeeds).
fn run_in(dir: &Path, target: &Path, program: &Path, args: &[&str], expect_ok: bool) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NETLAB_ROOT", dir)
        .env("CARGO_TARGET_DIR", target)
        .env("NETLAB_MUTANTS_STEP", next_step())
        .env_remove("RUSTFLAGS")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.success(),
        expect_ok,
        "{} {args:?} in {}:\n{text}",
        program.display(),
        dir.display()
    );
    text
}

/// A first scratch build starts from the workspace's own: its compiled crates, hard-linked
/// (instant, no space). The crates.io dependencies are then fresh, and only the scratch
/// copy's own packages compile (their paths differ, so their files are new ones, never the
/// linked ones rewritten).
fn seed(target: &Path, scratch_target: &Path) {
    let debug = scratch_target.join("debug");
    if debug.exists() {
        return;
    }
    std::fs::create_dir_all(&debug).expect("the scratch target");
    // Step 09's lesson drives its plugin through the CNI driver, built into target/netlab.
    let driver = target.join("netlab/cni-driver");
    if driver.exists() {
        std::fs::create_dir_all(scratch_target.join("netlab")).expect("the scratch netlab");
        std::fs::copy(&driver, scratch_target.join("netlab/cni-driver")).expect("the driver");
    }
    for part in ["deps", "build", ".fingerprint"] {
        let status = Command::new("cp")
            .arg("-al")
            .arg(target.join("debug").join(part))
            .arg(&debug)
            .status()
            .expect("running cp");
        assert!(status.success(), "linking {part} into {}", debug.display());
    }
}

#[test]
fn a_new_step_is_its_folders_its_checks_and_one_line_and_passes_the_tests() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = common::built_target(&[]);
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("new-step");
    let _ = std::fs::remove_dir_all(&scratch);
    let before = workshop_files(&real);
    for (path, bytes) in &before {
        let to = scratch.join(path);
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&to, bytes).expect("copying the workshop");
    }
    let scratch_target = target.join("scratch-new-step");
    seed(&target, &scratch_target);
    let xtask = PathBuf::from(env!("CARGO_BIN_EXE_xtask"));
    let nn = next_step();
    let folder = format!("{nn}-example");

    let said = run_in(
        &scratch,
        &scratch_target,
        &xtask,
        &["new-step", &folder, "--title", "an example step"],
        true,
    );
    let mut after = BTreeMap::new();
    tree(&scratch, "", &mut after);
    let added: Vec<&String> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    let edited: Vec<&String> = before
        .iter()
        .filter(|(p, bytes)| after.get(*p) != Some(bytes))
        .map(|(p, _)| p)
        .collect();
    assert!(
        added.len() <= 11,
        "{} new files: {added:?}\n{said}",
        added.len()
    );
    assert_eq!(edited, ["checks/src/steps/mod.rs"], "{said}");

    // The lines CONTRIBUTING.md lists are exactly what the scaffold wrote and edited.
    let contributing =
        std::fs::read_to_string(real.join("CONTRIBUTING.md")).expect("CONTRIBUTING.md");
    let listed: Vec<String> = contributing
        .split("<!-- new-step-files -->")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("CONTRIBUTING.md lists a new step's files after <!-- new-step-files -->")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|p| {
            p.replace("NN-slug", &folder)
                .replace("slug.rs", "example.rs")
                .replace("NN", &nn)
        })
        .collect();
    let mut wrote: Vec<String> = added.iter().map(|p| p.to_string()).collect();
    wrote.extend(edited.iter().map(|p| p.to_string()));
    wrote.sort();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(
        listed_sorted, wrote,
        "CONTRIBUTING.md's list of a new step's files is not what new-step wrote"
    );

    // Its checks: the solution passes, the stub stops at its TODO.
    let passed = run_in(
        &scratch,
        &scratch_target,
        &xtask,
        &["check", &nn, "--solution"],
        true,
    );
    assert!(passed.contains("1 passed, 0 failed"), "{passed}");
    let todo = run_in(&scratch, &scratch_target, &xtask, &["check", &nn], false);
    assert!(
        todo.contains(&format!("steps/{folder}/src/example.rs:")),
        "{todo}"
    );

    // The workshop's own tests of every step, with the new one among them.
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // As `cargo xtask test` does: every step binary first (the tests run them).
    run_in(
        &scratch,
        &scratch_target,
        &cargo,
        &["build", "--offline", "-q", "--workspace", "--bins"],
        true,
    );
    let tests = run_in(
        &scratch,
        &scratch_target,
        &cargo,
        &[
            "test",
            "--offline",
            "-q",
            "-p",
            "checks",
            "--test",
            "declarations",
            "--test",
            "steps",
            "--test",
            "lessons",
            "--test",
            "mutants",
        ],
        true,
    );
    assert!(!tests.contains("FAILED"), "{tests}");

    let lock = std::fs::read_to_string(scratch.join("Cargo.lock")).expect("Cargo.lock");
    assert!(
        lock.contains(&format!("name = \"step{folder}\"")),
        "Cargo.lock gains the new packages"
    );
}
