//! Survivors: one of three containers stops (the one on the bridge's lowest-MAC port, whose
//! MAC a bridge without one of its own has borrowed); the bridge keeps its MAC, the others
//! still reach each other, their gateway and the internet, and containers started afterwards
//! get addresses no running container has (read from their namespaces, not from the records).

use super::bridge::host_end;
use super::ipam::{address_of, ipam_view};
use super::lifecycle::gone;
use super::traffic::{ping, ping_gateway, web};
use super::{lab_view, observe, SLEEP, THREE};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::BRIDGE;

/// On [`THREE`], kept ([`Probe::kept`]): what is left running when it ends is stopped with
/// the lab's other kept containers.
pub(super) fn survivors(probe: &Probe) -> Verdict {
    let mut running = probe.kept(&THREE, SLEEP)?;
    let mut ends = Vec::new();
    for container in running.iter() {
        ends.push(host_end(probe, container)?);
    }
    let before = bridge_mac(probe, "while three containers run")?;
    // Each talks through its gateway first: its neighbour cache learns the bridge's MAC.
    for container in running.iter() {
        ping_gateway(probe, container)?;
    }
    let lowest = ends
        .iter()
        .enumerate()
        .min_by_key(|(_, end)| end.mac.to_lowercase())
        .map_or(0, |(i, _)| i);
    // The others talk to it: their neighbour caches learn its MAC, as they would have in a
    // day's traffic.
    for (i, container) in running.iter().enumerate() {
        if i != lowest {
            ping(probe, container, &running[lowest])?;
        }
    }
    let end = ends.remove(lowest);
    let stopped = running.remove(lowest);
    let name = stopped.name.clone();
    let freed = address_of(&stopped)?;
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
    for container in running.iter() {
        ping_gateway(probe, container)?;
        web(probe, container)?;
    }
    let survivors = running.len();
    for newcomer in ["d", "e"] {
        let container = probe.start(newcomer, SLEEP)?;
        let address = address_of(&container)?;
        let mut holder = None;
        for other in running.iter() {
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
    // The survivors reach the newcomers at once, the one that got the stopped container's
    // address too: their neighbour caches still map that address to the stopped one's MAC,
    // and a frame to it goes nowhere until the entry expires (up to a minute).
    let (survivors, newcomers) = running.split_at(survivors);
    for newcomer in newcomers {
        let address = address_of(newcomer)?;
        for survivor in survivors {
            match ping(probe, survivor, newcomer) {
                Err(Outcome::Failed { observed, .. }) if address == freed => {
                    return Err(Outcome::failed(
                        "a container that gets the address of one that stopped is reached \
                         at once by those that knew the old one (give eth0 a MAC derived \
                         from its address, as Docker does, or announce the new MAC with a \
                         gratuitous ARP)",
                        format!(
                            "container {} got {address}, which container {name} had until it \
                             stopped; container {} had talked to {name}, and its ping to {} \
                             failed: its neighbour cache still maps {address} to {name}'s \
                             MAC\n{observed}",
                            newcomer.name, survivor.name, newcomer.name
                        ),
                    ));
                }
                other => other?,
            }
        }
    }
    Ok(())
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
