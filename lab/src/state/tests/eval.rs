//! Following packets through the fixtures' firewalls: the same questions get the same answers
//! from iptables rules and from native nftables ones.

use super::netns;
use crate::state::netfilter::{
    iptables, Decider, Hook, Kinds, Listings, Locals, Nat, Netfilter, Packet, Policy, Verdict,
};
use crate::state::{End, Netns, Start};
use std::net::Ipv4Addr;

fn ip(text: &str) -> Ipv4Addr {
    text.parse().expect("an address")
}

/// What happens to a few packets that matter, in words.
fn story(ns: &Netns) -> Vec<String> {
    let cases = [
        (
            "internet to the published port",
            Start::Arrives("eth0".into()),
            Packet::tcp(ip("198.51.100.1"), ip("198.51.100.2"), 8080),
        ),
        (
            "the host to 127.0.0.1:8080",
            Start::Sent,
            Packet::tcp(ip("127.0.0.1"), ip("127.0.0.1"), 8080),
        ),
        (
            "the host to its own eth0 address",
            Start::Sent,
            Packet::tcp(ip("198.51.100.2"), ip("198.51.100.2"), 8080),
        ),
        (
            "a container to the internet",
            Start::Arrives("netlab0".into()),
            Packet::tcp(ip("10.0.0.2"), ip("203.0.113.80"), 80),
        ),
        (
            "the internet straight to a container",
            Start::Arrives("eth0".into()),
            Packet::tcp(ip("198.51.100.1"), ip("10.0.0.2"), 80),
        ),
        (
            "a container to another",
            Start::Arrives("netlab0".into()),
            Packet::tcp(ip("10.0.0.2"), ip("10.0.0.3"), 80),
        ),
        (
            "the internet to a port not published",
            Start::Arrives("eth0".into()),
            Packet::tcp(ip("198.51.100.1"), ip("198.51.100.2"), 8081),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, start, packet)| {
            let trace = ns.trace(start, packet);
            let nat = |n: &Option<(Nat, _)>| n.as_ref().map(|(n, _)| n.to_string());
            format!(
                "{name}: {:?} {:?}, {}, from {}",
                nat(&trace.dnat),
                nat(&trace.snat),
                trace.end,
                trace.packet.src
            )
        })
        .collect()
}

#[test]
fn packets_through_iptables_rules() {
    assert_eq!(
        story(&netns("iptables")),
        [
            "internet to the published port: Some(\"DNAT to 10.0.0.2:80\") None, forwarded out of netlab0, from 198.51.100.1",
            "the host to 127.0.0.1:8080: Some(\"DNAT to 10.0.0.2:80\") Some(\"MASQUERADE\"), sent out of netlab0, from 10.0.0.1",
            "the host to its own eth0 address: Some(\"DNAT to 10.0.0.2:80\") Some(\"MASQUERADE\"), sent out of netlab0, from 10.0.0.1",
            "a container to the internet: None Some(\"MASQUERADE\"), forwarded out of eth0, from 198.51.100.2",
            "the internet straight to a container: None None, dropped in filter FORWARD by its policy DROP (hook FORWARD), from 198.51.100.1",
            "a container to another: None None, forwarded out of netlab0, from 10.0.0.2",
            "the internet to a port not published: None None, delivered locally, from 198.51.100.1",
        ]
    );
}

#[test]
fn native_nftables_rules_tell_the_same_story() {
    let native = story(&netns("native"));
    let iptables = story(&netns("iptables"));
    // Only the name of the chain with the DROP policy differs.
    let iptables: Vec<String> = iptables
        .iter()
        .map(|l| l.replace("filter FORWARD", "nft ip netlab forward"))
        .collect();
    assert_eq!(native, iptables);
}

#[test]
fn the_convenience_questions() {
    for name in ["iptables", "native"] {
        let ns = netns(name);
        assert!(
            ns.masquerades(ip("10.0.0.2"), ip("203.0.113.80"), "eth0"),
            "{name}"
        );
        assert!(
            !ns.masquerades(ip("10.0.0.2"), ip("10.0.0.3"), "netlab0"),
            "{name}"
        );
        assert!(
            !ns.masquerades(ip("10.1.0.2"), ip("203.0.113.80"), "eth0"),
            "{name}"
        );
        let to = Packet::tcp(ip("198.51.100.1"), ip("198.51.100.2"), 8080);
        assert_eq!(
            ns.dnat(Start::Arrives("eth0".into()), to.clone()),
            Some((ip("10.0.0.2"), 80)),
            "{name}"
        );
        assert_eq!(
            ns.dnat(Start::Sent, to.clone()),
            Some((ip("10.0.0.2"), 80)),
            "{name}"
        );
        let forward = ns.forward_verdict(
            &Packet::tcp(ip("198.51.100.1"), ip("10.0.0.2"), 80)
                .iif("eth0")
                .oif("netlab0"),
        );
        assert_eq!(forward.verdict, Verdict::Drop, "{name}");
        assert!(
            matches!(
                &forward.by,
                Decider::Policy {
                    policy: Policy::Drop,
                    ..
                }
            ),
            "{name}"
        );
    }
    assert_eq!(
        netns("iptables")
            .forward_verdict(
                &Packet::tcp(ip("198.51.100.1"), ip("10.0.0.2"), 80)
                    .iif("eth0")
                    .oif("netlab0")
            )
            .explain(),
        "dropped in filter FORWARD by its policy DROP"
    );
    // Without its DNAT rule, after c1's cleanup.
    let after = netns("iptables-after");
    let to = Packet::tcp(ip("198.51.100.1"), ip("198.51.100.2"), 8080);
    assert_eq!(after.dnat(Start::Arrives("eth0".into()), to), None);
}

#[test]
fn marks_jumps_and_returns_of_cni_portmap() {
    let ns = netns("iptables");
    // A container to another's published port 9000: marked in CNI-DN-1, masqueraded.
    let trace = ns.trace(
        Start::Arrives("netlab0".into()),
        Packet::tcp(ip("10.0.0.4"), ip("198.51.100.2"), 9000),
    );
    assert_eq!(trace.end, End::Forwarded("netlab0".into()));
    assert_eq!(trace.packet.mark, 0x2000);
    assert_eq!(trace.packet.dst, ip("10.0.0.3"));
    assert_eq!(trace.packet.dport, 90);
    let (nat, by) = trace.snat.clone().expect("masqueraded");
    assert_eq!(nat, Nat::Masquerade);
    assert_eq!(by.chain, "CNI-HOSTPORT-MASQ");
    let pre = &trace.hops[0].1;
    let chains: Vec<&str> = pre.matched.iter().map(|r| r.chain.as_str()).collect();
    assert_eq!(
        chains,
        [
            "PREROUTING",
            "NETLAB",
            "CNI-DN-1",
            "CNI-HOSTPORT-SETMARK",
            "CNI-DN-1"
        ]
    );
    assert!(trace.unsure().is_empty(), "{:?}", trace.unsure());
    // From the internet: no mark, no masquerade.
    let trace = ns.trace(
        Start::Arrives("eth0".into()),
        Packet::tcp(ip("198.51.100.1"), ip("198.51.100.2"), 9005),
    );
    assert_eq!(trace.packet.mark, 0);
    assert!(trace.snat.is_none());
    // Port 9005 goes to CNI-DN-1, whose rules are all for 9000: back, no DNAT.
    assert!(trace.dnat.is_none());
    assert_eq!(trace.end, End::Delivered);
}

#[test]
fn a_rule_it_cannot_judge_is_said() {
    let ns = netns("iptables");
    let out = ns.forward_verdict(
        &Packet::udp(ip("198.51.100.1"), ip("10.0.0.2"), 53)
            .iif("eth0")
            .oif("netlab0"),
    );
    assert_eq!(out.verdict, Verdict::Drop);
    assert_eq!(out.unsure.len(), 1, "{out:?}");
    assert!(
        out.explain()
            .contains("could not judge filter FORWARD rule 4"),
        "{}",
        out.explain()
    );
}

#[test]
fn route_localnet_decides_whether_127_may_leave() {
    let mut ns = netns("iptables");
    ns.sysctls
        .conf
        .insert(("netlab0".into(), "route_localnet".into()), "0".into());
    let trace = ns.trace(
        Start::Sent,
        Packet::tcp(ip("127.0.0.1"), ip("127.0.0.1"), 8080),
    );
    assert!(matches!(trace.end, End::Martian(_)), "{:?}", trace.end);
}

#[test]
fn chains_run_in_priority_order_across_sources() {
    let ns = netns("mixed");
    let chains: Vec<String> = ns
        .netfilter
        .base_chains(Hook::Postrouting, Kinds::Nat)
        .iter()
        .map(|(t, c, _)| format!("{} {}", t.id, c.name))
        .collect();
    assert_eq!(
        chains,
        [
            "nft ip foreign post",
            "nat POSTROUTING",
            "nat (legacy) POSTROUTING"
        ]
    );
    let out = |src: &str| {
        let packet = Packet::tcp(ip(src), ip("203.0.113.80"), 80).oif("eth0");
        let out = ns.walk(Hook::Postrouting, Kinds::Nat, &packet);
        out.nat.map(|(nat, at)| format!("{nat} by {}", at.table))
    };
    assert_eq!(
        out("10.9.1.1").as_deref(),
        Some("SNAT to 198.51.100.2 by nft ip foreign")
    );
    assert_eq!(out("10.0.0.2").as_deref(), Some("MASQUERADE by nat"));
    assert_eq!(
        out("172.17.0.2").as_deref(),
        Some("MASQUERADE by nat (legacy)")
    );
    assert_eq!(out("203.0.113.1"), None);
}

/// A firewall from iptables-save text alone.
fn from_save(text: &str) -> Netfilter {
    Listings {
        iptables: Some(text.to_string()),
        ..Listings::default()
    }
    .parse()
}

#[test]
fn goto_returns_to_the_caller_of_the_chain_that_went() {
    let save = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                :A - [0:0]\n:B - [0:0]\n:C - [0:0]\n\
                -A FORWARD -j A\n-A FORWARD -s 10.0.0.0/8 -j ACCEPT\n\
                -A A -g B\n-A A -j DROP\n\
                -A B -j C\n-A B -j RETURN\n-A C -p udp -j DROP\nCOMMIT\n";
    let nf = from_save(save);
    let host = Locals::of(&[]);
    let walk = |p: Packet| nf.walk(Hook::Forward, Kinds::Filter, &p, &host);
    // FORWARD -> A -goto-> B -> C (back) -> RETURN: back in FORWARD, not in A.
    let out = walk(Packet::tcp(ip("10.1.1.1"), ip("203.0.113.1"), 80));
    assert!(out.accepted(), "{}", out.explain());
    assert_eq!(
        out.explain(),
        "accepted by filter FORWARD rule 2 (-s 10.0.0.0/8 -j ACCEPT)"
    );
    let out = walk(Packet::udp(ip("10.1.1.1"), ip("203.0.113.1"), 53));
    assert_eq!(out.explain(), "dropped by filter C rule 1 (-p udp -j DROP)");
    let out = walk(Packet::tcp(ip("203.0.113.9"), ip("203.0.113.1"), 80));
    assert_eq!(
        out.explain(),
        "dropped in filter FORWARD by its policy DROP"
    );
    // No chain: accepted.
    let none = from_save("");
    let out = none.walk(
        Hook::Forward,
        Kinds::All,
        &Packet::icmp(ip("203.0.113.1"), ip("203.0.113.2")),
        &host,
    );
    assert_eq!(out.by, Decider::NoChain);
}

#[test]
fn nat_chains_see_only_new_connections_and_marks_add_up() {
    let save = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                -A PREROUTING -j MARK --set-xmark 0x1/0xff\n\
                -A PREROUTING -j MARK --or-mark 0x100\n\
                -A PREROUTING -m mark --mark 0x101 -j DNAT --to-destination 10.0.0.9\n\
                COMMIT\n";
    let nf = from_save(save);
    let host = Locals::of(&[]);
    let packet = Packet::tcp(ip("203.0.113.1"), ip("198.51.100.2"), 80);
    let out = nf.walk(Hook::Prerouting, Kinds::Nat, &packet, &host);
    assert_eq!(out.packet.mark, 0x101);
    assert_eq!(out.packet.dst, ip("10.0.0.9"));
    assert_eq!(out.packet.dport, 80);
    assert!(out.packet.dnatted);
    let established = Packet {
        ct: crate::state::netfilter::CtState::Established,
        ..packet
    };
    let out = nf.walk(Hook::Prerouting, Kinds::Nat, &established, &host);
    assert!(out.nat.is_none() && out.matched.is_empty());
    assert_eq!(iptables::mark_pair("0x10"), Some((0x10, u32::MAX)));
}
