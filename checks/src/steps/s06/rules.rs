//! The rules of published ports, as the firewall model reads them: a refused port adds none,
//! a dead owner's are swept, and none is left once the containers have ended.

use super::clients::{host_gets, internet_gets, internet_gets_page};
use super::ports::expect_udp;
use super::{address, observe, page_of, serve, serve_on, stop_all, SLEEP, WEB};
use crate::probe::{Finished, Probe};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::{HOST_ADDR, HOST_UPLINK, ROUTER_ADDR};
use lab::state::netfilter::{Changes, Packet};
use lab::state::Netns;
use std::net::Ipv4Addr;

pub(super) fn conflict(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", &["-p", "8080:80", "-p", "5353:53/udp"])?;
    let before = observe::host()?;
    for (port, option) in [("8080", "8080:80"), ("5353/udp", "5353:53/udp")] {
        let expected = format!(
            "a second container asking for host port {port} is refused with an error naming \
             the port, and no rule is added"
        );
        match probe.run_with("again", &["-p", option], &["true"]) {
            Err(Outcome::HookFailed { message }) if message.contains(&port[..4]) => {}
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
                        "container again (-p {option}) started (exit status {}) while container \
                         web publishes {port}; the NAT rules then:\n{}",
                        finished.status,
                        observe::or_error(observe::host().map(|h| observe::nat_view(&h)))
                    ),
                ))
            }
        }
    }
    let expected = "the refused containers add no rule";
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
pub(super) fn from_the_internet(port: u16) -> Packet {
    Packet::tcp(ROUTER_ADDR, HOST_ADDR, port).iif(HOST_UPLINK)
}

/// A refusal's message: the step binary ended with its hook failing.
pub(super) fn refused(finished: Result<Finished, Outcome>) -> Result<String, Outcome> {
    match finished {
        Err(Outcome::HookFailed { message }) => Ok(message),
        Err(other) => Err(other),
        Ok(finished) => Err(Outcome::failed(
            "the container is refused, or keeps running",
            format!(
                "it ended (exit status {}):\n{}",
                finished.status,
                finished.output()
            ),
        )),
    }
}

pub(super) fn stale(probe: &Probe) -> Verdict {
    let gone = serve(probe, "gone", WEB)?;
    gone.crash();
    // The dead container's address goes to a container without a server, so that a rule
    // left behind sends the port's traffic nowhere.
    let other = probe.start("other", SLEEP)?;
    let web = match serve(probe, "web", WEB) {
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
    let one = serve(probe, "one", WEB)?;
    let two = serve_on(probe, "two", &["-p", "8081:81", "-p", "5353:53/udp"], &[81])?;
    // Each port it looks for afterwards, it first sees published: otherwise "nothing is left"
    // would say nothing.
    internet_gets(probe, 8080, "one")?;
    internet_gets_page(probe, 8081, &page_of("two", 81))?;
    expect_udp(probe, &two, 5353, 53)?;
    let addresses: Vec<Ipv4Addr> = [&one, &two].into_iter().filter_map(address).collect();
    stop_all(vec![one, two])?;
    let host = observe::host()?;
    let ports = [
        from_the_internet(8080),
        from_the_internet(8081),
        Packet::udp(ROUTER_ADDR, HOST_ADDR, 5353).iif(HOST_UPLINK),
    ];
    let still: Vec<_> = ports
        .iter()
        .flat_map(|packet| observe::dnat_rules(&host, packet))
        .collect();
    if !still.is_empty() {
        return Err(Outcome::failed(
            format!(
                "after both containers ended, no connection from the lab's internet to \
                 {HOST_ADDR}:8080, :8081 or :5353/udp is translated any more"
            ),
            format!(
                "still translated by:\n{}\n{}",
                observe::rules_lines(&still),
                observe::nat_view(&host)
            ),
        ));
    }
    // Theirs: any DNAT rule, any rule naming their ports or their addresses. The shared rules
    // (the chain, its jumps, the localhost MASQUERADE) may stay, as docker0's do, whatever
    // their names (CNI's portmap jumps to a chain called CNI-HOSTPORT-DNAT).
    let theirs = observe::Theirs {
        dnat: true,
        ifaces: &[],
        ports: &[8080, 8081, 5353],
        addrs: &addresses,
    };
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
