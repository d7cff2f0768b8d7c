//! The container runtime's contract, observed through `checker run` in a lab: the command's
//! exit status is the step binary's, each container has its hostname and its own /etc, and a
//! step binary outside a lab refuses to start.

mod common;

use common::{paths, run, Ran};
use std::process::Command;
use std::time::Duration;

/// Runs a shell script on the lab host of a fresh lab, with `$BIN` the solution of step 01.
fn in_lab(script: &str) -> Ran {
    let mut command = common::lab_script(script);
    command.env("BIN", paths().bin("solution01"));
    run(&mut command, Duration::from_secs(60))
}

#[test]
fn the_command_exit_status_is_the_step_binary_exit_status() {
    let ran = in_lab("$BIN run --name c1 -- sh -c 'exit 7'");
    assert_eq!(ran.code, 7, "{}", ran.describe());
    let ran = in_lab("$BIN run --name c1 -- /no/such/program");
    assert_eq!(ran.code, 127, "{}", ran.describe());
    assert!(
        ran.stderr.contains("cannot run '/no/such/program'"),
        "{}",
        ran.describe()
    );
}

#[test]
fn each_container_has_its_hostname_and_its_own_etc() {
    let ran = in_lab(
        "$BIN run --name first -- sh -c 'hostname; echo mine > /etc/marker' && \
         $BIN run --name second -- sh -c 'hostname; cat /etc/marker 2>/dev/null || echo clean'",
    );
    assert_eq!(ran.stdout, "first\nsecond\nclean\n", "{}", ran.describe());
}

#[test]
fn a_killed_container_ends_the_step_binary_with_its_signal() {
    // SIGKILL to the container's first process, from the lab host: the step binary reports
    // 128 + 9 and removes the container's state.
    let ran = in_lab(
        "$BIN run --name c1 -- sleep 30 & \
         while [ ! -e $NETLAB_STATE/containers/c1/pid ]; do sleep 0.01; done; \
         kill -9 $(cat $NETLAB_STATE/containers/c1/pid); wait $!; echo status=$?; \
         ls $NETLAB_STATE/containers",
    );
    assert_eq!(ran.stdout, "status=137\n", "{}", ran.describe());
}

#[test]
fn a_step_binary_outside_a_lab_refuses_to_start() {
    let output = Command::new(paths().bin("solution01"))
        .args(["run", "--", "true"])
        .env_remove("NETLAB_STATE")
        .env_remove("NETLAB_ROOTFS")
        .output()
        .expect("run the step binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("cargo xtask run NN"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
