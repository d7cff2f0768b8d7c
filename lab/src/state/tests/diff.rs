//! What changed: a container's cleanup, the rules a run added, sysctls.

use super::netns;
use crate::state::netfilter::{Listings, Netfilter};
use crate::state::Netns;

#[test]
fn a_cleanup_removes_its_rule_and_its_veth() {
    let before = netns("iptables");
    let after = netns("iptables-after");
    let changes = after.diff(&before);
    assert_eq!(
        changes.netfilter.lines(),
        ["- nat NETLAB: -p tcp -m tcp --dport 8080 -m comment --comment \"netlab:c1:42\" -j DNAT --to-destination 10.0.0.2:80"]
    );
    let (_, rule) = &changes.netfilter.removed[0];
    assert_eq!(rule.comment.as_deref(), Some("netlab:c1:42"));
    let removed: Vec<&str> = changes
        .links_removed
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    assert_eq!(removed, ["veth42"]);
    assert!(changes.links_added.is_empty());
    // The bridge lost its only port, whose MAC address it had taken.
    let changed: Vec<(&str, bool)> = changes
        .links_changed
        .iter()
        .map(|(old, new)| (old.name.as_str(), old.mac != new.mac))
        .collect();
    assert_eq!(changed, [("netlab0", true)]);
    assert!(changes.routes_added.is_empty() && changes.routes_removed.is_empty());
    assert!(changes.sysctls.is_empty());
    assert!(after.diff(&after).is_empty());
}

#[test]
fn what_a_run_added_to_an_empty_host() {
    let empty = netns("empty");
    let host = netns("iptables");
    let changes = host.diff(&empty);
    assert_eq!(changes.netfilter.added.len(), 16);
    assert!(changes.netfilter.removed.is_empty());
    let tagged: Vec<&str> = changes
        .netfilter
        .added_with_comment("netlab:c1:")
        .map(|(at, _)| at.chain.as_str())
        .collect();
    assert_eq!(tagged, ["NETLAB"]);
    let lines = changes.lines();
    assert!(
        lines.contains(&"firewall: ~ filter FORWARD policy ACCEPT -> DROP".to_string())
            || lines
                .iter()
                .any(|l| l == "firewall: + filter chain FORWARD"),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"addresses: + netlab0 10.0.0.1/24".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("routes: + default gateway=198.51.100.1 dev=eth0")),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"sysctls: - net.ipv4.ip_forward = -".to_string()),
        "{lines:#?}"
    );
}

#[test]
fn a_rule_is_the_same_rule_whatever_its_counters_and_spelling() {
    let iptables = netns("iptables");
    let native = netns("native");
    // Different tables: nothing is the same rule (the table is part of a rule's identity).
    let changes = native.netfilter.diff(&iptables.netfilter);
    assert_eq!(changes.removed.len(), 16);
    // The same rule written twice with other counters and comments.
    let save = |comment: &str, counters: &str| {
        Listings {
            iptables: Some(format!(
                "*nat\n:POSTROUTING ACCEPT {counters}\n\
                 -A POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -m comment --comment \"{comment}\" -j MASQUERADE\nCOMMIT\n"
            )),
            ..Listings::default()
        }
        .parse()
    };
    assert!(save("a", "[0:0]").diff(&save("b", "[5:300]")).is_empty());
}

#[test]
fn of_two_alike_rules_the_new_one_is_the_one_tagged_anew() {
    let rules = |comments: &[&str]| -> Netfilter {
        let lines: String = comments
            .iter()
            .map(|c| format!("-A FORWARD -i netlab0 -m comment --comment \"{c}\" -j ACCEPT\n"))
            .collect();
        Listings {
            iptables: Some(format!("*filter\n:FORWARD ACCEPT [0:0]\n{lines}COMMIT\n")),
            ..Listings::default()
        }
        .parse()
    };
    let changes = rules(&["netlab:c1:1", "netlab:c2:2"]).diff(&rules(&["netlab:c1:1"]));
    assert_eq!(changes.added.len(), 1);
    assert_eq!(changes.added[0].1.comment.as_deref(), Some("netlab:c2:2"));
    assert_eq!(changes.added_with_comment("netlab:c2:").count(), 1);
}

#[test]
fn sysctl_changes_are_listed() {
    let before = netns("iptables");
    let mut after: Netns = before.clone();
    after
        .sysctls
        .conf
        .insert(("netlab0".into(), "route_localnet".into()), "0".into());
    assert_eq!(
        after.diff(&before).lines(),
        [
            "sysctls: - net.ipv4.conf.netlab0.route_localnet = 1",
            "sysctls: + net.ipv4.conf.netlab0.route_localnet = 0"
        ]
    );
}

#[test]
fn a_table_left_with_only_a_set_is_still_a_change() {
    let native = netns("native");
    let table = native
        .netfilter
        .tables
        .iter()
        .find(|t| t.id.name == "netlab")
        .expect("table ip netlab");
    assert_eq!(table.sets[0].0, "published");
    assert_eq!(table.sets[0].1, ["8080", "8443"]);
    let mut emptied = native.clone();
    emptied.netfilter.tables[0].chains.clear();
    emptied.netfilter.tables[0].sets[0].1.pop();
    emptied.netfilter.tables.pop();
    let lines = emptied.netfilter.diff(&native.netfilter).lines();
    assert!(
        lines.contains(&"- table nft inet other".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"~ nft ip netlab set published".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"- nft ip netlab chain pre".to_string()),
        "{lines:#?}"
    );
}
