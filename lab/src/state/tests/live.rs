//! Reading a live namespace: one made here with `unshare -rn` (a user namespace of its own),
//! read from outside through its PID.

use crate::registry::netns_inode;
use crate::state::netfilter::{Family, Policy, Source};
use crate::state::{Netns, Place};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SETUP: &str = r#"set -e
ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 10.9.0.1/24 dev v0
ip link set v0 up
echo 1 > /proc/sys/net/ipv4/ip_forward
iptables -t nat -A POSTROUTING -s 10.9.0.0/24 -o v1 -j MASQUERADE
nft add table inet t
nft add chain inet t f '{ type filter hook forward priority 0; policy drop; }'
echo ready
exec sleep 60
"#;

#[test]
fn a_live_namespace_is_read_through_its_pid() {
    let can = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !can {
        eprintln!("this machine cannot make a user namespace: skipped");
        return;
    }
    let mut child = Command::new("unshare")
        .args(["-rn", "sh", "-c", SETUP])
        .env("PATH", crate::netcmd::TOOL_PATH)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting unshare");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("the child's stdout");
    let _ = BufReader::new(stdout).read_line(&mut line);
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the namespace's setup failed (its errors are above)");
    }
    let own = netns_inode("/proc/thread-self/ns/net").expect("this thread's namespace");
    let pid = child.id() as i32;
    let ns = Netns::read(&Place::pid(pid).forbidding(Some(own)));
    // The guard: nothing runs in this process's own namespace when it is forbidden.
    let refused = Netns::read(&Place::here().forbidding(Some(own)));
    let _ = child.kill();
    let _ = child.wait();

    assert!(ns.all_problems().is_empty(), "{:?}", ns.all_problems());
    let v0 = ns.link("v0").expect("v0");
    assert_eq!(v0.addrs, [("10.9.0.1".parse().expect("ip"), 24)]);
    assert_eq!(
        ns.link("v1").map(|l| (l.kind.as_str(), l.up)),
        Some(("veth", false))
    );
    assert!(ns
        .routes
        .iter()
        .any(|r| r.short() == "10.9.0.0/24 dev v0 src 10.9.0.1"));
    assert!(ns.sysctls.ip_forward());
    assert_eq!(ns.sysctls.conf("v0", "rp_filter").map(|v| v.len()), Some(1));
    assert!(ns.masquerades(
        "10.9.0.2".parse().expect("ip"),
        "203.0.113.1".parse().expect("ip"),
        "v1"
    ));
    let t = ns
        .netfilter
        .table(Family::Inet, "t", Source::Nft)
        .expect("the nft table");
    assert_eq!(t.chains[0].base.map(|b| b.policy), Some(Policy::Drop));

    assert!(refused.links.is_empty() && refused.netfilter.tables.is_empty());
    assert!(
        refused
            .all_problems()
            .iter()
            .all(|p| p.contains("refusing")),
        "{:?}",
        refused.all_problems()
    );
}
