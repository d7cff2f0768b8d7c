//! Every way an interactive run can be killed ends it promptly, with one line, and leaves
//! nothing behind (issue 13): SIGKILL, SIGTERM or SIGHUP of the checker alone, or of xtask
//! alone, during `cargo xtask run` (a long sleep in the container) and `cargo xtask lab` (its
//! shell waiting on an open stdin). Real processes; the only deadlines are generous ones.
//!
//! "Nothing left" is checked on the whole process tree as it was just before the kill (every
//! descendant of the test's xtask, by PID and start time), and on the lab's registry entry.

mod common;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One lab at a time: the machine is small, and each test reads the registry.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long a lab may take to come up (a build may run first), and how long the end may take.
const START: Duration = Duration::from_secs(180);
const END: Duration = Duration::from_secs(10);

#[derive(Clone, Copy)]
enum Verb {
    Run,
    Lab,
    /// `check all --solution`: killed once its first lab runs, long before its end.
    Check,
}

#[derive(Clone, Copy, PartialEq)]
enum Whom {
    Checker,
    Xtask,
}

struct Running {
    xtask: Child,
    /// Held open: the lab's shell waits on it.
    _stdin: Option<ChildStdin>,
    stderr: std::fs::File,
    checker: i32,
    /// Every process of the tree, with its start time.
    tree: Vec<(i32, u64)>,
    /// The lab's registry entry (the checks' labs have none).
    entry: Option<PathBuf>,
}

fn registry() -> PathBuf {
    common::built_target(&[]).join("netlab/labs")
}

fn start(verb: Verb) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    let stderr = tempfile::tempfile().expect("a file for stderr");
    match verb {
        Verb::Run => command
            .args(["run", "01", "--solution", "--", "sleep", "600"])
            .stdin(Stdio::null()),
        Verb::Lab => command.args(["lab"]).stdin(Stdio::piped()),
        Verb::Check => command
            .args(["check", "all", "--solution"])
            .stdin(Stdio::null()),
    };
    command
        .stdout(Stdio::null())
        .stderr(stderr.try_clone().expect("stderr"))
        // Its own process group: no signal meant for it reaches the test.
        .process_group(0);
    // As a terminal's shell starts it: the test harness itself may run under nohup, whose
    // ignored SIGHUP every child would inherit.
    // SAFETY: signal() is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            for signal in [Signal::SIGHUP, Signal::SIGTERM, Signal::SIGINT] {
                nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl)
                    .map_err(std::io::Error::from)?;
            }
            Ok(())
        });
    }
    let mut xtask = command.spawn().expect("starting xtask");
    let stdin = xtask.stdin.take();
    let root = xtask.id() as i32;
    // What the lab runs once it is up: the container's sleep, or the lab host's shell.
    let last: &[&str] = match verb {
        Verb::Run => &["sleep", "600"],
        Verb::Lab => &["/bin/sh", "+m", "-i"],
        Verb::Check => &["lab-task"],
    };
    let deadline = Instant::now() + START;
    loop {
        if let Ok(Some(status)) = xtask.try_wait() {
            panic!(
                "xtask ended before its lab was up ({status}): {}",
                read(&stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "no lab after {START:?}: {}",
            read(&stderr)
        );
        let tree = descendants(root);
        let up = tree.iter().any(|&(pid, _)| {
            let words = cmdline(pid);
            match verb {
                Verb::Check => words.iter().any(|w| w == last[0]),
                _ => words == last,
            }
        });
        let entry = tree
            .iter()
            .map(|&(pid, _)| registry().join(pid.to_string()))
            .find(|file| file.exists());
        let checker = tree
            .iter()
            .map(|&(pid, _)| pid)
            .find(|&pid| parent(pid) == Some(root) && is_checker(pid));
        let registered = entry.is_some() || matches!(verb, Verb::Check);
        if let (true, true, Some(checker)) = (up, registered, checker) {
            return Running {
                xtask,
                _stdin: stdin,
                stderr,
                checker,
                tree,
                entry,
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills `whom` with `signal`; returns xtask's status and what was printed on stderr, once
/// the whole tree has ended.
fn kill_and_wait(mut running: Running, whom: Whom, signal: Signal) -> (ExitStatus, String) {
    let target = match whom {
        Whom::Checker => running.checker,
        Whom::Xtask => running.xtask.id() as i32,
    };
    kill(Pid::from_raw(target), signal).expect("sending the signal");
    let deadline = Instant::now() + END;
    let status = loop {
        if let Some(status) = running.xtask.try_wait().expect("waiting for xtask") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = running.xtask.kill();
            panic!("xtask still runs {END:?} after {signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    loop {
        let left: Vec<i32> = running
            .tree
            .iter()
            .filter(|&&(pid, start)| runs(pid, start))
            .map(|&(pid, _)| pid)
            .collect();
        let entry_left = running.entry.as_ref().is_some_and(|e| e.exists());
        if left.is_empty() && !entry_left {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{END:?} after {signal}: still running {left:?} ({:?}), registry entry left: {entry_left}; stderr: {}",
            left.iter().map(|&pid| cmdline(pid)).collect::<Vec<_>>(),
            read(&running.stderr)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (status, read(&running.stderr))
}

/// The one line the run ended with: the only line of xtask's or the checker's.
fn the_line(stderr: &str) -> String {
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The lab's shell writes its prompt (`lab# `) on stderr, with no newline after it.
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim_start_matches("lab# "))
        .filter(|l| l.starts_with("xtask:") || l.starts_with("checker:"))
        .collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    lines[0].to_string()
}

fn case(verb: Verb, whom: Whom, signal: Signal) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let running = start(verb);
    let xtask = running.xtask.id();
    let checker = running.checker;
    let (status, stderr) = kill_and_wait(running, whom, signal);
    let line = the_line(&stderr);
    let code = 128 + signal as i32;
    match (whom, signal) {
        (Whom::Checker, Signal::SIGKILL) => {
            assert_eq!(status.code(), Some(code), "{stderr}");
            assert_eq!(
                line,
                "xtask: the checker was killed (SIGKILL); its labs ended with it, nothing is left"
            );
        }
        (Whom::Checker, _) => {
            assert_eq!(status.code(), Some(code), "{stderr}");
            assert_eq!(
                line,
                format!("checker: {} received: the lab is ended", signal.as_str())
            );
        }
        (Whom::Xtask, _) => {
            assert_eq!(status.signal(), Some(signal as i32), "{stderr}");
            assert_eq!(
                line,
                format!("checker: xtask (pid {xtask}) is gone: ending its labs")
            );
        }
    }
    assert!(!runs(checker, 0) || !is_checker(checker));
}

#[test]
fn run_checker_sigkill() {
    case(Verb::Run, Whom::Checker, Signal::SIGKILL);
}

#[test]
fn run_checker_sigterm() {
    case(Verb::Run, Whom::Checker, Signal::SIGTERM);
}

#[test]
fn run_checker_sighup() {
    case(Verb::Run, Whom::Checker, Signal::SIGHUP);
}

#[test]
fn run_xtask_sigkill() {
    case(Verb::Run, Whom::Xtask, Signal::SIGKILL);
}

#[test]
fn run_xtask_sigterm() {
    case(Verb::Run, Whom::Xtask, Signal::SIGTERM);
}

#[test]
fn run_xtask_sighup() {
    case(Verb::Run, Whom::Xtask, Signal::SIGHUP);
}

#[test]
fn lab_checker_sigkill() {
    case(Verb::Lab, Whom::Checker, Signal::SIGKILL);
}

#[test]
fn lab_xtask_sigkill() {
    case(Verb::Lab, Whom::Xtask, Signal::SIGKILL);
}

#[test]
fn check_checker_sigkill() {
    case(Verb::Check, Whom::Checker, Signal::SIGKILL);
}

#[test]
fn check_xtask_sigkill() {
    case(Verb::Check, Whom::Xtask, Signal::SIGKILL);
}

#[test]
fn lab_checker_sigterm() {
    case(Verb::Lab, Whom::Checker, Signal::SIGTERM);
}

fn read(file: &std::fs::File) -> String {
    let mut file = file.try_clone().expect("stderr");
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

/// Fields of `/proc/PID/stat` after the command name: state first.
fn stat(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(") ")?;
    Some(rest.split_whitespace().map(String::from).collect())
}

fn parent(pid: i32) -> Option<i32> {
    stat(pid)?.get(1)?.parse().ok()
}

/// Whether `pid` still runs as the process that started at `start` (0: any); a zombie has ended.
fn runs(pid: i32, start: u64) -> bool {
    match stat(pid) {
        Some(fields) => {
            fields[0] != "Z"
                && (start == 0 || fields.get(19).and_then(|s| s.parse().ok()) == Some(start))
        }
        None => false,
    }
}

fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .filter(|word| !word.is_empty())
                .map(|word| String::from_utf8_lossy(word).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn is_checker(pid: i32) -> bool {
    cmdline(pid)
        .first()
        .is_some_and(|program| program.ends_with("/checker"))
}

/// `root` and every process below it, with their start times.
fn descendants(root: i32) -> Vec<(i32, u64)> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(parent) = parent(pid) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut next = vec![root];
    while let Some(pid) = next.pop() {
        if let Some(start) = stat(pid).and_then(|f| f.get(19)?.parse().ok()) {
            found.push((pid, start));
        }
        next.extend(children.get(&pid).into_iter().flatten());
    }
    found
}
