//! Firewall questions of behaviour, asked of the model whatever wrote the rules (iptables of
//! either backend, nft): which rules translate a packet, which rules name one container,
//! which are there twice, what the FORWARD policy is.

use lab::addresses::containers::{in_subnet, PREFIX};
use lab::state::netfilter::diff::rule_key;
use lab::state::netfilter::{
    ChainKind, Changes, Hook, Kinds, Match, Packet, Policy, Rule, RuleAt, TableId, Target,
};
use lab::state::Netns;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Every rule that translates `packet` on `hook` (its NAT chains), in the order the kernel
/// would meet them: the walker's first, then the one it finds once that is taken away, and so
/// on. A rule that could only take over once another is deleted counts: "one MASQUERADE rule
/// for the subnet" means one of these.
fn translating(netns: &Netns, hook: Hook, packet: &Packet, source: bool) -> Vec<RuleAt> {
    let mut netns = netns.clone();
    let mut found = Vec::new();
    loop {
        let out = netns.walk(hook, Kinds::Nat, packet);
        let Some((nat, at)) = out.nat else {
            return found;
        };
        if nat.is_source() != source || !remove(&mut netns, &at) {
            return found;
        }
        found.push(at);
    }
}

/// Takes the rule at `at` out of the model; false when it is not there.
fn remove(netns: &mut Netns, at: &RuleAt) -> bool {
    let chain = netns
        .netfilter
        .tables
        .iter_mut()
        .find(|t| t.id == at.table)
        .and_then(|t| t.chains.iter_mut().find(|c| c.name == at.chain));
    match chain {
        Some(chain) if at.index < chain.rules.len() => {
            chain.rules.remove(at.index);
            true
        }
        _ => false,
    }
}

/// The rules that source-NAT (MASQUERADE, SNAT) `packet` leaving by its `oif`.
pub fn snat_rules(netns: &Netns, packet: &Packet) -> Vec<RuleAt> {
    translating(netns, Hook::Postrouting, packet, true)
}

/// The rules that translate the destination of `packet` arriving by its `iif`.
pub fn dnat_rules(netns: &Netns, packet: &Packet) -> Vec<RuleAt> {
    translating(netns, Hook::Prerouting, packet, false)
}

/// `a packet 10.0.0.2:40000 → 203.0.113.80:80 (tcp) out of eth0: masqueraded by nat
/// POSTROUTING rule 1 (...)`, or `not source-NATed`, for reports.
pub fn snat_explained(netns: &Netns, packet: &Packet) -> String {
    let out = netns.walk(Hook::Postrouting, Kinds::Nat, packet);
    let what = format!(
        "a packet {} → {} leaving by {}",
        packet.src,
        packet.dst,
        packet.oif.as_deref().unwrap_or("?")
    );
    match out.nat {
        Some((nat, at)) if nat.is_source() => format!("{what}: {nat} by {at}"),
        _ => format!("{what}: not source-NATed"),
    }
}

/// `RuleAt` lines (`nat POSTROUTING rule 1 (-s 10.0.0.0/24 -j MASQUERADE)`), or `none`.
pub fn rules_lines<'a>(rules: impl IntoIterator<Item = &'a RuleAt>) -> String {
    let lines: Vec<String> = rules.into_iter().map(|at| format!("  {at}")).collect();
    if lines.is_empty() {
        "  (none)".to_string()
    } else {
        lines.join("\n")
    }
}

/// The tables that translate addresses: those with a NAT base chain (iptables' `nat`, an nft
/// table with a `type nat` chain).
pub fn nat_tables(netns: &Netns) -> Vec<TableId> {
    netns
        .netfilter
        .tables
        .iter()
        .filter(|t| {
            t.chains
                .iter()
                .any(|c| c.base.is_some_and(|b| b.kind == ChainKind::Nat))
        })
        .map(|t| t.id.clone())
        .collect()
}

/// The rules of the [`nat_tables`], one per line, for reports.
pub fn nat_view(netns: &Netns) -> String {
    let nat_tables = nat_tables(netns);
    let rules: Vec<RuleAt> = netns
        .netfilter
        .rules()
        .filter(|(at, _)| nat_tables.contains(&at.table))
        .map(|(at, _)| at)
        .collect();
    format!("lab host's NAT rules:\n{}", rules_lines(&rules))
}

/// What the FORWARD filter chains do to `packet`, and their rules, for reports.
pub fn forward_view(netns: &Netns, packet: &Packet) -> String {
    format!(
        "a packet {} → {} in by {}, out by {}: {}\n{}",
        packet.src,
        packet.dst,
        packet.iif.as_deref().unwrap_or("?"),
        packet.oif.as_deref().unwrap_or("?"),
        netns.forward_verdict(packet).explain(),
        forward_chains(netns)
    )
}

/// The FORWARD filter chains, their policies and rules, one per line, for reports.
pub fn forward_chains(netns: &Netns) -> String {
    let mut lines = vec!["lab host's FORWARD chains:".to_string()];
    for (table, chain, base) in netns.netfilter.base_chains(Hook::Forward, Kinds::Filter) {
        lines.push(format!(
            "  {} {} policy {}",
            table.id, chain.name, base.policy
        ));
        lines.extend(chain.rules.iter().enumerate().map(|(index, rule)| {
            let at = RuleAt {
                table: table.id.clone(),
                chain: chain.name.clone(),
                index,
                text: rule.text.clone(),
            };
            format!("  {at}")
        }));
    }
    if lines.len() == 1 {
        lines.push("  (none)".to_string());
    }
    lines.join("\n")
}

/// Whether iptables' FORWARD chain (filter) drops by default.
pub fn forward_policy_is_drop(netns: &Netns) -> bool {
    netns
        .netfilter
        .iptables("filter")
        .and_then(|t| t.chain("FORWARD"))
        .and_then(|c| c.base)
        .is_some_and(|b| b.policy == Policy::Drop)
}

/// The rules present more than once in the same chain (the same meaning, counters and
/// comments aside), each once, as `table chain: rule`.
pub fn duplicate_rules(netns: &Netns) -> Vec<String> {
    let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut order = Vec::new();
    for (at, rule) in netns.netfilter.rules() {
        let key = rule_key(&at, rule);
        let entry = seen.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (0, format!("{} {}: {}", at.table, at.chain, at.text))
        });
        entry.0 += 1;
    }
    order
        .into_iter()
        .filter_map(|key| {
            seen.get(&key)
                .filter(|(n, _)| *n > 1)
                .map(|(_, t)| t.clone())
        })
        .collect()
}

/// What makes a rule one container's rather than shared: it names one of `ifaces` (a host
/// end), one of `ports`, one of `addrs`, or any single container's address (a network of
/// the subnet narrower than it), or (with `dnat`) it translates a destination.
pub struct Theirs<'a> {
    pub dnat: bool,
    pub ifaces: &'a [String],
    pub ports: &'a [u16],
    pub addrs: &'a [Ipv4Addr],
}

/// The rules added (in `changes`) that are one container's (see [`Theirs`]).
pub fn theirs_added<'a>(changes: &'a Changes, theirs: &Theirs) -> Vec<&'a RuleAt> {
    changes
        .added
        .iter()
        .filter(|(_, rule)| names_container(rule, theirs))
        .map(|(at, _)| at)
        .collect()
}

/// Whether `rule` is one container's (see [`Theirs`]).
fn names_container(rule: &Rule, theirs: &Theirs) -> bool {
    let narrow = |addr: Ipv4Addr, len: u8| {
        (in_subnet(addr) && len > PREFIX) || (len == 32 && theirs.addrs.contains(&addr))
    };
    let by_target = match &rule.target {
        Target::Dnat { .. } => theirs.dnat,
        Target::Snat { addr, .. } => narrow(*addr, 32),
        _ => false,
    };
    by_target
        || rule.matches.iter().any(|m| match m {
            Match::Src { nets, .. } | Match::Dst { nets, .. } => {
                nets.iter().any(|n| narrow(n.addr, n.len))
            }
            Match::Iif { name, .. } | Match::Oif { name, .. } => {
                !name.wildcard && theirs.ifaces.contains(&name.name)
            }
            Match::Dport { ports, .. } => theirs
                .ports
                .iter()
                .any(|p| ports.iter().any(|(a, b)| (*a..=*b).contains(p))),
            _ => false,
        })
}
