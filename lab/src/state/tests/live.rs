//! Reading a live namespace: one made here with `unshare -rn` (a user namespace of its own),
//! read from outside through its PID.

use crate::registry::netns_inode;
use crate::state::netfilter::{Family, Policy, Source};
use crate::state::route::{self, Tables};
use crate::state::{link, rtnl, Netns, Place};
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

/// Everything the model reads, of many kinds: a bridge with a hairpin port, veth pairs within
/// the namespace and into another one (one without carrier), IPv4 and IPv6 addresses, routes of every
/// type, a gateway, metrics, another table.
const MANY: &str = r#"set -e
ip link set lo up
unshare -n sleep 60 >/dev/null 2>&1 &
other=$!
sleep 0.2
ip link add br0 address 02:00:00:00:00:01 type bridge
ip link add v0 type veth peer name v1
ip link add h0 type veth peer name c0 netns $other
ip link set v0 master br0
ip link set h0 master br0
ip link set h0 type bridge_slave hairpin on
ip link set br0 up
ip link set v0 up
ip link set h0 up
ip link add d0 mtu 1400 type veth peer name d1
ip link set d0 up
ip addr add 10.9.0.1/24 dev br0
ip addr add 10.9.0.9/24 dev br0
ip addr add 10.8.0.1/16 dev d0
ip addr add fd00::1/64 dev d0
ip route add default via 10.8.0.254 dev d0 metric 50
ip route add 10.7.0.0/24 via 10.9.0.2 proto static
ip route add blackhole 10.6.0.0/24
ip route add unreachable 10.5.5.5
ip route add 10.4.0.0/24 dev d0 scope link src 10.8.0.1 table 100
ip route add fd01::/64 via fd00::2 dev d0
echo ready
exec sleep 60
"#;

/// A namespace of its own made by `unshare -rn sh -c setup`, once it printed "ready"; None
/// where no user namespace can be made.
fn namespace(setup: &str) -> Option<std::process::Child> {
    let can = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !can {
        eprintln!("this machine cannot make a user namespace: skipped");
        return None;
    }
    let mut child = Command::new("unshare")
        .args(["-rn", "sh", "-c", setup])
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
    Some(child)
}

#[test]
fn netlink_reads_what_ip_lists() {
    let Some(mut child) = namespace(MANY) else {
        return;
    };
    let place = Place::pid(child.id() as i32);
    let by_ip = link::read(&place).map(|links| {
        (
            links,
            route::read(&place, Tables::Main),
            route::read(&place, Tables::All),
        )
    });
    let main = rtnl::read(&place, Tables::Main);
    let all = rtnl::read(&place, Tables::All);
    let _ = child.kill();
    let _ = child.wait();
    let (links, routes, routes_all) = by_ip.expect("ip's links");
    let (netlink_links, netlink_routes) = main.expect("netlink's links and main routes");
    assert_eq!(netlink_links, links);
    assert_eq!(netlink_routes, routes.expect("ip's main routes"));
    assert_eq!(
        all.expect("netlink's routes").1,
        routes_all.expect("ip's routes")
    );
    let h0 = netlink_links.iter().find(|l| l.name == "h0").expect("h0");
    assert!(h0.hairpin && h0.master.as_deref() == Some("br0") && h0.peer_netnsid.is_some());
    assert!(netlink_routes.iter().any(|r| r.kind == "blackhole"));
}

#[test]
fn a_live_namespace_is_read_through_its_pid() {
    let Some(mut child) = namespace(SETUP) else {
        return;
    };
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
