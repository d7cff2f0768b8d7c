//! A broken base root filesystem (a busybox applet deleted, before the run or while a check
//! runs) is the lab's failure, reported as such and naming the rootfs: never the learner's.
//! Each test breaks a copy of the rootfs of its own, never the shared one other tests use.

mod common;

use common::{paths, run, Ran, CHECKER_LIMIT};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh copy of the lab's rootfs, and a state directory, for scenario `name`.
fn copy_of_the_rootfs(name: &str) -> (PathBuf, PathBuf) {
    let dir = paths().target.join("netlab/broken-rootfs").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).expect("mkdir");
    let rootfs = dir.join("rootfs");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&paths().rootfs)
        .arg(&rootfs)
        .status()
        .expect("running cp");
    assert!(copied.success(), "copying the rootfs");
    assert_eq!(
        container::base_incomplete(&rootfs),
        None,
        "the copy is whole"
    );
    (rootfs, dir.join("state"))
}

fn check(rootfs: &Path, state: &Path, target: &str) -> Ran {
    let mut command = Command::new(&paths().checker);
    command
        .arg("check")
        .arg("--rootfs")
        .arg(rootfs)
        .arg("--state")
        .arg(state)
        .arg(target);
    run(&mut command, CHECKER_LIMIT)
}

/// Every check of the report is a lab error naming the rootfs and what it lacks.
fn every_check_blames_the_rootfs(ran: &Ran, rootfs: &Path, lacking: &str) {
    let results: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|l| {
            ["  PASS", "  FAIL", "  LAB", "  HANG", "  TODO"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert!(!results.is_empty(), "{}", ran.describe());
    for line in &results {
        assert!(line.starts_with("  LAB"), "{line}\n{}", ran.describe());
    }
    assert!(ran.code != 0, "{}", ran.describe());
    let named = format!(
        "the lab's base root filesystem {} is incomplete ({lacking})",
        rootfs.display()
    );
    assert!(
        ran.stdout.contains(&named),
        "{named:?} in\n{}",
        ran.describe()
    );
    assert!(ran.stdout.contains("not your code"), "{}", ran.describe());
}

#[test]
fn an_applet_missing_before_the_run_is_a_lab_error() {
    let (rootfs, state) = copy_of_the_rootfs("before");
    std::fs::remove_file(rootfs.join("bin/ping")).expect("deleting bin/ping");
    let solution = paths().target_arg("01", "solution01");
    let ran = check(&rootfs, &state, &solution);
    every_check_blames_the_rootfs(&ran, &rootfs, "bin/ping missing");
}

#[test]
fn an_applet_deleted_while_a_check_runs_is_a_lab_error() {
    let (rootfs, state) = copy_of_the_rootfs("during");
    // A "step binary" that waits, inside its lab, until the base breaks under it, then fails
    // as containers would on a broken base: the check's failure is the lab's, not the code's.
    // The base is broken from outside: inside the lab the machine's files are read-only.
    let script = rootfs
        .parent()
        .expect("a parent")
        .join("waits-for-the-break");
    std::fs::write(
        &script,
        "#!/bin/sh
while [ -e \"$NETLAB_ROOTFS/bin/sh\" ]; do sleep 0.05; done\nexit 1\n",
    )
    .expect("writing the script");
    let mut mode = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(&script, mode).expect("chmod");
    let mut command = Command::new(&paths().checker);
    command
        .arg("check")
        .arg("--rootfs")
        .arg(&rootfs)
        .arg("--state")
        .arg(&state)
        .arg(format!("01={}", script.display()));
    let checker = std::thread::spawn(move || run(&mut command, CHECKER_LIMIT));
    // Once a lab runs the script (its name on some process's command line), break the base.
    let name = script.display().to_string();
    let started = std::time::Instant::now();
    while !running(&name) {
        assert!(started.elapsed() < CHECKER_LIMIT, "no lab ever ran {name}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::fs::remove_file(rootfs.join("bin/sh")).expect("deleting bin/sh");
    let ran = checker.join().expect("the checker's thread");
    every_check_blames_the_rootfs(&ran, &rootfs, "bin/sh missing");
    // The lab that ran the script was whole when it was built: its verdict is the one judged
    // after the check (labs built after the break find it then, whichever checks they run).
    let judged_after = ran
        .stdout
        .lines()
        .filter(|l| l.contains("base root filesystem"))
        .any(|l| !l.contains("building the lab"));
    assert!(judged_after, "{}", ran.describe());
}

/// Whether a shell runs the script `path` (`/bin/sh PATH`, as the kernel starts a `#!`
/// script; the checker's `01=PATH` and a lab task's `--bin PATH` are not that).
fn running(path: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| {
            let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
            args.len() >= 2 && args[0].ends_with(b"sh") && args[1] == path.as_bytes()
        })
    })
}
