//! The parser, the order of a packet's way, the rendering and the verdicts that need no
//! live namespace, over `nft monitor trace`'s real text recorded in labs (`fixtures/`, made
//! with `NETLAB_TRACE_RAW=DIR cargo xtask trace ...`).

use super::diagnose::from_trace;
use super::parse::traces;
use super::render::{fate, render};
use super::run::{order, Found, Outcome, Seen, TABLE};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const WEB: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);

/// What a trace found, from the monitors' texts of some namespaces (a TCP flow when there
/// are ports, a ping otherwise; [`udp`] makes it UDP). The monitors' times are
/// made up out of order on purpose (the internet's first): [`order`] must not need them.
fn found(texts: &[(&str, &str)], dst: Ipv4Addr, ports: &[u16], outcome: Outcome) -> Found {
    let start = Instant::now();
    let mut seen = Vec::new();
    for (n, (space, text)) in texts.iter().enumerate() {
        for trace in traces(text, TABLE) {
            let skew = Duration::from_millis(((texts.len() - n) * 1000 + trace.line) as u64);
            seen.push(Seen {
                at: start + skew,
                space: space.to_string(),
                trace,
                journey: 0,
                port: None,
            });
        }
    }
    Found {
        flow: format!("tcp from c1 to {dst}:80"),
        src_space: "c1".into(),
        proto: if ports.is_empty() { "ping" } else { "tcp" },
        dst,
        ports: ports.to_vec(),
        outcome,
        seen: order(seen),
        conntrack: Vec::new(),
        notes: Vec::new(),
    }
}

#[test]
fn a_forward_drop_policy_is_named_with_the_flow() {
    let found = found(
        &[
            ("c1", include_str!("fixtures/forward-drop-c1.txt")),
            ("lab host", include_str!("fixtures/forward-drop-host.txt")),
        ],
        WEB,
        &[80],
        Outcome::NoAnswer,
    );
    assert_eq!(
        from_trace(&found).as_deref(),
        Some(
            "dropped in filter FORWARD by its policy DROP: no rule accepts 10.0.0.2 -> \
             203.0.113.80 (on the lab host)"
        )
    );
    let text = render(&found, "D");
    // The sender first, then the lab host; the SYN's retransmissions counted, not shown.
    let c1 = text.find("    c1        sent out of eth0").expect(&text);
    let host = text.find("dropped in ip filter FORWARD").expect(&text);
    assert!(c1 < host, "{text}");
    assert!(text.contains("ip filter FORWARD: policy drop"), "{text}");
    assert!(text.contains("(the same again"), "{text}");
    assert!(text.ends_with("  => D\n"), "{text}");
}

#[test]
fn masquerade_shows_the_rule_and_the_rewrite_in_the_packets_order() {
    let found = found(
        &[
            ("internet", include_str!("fixtures/masquerade-internet.txt")),
            ("lab host", include_str!("fixtures/masquerade-host.txt")),
            ("c1", include_str!("fixtures/masquerade-c1.txt")),
        ],
        WEB,
        &[80],
        Outcome::Answered,
    );
    assert_eq!(from_trace(&found), None);
    let text = render(&found, "ok");
    let packet1 = text
        .split("  packet 2:")
        .next()
        .expect("a first packet")
        .to_string();
    assert!(packet1.contains("packet 1: tcp 10.0.0.2:"), "{text}");
    assert!(packet1.contains("[syn]"), "{text}");
    let places: Vec<usize> = ["    c1 ", "    lab host ", "    internet "]
        .iter()
        .map(|p| {
            packet1
                .find(p)
                .unwrap_or_else(|| panic!("{p} in {packet1}"))
        })
        .collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{packet1}");
    assert!(
        packet1.contains(
            "ip nat POSTROUTING: rule `ip saddr 10.0.0.0/24 masquerade`: accept (source NAT)"
        ),
        "{packet1}"
    );
    assert!(
        packet1.contains("NAT rewrote the source 10.0.0.2:"),
        "{packet1}"
    );
    assert!(packet1.contains("→ 198.51.100.2:"), "{packet1}");
    // The answer: the reverse rewrite, back to the container.
    assert!(text.contains("[syn ack]"), "{text}");
    assert!(
        text.contains("NAT rewrote the destination 198.51.100.2:"),
        "{text}"
    );
}

#[test]
fn a_packet_copied_by_the_bridge_is_followed_under_its_new_id() {
    // Published port 8080 → c1:80: the SYN-ACK comes in by the bridge, its buffer is copied
    // (a new trace id) before FORWARD; it is one packet, forwarded out of eth0.
    let found = found(
        &[("lab host", include_str!("fixtures/dnat-host.txt"))],
        Ipv4Addr::new(198, 51, 100, 2),
        &[8080, 80],
        Outcome::Answered,
    );
    let syn_ack: Vec<&Seen> = found
        .seen
        .iter()
        .filter(|s| {
            s.trace.visits[0].packet.tcp_flags().as_deref() == Some("syn ack")
                && s.trace.visits[0].packet.iif.as_deref() == Some("netlab0")
        })
        .collect();
    assert_eq!(syn_ack.len(), 1, "{:#?}", found.seen);
    assert_eq!(
        fate(&syn_ack[0].trace, Some("veth19")),
        "in by netlab0 (bridge port veth19), forwarded out of eth0"
    );
    let text = render(&found, "ok");
    assert!(
        text.contains("rule `tcp dport 8080 dnat to 10.0.0.2:80` (in chain NETLAB-PORTS): accept (destination NAT)"),
        "{text}"
    );
    assert!(
        text.contains("NAT rewrote the destination 198.51.100.2:8080 → 10.0.0.2:80"),
        "{text}"
    );
}

#[test]
fn without_masquerade_the_internet_gets_the_private_source() {
    let found = found(
        &[(
            "internet",
            include_str!("fixtures/no-masquerade-internet.txt"),
        )],
        WEB,
        &[80],
        Outcome::NoAnswer,
    );
    let first = &found.seen[0];
    assert_eq!(
        first.trace.visits[0].packet.src,
        Some(Ipv4Addr::new(10, 0, 0, 2))
    );
    assert_eq!(fate(&first.trace, None), "in by up0, delivered locally");
    assert_eq!(from_trace(&found), None);
}

/// The same, as a UDP flow.
fn udp(mut found: Found) -> Found {
    found.proto = "udp";
    found
}

#[test]
fn an_icmp_port_unreachable_says_nobody_listens() {
    let found = udp(found(
        &[
            ("c1", include_str!("fixtures/udp-refused-c1.txt")),
            ("lab host", include_str!("fixtures/udp-refused-host.txt")),
        ],
        Ipv4Addr::new(10, 0, 0, 1),
        &[53],
        Outcome::Refused,
    ));
    assert_eq!(
        from_trace(&found).as_deref(),
        Some(
            "no listener: nothing listens at 10.0.0.1:53 (udp: ICMP port-unreachable, sent by \
             the lab host)"
        )
    );
    let text = render(&found, "D");
    assert!(
        text.contains(
            "packet 2: icmp 10.0.0.1 > 10.0.0.2 [destination-unreachable port-unreachable]"
        ),
        "{text}"
    );
}

#[test]
fn nothing_seen_is_said() {
    let found = found(&[], WEB, &[80], Outcome::NoAnswer);
    let text = render(&found, "nothing of the flow left c1");
    assert!(text.contains("no packet of the flow was seen"), "{text}");
}
