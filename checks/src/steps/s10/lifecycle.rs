//! A container's end: its veth goes, its route with it, its address is released, and the
//! others keep theirs; containers starting together; nothing of one left once all ended.

use super::super::s05::concurrency::{all_running, AT_ONCE};
use super::super::s05::lifecycle::gone;
use super::{
    ends, lab_view, observe, pool_host_routes, records, records_view, SLEEP,
    THREE,
};
use crate::invariants;
use crate::probe::{stop_all, Probe, Running, Starting};
use crate::verdict::{Outcome, Verdict};
use std::net::Ipv4Addr;
use std::time::Duration;

/// How long the kernel may take to remove a dead container's namespace, and the veth with it.
const TEARDOWN: Duration = Duration::from_secs(3);

/// The lab host's /32 routes of the pool, as `address dev`.
fn host_routes() -> Result<Vec<(Ipv4Addr, String)>, Outcome> {
    let host = observe::host_network()?;
    Ok(pool_host_routes(&host)
        .into_iter()
        .filter_map(|r| Some((r.dst?.addr, r.dev.clone().unwrap_or_default())))
        .collect())
}

/// On [`THREE`] (kept: the checks before it only looked): b stops, a and c stay.
pub(super) fn stop_one(probe: &Probe) -> Verdict {
    let mut running = probe.kept(&THREE, SLEEP)?;
    let others = ends(probe, [&running[0], &running[2]])?;
    let b = running.remove(1);
    let (address, end) = ends(probe, [&b])?.remove(0);
    let name = b.name.clone();
    b.stop()?;
    if !gone(&end.name) {
        return Err(Outcome::failed(
            format!("after container {name} stopped, its host end {} is gone", end.name),
            lab_view(probe),
        ));
    }
    let routes = host_routes()?;
    if routes.iter().any(|(a, _)| *a == address) {
        return Err(Outcome::failed(
            format!("after container {name} stopped, no route to its address {address} is left"),
            lab_view(probe),
        ));
    }
    for (other, other_end) in &others {
        if !routes
            .iter()
            .any(|(a, dev)| a == other && *dev == other_end.name)
        {
            return Err(Outcome::failed(
                format!(
                    "after container {name} stopped, the others keep their routes: \
                     {other}/32 dev {}",
                    other_end.name
                ),
                lab_view(probe),
            ));
        }
    }
    if records(probe).contains(&address) {
        return Err(Outcome::failed(
            format!("after container {name} stopped, its address {address} is free again"),
            records_view(probe),
        ));
    }
    super::traffic::ping_pair(probe, &running[0], &running[1])?;
    // The shared pieces stay for the others: forwarding, NAT.
    super::traffic::web(probe, &running[0])?;
    super::traffic::web(probe, &running[1])
}

pub(super) fn concurrent(probe: &Probe) -> Verdict {
    let mut starting: Vec<Starting> = Vec::new();
    for i in 1..=AT_ONCE {
        starting.push(probe.spawn(&format!("c{i}"), &[], SLEEP)?);
    }
    let running = all_running(starting, || records_view(probe))?;
    let ends = ends(probe, &running)?;
    let mut addresses: Vec<Ipv4Addr> = ends.iter().map(|(a, _)| *a).collect();
    addresses.sort();
    addresses.dedup();
    if addresses.len() != AT_ONCE {
        return Err(Outcome::failed(
            format!("{AT_ONCE} containers started at the same moment get {AT_ONCE} addresses"),
            records_view(probe),
        ));
    }
    let routes = host_routes()?;
    for (address, end) in &ends {
        if !routes.iter().any(|(a, dev)| a == address && *dev == end.name) {
            return Err(Outcome::failed(
                format!(
                    "{AT_ONCE} containers started at the same moment each get their route \
                     ({address}/32 dev {})",
                    end.name
                ),
                lab_view(probe),
            ));
        }
    }
    let twice = observe::duplicate_rules(&observe::host()?);
    if !twice.is_empty() {
        return Err(Outcome::failed(
            format!(
                "{AT_ONCE} containers started at the same moment add each shared rule once \
                 (`iptables -C` then `-A` is one step under a lock: the given ensure_rules)"
            ),
            format!("rules present more than once:\n{}", twice.join("\n")),
        ));
    }
    stop_all(running)
}

/// Stops what is left of [`THREE`] (all three when it runs alone), then compares the lab host
/// with the lab as built.
pub(super) fn cleanup(probe: &Probe) -> Verdict {
    let start = invariants::baseline()
        .cloned()
        .map_or_else(observe::host, Ok)?;
    let running: Vec<Running> = std::mem::take(&mut *probe.kept_as_left(&THREE, SLEEP)?);
    let addrs: Vec<Ipv4Addr> = ends(probe, running.iter())?.iter().map(|(a, _)| *a).collect();
    let hosts = invariants::veths_seen();
    stop_all(running)?;
    let left = observe::poll(TEARDOWN, || {
        let host = observe::host_network().ok()?;
        observe::container_veths(&host).is_empty().then_some(())
    });
    let host = observe::host()?;
    let mut wrong = Vec::new();
    if left.is_none() {
        let names: Vec<&str> = observe::container_veths(&host)
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        wrong.push(format!("veths are left: {}", names.join(", ")));
    }
    let routes: Vec<String> = pool_host_routes(&host).iter().map(|r| r.short()).collect();
    if !routes.is_empty() {
        wrong.push(format!("routes to containers are left: {}", routes.join("; ")));
    }
    if !records(probe).is_empty() {
        wrong.push(format!("address records are left\n{}", records_view(probe)));
    }
    let theirs = observe::Theirs {
        dnat: false,
        ifaces: &hosts,
        ports: &[],
        addrs: &addrs,
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
            "after every container ended, no veth (besides the lab's uplink), no route to a \
             container, no address record and no rule for one container remain (the shared \
             rules may stay, each once)",
            wrong.join("\n"),
        ));
    }
    Ok(())
}
