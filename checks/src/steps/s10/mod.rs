//! Step 10: routed containers, Calico's way: no bridge; each container a /32 of the pool
//! 10.0.1.0/24 on its eth0 and a default route via 169.254.1.1, which the host end of its
//! cable answers ARP for (proxy ARP, at once); the lab host a /32 route to each container;
//! NAT only for what leaves the pool.
//!
//! A container's address is read from its own namespace; its host end is found by the peer's
//! ifindex, not by its name; the host's routes, sysctls and firewall are read from the model
//! of the lab's state, and the answer to ARP from the container's neighbour table.

mod lifecycle;
mod routing;
mod traffic;

use super::observe;
use super::s05::bridge::host_end;
use crate::catalog::{Check, LIMIT};
use crate::probe::{Kept, Probe, Running};
use crate::verdict::Outcome;
use lab::addresses::routed::{assignable, in_pool, POOL, PREFIX};
use lab::state::{Link, Netns};
use lab::Profile;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];

/// The checks of the same three containers: one lab runs them in turn, the containers
/// started once. All but the last two only look; stop-one stops one, cleanup the others.
pub const TOGETHER: &[&[&str]] = &[&[
    "addresses",
    "no-bridge",
    "host-routes",
    "proxy-arp",
    "arp",
    "ping-each-other",
    "source-address",
    "internet",
    "stop-one",
    "cleanup",
]];

/// The three containers [`TOGETHER`]'s checks share.
const THREE: [&str; 3] = ["a", "b", "c"];

fn three<'p>(probe: &'p Probe) -> Result<Kept<'p>, Outcome> {
    probe.kept(&THREE, SLEEP)
}

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "addresses",
        title: "three containers get three different /32 of 10.0.1.0/24 on eth0, their \
                loopback, and a default route via 169.254.1.1 on eth0",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: routing::addresses,
    },
    Check {
        name: "no-bridge",
        title: "no bridge: every host end is UP, plugged into nothing, without a pool address",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: routing::no_bridge,
    },
    Check {
        name: "host-routes",
        title: "the lab host routes each container's /32 to its host end: one route each, \
                none for the whole pool",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: routing::host_routes,
    },
    Check {
        name: "proxy-arp",
        title: "every host end has proxy_arp 1 and proxy_delay 0; proxy ARP stays off on the \
                uplink and host-wide",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: routing::proxy_arp,
    },
    Check {
        name: "arp",
        title: "a container's ARP for 169.254.1.1 is answered with its host end's MAC",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: routing::arp,
    },
    Check {
        name: "ping-each-other",
        title: "the containers ping each other, both ways, through the lab host's routes",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: traffic::ping_each_other,
    },
    Check {
        name: "source-address",
        title: "a TCP connection between two containers arrives from the sender's own address",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: traffic::source_address,
    },
    Check {
        name: "internet",
        title: "every container gets the lab's web page; the server sees 198.51.100.2; the \
                host's own traffic is not masqueraded",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: traffic::internet,
    },
    Check {
        name: "stop-one",
        title: "stopping one container removes its veth, its route and its address; the \
                others keep their routes, reach each other and the internet",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: lifecycle::stop_one,
    },
    Check {
        name: "concurrent",
        title: "eight containers started at the same moment get eight addresses and eight \
                routes, and add each shared rule once",
        hint: 2,
        limit: Duration::from_secs(30),
        profile: Profile::Fresh,
        run: lifecycle::concurrent,
    },
    Check {
        name: "needs-route",
        title: "on a host with no route covering 169.254.1.1, a container is refused (or its \
                ARP for it is answered all the same)",
        hint: 3,
        limit: LIMIT,
        profile: Profile::NoDefaultRoute,
        run: routing::needs_route,
    },
    Check {
        name: "docker-host",
        title: "with FORWARD policy DROP, containers reach the internet and each other; the \
                policy stays DROP",
        hint: 1,
        limit: LIMIT,
        profile: Profile::DockerHost,
        run: traffic::docker_host,
    },
    Check {
        name: "cleanup",
        title: "after every container ended: no veth, no container route, no address record, \
                no per-container rule",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: lifecycle::cleanup,
    },
];

/// The container's address: one of the pool on its eth0 (a /32; or, as the ptp plugin does
/// it, with the pool's prefix but without the route that prefix brings: the addresses check
/// judges the routes).
fn address_of(container: &Running) -> Result<Ipv4Addr, Outcome> {
    let inside = observe::inside(container)?;
    eth0_address(&inside).ok_or_else(|| {
        Outcome::failed(
            format!(
                "container {} has an address of {POOL} on eth0 (a /{PREFIX}: a host address, \
                 no subnet on the link)",
                container.name
            ),
            observe::links_view("in its namespace", &inside),
        )
    })
}

/// The address of the pool on eth0 in a namespace (its /32 first).
fn eth0_address(inside: &Netns) -> Option<Ipv4Addr> {
    let addrs = &inside.link("eth0")?.addrs;
    addrs
        .iter()
        .filter(|(a, _)| assignable(*a))
        .max_by_key(|(_, len)| *len)
        .map(|(a, _)| *a)
}

/// The lab host's routes to single addresses of the pool (`10.0.1.N/32`, or `10.0.1.N`).
fn pool_host_routes(host: &Netns) -> Vec<&lab::state::Route> {
    host.routes
        .iter()
        .filter(|r| r.table == "main" && r.prefix_len() == 32)
        .filter(|r| r.dst.is_some_and(|d| in_pool(d.addr)))
        .collect()
}

/// host-local's records: `$NETLAB_STATE/ipam/routed/`, a file per address in use.
fn records_dir(probe: &Probe) -> PathBuf {
    probe.lab.paths().state.join("ipam").join("routed")
}

/// The addresses recorded in use.
fn records(probe: &Probe) -> Vec<Ipv4Addr> {
    let Ok(entries) = std::fs::read_dir(records_dir(probe)) else {
        return Vec::new();
    };
    let mut found: Vec<Ipv4Addr> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    found.sort();
    found
}

/// The records, for reports.
fn records_view(probe: &Probe) -> String {
    let found = records(probe);
    let shown = if found.is_empty() {
        "(no address recorded)".to_string()
    } else {
        found
            .iter()
            .map(Ipv4Addr::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("lab# ls $NETLAB_STATE/ipam/routed\n{shown}")
}

/// For failures: the lab host's links and routes, then the lab's diagram.
fn lab_view(probe: &Probe) -> String {
    format!(
        "{}\n{}",
        observe::or_error(
            observe::host_network().map(|h| observe::routes_view("lab host's routes", &h))
        ),
        super::s05::lab_view(probe)
    )
}

/// Each container with its address and its host end.
fn ends<'r>(
    probe: &Probe,
    running: impl IntoIterator<Item = &'r Running>,
) -> Result<Vec<(Ipv4Addr, Link)>, Outcome> {
    running
        .into_iter()
        .map(|c| Ok((address_of(c)?, host_end(probe, c)?)))
        .collect()
}
