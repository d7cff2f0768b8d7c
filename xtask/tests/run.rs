//! `cargo xtask run NN -p HOST:CONTAINER`: the step binary gets the ports. The container
//! serves a page and asks for it through the lab host's address (hairpin), so the port is
//! really published.

use predicates::prelude::*;

#[test]
fn run_publishes_a_port() {
    let script = "echo hello from c1 > /tmp/index.html && httpd -p 80 -h /tmp && \
                  for i in 1 2 3 4 5 6 7 8 9 10; do \
                    timeout 5 wget -qO- http://198.51.100.2:8080/ && exit 0; sleep 0.2; \
                  done; exit 1";
    assert_cmd::cargo::cargo_bin_cmd!("xtask")
        .args([
            "run",
            "06",
            "--solution",
            "-p",
            "8080:80",
            "--",
            "sh",
            "-c",
            script,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("hello from c1"));
}

#[test]
fn a_bad_port_is_refused() {
    assert_cmd::cargo::cargo_bin_cmd!("xtask")
        .args(["run", "06", "--solution", "-p", "80", "--", "true"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("HOSTPORT:CONTAINERPORT")
                .and(predicate::str::contains("panicked").not()),
        );
}
