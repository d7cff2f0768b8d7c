//! A container's end, clean or not: stopping one takes its veth and its address back; a step
//! binary killed with SIGKILL does not leak its address; once every container has ended,
//! nothing of one container is left.

use super::bridge::host_end;
use super::ipam::{address_of, ipam_view, leases};
use super::traffic::ping;
use super::{lab_view, observe, stop_all, SLEEP, TEARDOWN, THREE};
use crate::invariants;
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::HOST_UPLINK;
use std::net::Ipv4Addr;

/// On [`THREE`] (kept: the checks before it only looked): b stops, a and c stay for the next
/// check.
pub(super) fn stop_one(probe: &Probe) -> Verdict {
    let mut running = probe.kept(&THREE, SLEEP)?;
    let b = running.remove(1);
    let name = b.name.clone();
    let host = host_end(probe, &b)?.name;
    let address = address_of(&b)?;
    b.stop()?;
    if !gone(&host) {
        return Err(Outcome::failed(
            format!("after container {name} stopped, its host end {host} is gone"),
            lab_view(probe),
        ));
    }
    if leases(probe)?.iter().any(|(a, _)| *a == address) {
        return Err(Outcome::failed(
            format!("after container {name} stopped, its address {address} is free again"),
            format!("it is still recorded\n{}", ipam_view(probe)),
        ));
    }
    ping(probe, &running[0], &running[1])?;
    ping(probe, &running[1], &running[0])
}

/// Whether the lab host's link `name` is gone, or goes within [`TEARDOWN`].
pub(crate) fn gone(name: &str) -> bool {
    observe::poll(TEARDOWN, || {
        let host = observe::host_network().ok()?;
        host.link(name).is_none().then_some(())
    })
    .is_some()
}

pub(super) fn crash(probe: &Probe) -> Verdict {
    let first = probe.spawn("a", &[], SLEEP)?.wait_running()?;
    let before = leases(probe)?;
    // Its host end, by the peer's ifindex (a runtime names it as it likes: `veth<pid>`, CNI's
    // `veth<8 hex>`).
    let host = host_end(probe, &first).ok().map(|l| l.name);
    // A crash: the step binary dies without its cleanup, then its container.
    first.crash();
    // The kernel removes the veth with the namespace; a runtime that pins namespaces (CNI's)
    // keeps it until its next garbage collection. Either way, the next allocation must not
    // leak the address.
    if let Some(host) = host {
        let _ = gone(&host);
    }
    // Only container a ran: every record there was is its.
    let stale: Vec<Ipv4Addr> = before.iter().map(|(a, _)| *a).collect();
    if stale.is_empty() {
        return Err(Outcome::failed(
            "while a container runs, its address is recorded in $NETLAB_STATE/ipam/ (a file \
             named after the address, or a line of a file naming it)",
            ipam_view(probe),
        ));
    }
    let second = probe.start("b", SLEEP)?;
    let after = leases(probe)?;
    let left: Vec<String> = stale
        .iter()
        .filter(|a| after.iter().any(|(b, _)| b == *a))
        .map(|a| a.to_string())
        .collect();
    let taken = address_of(&second)?;
    if !left.is_empty() && !stale.contains(&taken) {
        return Err(Outcome::failed(
            "the address of a step binary killed with SIGKILL is taken back by the next \
             allocation (its owner's PID is gone from /proc)",
            format!(
                "the record of {} is still there, and the next container got {taken}\n{}",
                left.join(", "),
                ipam_view(probe)
            ),
        ));
    }
    second.stop()?;
    Ok(())
}

/// Stops what is left of [`THREE`] (all three when it runs alone), then compares the lab host
/// with the lab as built.
pub(super) fn cleanup(probe: &Probe) -> Verdict {
    let start = invariants::baseline()
        .cloned()
        .map_or_else(observe::host, Ok)?;
    let running = std::mem::take(&mut *probe.kept_as_left(&THREE, SLEEP)?);
    for container in &running {
        host_end(probe, container)?;
    }
    // Every host end the lab has had: those stopped before this check too.
    let hosts = invariants::veths_seen();
    stop_all(running)?;
    let left = observe::poll(TEARDOWN, || {
        let host = observe::host_network().ok()?;
        observe::container_veths(&host).is_empty().then_some(())
    });
    let host = observe::host()?;
    let mut wrong = Vec::new();
    if left.is_none() {
        wrong.push(format!(
            "veths are left: {}\n{}",
            observe::container_veths(&host)
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            lab_view(probe)
        ));
    }
    let deleted: Vec<String> = start
        .links
        .iter()
        .filter(|l| host.link(&l.name).is_none())
        .map(|l| {
            if l.name == HOST_UPLINK {
                format!("{} (the lab's uplink was deleted)", l.name)
            } else {
                l.name.clone()
            }
        })
        .collect();
    if !deleted.is_empty() {
        wrong.push(format!(
            "links the lab host had before are gone: {}",
            deleted.join(", ")
        ));
    }
    if !leases(probe)?.is_empty() {
        wrong.push(format!("address files are left\n{}", ipam_view(probe)));
    }
    // One container's rules: those that name its host end, or one address of the subnet.
    let theirs = observe::Theirs {
        dnat: false,
        ifaces: &hosts,
        ports: &[],
        addrs: &[],
    };
    let changes = host.diff(&start).netfilter;
    let per_container = observe::theirs_added(&changes, &theirs);
    if !per_container.is_empty() {
        wrong.push(format!(
            "rules for one container are left:\n{}",
            observe::rules_lines(per_container)
        ));
    }
    let twice = observe::duplicate_rules(&host);
    if !twice.is_empty() {
        wrong.push(format!(
            "shared rules were added more than once (`iptables -C` before `-A`):\n{}",
            twice.join("\n")
        ));
    }
    if !wrong.is_empty() {
        return Err(Outcome::failed(
            "after every container ended, no veth (besides the lab's uplink), no address file \
             and no rule for one container remain (the bridge and the shared rules may stay, \
             each once)",
            wrong.join("\n"),
        ));
    }
    Ok(())
}
