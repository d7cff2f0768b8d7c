//! `cargo xtask lab NN`: c1 starts and can be entered (its own prompt, its own hostname), and
//! a c1 that does not start ends the lab at once with what failed, instead of a lab that waits
//! forever. Runs the real workspace's steps: the stub of step 01 stops at its first `todo!`.

use predicates::prelude::*;

fn lab(args: &[&str], stdin: &str) -> assert_cmd::assert::Assert {
    assert_cmd::cargo::cargo_bin_cmd!("xtask")
        .arg("lab")
        .args(args)
        .write_stdin(stdin)
        .timeout(std::time::Duration::from_secs(120))
        .assert()
}

#[test]
fn c1_runs_and_can_be_entered() {
    lab(
        &["01", "--solution"],
        "enter c1 /bin/sh -c 'echo \"in $(hostname) as $PS1\"'\nenter nope\nexit 0\n",
    )
    .success()
    .stdout(predicate::str::contains(
        "container c1 of solution01 runs (PID ",
    ))
    .stdout(predicate::str::contains("enter it with: enter c1"))
    .stdout(predicate::str::contains("in c1 as c1# "))
    .stderr(predicate::str::contains(
        "enter: no container 'nope' runs in this lab",
    ));
}

#[test]
fn a_c1_that_does_not_start_ends_the_lab_with_what_failed() {
    // `run 01` prints the same first line for the untouched stub.
    lab(&["01"], "echo the lab shell was reached\nexit\n")
        .code(1)
        .stdout(predicate::str::contains("the lab shell was reached").not())
        .stderr(predicate::str::contains(
            "netlab: not implemented yet: steps/01-netns/src/netns.rs",
        ))
        .stderr(predicate::str::contains(
            "lab: container c1 of step01 did not start (its messages are above); the lab ends",
        ));
}
