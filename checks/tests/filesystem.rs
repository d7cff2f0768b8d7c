//! Inside the lab the machine's files are read-only: what learner code writes (root in the lab)
//! goes to the lab's own `/tmp`, `/run` and state, and vanishes with it.

mod common;

use common::{lab_script, paths, run, CHECKER_LIMIT};

#[test]
fn nothing_written_in_a_lab_outlives_it() {
    let marker = format!("netlab-fs-test-{}", std::process::id());
    let script = format!(
        "set -u\n\
         touch /tmp/{marker} && echo tmp-writable\n\
         ip netns add {marker} && echo netns-added\n\
         touch /usr/{marker} 2>/dev/null || echo usr-refused\n\
         touch /var/{marker} 2>/dev/null || echo var-refused\n\
         echo nameserver 203.0.113.53 > /etc/resolv.conf && echo resolv-is-the-labs\n\
         touch \"$NETLAB_STATE/{marker}\" && echo state-writable\n"
    );
    let ran = run(&mut lab_script(&script), CHECKER_LIMIT);
    let said = ran.stdout.clone();
    for line in [
        "tmp-writable",
        "netns-added",
        "usr-refused",
        "var-refused",
        "resolv-is-the-labs",
        "state-writable",
    ] {
        assert!(
            said.lines().any(|l| l == line),
            "{line}:\n{}",
            ran.describe()
        );
    }
    // Nothing of it on the machine afterwards.
    for left in [
        std::path::PathBuf::from("/tmp").join(&marker),
        std::path::PathBuf::from("/run/netns").join(&marker),
        std::path::PathBuf::from("/var").join(&marker),
        std::path::PathBuf::from("/usr").join(&marker),
    ] {
        assert!(!left.exists(), "{} outlived the lab", left.display());
    }
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    assert!(
        !resolv.contains("203.0.113.53"),
        "the machine's resolv.conf changed"
    );
}

/// A check's lab keeps even the workspace read-only: a step binary that writes into the tree
/// leaves nothing there (a lab a learner works in, `run`, keeps it writable).
#[test]
fn a_step_binary_in_a_check_cannot_write_the_tree() {
    let p = paths();
    let marker = p
        .target
        .join(format!("netlab-fs-step-{}", std::process::id()));
    let dir = p.target.join("netlab/fs-test");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let script = dir.join("writes-the-tree");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display()),
    )
    .expect("writing the script");
    let mut mode = std::fs::metadata(&script).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    std::fs::set_permissions(&script, mode).expect("chmod");
    let ran = common::check(&[format!("01={}", script.display())]);
    assert!(
        !marker.exists(),
        "{} was written:\n{}",
        marker.display(),
        ran.describe()
    );
}
