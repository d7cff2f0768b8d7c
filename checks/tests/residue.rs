//! A check run leaves nothing behind on the real machine, however it ends: passed, failed,
//! panicked, hung, or with the checker killed (SIGKILL) in the middle of a check.
//!
//! Each scenario uses a state directory of its own (`target/netlab/residue/<scenario>`), so
//! that the processes it looks for are those of its own labs, even while other tests (or other
//! test binaries, under a parallel runner) have labs running.

mod common;

use common::residue::{
    assert_no_lab_processes, assert_same_network, assert_state_dir_clean, lab_processes, state_dir,
};
use common::{check_command, check_in, code, paths, summary, summary_of, Ran};
use lab::snapshot::NetState;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

/// How a scenario's checker ends.
enum End {
    /// On its own, with this exit status.
    Exits(i32),
    /// Killed with SIGKILL once one of its labs runs the step binary, and `after` more.
    KilledMidCheck { after: Duration },
}

/// Runs the checker on `state` and ends it as `end` says.
fn run_checker(state: &Path, args: &[String], end: &End) -> Ran {
    match end {
        End::Exits(expected) => {
            let ran = check_in(state, args);
            assert_eq!(
                ran.code,
                *expected,
                "unexpected exit status:\n{}",
                ran.describe()
            );
            ran
        }
        End::KilledMidCheck { after } => {
            // A whole step takes ~150 ms, so a fixed delay could miss it: wait for a lab to
            // run the step binary instead. Should the checker still finish first, try again.
            for _ in 0..10 {
                let mut child = check_command(state, args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("starting the checker");
                let deadline = Instant::now() + Duration::from_secs(20);
                let caught = loop {
                    if child.try_wait().expect("waiting for the checker").is_some() {
                        break false;
                    }
                    if lab_processes(state).iter().any(|p| p.step_binary) {
                        break true;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no step binary started within 20 s"
                    );
                    thread::sleep(Duration::from_millis(1));
                };
                if !caught {
                    continue;
                }
                thread::sleep(*after);
                let pid = Pid::from_raw(child.id() as i32);
                kill(pid, Signal::SIGKILL).expect("killing the checker");
                let status = child.wait().expect("waiting for the killed checker");
                assert_eq!(
                    code(status),
                    128 + Signal::SIGKILL as i32,
                    "the checker was not killed"
                );
                return Ran {
                    code: code(status),
                    stdout: String::new(),
                    stderr: String::new(),
                };
            }
            panic!("the checker finished 10 times before any step binary could be seen running");
        }
    }
}

/// Runs the scenario, then checks that nothing is left and that a normal run still passes.
fn leaves_nothing(scenario: &str, args: &[String], end: End) {
    let p = paths();
    let state = state_dir(scenario);
    let before = NetState::take().expect("picturing the test's network namespace");

    let ran = run_checker(&state, args, &end);
    let context = format!(
        "scenario {scenario} (checker ended with status {})",
        ran.code
    );
    assert_no_lab_processes(&state, &context);
    assert_state_dir_clean(&state, &context);
    assert_same_network(&before, &context);

    // The next run starts clean.
    let next = check_in(&state, &[p.target_arg("01", "solution01")]);
    let count = common::step("01").checks.len();
    assert!(
        next.code == 0 && summary(&next.stdout) == summary_of(count, 0),
        "scenario {scenario}: the solution's next run did not pass:\n{}",
        next.describe()
    );
    let context = format!("scenario {scenario}, the solution's next run");
    assert_no_lab_processes(&state, &context);
    assert_state_dir_clean(&state, &context);
    assert_same_network(&before, &context);
}

fn target(binary: &str) -> String {
    paths().target_arg("01", binary)
}

#[test]
fn a_passing_run_leaves_nothing() {
    leaves_nothing("pass", &[target("solution01")], End::Exits(0));
}

#[test]
fn a_failing_run_leaves_nothing() {
    leaves_nothing("fail", &[target("step01")], End::Exits(1));
}

#[test]
fn a_panicking_run_leaves_nothing() {
    leaves_nothing("panic", &[target("fixture-panic")], End::Exits(1));
}

#[test]
fn a_hanging_run_leaves_nothing() {
    let args = [
        "--only".to_string(),
        "own-netns".to_string(),
        target("fixture-hang"),
    ];
    leaves_nothing("hang", &args, End::Exits(1));
}

#[test]
fn a_checker_killed_during_a_passing_check_leaves_nothing() {
    let end = End::KilledMidCheck {
        after: Duration::ZERO,
    };
    leaves_nothing("killed-pass", &[target("solution01")], end);
}

#[test]
fn a_checker_killed_during_a_hang_leaves_nothing() {
    let args = [
        "--only".to_string(),
        "own-netns".to_string(),
        target("fixture-hang"),
    ];
    let end = End::KilledMidCheck {
        after: Duration::from_millis(300),
    };
    leaves_nothing("killed-hang", &args, end);
}

#[test]
fn a_killed_checker_run_leaves_nothing() {
    let p = paths();
    let state = state_dir("killed-run");
    let before = NetState::take().expect("picturing the test's network namespace");
    let mut child = std::process::Command::new(&p.checker)
        .arg("run")
        .arg("--rootfs")
        .arg(&p.rootfs)
        .arg("--state")
        .arg(&state)
        .args(["/bin/sleep", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the checker");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lab_processes(&state).iter().any(|p| p.step_binary) {
        assert!(
            child.try_wait().expect("waiting").is_none(),
            "checker run ended early"
        );
        assert!(
            Instant::now() < deadline,
            "the lab's program did not start within 20 s"
        );
        thread::sleep(Duration::from_millis(5));
    }
    let labs = lab::registry::dir_beside(&state);
    let lab_pid = registered_lab(&labs, child.id() as i32);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("killing the checker");
    let _ = child.wait();
    let lab_pid = lab_pid.expect("the running lab is not in the registry");
    assert_no_lab_processes(&state, "checker run, killed");
    assert_state_dir_clean(&state, "checker run, killed");
    assert_same_network(&before, "checker run, killed");
    // Its keeper had no chance to remove the lab's registry entry: `show` must see it as
    // stale, ignore it, and remove it.
    let mine = lab::registry::file(&labs, lab_pid);
    assert!(
        lab::registry::live(&labs)
            .expect("reading the registry")
            .is_empty(),
        "a killed lab is still listed as running in {}",
        labs.display()
    );
    assert!(
        !mine.exists(),
        "the stale entry {} was not removed",
        mine.display()
    );
}

/// The PID of the lab whose keeper is `keeper`, from the registry `labs` (read from outside).
fn registered_lab(labs: &Path, keeper: i32) -> Option<i32> {
    let parent = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?
            .1
            .split_whitespace()
            .nth(1)?
            .parse::<i32>()
            .ok()
    };
    lab::registry::live(labs)
        .ok()?
        .into_iter()
        .find(|e| parent(e.pid) == Some(keeper))
        .map(|e| e.pid)
}

/// The scan itself: it must see a process with the lab's variable, and stop seeing it once
/// the process is gone (else the tests above would prove nothing).
#[test]
fn the_scan_sees_lab_processes() {
    let state = state_dir("scan");
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .env("NETLAB_STATE", &state)
        .spawn()
        .expect("starting sleep");
    let pid = sleeper.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lab_processes(&state)
        .iter()
        .any(|p| p.pid == pid && p.step_binary)
    {
        if Instant::now() > deadline {
            let _ = sleeper.kill();
            let _ = sleeper.wait();
            panic!(
                "the scan does not see a process with NETLAB_STATE={}",
                state.display()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
    sleeper.kill().expect("stopping sleep");
    sleeper.wait().expect("waiting for sleep");
    assert!(
        lab_processes(&state).is_empty(),
        "the scan sees a process that is gone"
    );
}
