//! The rules of published ports, as the firewall model reads them: a refused port adds none,
//! a dead owner's are swept, and none is left once the containers have ended.

use super::clients::{host_gets, internet_gets};
use super::{address, observe, serve, stop_all, SLEEP};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::{HOST_ADDR, HOST_UPLINK, ROUTER_ADDR};
use lab::state::netfilter::{Changes, Packet};
use lab::state::Netns;
use std::net::Ipv4Addr;

pub(super) fn conflict(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let before = observe::host()?;
    let expected = "a second container asking for host port 8080 is refused with an error \
                    naming the port, and no rule is added";
    match probe.run_with("again", &["-p", "8080:80"], &["true"]) {
        Err(Outcome::HookFailed { message }) if message.contains("8080") => {}
        Err(Outcome::HookFailed { message }) => {
            return Err(Outcome::failed(
                expected,
                format!("the error does not name the port:\n{message}"),
            ))
        }
        Err(other) => return Err(other),
        Ok(finished) => {
            return Err(Outcome::failed(
                expected,
                format!(
                    "container again started (exit status {}); the NAT rules then:\n{}",
                    finished.status,
                    observe::or_error(observe::host().map(|h| observe::nat_view(&h)))
                ),
            ))
        }
    }
    let after = observe::host()?;
    let changed = nat_changes(&before, &after);
    if !changed.is_empty() {
        return Err(Outcome::failed(
            expected,
            format!(
                "the NAT rules changed:\n{}\n{}",
                changed.lines().join("\n"),
                observe::nat_view(&after)
            ),
        ));
    }
    host_gets(
        probe,
        "from the lab host, after the refusal,",
        HOST_ADDR,
        8080,
        "web",
    )?;
    stop_all(vec![web])
}

/// What changed in the NAT tables between two readings.
fn nat_changes(before: &Netns, after: &Netns) -> Changes {
    let mut tables = observe::nat_tables(before);
    tables.extend(observe::nat_tables(after));
    let mut changes = after.netfilter.diff(&before.netfilter);
    changes.added.retain(|(at, _)| tables.contains(&at.table));
    changes.removed.retain(|(at, _)| tables.contains(&at.table));
    changes.chains_added.retain(|(table, _)| tables.contains(table));
    changes.chains_removed.retain(|(table, _)| tables.contains(table));
    changes.policies.retain(|(table, ..)| tables.contains(table));
    changes
}

/// A connection from the lab's internet to the lab host's port `port`.
fn from_the_internet(port: u16) -> Packet {
    Packet::tcp(ROUTER_ADDR, HOST_ADDR, port).iif(HOST_UPLINK)
}

pub(super) fn stale(probe: &Probe) -> Verdict {
    let gone = serve(probe, "gone", "8080:80")?;
    gone.crash();
    // The dead container's address goes to a container without a server, so that a rule
    // left behind sends the port's traffic nowhere.
    let other = probe.start("other", SLEEP)?;
    let web = match serve(probe, "web", "8080:80") {
        Ok(web) => web,
        Err(Outcome::HookFailed { message }) => {
            return Err(Outcome::failed(
                "after the step binary of container gone was killed with SIGKILL, a new \
                 container can publish host port 8080: rules whose owner is dead are removed",
                format!("{message}\n{}", probe.diagram()),
            ))
        }
        Err(other) => return Err(other),
    };
    let host = observe::host()?;
    let dnat = observe::dnat_rules(&host, &from_the_internet(8080));
    if dnat.len() != 1 {
        return Err(Outcome::failed(
            "exactly one DNAT rule for port 8080: the new container's",
            format!(
                "{} of them translate a connection from the lab's internet to \
                 {HOST_ADDR}:8080:\n{}\n{}",
                dnat.len(),
                observe::rules_lines(&dnat),
                observe::nat_view(&host)
            ),
        ));
    }
    internet_gets(probe, 8080, "web")?;
    stop_all(vec![web, other])
}

pub(super) fn cleanup(probe: &Probe) -> Verdict {
    let start = observe::host()?;
    let one = serve(probe, "one", "8080:80")?;
    let two = probe.start_with("two", &["-p", "8081:80", "-p", "5353:53/udp"], SLEEP)?;
    let addresses: Vec<Ipv4Addr> = [&one, &two].into_iter().filter_map(address).collect();
    stop_all(vec![one, two])?;
    // Theirs: any DNAT rule, any rule naming their ports or their addresses. The shared rules
    // (the chain, its jumps, the localhost MASQUERADE) may stay, as docker0's do, whatever
    // their names (CNI's portmap jumps to a chain called CNI-HOSTPORT-DNAT).
    let theirs = observe::Theirs {
        dnat: true,
        ifaces: &[],
        ports: &[8080, 8081, 5353],
        addrs: &addresses,
    };
    let host = observe::host()?;
    let changes = nat_changes(&start, &host);
    let left = observe::theirs_added(&changes, &theirs);
    if !left.is_empty() {
        return Err(Outcome::failed(
            "after both containers ended, no rule of theirs is left in the nat table (a DNAT \
             rule left behind sends a port's traffic to whoever gets the address next)",
            format!(
                "left:\n{}\n{}",
                observe::rules_lines(left),
                observe::nat_view(&host)
            ),
        ));
    }
    let wide = super::localnet::widened_localnet(&host);
    if !wide.is_empty() {
        return Err(Outcome::failed(
            format!("route_localnet is still 0 on all, default and {HOST_UPLINK}"),
            format!(
                "set on: {}\n{}",
                wide.join(", "),
                super::localnet::localnet_view(&host)
            ),
        ));
    }
    Ok(())
}
