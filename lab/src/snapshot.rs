//! A readable picture of a network namespace's state: links, addresses, routes (every
//! table), policy rules, firewall, named namespaces and sysctls, read with [`crate::state`].
//! Taken before and after a run, two pictures must be equal; their difference is what a run
//! changed.
//!
//! Taking a picture only reads: `ip -j ... show`, `iptables-nft-save` (and
//! `iptables-legacy-save` when legacy tables exist), `nft -j list ruleset`, `/proc/sys/net`,
//! `/run/netns`; never `iptables -L` (whose nft flavour may create tables just by listing).

use crate::state::route::{self, PolicyRule, Tables};
use crate::state::{Netns, Parts, Place};
use anyhow::{bail, Result};
use std::fmt;

/// One namespace's network state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetState {
    /// Links, addresses, routes of every table, sysctls, firewall.
    pub netns: Netns,
    /// `ip rule`.
    pub rules: Vec<PolicyRule>,
    /// The names in `/run/netns` (`ip netns add`).
    pub named_namespaces: Vec<String>,
}

impl NetState {
    /// Pictures the calling thread's network namespace.
    pub fn take() -> Result<NetState> {
        let place = Place::here();
        let netns = Netns::read_parts(
            &place,
            Parts {
                routes: Tables::All,
                ..Parts::ALL
            },
        );
        if !netns.problems.is_empty() {
            bail!(
                "picturing the network namespace: {}",
                netns.problems.join("; ")
            );
        }
        Ok(NetState {
            netns,
            rules: route::read_rules(&place)?,
            named_namespaces: named_namespaces(),
        })
    }

    /// Lines that differ: `section: - line` was only before, `section: + line` only after.
    pub fn diff(&self, after: &NetState) -> Vec<String> {
        let mut out = after.netns.diff(&self.netns).lines();
        for (name, before, now) in [
            ("rules", self.rule_lines(), after.rule_lines()),
            (
                "named namespaces",
                self.named_namespaces.clone(),
                after.named_namespaces.clone(),
            ),
            (
                "firewall problems",
                self.netns.netfilter.problems.clone(),
                after.netns.netfilter.problems.clone(),
            ),
        ] {
            for line in before.iter().filter(|l| !now.contains(l)) {
                out.push(format!("{name}: - {line}"));
            }
            for line in now.iter().filter(|l| !before.contains(l)) {
                out.push(format!("{name}: + {line}"));
            }
        }
        out
    }

    fn rule_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.rules.iter().map(PolicyRule::to_string).collect();
        lines.sort();
        lines
    }

    /// The picture, section by section.
    pub fn sections(&self) -> Vec<(String, Vec<String>)> {
        let ns = &self.netns;
        let sorted = |mut lines: Vec<String>| {
            lines.sort();
            lines
        };
        let addresses = ns
            .links
            .iter()
            .flat_map(|l| {
                let v4 = l.addrs.iter().map(|(a, n)| format!("{a}/{n}"));
                let v6 = l.addrs6.iter().map(|(a, n)| format!("{a}/{n}"));
                v4.chain(v6)
                    .map(|a| format!("{} {a}", l.name))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut firewall = Vec::new();
        for table in &ns.netfilter.tables {
            firewall.push(format!("table {}", table.id));
            for (name, elements) in &table.sets {
                firewall.push(format!("{} set {name} = {}", table.id, elements.join(", ")));
            }
            for chain in &table.chains {
                let base = chain.base.map_or(String::new(), |b| {
                    format!(
                        " ({:?} {} priority {} policy {})",
                        b.kind, b.hook, b.priority, b.policy
                    )
                });
                firewall.push(format!("{} chain {}{base}", table.id, chain.name));
                for rule in &chain.rules {
                    firewall.push(format!("{} {}: {}", table.id, chain.name, rule.text));
                }
            }
        }
        firewall.extend(ns.netfilter.problems.iter().map(|p| format!("({p})")));
        vec![
            (
                "links".into(),
                sorted(ns.links.iter().map(|l| l.to_string()).collect()),
            ),
            ("addresses".into(), sorted(addresses)),
            (
                "routes".into(),
                sorted(ns.routes.iter().map(|r| r.to_string()).collect()),
            ),
            ("rules".into(), self.rule_lines()),
            ("firewall".into(), firewall),
            ("named namespaces".into(), self.named_namespaces.clone()),
            ("sysctls".into(), ns.sysctls.lines()),
        ]
    }
}

impl fmt::Display for NetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, lines) in self.sections() {
            writeln!(f, "[{name}]")?;
            for line in lines {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

fn named_namespaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_of_this_namespace_equals_itself_and_reads_well() {
        let Ok(before) = NetState::take() else {
            eprintln!("no ip here: skipped");
            return;
        };
        let after = NetState::take().expect("a second picture");
        assert_eq!(before.diff(&after), Vec::<String>::new());
        let text = before.to_string();
        for section in ["[links]", "[routes]", "[firewall]", "[sysctls]"] {
            assert!(text.contains(section), "{text}");
        }
        assert!(text.contains("net.ipv4.ip_forward = "), "{text}");
    }
}
