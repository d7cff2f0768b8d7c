//! Traffic through the lab host's routes: between containers (from their own addresses,
//! each packet in by one host end and out by another) and to the lab's internet
//! (masqueraded), with the FORWARD policy ACCEPT or, as on a Docker host, DROP.

use super::super::s05::traffic::{
    arrives_from_own_address, own_traffic_untouched, policy_is_drop, web_via,
};
use super::{address_of, host_end, lab_view, observe, three, SLEEP};
use crate::probe::{stop_all, Probe, Running};
use crate::verdict::{Outcome, Verdict};
use lab::state::netfilter::Packet;

pub(super) fn ping_each_other(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    for (from, to) in [(0, 1), (1, 0), (1, 2), (2, 0)] {
        ping(probe, &running[from], &running[to])?;
    }
    Ok(())
}

/// Pings from `a` to `b` and back.
pub(super) fn ping_pair(probe: &Probe, a: &Running, b: &Running) -> Verdict {
    ping(probe, a, b)?;
    ping(probe, b, a)
}

/// Busybox's ping from one container to another's address.
fn ping(probe: &Probe, from: &Running, to: &Running) -> Verdict {
    let (source, target) = (address_of(from)?, address_of(to)?);
    let ping = from.exec("ping", &["-c", "1", "-W", "2", &target.to_string()])?;
    if !ping.status.success() {
        let packet = Packet::icmp(source, target)
            .iif(&host_end(probe, from)?.name)
            .oif(&host_end(probe, to)?.name);
        return Err(Outcome::failed(
            format!(
                "container {} pings container {} ({target})",
                from.name, to.name
            ),
            format!(
                "container# ping -c1 -W2 {target}\n{}\n{}\n{}\n{}",
                observe::text(&ping),
                probe.trace_from(from, &lab::endpoint::To::ping(target)),
                lab_view(probe),
                observe::or_error(observe::host().map(|h| observe::forward_view(&h, &packet)))
            ),
        ));
    }
    Ok(())
}

pub(super) fn source_address(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let (a, b) = (&running[0], &running[1]);
    let (from, to) = (address_of(a)?, address_of(b)?);
    let between = Packet::tcp(from, to, 7000)
        .iif(&host_end(probe, a)?.name)
        .oif(&host_end(probe, b)?.name);
    arrives_from_own_address(a, b, (from, to), &between, "routed by the lab host")
}

pub(super) fn internet(probe: &Probe) -> Verdict {
    for container in three(probe)?.iter() {
        web(probe, container)?;
    }
    own_traffic_untouched()
}

/// wget of the lab's web page from inside `container`; the server must see the lab host.
pub(super) fn web(probe: &Probe, container: &Running) -> Verdict {
    let end = host_end(probe, container)?;
    web_via(probe, container, address_of(container)?, &end.name)
}

pub(super) fn docker_host(probe: &Probe) -> Verdict {
    let a = probe.start("a", SLEEP)?;
    let b = probe.start("b", SLEEP)?;
    web(probe, &a)?;
    ping(probe, &a, &b)?;
    ping(probe, &b, &a)?;
    policy_is_drop("while the containers run")?;
    stop_all(vec![a, b])?;
    policy_is_drop("after the containers ended")
}
