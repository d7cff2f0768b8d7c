//! The bridge: `netlab0`, UP, with the gateway's address, and every container's host end
//! plugged into it.

use super::{lab_view, observe, three};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::{BRIDGE, GATEWAY, PREFIX};
use lab::state::{Link, Netns};

pub(super) fn bridge(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let host = observe::host_network()?;
    let Some(bridge) = host.link(BRIDGE) else {
        return Err(Outcome::failed(
            format!("the lab host has a bridge {BRIDGE}"),
            lab_view(probe),
        ));
    };
    if bridge.kind != "bridge" || !bridge.up {
        return Err(Outcome::failed(
            format!("{BRIDGE} is a bridge, UP"),
            format!(
                "it is of kind '{}', {}\n{}",
                bridge.kind,
                if bridge.up { "UP" } else { "DOWN" },
                lab_view(probe)
            ),
        ));
    }
    if !bridge.addrs.contains(&(GATEWAY, PREFIX)) {
        return Err(Outcome::failed(
            format!("{BRIDGE} has the address {GATEWAY}/{PREFIX}"),
            format!(
                "its IPv4 addresses: {}\n{}",
                observe::addresses(bridge),
                lab_view(probe)
            ),
        ));
    }
    for container in running.iter() {
        let end = host_end_in(probe, &host, container)?;
        if end.master.as_deref() != Some(BRIDGE) || !end.up {
            return Err(Outcome::failed(
                format!(
                    "the host end of every container's veth is UP and plugged into {BRIDGE} \
                     (`master {BRIDGE}`)"
                ),
                format!(
                    "{}'s host end {} has master {} and is {}\n{}",
                    container.name,
                    end.name,
                    end.master.as_deref().unwrap_or("none"),
                    if end.up { "UP" } else { "DOWN" },
                    lab_view(probe)
                ),
            ));
        }
    }
    Ok(())
}

/// The lab host's end of the container's veth: the one whose other end is the container's
/// eth0 (found by ifindex, not by name).
pub(crate) fn host_end(probe: &Probe, container: &Running) -> Result<Link, Outcome> {
    host_end_in(probe, &observe::host_network()?, container)
}

/// [`host_end`], in the lab host as read already.
fn host_end_in(probe: &Probe, host: &Netns, container: &Running) -> Result<Link, Outcome> {
    let inside = observe::inside(container)?;
    observe::cables(host, &inside)
        .into_iter()
        .find(|(_, inside_end)| inside_end.name == "eth0")
        .map(|(host_end, _)| host_end.clone())
        .ok_or_else(|| {
            Outcome::failed(
                format!(
                    "container {}'s eth0 is one end of a veth pair whose other end is on the lab \
                     host",
                    container.name
                ),
                lab_view(probe),
            )
        })
}
