//! Faults stay in the lab: learner code that breaks the lab host's network (its default route,
//! its firewall, its FORWARD policy), a `cargo xtask check` interrupted with Ctrl-C or killed,
//! step binaries killed with their containers running. In each case the real machine's
//! network is the same before and after, no lab process nor file remains, and the next check
//! run starts clean and passes with the solution.
//!
//! (residue.rs covers the checker's own endings: pass, fail, panic, hang, SIGKILL.)

mod common;

use common::residue::{
    assert_no_lab_processes, assert_same_network, assert_state_dir_clean, lab_processes, state_dir,
    xtask_target, LabProcess,
};
use common::{check_command, check_in, lab_script, paths, run, summary, summary_of, CHECKER_LIMIT};
use lab::snapshot::NetState;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Nothing of the labs on `state` remains, the real network is as `before`, and a run of
/// step `step`'s solution on the same state passes and leaves nothing either.
fn starts_clean_after(scenario: &str, state: &Path, before: &NetState, step: &str) {
    let context = format!("scenario {scenario}");
    assert_no_lab_processes(state, &context);
    assert_state_dir_clean(state, &context);
    assert_same_network(before, &context);
    let solution = common::step(step).decl.binary(true);
    let next = check_in(state, &[paths().target_arg(step, &solution)]);
    let count = common::step(step).checks.len();
    assert!(
        next.code == 0 && summary(&next.stdout) == summary_of(count, 0),
        "scenario {scenario}: the solution's next run did not pass:\n{}",
        next.describe()
    );
    let context = format!("scenario {scenario}, the solution's next run");
    assert_no_lab_processes(state, &context);
    assert_state_dir_clean(state, &context);
    assert_same_network(before, &context);
}

/// Runs `fixture` in a lab, then `probe` (a shell command) on the lab host: what the fixture
/// did there, to show the scenario is not vacuous.
fn inside_the_lab(fixture: &str, probe: &str) -> String {
    let script = format!("\"$1\" run --name x -- true >/dev/null 2>&1; {probe}");
    let mut command = lab_script(&script);
    command.arg("fault").arg(paths().bin(fixture));
    let ran = run(&mut command, Duration::from_secs(60));
    assert_eq!(ran.code, 0, "{}", ran.describe());
    ran.stdout.trim().to_string()
}

/// A fixture breaking the lab host's network, checked as step 01: it does break the lab's
/// network, and nothing of it reaches the machine's.
fn learner_fault(scenario: &str, fixture: &str, probe: &str, in_lab: &str) {
    let state = state_dir(scenario);
    let before = NetState::take().expect("picturing the test's network namespace");
    assert_eq!(
        inside_the_lab(fixture, probe),
        in_lab,
        "{fixture} did not do its damage in the lab"
    );
    let ran = check_in(&state, &[paths().target_arg("01", fixture)]);
    assert_eq!(ran.code, 1, "{}", ran.describe());
    starts_clean_after(scenario, &state, &before, "01");
}

#[test]
fn learner_code_deleting_the_default_route_stays_in_the_lab() {
    learner_fault(
        "no-route",
        "fixture-no-route",
        "ip route show default | wc -l",
        "0",
    );
}

#[test]
fn learner_code_flushing_the_firewall_stays_in_the_lab() {
    learner_fault(
        "flush-firewall",
        "fixture-flush-firewall",
        "nft list ruleset | grep -c -e MASQUERADE -e masquerade || true",
        "0",
    );
}

#[test]
fn learner_code_setting_forward_drop_stays_in_the_lab() {
    learner_fault(
        "forward-drop",
        "fixture-forward-drop",
        "iptables -w -S FORWARD | head -n 1",
        "-P FORWARD DROP",
    );
}

/// Waits until a step binary runs in a lab on `state`, while `child` runs.
fn wait_for_step_binary(child: &mut std::process::Child, state: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("waiting for a child").is_some() {
            return false;
        }
        if lab_processes(state).iter().any(|p| p.step_binary) {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "no step binary started within 30 s"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits (up to `limit`) until no process of the labs on `state` runs.
fn wait_for_no_labs(state: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !lab_processes(state).is_empty() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
}

/// `target/debug/xtask check 05 --solution --no-build`, ended by `signal` once a step binary
/// runs: to its process group (as a terminal's Ctrl-C), or to xtask alone.
fn xtask_interrupted(scenario: &str, signal: Signal, whole_group: bool) {
    let p = paths();
    let (target, state) = xtask_target(scenario);
    let before = NetState::take().expect("picturing the test's network namespace");
    let mut caught = false;
    for _ in 0..5 {
        let mut child = Command::new(p.bin("xtask"))
            .args(["check", "05", "--solution", "--no-build"])
            .env("CARGO_TARGET_DIR", &target)
            .env("NETLAB_ROOT", &p.root)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting xtask");
        if !wait_for_step_binary(&mut child, &state) {
            continue;
        }
        thread::sleep(Duration::from_millis(200));
        let pid = child.id() as i32;
        let to = if whole_group { -pid } else { pid };
        kill(Pid::from_raw(to), signal).expect("signalling xtask");
        let _ = child.wait();
        caught = true;
        break;
    }
    assert!(caught, "xtask finished 5 times before a step binary ran");
    // A checker whose xtask was killed finishes its run on its own; its labs end with it.
    wait_for_no_labs(&state, CHECKER_LIMIT);
    starts_clean_after(scenario, &state, &before, "05");
    let _ = std::fs::remove_dir_all(&target);
}

#[test]
fn ctrl_c_during_xtask_check_leaves_nothing() {
    xtask_interrupted("xtask-sigint", Signal::SIGINT, true);
}

#[test]
fn sigint_to_xtask_alone_during_a_check_leaves_nothing() {
    xtask_interrupted("xtask-sigint-alone", Signal::SIGINT, false);
}

#[test]
fn sigkill_of_xtask_during_a_check_leaves_nothing() {
    xtask_interrupted("xtask-sigkill", Signal::SIGKILL, false);
}

/// The step binaries (not their containers) among a lab's processes.
fn step_binaries(state: &Path, name: &str) -> Vec<LabProcess> {
    lab_processes(state)
        .into_iter()
        .filter(|p| {
            std::fs::read_link(format!("/proc/{}/exe", p.pid))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == name))
        })
        .collect()
}

#[test]
fn step_binaries_killed_with_containers_running_leave_nothing() {
    let scenario = "step-binary-sigkill";
    let state = state_dir(scenario);
    let before = NetState::take().expect("picturing the test's network namespace");
    let mut child = check_command(&state, &[paths().target_arg("05", "solution05")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the checker");
    // Kill every solution05 seen (each owns a running or starting container) until the
    // checker ends: its checks fail, its labs must still vanish.
    let mut killed = 0;
    let deadline = Instant::now() + CHECKER_LIMIT;
    while child.try_wait().expect("waiting").is_none() {
        assert!(Instant::now() < deadline, "the checker did not end");
        for process in step_binaries(&state, "solution05") {
            if kill(Pid::from_raw(process.pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert!(killed > 0, "no step binary was seen to kill");
    starts_clean_after(scenario, &state, &before, "05");
}
