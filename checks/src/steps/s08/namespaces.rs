//! Step 08's check of where the network hook did its work: the hook runs in the runtime's
//! namespaces (the lab host's network), the container is reached through its PID. So the
//! cable's host end is on the lab host, on the bridge, UP, and the container's address is in
//! the container only: none of the lab host's links has it.

use super::address_of;
use crate::probe::{Probe, Running};
use crate::steps::observe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::BRIDGE;
use std::net::Ipv4Addr;

pub(super) fn runtime_namespaces(probe: &Probe) -> Verdict {
    let c = probe.start("c1", super::SLEEP)?;
    let address = address_of(&c)?;
    judge(&c, address)?;
    c.stop()?;
    Ok(())
}

fn judge(c: &Running, address: Ipv4Addr) -> Verdict {
    let host = observe::host_network()?;
    let inside = observe::inside(c)?;
    let view = || {
        format!(
            "{}\n{}",
            observe::links_view("the lab host: links", &host),
            observe::links_view("in the container's namespace: links", &inside)
        )
    };
    let Some((host_end, _)) = observe::cables(&host, &inside)
        .into_iter()
        .find(|(_, inside_end)| inside_end.name == "eth0")
    else {
        return Err(Outcome::failed(
            "the container's eth0 is one end of a veth whose other end is on the lab host (the \
             hook runs there, in the runtime's namespaces)",
            view(),
        ));
    };
    if host_end.master.as_deref() != Some(BRIDGE) || !host_end.up {
        return Err(Outcome::failed(
            format!("the host end {} is UP on {BRIDGE}", host_end.name),
            view(),
        ));
    }
    if let Some(wrong) = host.links.iter().find(|l| l.addrs.iter().any(|(a, _)| *a == address)) {
        return Err(Outcome::failed(
            format!(
                "the container's address {address} is in its namespace only (configured \
                 through nsenter -t PID -n, not where the hook runs)"
            ),
            format!("the lab host's {} has it too\n{}", wrong.name, view()),
        ));
    }
    Ok(())
}
