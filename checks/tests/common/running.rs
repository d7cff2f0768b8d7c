//! A lab opened with `checker run` (as `cargo xtask lab` does) and kept running in the
//! background, for the tests that look at it from outside (`show`, `trace`): started, found
//! in the registry, told to stop, and seen gone.

use super::paths;
use lab::registry;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A lab on the default state directory (where `cargo xtask show` looks).
pub struct RunningLab {
    /// Its keeper: `checker run`, our child.
    pub checker: Child,
    /// The lab's PID, as the registry names it.
    pub pid: i32,
}

/// A fresh folder `name` of the test `kind` in the target directory.
pub fn scratch(kind: &str, name: &str) -> PathBuf {
    let dir = paths().target.join("netlab").join(kind).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Where the labs on the default state directory register.
pub fn registry_dir() -> PathBuf {
    registry::dir_beside(&paths().state)
}

/// The parent of process `pid`.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Starts `command` (a `checker run` of a script that ends once `$STOP` exists) and waits for
/// the lab's registry entry, and for `ready` when given.
pub fn start(mut command: Command, ready: Option<&Path>) -> RunningLab {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut checker = command.spawn().expect("starting checker run");
    let keeper = checker.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = checker.try_wait() {
            panic!("the lab ended early ({status})");
        }
        let entry = registry::live(&registry_dir())
            .expect("reading the registry")
            .into_iter()
            .find(|e| parent_of(e.pid) == Some(keeper));
        if let Some(entry) = entry.filter(|_| ready.is_none_or(Path::exists)) {
            return RunningLab {
                checker,
                pid: entry.pid,
            };
        }
        if Instant::now() > deadline {
            let _ = checker.kill();
            let _ = checker.wait();
            panic!("the lab did not get ready (registry entry, container c1) within 30 s");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `stop` and waits for the lab to end: its script succeeded, its entry is gone.
pub fn stop(mut lab: RunningLab, stop: &Path) {
    std::fs::write(stop, "").expect("writing the stop file");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = lab.checker.try_wait().expect("waiting for the lab") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = lab.checker.kill();
            let _ = lab.checker.wait();
            panic!("the lab did not end within 30 s of being told to");
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "the lab's script failed: {status}");
    assert!(
        !registry::file(&registry_dir(), lab.pid).exists(),
        "the registry entry of lab {} is left after it ended",
        lab.pid
    );
}
