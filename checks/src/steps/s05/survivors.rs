//! Survivors: one of three containers stops (the one on the bridge's lowest-MAC port, whose
//! MAC a bridge without one of its own has borrowed); the bridge keeps its MAC, the others
//! still reach each other, their gateway and the internet, and containers started afterwards
//! get addresses no running container has (read from their namespaces, not from the records).

use super::bridge::host_end;
use super::ipam::{address_of, ipam_view};
use super::lifecycle::gone;
use super::traffic::{ping, ping_gateway, web};
use super::{lab_view, observe, start_all, stop_all};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::BRIDGE;

pub(super) fn survivors(probe: &Probe) -> Verdict {
    let mut running = start_all(probe, &["a", "b", "c"])?;
    let mut ends = Vec::new();
    for container in &running {
        ends.push(host_end(probe, container)?);
    }
    let before = bridge_mac(probe, "while three containers run")?;
    // Each talks through its gateway first: its neighbour cache learns the bridge's MAC.
    for container in &running {
        ping_gateway(probe, container)?;
    }
    let lowest = ends
        .iter()
        .enumerate()
        .min_by_key(|(_, end)| end.mac.to_lowercase())
        .map_or(0, |(i, _)| i);
    let end = ends.remove(lowest);
    let stopped = running.remove(lowest);
    let name = stopped.name.clone();
    stopped.stop()?;
    let _ = gone(&end.name);
    let after = bridge_mac(probe, &format!("after container {name} stopped"))?;
    if after != before {
        return Err(Outcome::failed(
            format!(
                "when a container stops, {BRIDGE} keeps its MAC address (one of its own, given \
                 when it is created: `ip link add {BRIDGE} address 02:42:0a:00:00:01 type \
                 bridge`)"
            ),
            format!(
                "container {name} stopped (its host end {} had {}, the lowest MAC of the \
                 bridge's ports), and {BRIDGE}'s MAC went from {before} to {after}: a bridge \
                 without an address of its own takes its lowest port's, and the other \
                 containers' neighbour caches still hold {before}, so their traffic through \
                 the gateway stalls\n{}",
                end.name,
                end.mac,
                lab_view(probe)
            ),
        ));
    }
    ping(probe, &running[0], &running[1])?;
    ping(probe, &running[1], &running[0])?;
    for container in &running {
        ping_gateway(probe, container)?;
        web(probe, container)?;
    }
    for newcomer in ["d", "e"] {
        let container = probe.start(newcomer, super::SLEEP)?;
        let address = address_of(&container)?;
        let mut holder = None;
        for other in &running {
            if address_of(other)? == address {
                holder = Some(other.name.clone());
            }
        }
        running.push(container);
        if let Some(holder) = holder {
            return Err(Outcome::failed(
                format!(
                    "a container started after container {name} stopped gets an address no \
                     running container has"
                ),
                format!(
                    "container {newcomer} got {address}, which container {holder} has on its \
                     eth0\n{}",
                    ipam_view(probe)
                ),
            ));
        }
    }
    stop_all(running)
}

/// The bridge's MAC address, read from the lab host.
fn bridge_mac(probe: &Probe, when: &str) -> Result<String, Outcome> {
    let host = observe::host_network()?;
    match host.link(BRIDGE) {
        Some(bridge) => Ok(bridge.mac.to_lowercase()),
        None => Err(Outcome::failed(
            format!("the lab host has the bridge {BRIDGE} {when}"),
            format!("it is gone\n{}", lab_view(probe)),
        )),
    }
}
