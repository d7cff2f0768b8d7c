//! Step 02: a veth pair between the lab host and the container, forwarding and NAT, and a
//! cleanup that removes them.
//!
//! The checks find the container's cable without trusting its names: the container's end
//! names its peer's ifindex (`link_index`), and the host's end must name the container's end
//! back. The lab's own uplink `eth0` is a veth too; it is never counted as a container's.

mod survivor;

use super::observe::{self, container_veths};
use crate::catalog::{Check, LIMIT};
use crate::probe::{Finished, Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::containers::{FIRST, GATEWAY, PREFIX, SUBNET};
use lab::addresses::{HOST_UPLINK, WEB_ADDR};
use lab::netcmd;
use lab::state::netfilter::Packet;
use lab::state::{Link, Netns};
use lab::Profile;
use std::time::{Duration, Instant};

/// The container's end of the cable, inside its namespace.
const CONTAINER_END: &str = "eth0";
/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long the kernel may take to remove a dead container's namespace, and the veth with it.
const TEARDOWN: Duration = Duration::from_secs(3);

/// No checks of this set share a lab (see `steps::TOGETHER`).
pub const TOGETHER: &[&[&str]] = &[];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "host-end",
        title: "the lab host has its end of the container's veth, UP, with 10.0.0.1/24",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: host_end,
    },
    Check {
        name: "container-end",
        title: "the other end is eth0 in the container's namespace, not on the lab host",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: container_end,
    },
    Check {
        name: "ip-forward",
        title: "while a container runs, the lab host forwards (net.ipv4.ip_forward = 1)",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ip_forward,
    },
    Check {
        name: "one-masquerade",
        title: "one MASQUERADE rule for 10.0.0.0/24, however many containers ran",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: one_masquerade,
    },
    Check {
        name: "two-at-once",
        title: "two containers at once each get a veth pair of their own",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: two_at_once,
    },
    Check {
        name: "cleanup",
        title: "after the containers exit, no veth and no NAT rule remain",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup,
    },
    Check {
        name: "survivor",
        title: "after one of two containers stops, the other still reaches the internet",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: survivor::survivor,
    },
    Check {
        name: "cleanup-twice",
        title: "cleanup succeeds when the rule or the link is already gone",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup_twice,
    },
];

fn host_end(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let (host, _) = cable(&container)?;
    if !host.up {
        return Err(Outcome::failed(
            format!("the lab host's end of the cable, {}, is UP", host.name),
            format!(
                "it is DOWN\n{}",
                observe::links_view("lab host's links", &observe::host_network()?)
            ),
        ));
    }
    if !host.addrs.contains(&(GATEWAY, PREFIX)) {
        return Err(Outcome::failed(
            format!("{} has the address {GATEWAY}/{PREFIX}", host.name),
            format!(
                "its IPv4 addresses: {}\n{}",
                observe::addresses(&host),
                observe::links_view("lab host's links", &observe::host_network()?)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn container_end(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let (_, inside) = cable(&container)?;
    if inside.name != CONTAINER_END {
        return Err(Outcome::failed(
            format!("the container's end of the cable is called {CONTAINER_END}"),
            format!("it is called {}\n{}", inside.name, both_views(&container)),
        ));
    }
    let host = observe::host_network()?;
    let veths = container_veths(&host);
    if veths.len() != 1 {
        return Err(Outcome::failed(
            format!(
                "one veth on the lab host for the container (besides the lab's uplink \
                 {HOST_UPLINK}): the other end belongs inside the container"
            ),
            format!(
                "{} of them: {}\n{}",
                veths.len(),
                names(&veths),
                both_views(&container)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn ip_forward(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let host = observe::host()?;
    if !host.sysctls.ip_forward() {
        return Err(Outcome::failed(
            "/proc/sys/net/ipv4/ip_forward reads 1 on the lab host while the container runs",
            format!(
                "it reads {}",
                host.sysctls.get("net.ipv4.ip_forward").unwrap_or("nothing")
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn one_masquerade(probe: &Probe) -> Verdict {
    let start = observe::host()?;
    let first = probe.start("a", SLEEP)?;
    let one = one_rule("while one container runs", &start)?;
    let second = start_second(probe, "b")?;
    let two = one_rule("while two containers run", &one)?;
    second.stop()?;
    first.stop()?;
    let third = probe.start("c", SLEEP)?;
    one_rule(
        "while a third container runs, after two have come and gone",
        &two,
    )?;
    third.stop()?;
    Ok(())
}

fn two_at_once(probe: &Probe) -> Verdict {
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    for container in [&first, &second] {
        let (_, inside) = cable(container)?;
        if inside.name != CONTAINER_END {
            return Err(Outcome::failed(
                format!(
                    "each container's end of its cable is called {CONTAINER_END}, in its own \
                     namespace"
                ),
                format!(
                    "in container {} it is called {}\n{}",
                    container.name,
                    inside.name,
                    both_views(container)
                ),
            ));
        }
    }
    second.stop()?;
    first.stop()?;
    Ok(())
}

fn cleanup(probe: &Probe) -> Verdict {
    let start = observe::host_network()?;
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    first.stop()?;
    second.stop()?;
    // The kernel removes a namespace (and a veth end in it) a moment after its last process.
    let deadline = Instant::now() + TEARDOWN;
    loop {
        let links = observe::host_network()?;
        if container_veths(&links).is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let host = observe::host()?;
    let left = container_veths(&host);
    let rules = nat_rules(&host);
    let gone: Vec<String> = start
        .links
        .iter()
        .filter(|l| host.link(&l.name).is_none())
        .map(|l| l.name.clone())
        .collect();
    if !left.is_empty() || !rules.is_empty() || !gone.is_empty() {
        let mut said = format!(
            "{} veth left ({}), {} rule(s) left",
            left.len(),
            names(&left),
            rules.len()
        );
        if !gone.is_empty() {
            said.push_str(&format!(
                "; links of the lab host deleted: {}{}",
                gone.join(", "),
                if gone.iter().any(|g| g == HOST_UPLINK) {
                    " (the lab's uplink was deleted)"
                } else {
                    ""
                }
            ));
        }
        return Err(Outcome::failed(
            format!(
                "after both containers exited: no veth on the lab host (besides its uplink \
                 {HOST_UPLINK}) and no MASQUERADE rule for {SUBNET}"
            ),
            format!(
                "{said}\n{}\n{}",
                observe::links_view("lab host's links", &host),
                nat_report(&host)
            ),
        ));
    }
    Ok(())
}

fn cleanup_twice(probe: &Probe) -> Verdict {
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    stopped(first, "for the first of two containers")?;
    stopped(
        second,
        "for the second container, after the first one's cleanup (the rule may be gone)",
    )?;
    let third = probe.start("c", SLEEP)?;
    let (host, _) = cable(&third)?;
    netcmd::run("ip", &["link", "del", &host.name]).context("deleting the veth by hand")?;
    stopped(
        third,
        &format!(
            "for a container whose veth {} was deleted by hand",
            host.name
        ),
    )?;
    Ok(())
}

/// The container's cable, as (the lab host's end, the container's end); a failure when there
/// is none.
fn cable(container: &Running) -> Result<(Link, Link), Outcome> {
    let host = observe::host_network()?;
    let inside = observe::inside(container)?;
    match observe::cable(&host, &inside) {
        Some((host_end, inside_end)) => Ok((host_end.clone(), inside_end.clone())),
        None => Err(Outcome::failed(
            format!(
                "a veth pair with one end on the lab host and the other ({CONTAINER_END}) in \
                 the container's network namespace"
            ),
            both_views(container),
        )),
    }
}

/// A container's packet to the lab's internet, leaving by the uplink.
fn outgoing() -> Packet {
    Packet::tcp(FIRST, WEB_ADDR, 80).oif(HOST_UPLINK)
}

/// The rules that NAT the subnet's traffic out of the uplink, whatever wrote them.
fn nat_rules(host: &Netns) -> Vec<lab::state::netfilter::RuleAt> {
    observe::snat_rules(host, &outgoing())
}

/// The rules that NAT the subnet's traffic, and the whole NAT table, for reports.
fn nat_report(host: &Netns) -> String {
    format!(
        "the rules that source-NAT {SUBNET}'s traffic to the internet ({FIRST} → {WEB_ADDR} \
         out of {HOST_UPLINK}):\n{}\n{}",
        observe::rules_lines(&nat_rules(host)),
        observe::nat_view(host)
    )
}

/// Exactly one rule NATs the subnet's traffic out of the uplink, now; the lab host as it is
/// then. `since` is the lab host at the previous moment: what went since is named.
fn one_rule(when: &str, since: &Netns) -> Result<Netns, Outcome> {
    let host = observe::host()?;
    let count = nat_rules(&host).len();
    if count != 1 {
        let changes = host.diff(since).netfilter;
        let mut said = format!("{count} of them");
        if !changes.removed.is_empty() {
            said.push_str(&format!(
                " (removed since the last look: {})",
                changes
                    .removed
                    .iter()
                    .map(|(at, _)| format!("{} {}: {}", at.table, at.chain, at.text))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        return Err(Outcome::failed(
            format!("exactly one MASQUERADE rule for {SUBNET} {when}"),
            format!("{said}:\n{}", nat_report(&host)),
        ));
    }
    Ok(host)
}

/// Starts a second container while another runs; its setup failing is this step's failure
/// (typically a fixed interface name: "File exists").
fn start_second(probe: &Probe, name: &str) -> Result<Running, Outcome> {
    probe.start(name, SLEEP).map_err(|outcome| match outcome {
        Outcome::HookFailed { message } => Outcome::failed(
            "a second container starts while the first runs, with a veth pair of its own",
            format!(
                "its setup failed: {message}\n{}",
                observe::or_error(
                    observe::host_network().map(|h| observe::links_view("lab host's links", &h))
                )
            ),
        ),
        other => other,
    })
}

/// Stops a container; its cleanup failing is this step's failure.
fn stopped(container: Running, when: &str) -> Result<Finished, Outcome> {
    container.stop().map_err(|outcome| match outcome {
        Outcome::HookFailed { message } => Outcome::failed(
            format!("cleanup succeeds {when}"),
            format!(
                "it failed: {message}\n{}",
                observe::or_error(observe::host().map(|h| format!(
                    "{}\n{}",
                    observe::links_view("lab host's links", &h),
                    nat_report(&h)
                )))
            ),
        ),
        other => other,
    })
}

/// The lab host's links and the container's, for reports.
fn both_views(container: &Running) -> String {
    format!(
        "{}\n{}",
        observe::or_error(
            observe::host_network().map(|h| observe::links_view("lab host's links", &h))
        ),
        observe::or_error(
            observe::inside(container)
                .map(|n| observe::links_view("in the container's namespace", &n))
        )
    )
}

/// `veth12, veth18` for reports.
fn names(links: &[&Link]) -> String {
    if links.is_empty() {
        return "none".to_string();
    }
    links
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
