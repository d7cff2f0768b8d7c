//! What no step's code may change on the lab host, verified for every check of every step:
//! the state the lab host had once built (its uplink `eth0`, UP, with both its addresses, the
//! default route, and the foreign state every profile seeds: other tools' chains and rules,
//! another tool's nftables table, a few sysctls; see [`lab::foreign`]).
//!
//! [`take_baseline`] pictures it right after the lab is built; [`verify`] compares the lab host
//! with it after a check has passed, and [`started`] each time a container has started. A
//! violation fails the check with a message naming the object at fault.

use crate::probe::Running;
use crate::steps::observe;
use crate::verdict::{Outcome, Verdict};
use anyhow::Result;
use lab::addresses::HOST_UPLINK;
use lab::foreign;
use lab::state::netfilter::{RuleAt, Source, TableId};
use lab::state::{Netns, Parts, Place};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

/// The lab host as built, before any learner code ran.
struct Baseline {
    netns: Netns,
    /// [`foreign::SYSCTLS`] as they read then.
    sysctls: Vec<(&'static str, String)>,
}

static BASELINE: OnceLock<Baseline> = OnceLock::new();

/// The containers' host ends (veths besides the uplink) [`verify`] has seen on the lab host:
/// the links whose rules must go with them, even once a check before has stopped their
/// container.
static VETHS_SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// What is read of the lab host: links, addresses, routes and the firewall (the foreign
/// sysctls are read on their own).
const PARTS: Parts = Parts {
    sysctls: false,
    ..Parts::ALL
};

/// Pictures the lab host as it is now: called before each check of a lab, it reads the lab
/// host the first time only (right after the lab is built); the checks after share that
/// picture.
pub fn take_baseline() -> Result<()> {
    if BASELINE.get().is_some() {
        return Ok(());
    }
    let baseline = Baseline {
        netns: observe::read(&Place::here(), PARTS)?,
        sysctls: read_sysctls()?,
    };
    let _ = BASELINE.set(baseline);
    Ok(())
}

/// The lab host still has everything of the baseline; `when` says at which moment ("after
/// the check"). Nothing to verify without a baseline (outside a check's lab).
pub fn verify(when: &str) -> Verdict {
    let Some(baseline) = BASELINE.get() else {
        return Ok(());
    };
    let now = observe::read(&Place::here(), PARTS)?;
    VETHS_SEEN.lock().unwrap_or_else(|e| e.into_inner()).extend(
        observe::container_veths(&now)
            .iter()
            .map(|l| l.name.clone()),
    );
    let mut wrong = violations(&baseline.netns, &now);
    for ((key, before), (_, value)) in baseline.sysctls.iter().zip(read_sysctls()?) {
        if value != *before {
            wrong.push(format!(
                "the sysctl {key}, which another tool set to {before}, is now {value}: write \
                 only the sysctls the step needs"
            ));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(Outcome::failed(
        format!(
            "{when}, the lab host's own state as it was: its uplink {HOST_UPLINK} UP with its \
             addresses, its default route, and other tools' firewall rules, chains, nftables \
             table and sysctls"
        ),
        wrong.join("\n"),
    ))
}

/// The lab host as built (links, addresses, routes, firewall), before any learner code ran;
/// None outside a check's lab.
pub fn baseline() -> Option<&'static Netns> {
    BASELINE.get().map(|b| &b.netns)
}

/// Every container host end seen so far in this lab, including those already gone.
pub fn veths_seen() -> Vec<String> {
    let seen = VETHS_SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.iter().cloned().collect()
}

/// [`verify`] once container `running` has started: the container, or the violation.
pub fn started(running: Running) -> Result<Running, Outcome> {
    verify(&format!("once container {} had started", running.name))?;
    Ok(running)
}

fn read_sysctls() -> Result<Vec<(&'static str, String)>> {
    foreign::SYSCTLS
        .iter()
        .map(|(key, _)| Ok((*key, lab::netcmd::sysctl(key)?)))
        .collect()
}

/// What of `before` is gone from, or changed in, `now`, one line per object.
fn violations(before: &Netns, now: &Netns) -> Vec<String> {
    let mut wrong = Vec::new();
    for link in before.links.iter().filter(|l| !l.is_fallback()) {
        let what = if link.name == HOST_UPLINK {
            format!("the lab host's uplink {HOST_UPLINK}")
        } else {
            format!("the lab host's link {}", link.name)
        };
        let Some(current) = now.link(&link.name) else {
            wrong.push(format!("{what} was deleted"));
            continue;
        };
        if link.up && !current.up {
            wrong.push(format!("{what} is DOWN"));
        }
        for &(addr, len) in &link.addrs {
            if !current.addrs.contains(&(addr, len)) {
                let which = if addr == foreign::SECOND_ADDR {
                    "the second address"
                } else {
                    "the address"
                };
                wrong.push(format!("{which} {addr}/{len} of {} is gone", link.name));
            }
        }
    }
    for route in before.routes.iter().filter(|r| r.is_default()) {
        let text = route.to_string();
        if !now.routes.iter().any(|r| r.to_string() == text) {
            wrong.push(format!(
                "the lab host's default route ({}) is gone",
                route.short()
            ));
        }
    }
    wrong.extend(firewall_violations(before, now));
    wrong
}

/// Other tools' tables, chains, sets and rules that are gone.
fn firewall_violations(before: &Netns, now: &Netns) -> Vec<String> {
    let changes = now.netfilter.diff(&before.netfilter);
    let mut wrong: Vec<String> = changes
        .tables_removed
        .iter()
        .map(|t| {
            format!(
                "another tool's table {} is gone: `nft flush ruleset` (or deleting a table) \
                 removes what is not yours",
                table_name(t)
            )
        })
        .collect();
    let table_gone = |t: &TableId| changes.tables_removed.contains(t);
    for (table, chain) in changes
        .chains_removed
        .iter()
        .filter(|(t, _)| !table_gone(t))
    {
        wrong.push(format!(
            "another tool's chain {chain} is gone from {}: delete only the chains you made",
            table_name(table)
        ));
    }
    let chain_gone = |at: &RuleAt| {
        table_gone(&at.table)
            || changes
                .chains_removed
                .contains(&(at.table.clone(), at.chain.clone()))
    };
    for (at, _) in changes.removed.iter().filter(|(at, _)| !chain_gone(at)) {
        let kind = if at.table.name == "nat" {
            "NAT rule"
        } else {
            "rule"
        };
        let flushed = now
            .netfilter
            .table(at.table.family, &at.table.name, at.table.source)
            .and_then(|t| t.chain(&at.chain))
            .is_some_and(|c| c.rules.is_empty());
        let why = if flushed {
            "flushing a chain removes rules that are not yours"
        } else {
            "delete only the rules you added"
        };
        wrong.push(format!(
            "another tool's {kind} `{}` is gone from {} {}: {why}",
            at.text,
            table_name(&at.table),
            at.chain
        ));
    }
    for (table, set) in changes.sets_changed.iter().filter(|(t, _)| !table_gone(t)) {
        let existed = before
            .netfilter
            .tables
            .iter()
            .any(|t| t.id == *table && t.sets.iter().any(|(name, _)| name == set));
        if existed {
            wrong.push(format!(
                "another tool's set {set} of {} changed",
                table_name(table)
            ));
        }
    }
    wrong
}

/// `nat`, `filter (legacy)`, `inet othertool` (nft's own).
fn table_name(table: &TableId) -> String {
    match table.source {
        Source::Nft => format!("{} {}", table.family, table.name),
        _ => table.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab::state::netfilter::Listings;

    fn host(iptables: &str, addrs: &str) -> Netns {
        let links = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,
            "operstate":"UNKNOWN","link_type":"loopback","address":"00:00:00:00:00:00"},
            {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","UP","LOWER_UP"],"mtu":1500,
            "operstate":"UP","link_type":"ether","address":"02:00:00:00:00:01",
            "linkinfo":{"info_kind":"veth"}}]"#;
        let addr_json = format!(r#"[{{"ifindex":2,"ifname":"eth0","addr_info":[{addrs}]}}]"#);
        let routes = r#"[{"dst":"default","gateway":"198.51.100.1","dev":"eth0","flags":[]}]"#;
        let firewall = Listings {
            iptables: Some(iptables.to_string()),
            ..Listings::default()
        };
        Netns::from_listings(links, &addr_json, routes, &firewall).expect("parses")
    }

    const ADDRS: &str = r#"{"family":"inet","local":"198.51.100.2","prefixlen":24},
        {"family":"inet","local":"198.51.100.3","prefixlen":24}"#;
    const NAT: &str = "*nat\n:POSTROUTING ACCEPT [0:0]\n:LIBVIRT_PRT - [0:0]\n\
        -A POSTROUTING -s 172.18.0.0/16 ! -o br-x -j MASQUERADE\n\
        -A POSTROUTING -j LIBVIRT_PRT\n\
        -A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE\nCOMMIT\n";

    #[test]
    fn the_same_state_and_added_rules_are_no_violation() {
        let before = host(NAT, ADDRS);
        assert!(violations(&before, &before).is_empty());
        let more = NAT.replace(
            "COMMIT",
            "-A POSTROUTING -s 10.0.0.0/24 -j MASQUERADE\nCOMMIT",
        );
        assert_eq!(
            violations(&before, &host(&more, ADDRS)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_flushed_chain_and_a_lost_address_are_named() {
        let before = host(NAT, ADDRS);
        let flushed = "*nat\n:POSTROUTING ACCEPT [0:0]\n:LIBVIRT_PRT - [0:0]\n\
            -A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE\nCOMMIT\n";
        let one = r#"{"family":"inet","local":"198.51.100.2","prefixlen":24}"#;
        let wrong = violations(&before, &host(flushed, one));
        assert_eq!(
            wrong,
            [
                "the second address 198.51.100.3/24 of eth0 is gone",
                "another tool's NAT rule `-s 172.18.0.0/16 ! -o br-x -j MASQUERADE` is gone \
                 from nat POSTROUTING: flushing a chain removes rules that are not yours",
                "another tool's NAT rule `-j LIBVIRT_PRT` is gone from nat POSTROUTING: \
                 flushing a chain removes rules that are not yours",
            ]
        );
    }

    #[test]
    fn a_deleted_chain_is_named_once() {
        let before = host(NAT, ADDRS);
        let deleted = "*nat\n:POSTROUTING ACCEPT [0:0]\n\
            -A POSTROUTING -s 172.18.0.0/16 ! -o br-x -j MASQUERADE\nCOMMIT\n";
        let wrong = violations(&before, &host(deleted, ADDRS));
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(wrong[0].contains("chain LIBVIRT_PRT is gone from nat"));
        assert!(wrong[1].contains("`-j LIBVIRT_PRT` is gone from nat POSTROUTING"));
    }
}
