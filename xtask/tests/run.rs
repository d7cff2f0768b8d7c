//! `cargo xtask run NN -p HOST:CONTAINER`: the step binary gets the ports. The container
//! serves a page and asks for it through the lab host's address (hairpin), so the port is
//! really published.

use std::process::Command;

#[test]
fn run_publishes_a_port() {
    let script = "echo hello from c1 > /tmp/index.html && httpd -p 80 -h /tmp && \
                  for i in 1 2 3 4 5 6 7 8 9 10; do \
                    timeout 5 wget -qO- http://198.51.100.2:8080/ && exit 0; sleep 0.2; \
                  done; exit 1";
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
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
        .output()
        .expect("running xtask");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("hello from c1"),
        "status {:?}\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
}

#[test]
fn a_bad_port_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["run", "06", "--solution", "-p", "80", "--", "true"])
        .output()
        .expect("running xtask");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "stderr: {stderr}");
    assert!(
        stderr.contains("HOSTPORT:CONTAINERPORT"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
