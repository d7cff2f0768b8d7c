//! Reading the fixtures: links, routes, and the firewall of every source.

use super::{fixture, netns};
use crate::state::netfilter::{
    iptables, AddrType, ChainKind, CtState, Family, Hook, IfName, Match, Policy, Proto, Source,
    Target,
};
use crate::state::Net;
use std::net::Ipv4Addr;

fn ip(text: &str) -> Ipv4Addr {
    text.parse().expect("an address")
}

fn net(text: &str) -> Net {
    text.parse().expect("a network")
}

#[test]
fn links_have_their_kind_addresses_master_and_peer() {
    let ns = netns("iptables");
    let names: Vec<&str> = ns.links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["lo", "eth0", "netlab0", "veth42"]);
    let lo = ns.link("lo").expect("lo");
    assert!(lo.up && lo.is_loopback());
    assert_eq!(lo.kind, "loopback");
    assert_eq!(lo.addrs, [(ip("127.0.0.1"), 8)]);
    let eth0 = ns.link("eth0").expect("eth0");
    assert_eq!(eth0.kind, "veth");
    assert_eq!(eth0.addrs, [(ip("198.51.100.2"), 24)]);
    assert_eq!((eth0.peer_index, eth0.peer_netnsid), (Some(2), Some(0)));
    assert_eq!(eth0.mtu, 1500);
    assert_eq!(eth0.mac.len(), 17);
    let port = ns.link("veth42").expect("veth42");
    assert_eq!(port.master.as_deref(), Some("netlab0"));
    assert!(port.hairpin && port.up);
    assert_eq!(ns.link("netlab0").expect("netlab0").kind, "bridge");
    assert!(!ns.links.iter().any(|l| l.is_fallback()));
}

#[test]
fn routes_are_typed_and_read_like_ip_route() {
    let ns = netns("iptables");
    let short: Vec<String> = ns.routes.iter().map(|r| r.short()).collect();
    assert_eq!(
        short,
        [
            "default via 198.51.100.1 dev eth0",
            "10.0.0.0/24 dev netlab0 src 10.0.0.1",
            "198.51.100.0/24 dev eth0 src 198.51.100.2",
        ]
    );
    let default = &ns.routes[0];
    assert!(default.is_default() && default.dst.is_none());
    assert_eq!(ns.routes[1].dst, Some(net("10.0.0.0/24")));
    assert_eq!(
        (ns.routes[1].proto.as_str(), ns.routes[1].scope.as_str()),
        ("kernel", "link")
    );
    assert_eq!(
        ns.route_to(ip("10.0.0.9")).and_then(|r| r.dev.as_deref()),
        Some("netlab0")
    );
    assert_eq!(ns.oif_for(ip("203.0.113.80")).as_deref(), Some("eth0"));
    assert_eq!(ns.oif_for(ip("10.0.0.1")).as_deref(), Some("lo"));
    assert_eq!(ns.oif_for(ip("127.0.0.9")).as_deref(), Some("lo"));
    assert!(netns("empty").route_to(ip("10.0.0.1")).is_none());
}

#[test]
fn iptables_rules_are_typed() {
    let ns = netns("iptables");
    let nat = ns.netfilter.iptables("nat").expect("the nat table");
    assert_eq!(nat.id.source, Source::Iptables { legacy: false });
    let post = nat.chain("POSTROUTING").expect("POSTROUTING");
    let base = post.base.expect("a base chain");
    assert_eq!(
        (base.kind, base.hook, base.priority, base.policy),
        (ChainKind::Nat, Hook::Postrouting, 100, Policy::Accept)
    );
    let masq = &post.rules[0];
    assert_eq!(masq.text, "-s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE");
    assert_eq!(
        masq.matches,
        [
            Match::Src {
                nets: vec![net("10.0.0.0/24")],
                negated: false
            },
            Match::Oif {
                name: IfName::parse("netlab0"),
                negated: true
            },
        ]
    );
    assert_eq!(masq.target, Target::Masquerade);
    let chain = nat.chain("NETLAB").expect("NETLAB");
    assert!(chain.base.is_none());
    let dnat = &chain.rules[0];
    assert_eq!(dnat.comment.as_deref(), Some("netlab:c1:42"));
    assert_eq!(
        dnat.target,
        Target::Dnat {
            addr: ip("10.0.0.2"),
            port: Some(80)
        }
    );
    assert_eq!(dnat.meaning(), "dport 8080 proto tcp DNAT to 10.0.0.2:80");
    assert_eq!(
        chain.rules[1].matches[1],
        Match::Dport {
            ports: vec![(9000, 9010), (9100, 9100)],
            negated: false
        }
    );
    assert_eq!(chain.rules[1].target, Target::Jump("CNI-DN-1".into()));
    let pre = nat.chain("PREROUTING").expect("PREROUTING");
    assert_eq!(
        pre.rules[0].matches,
        [Match::DstType {
            kind: AddrType::Local,
            negated: false
        }]
    );
    let mark = &nat.chain("CNI-HOSTPORT-SETMARK").expect("SETMARK").rules[0];
    assert_eq!(
        mark.target,
        Target::SetMark {
            value: 0x2000,
            mask: 0x2000
        }
    );
    let filter = ns.netfilter.iptables("filter").expect("filter");
    let forward = filter.chain("FORWARD").expect("FORWARD");
    assert_eq!(forward.base.map(|b| b.policy), Some(Policy::Drop));
    assert_eq!(
        forward.rules[1].matches[1],
        Match::CtState {
            states: vec![CtState::Related, CtState::Established],
            negated: false
        }
    );
    // `-m limit` is not understood: it is said, not ignored.
    assert!(matches!(&forward.rules[3].matches[2], Match::Unknown(t) if t == "--limit 5/sec"));
    // iptables-nft's own tables are not read again from nft.
    assert!(ns
        .netfilter
        .tables
        .iter()
        .all(|t| t.id.source != Source::Nft));
}

#[test]
fn native_nft_rules_mean_the_same_as_iptables_ones() {
    let native = netns("native");
    let table = native
        .netfilter
        .table(Family::Ip, "netlab", Source::Nft)
        .expect("table ip netlab");
    let post = table.chain("post").expect("post");
    assert_eq!(
        post.base.map(|b| (b.hook, b.priority)),
        Some((Hook::Postrouting, 100))
    );
    assert_eq!(
        post.rules[0].text,
        "ip saddr 10.0.0.0/24 oifname != \"netlab0\" masquerade"
    );
    let iptables = netns("iptables");
    let masq = &iptables
        .netfilter
        .iptables("nat")
        .expect("nat")
        .chain("POSTROUTING")
        .expect("POSTROUTING")
        .rules[0];
    assert_eq!(post.rules[0].meaning(), masq.meaning());
    let publish = table.chain("publish").expect("publish");
    // A named set, and a mark set by `mark or 0x2000`.
    assert_eq!(
        publish.rules[0].matches,
        [
            Match::Src {
                nets: vec![net("10.0.0.0/24")],
                negated: false
            },
            Match::Proto {
                proto: Proto::Tcp,
                negated: false
            },
            Match::Dport {
                ports: vec![(8080, 8080), (8443, 8443)],
                negated: false
            },
        ]
    );
    assert_eq!(
        publish.rules[0].target,
        Target::SetMark {
            value: 0x2000,
            mask: 0x2000
        }
    );
    assert_eq!(publish.rules[1].comment.as_deref(), Some("netlab:c1:42"));
    assert_eq!(
        publish.rules[1].text,
        "tcp dport 8080 counter dnat to 10.0.0.2:80 comment \"netlab:c1:42\""
    );
    assert_eq!(
        publish.rules[2].target,
        Target::Dnat {
            addr: ip("10.0.0.2"),
            port: None
        }
    );
    let forward = table.chain("forward").expect("forward");
    assert_eq!(
        forward.rules[2].matches[0],
        Match::CtState {
            states: vec![CtState::Dnat],
            negated: false
        }
    );
    assert_eq!(
        forward.rules[3].matches[0],
        Match::Iif {
            name: IfName {
                name: "veth".into(),
                wildcard: true
            },
            negated: false
        }
    );
    let other = native
        .netfilter
        .table(Family::Inet, "other", Source::Nft)
        .expect("table inet other");
    let input = &other.chain("input").expect("input");
    assert_eq!(input.base.map(|b| b.priority), Some(10));
    assert!(
        matches!(input.rules[0].matches.last(), Some(Match::Unknown(t)) if t.contains("limit"))
    );
    assert!(matches!(input.rules[2].matches[0], Match::Ip6Only(_)));
}

#[test]
fn every_source_is_read_side_by_side() {
    let ns = netns("mixed");
    let ids: Vec<String> = ns
        .netfilter
        .tables
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    assert_eq!(ids, ["filter", "nat", "nat (legacy)", "nft ip foreign"]);
    let foreign = &ns.netfilter.tables[3].chains[0];
    assert_eq!(foreign.base.map(|b| b.priority), Some(50));
    assert_eq!(
        foreign.rules[0].target,
        Target::Snat {
            addr: ip("198.51.100.2"),
            port: None
        }
    );
    assert!(
        ns.netfilter.problems.is_empty(),
        "{:?}",
        ns.netfilter.problems
    );
}

#[test]
fn an_empty_namespace_has_nothing() {
    let ns = netns("empty");
    assert_eq!(ns.links.len(), 1);
    assert!(!ns.links[0].up);
    assert!(ns.routes.is_empty());
    assert!(ns.netfilter.tables.is_empty() && ns.netfilter.is_empty());
}

#[test]
fn iptables_words_keep_quoted_comments_whole() {
    assert_eq!(
        iptables::words(r#"-m comment --comment "a \"b\" c" -j X"#),
        ["-m", "comment", "--comment", "a \"b\" c", "-j", "X"]
    );
    let rule = iptables::parse_rule("-m comment --comment \"-x y\" -j ACCEPT", &[]);
    assert_eq!(rule.comment.as_deref(), Some("-x y"));
    assert!(rule.matches.is_empty());
    assert_eq!(rule.target, Target::Accept);
    let other = iptables::parse_rule("-p tcp -j TCPMSS --clamp-mss-to-pmtu", &[]);
    assert_eq!(
        other.target,
        Target::Other("TCPMSS --clamp-mss-to-pmtu".into())
    );
    let fixture = fixture("iptables");
    assert!(
        iptables::table_names(fixture.listings.iptables.as_deref().unwrap_or(""))
            .contains(&"nat".to_string())
    );
}

#[test]
fn native_rules_are_those_outside_iptables_nft_tables_keyed_by_their_expressions() {
    use crate::state::netfilter::{nft, Family};
    let json = include_str!("../fixtures/mixed/nft.json");
    let all = nft::native_rules(json, &[]).expect("parses");
    let skip = [
        (Family::Ip, "filter".to_string()),
        (Family::Ip, "nat".to_string()),
    ];
    let native = nft::native_rules(json, &skip).expect("parses");
    assert!(!native.is_empty() && native.len() < all.len());
    assert!(native.iter().all(|(_, table, _, _)| table == "foreign"));
    // Each key holds the rule's expressions: two rules never share one.
    let mut keys = native.clone();
    keys.dedup();
    assert_eq!(keys.len(), native.len());
}
