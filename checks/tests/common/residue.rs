//! What a test needs to show that labs leave nothing behind: a state directory per scenario,
//! the processes of the labs on it, and the assertions (no lab process, an empty state
//! directory, the real network namespace unchanged).

use super::paths;
use lab::snapshot::NetState;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// How long lab processes may take to vanish after their checker ended.
pub const GRACE: Duration = Duration::from_secs(3);

pub fn state_dir(scenario: &str) -> PathBuf {
    let dir = paths().target.join("netlab/residue").join(scenario);
    // A previous, failed run may have left files; a mount left there would be reported below.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// A process of a lab on `state`: a step binary (it has `NETLAB_STATE=<state>` in its
/// environment) or a lab task or keeper (`--state <state>` on its command line).
#[derive(Debug)]
pub struct LabProcess {
    pub pid: i32,
    pub cmdline: String,
    pub step_binary: bool,
}

pub fn lab_processes(state: &Path) -> Vec<LabProcess> {
    let me = std::process::id().to_string();
    let env_entry = format!("NETLAB_STATE={}", state.display());
    let arg = state.display().to_string();
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<i32>() else {
            continue;
        };
        if name == me {
            continue;
        }
        let base = entry.path();
        // Zombies are dead already (their parent, often init, has not reaped them yet).
        let stat = std::fs::read_to_string(base.join("stat")).unwrap_or_default();
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z'))
        {
            continue;
        }
        // Unreadable (or vanished meanwhile): not ours to judge.
        let environ = std::fs::read(base.join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(base.join("cmdline")).unwrap_or_default();
        let step_binary = environ
            .split(|b| *b == 0)
            .any(|e| e == env_entry.as_bytes());
        let lab_task = cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes());
        if step_binary || lab_task {
            found.push(LabProcess {
                pid,
                cmdline: String::from_utf8_lossy(&cmdline).replace('\0', " "),
                step_binary,
            });
        }
    }
    found
}

/// Waits up to [`GRACE`] for the labs on `state` to vanish; kills and reports what remains.
pub fn assert_no_lab_processes(state: &Path, context: &str) {
    let deadline = Instant::now() + GRACE;
    loop {
        let left = lab_processes(state);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            // They were started by this test: do not leave them running.
            for process in &left {
                let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
            }
            let list: Vec<String> = left
                .iter()
                .map(|p| format!("{} {}", p.pid, p.cmdline))
                .collect();
            panic!(
                "{context}: lab processes still run {GRACE:?} after the checker ended (the lab \
                 must die with the checker):\n  {}",
                list.join("\n  ")
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The real state directory stays empty: each lab mounts a private tmpfs on it.
pub fn assert_state_dir_clean(state: &Path, context: &str) {
    let entries: Vec<String> = std::fs::read_dir(state)
        .unwrap_or_else(|e| panic!("reading {}: {e}", state.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        entries.is_empty(),
        "{context}: files left in {}: {entries:?}",
        state.display()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let wanted = state.display().to_string();
    let left: Vec<&str> = mounts
        .lines()
        .filter(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|point| point.starts_with(&wanted))
        })
        .collect();
    assert!(
        left.is_empty(),
        "{context}: mounts left on the state directory:\n{}",
        left.join("\n")
    );
}

pub fn assert_same_network(before: &NetState, context: &str) {
    let after = NetState::take().expect("picturing the test's network namespace");
    let changes = before.diff(&after);
    assert!(
        changes.is_empty(),
        "{context}: the real network namespace changed:\n  {}\n--- before ---\n{before}\n--- after ---\n{after}",
        changes.join("\n  ")
    );
}

/// A target directory of its own for `target/debug/xtask` (CARGO_TARGET_DIR): the binaries
/// and the rootfs are the workspace's (symlinks), the labs' state is private to the scenario.
pub fn xtask_target(scenario: &str) -> (PathBuf, PathBuf) {
    let p = paths();
    let dir = p.target.join("netlab/faults").join(scenario);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("netlab/state"))
        .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    std::os::unix::fs::symlink(&p.bin_dir, dir.join("debug")).expect("linking debug/");
    std::os::unix::fs::symlink(&p.rootfs, dir.join("netlab/rootfs")).expect("linking rootfs/");
    let state = dir.join("netlab/state");
    (dir, state)
}
