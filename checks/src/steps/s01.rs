//! Step 01: the container gets a network namespace of its own, with `lo` up.

use super::observe::{self, describe, plain_links};
use crate::catalog::{Check, LIMIT};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::{HOST_UPLINK, WEB_ADDR};
use lab::state::{route::Tables, Parts, Place};
use lab::Profile;

/// No checks of this set share a lab (see `steps::TOGETHER`).
pub const TOGETHER: &[&[&str]] = &[];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "own-netns",
        title: "the container has a network namespace of its own",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: own_netns,
    },
    Check {
        name: "lo-up",
        title: "inside, lo is the only interface, and it is UP",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: lo_up,
    },
    Check {
        name: "ping-loopback",
        title: "inside, ping 127.0.0.1 answers",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ping_loopback,
    },
    Check {
        name: "isolated",
        title: "inside, the lab host's eth0 and the lab's internet are out of sight",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: isolated,
    },
    Check {
        name: "host-unchanged",
        title: "after the container exits, the lab host's network is as it was",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: host_unchanged,
    },
];

fn own_netns(probe: &Probe) -> Verdict {
    let host = probe.host_netns()?;
    let container = probe.start("c1", &["sleep", "30"])?;
    let theirs = container.netns()?;
    if theirs == host {
        return Err(Outcome::failed(
            format!("a network namespace other than the lab host's {host}"),
            format!("the container is in {theirs}: the lab host's own namespace"),
        ));
    }
    container.stop()?;
    Ok(())
}

fn lo_up(probe: &Probe) -> Verdict {
    let container = probe.start("c1", &["sleep", "30"])?;
    let inside = observe::inside(&container)?;
    let seen = plain_links(&inside);
    let only_lo = seen.len() == 1 && seen[0].name == "lo";
    if !only_lo || !seen[0].up {
        return Err(Outcome::failed(
            "lo (UP), and nothing else",
            format!("ip link inside the container shows: {}", describe(&seen)),
        ));
    }
    container.stop()?;
    Ok(())
}

fn ping_loopback(probe: &Probe) -> Verdict {
    let ping = probe.run("c1", &["ping", "-c", "1", "-W", "2", "127.0.0.1"])?;
    if ping.status != 0 {
        return Err(Outcome::failed(
            "ping -c1 127.0.0.1 inside the container answers",
            ping.output(),
        ));
    }
    Ok(())
}

fn isolated(probe: &Probe) -> Verdict {
    let container = probe.start("c1", &["sleep", "30"])?;
    let inside = observe::inside(&container)?;
    let seen = plain_links(&inside);
    if seen.iter().any(|l| l.name == HOST_UPLINK) {
        return Err(Outcome::failed(
            format!("the lab host's {HOST_UPLINK} is not visible inside the container"),
            format!("ip link inside the container shows: {}", describe(&seen)),
        ));
    }
    let web = WEB_ADDR.to_string();
    let ping = container.exec("ping", &["-c", "1", "-W", "1", &web])?;
    if ping.status.success() {
        return Err(Outcome::failed(
            format!("ping {web} (the lab's internet) fails inside the container"),
            format!("it answered:\n{}", observe::text(&ping)),
        ));
    }
    container.stop()?;
    Ok(())
}

fn host_unchanged(probe: &Probe) -> Verdict {
    // Everything: every routing table, the sysctls, the firewall of either tool.
    let parts = Parts {
        routes: Tables::All,
        ..Parts::ALL
    };
    let before = observe::read(&Place::here(), parts)?;
    probe.run("c1", &["true"])?;
    let changes = observe::read(&Place::here(), parts)?.diff(&before);
    if !changes.is_empty() {
        return Err(Outcome::failed(
            "no change to the lab host's links, addresses, routes, firewall or sysctls",
            changes.lines().join("\n"),
        ));
    }
    Ok(())
}
