//! `cargo xtask watch`: a save of the step's file re-runs its checks, with file events or by
//! polling when they do not arrive; keys arrive line by line (stdin is a pipe here).
//! The interactive tests start xtask with std's Command: they write keys while reading its
//! output line by line, and send it signals, which assert_cmd (run to the end, then assert)
//! does not do.
//! Each test runs xtask against a scratch copy of step 01 (`NETLAB_ROOT`, so progress and
//! saves stay there) and the binaries `cargo xtask test` built (`CARGO_TARGET_DIR`,
//! `--no-build`). No timing assertions: only generous timeouts against hangs.

mod common;

use common::{built_target, scratch, xtask};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(90);

/// `target/`, where this xtask and the workshop's binaries were built.
fn target() -> PathBuf {
    built_target(&["debug/checker", "debug/step01", "netlab/rootfs/bin/busybox"])
}

/// A running `xtask watch`, killed if the test ends early.
struct Watch {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(root: &Path, target: &Path, args: &[&str], no_events: bool) -> Watch {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .arg("watch")
            .args(args)
            .env("NETLAB_ROOT", root)
            .env("CARGO_TARGET_DIR", target)
            .env_remove("NETLAB_WATCH_NO_EVENTS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if no_events {
            command.env("NETLAB_WATCH_NO_EVENTS", "1");
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Watch {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `text`; panics with what was read after [`PATIENCE`].
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?} (the output so far:)\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The first verdict is on screen and watch is waiting.
    fn wait_for_run(&mut self, run: u32) {
        self.wait_for(&format!("run #{run} "));
        self.wait_for(" passed, ");
        self.wait_for("watching ");
    }

    fn key(&mut self, key: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{key}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the exit (after [`PATIENCE`]: kills it and panics); the exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watch did not exit:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_save_reruns_the_checks_and_keys_show_hints_and_quit() {
    let (root, target) = (scratch("watch-events"), target());
    let mut watch = Watch::start(&root, &target, &["01", "--no-build"], false);
    watch.wait_for("run #1 ");
    watch.wait_for(" passed, ");
    watch.wait_for("next hint: level 1 of 3 (concept): press h");
    watch.wait_for("watching ");
    // An editor's save: the whole file rewritten, here with the solution's content.
    let solution = std::fs::read_to_string(root.join("solutions/01-netns/src/netns.rs")).unwrap();
    std::fs::write(root.join("steps/01-netns/src/netns.rs"), solution).unwrap();
    watch.wait_for("run #2 ");
    watch.wait_for("(after a save of steps/01-netns/src/netns.rs)");
    watch.wait_for(" passed, ");
    watch.wait_for("watching ");
    watch.key("h");
    watch.wait_for("step 01 · hint 1 of 3 · concept");
    watch.wait_for("next hint: level 2 of 3 (command): press h");
    watch.key("q");
    assert_eq!(watch.exit_code(), Some(0), "{}", watch.seen.join("\n"));
    assert!(
        !watch.seen.iter().any(|l| l.contains("polling")),
        "file events arrive here: {}",
        watch.seen.join("\n")
    );
    let progress = std::fs::read_to_string(root.join(".netlab-progress")).unwrap();
    assert!(progress.contains("01 hint=1"), "{progress}");
}

#[test]
fn without_file_events_it_says_so_and_polls() {
    let (root, target) = (scratch("watch-poll"), target());
    let mut watch = Watch::start(&root, &target, &["01", "--no-build"], true);
    watch.wait_for_run(1);
    watch.wait_for("file events do not arrive here");
    let file = root.join("steps/01-netns/src/netns.rs");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("// saved again\n");
    std::fs::write(&file, text).unwrap();
    watch.wait_for_run(2);
    watch.key("q");
    assert_eq!(watch.exit_code(), Some(0), "{}", watch.seen.join("\n"));

    // --poll forces it.
    let mut watch = Watch::start(&root, &target, &["01", "--no-build", "--poll"], false);
    watch.wait_for_run(1);
    watch.wait_for("polling the files every 0.5 s (--poll)");
    watch.key("q");
    assert_eq!(watch.exit_code(), Some(0), "{}", watch.seen.join("\n"));
}

/// A learner binary that hangs: `q` still quits during the run, which is stopped.
#[test]
fn a_hanging_step_does_not_freeze_it() {
    let (root, real_target) = (scratch("watch-hang"), target());
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("watch-hang-target");
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::fs::create_dir_all(target.join("netlab/state")).unwrap();
    let link = |from: &str, to: &str| {
        std::os::unix::fs::symlink(real_target.join(from), target.join(to)).unwrap();
    };
    link("debug/checker", "debug/checker");
    link("debug/fixture-hang", "debug/step01");
    link("netlab/rootfs", "netlab/rootfs");
    assert!(
        target.join("debug/step01").exists(),
        "fixture-hang is missing: run the tests with `cargo xtask test`"
    );
    let mut watch = Watch::start(&root, &target, &["01", "--no-build"], false);
    watch.wait_for("run #1 ");
    watch.key("q");
    assert_eq!(watch.exit_code(), Some(0), "{}", watch.seen.join("\n"));
    assert!(
        !watch.seen.iter().any(|l| l.contains(" passed, ")),
        "the run was stopped before its report: {}",
        watch.seen.join("\n")
    );
}

#[test]
fn a_signal_stops_it() {
    let (root, target) = (scratch("watch-signal"), target());
    let mut watch = Watch::start(&root, &target, &["01", "--no-build"], false);
    watch.wait_for_run(1);
    let killed = Command::new("kill")
        .args(["-TERM", &watch.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(watch.exit_code(), Some(128 + 15));
}

#[test]
fn bad_arguments_get_one_line() {
    let root = scratch("watch-args");
    for (args, words) in [
        (
            &["watch", "42"][..],
            "unknown step '42': the steps are 01, all",
        ),
        (&["watch"][..], "which step?"),
        (&["watch", "all"][..], "one step, not all"),
        (&["watch", "01", "--frob"][..], "unknown option --frob"),
    ] {
        // assert_cmd gives xtask a pipe for stdin, not a terminal, as here before.
        common::refused(xtask(&root).args(args), words);
    }
}
