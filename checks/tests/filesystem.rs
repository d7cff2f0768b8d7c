//! Inside the lab the machine's files are read-only: what learner code writes (root in the lab)
//! goes to the lab's own `/tmp`, `/run` and state, and vanishes with it.

mod common;

use common::{lab_script, paths, run, CHECKER_LIMIT};

#[test]
fn nothing_written_in_a_lab_outlives_it() {
    let p = paths();
    let marker = format!("netlab-fs-test-{}", std::process::id());
    let in_tree = p.target.join(&marker);
    let script = format!(
        "set -u\n\
         touch /tmp/{marker} && echo tmp-writable\n\
         ip netns add {marker} && echo netns-added\n\
         touch {tree} 2>/dev/null || echo tree-refused\n\
         touch /var/{marker} 2>/dev/null || echo var-refused\n\
         echo nameserver 203.0.113.53 > /etc/resolv.conf && echo resolv-is-the-labs\n\
         touch \"$NETLAB_STATE/{marker}\" && echo state-writable\n",
        tree = in_tree.display()
    );
    let ran = run(&mut lab_script(&script), CHECKER_LIMIT);
    let said = ran.stdout.clone();
    for line in [
        "tmp-writable",
        "netns-added",
        "tree-refused",
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
        in_tree,
    ] {
        assert!(!left.exists(), "{} outlived the lab", left.display());
    }
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    assert!(
        !resolv.contains("203.0.113.53"),
        "the machine's resolv.conf changed"
    );
}
