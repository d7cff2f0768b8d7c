//! Step 05: containers on one bridge, each with an address of its own from an allocator that
//! keeps its records on disk.
//!
//! A container's address is read from its own namespace (`ip -j addr show dev eth0`); its
//! host end is found by the peer's ifindex, not by its name. The allocator's records are
//! read in any format from `$NETLAB_STATE/ipam/` (files named after an address, or lines
//! naming one), and the checks that need other allocations make them with the learner's own
//! code.

pub(crate) mod bridge;
pub(crate) mod concurrency;
pub(crate) mod ipam;
pub(crate) mod lifecycle;
mod lock;
mod survivors;
mod tracer;
pub(crate) mod traffic;

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{stop_all, Kept, Probe, Running};
use crate::verdict::Outcome;
use bridge::bridge;
use concurrency::concurrent;
use ipam::{addresses, exhausted};
use lab::Profile;
use lifecycle::{cleanup, crash, stop_one};
use lock::lock;
use survivors::survivors;
use std::time::Duration;
use traffic::{docker_host, internet, ping_each_other, source_address};

/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long the kernel may take to remove a dead container's namespace, and the veth with it.
const TEARDOWN: Duration = Duration::from_secs(3);

/// The checks of the same three containers: one lab runs them in turn (in the order of
/// [`CHECKS`]), the containers started once ([`Probe::kept`]). The first five only look
/// (what source-address runs inside two of them ends before it returns). Then stop-one stops
/// one of them, and cleanup stops the other two and compares the lab host with the lab as
/// built, as each would in a lab of its own. `checks/tests/together.rs` holds each verdict
/// equal to the check's alone. (survivors would fit too, but it is the longest: in a lab of
/// its own it runs beside the others, and the step's checks end sooner.)
pub const TOGETHER: &[&[&str]] = &[&[
    "addresses",
    "bridge",
    "ping-each-other",
    "source-address",
    "internet",
    "stop-one",
    "cleanup",
]];

/// The three containers [`TOGETHER`]'s checks share.
const THREE: [&str; 3] = ["a", "b", "c"];

/// [`THREE`], kept for the other checks of the lab.
fn three<'p>(probe: &'p Probe) -> Result<Kept<'p>, Outcome> {
    probe.kept(&THREE, SLEEP)
}

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "addresses",
        title: "three containers get three different addresses of 10.0.0.0/24 on eth0, and \
                their loopback",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: addresses,
    },
    Check {
        name: "bridge",
        title: "netlab0 is an UP bridge with 10.0.0.1/24, every host end plugged into it",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: bridge,
    },
    Check {
        name: "ping-each-other",
        title: "the containers ping each other, both ways",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ping_each_other,
    },
    Check {
        name: "source-address",
        title: "a TCP connection between two containers arrives from the sender's own address",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: source_address,
    },
    Check {
        name: "internet",
        title: "every container gets the lab's web page; the server sees 198.51.100.2",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: internet,
    },
    Check {
        name: "stop-one",
        title: "stopping one container removes its veth and frees its address; the rest work",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: stop_one,
    },
    Check {
        name: "survivors",
        title: "when the container on the bridge's lowest-MAC port stops, the bridge keeps its \
                MAC and the others keep working; a new one gets an address nobody has",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: survivors,
    },
    Check {
        name: "concurrent",
        title: "eight containers started at the same moment get eight different addresses \
                and add each shared rule once",
        hint: 2,
        limit: Duration::from_secs(30),
        profile: Profile::Fresh,
        run: concurrent,
    },
    Check {
        name: "lock",
        title: "allocation waits for the flock on ipam/lock, and holds it from reading the \
                records to writing its own",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: lock,
    },
    Check {
        name: "exhausted",
        title: "with every address from 10.0.0.2 to 10.0.0.254 taken, a new container is \
                refused (never .0, .1 nor .255)",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: exhausted,
    },
    Check {
        name: "crash",
        title: "the address of a step binary killed with SIGKILL is taken back, not leaked",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: crash,
    },
    Check {
        name: "docker-host",
        title: "with FORWARD policy DROP, containers reach the internet and each other; \
                the policy stays DROP",
        hint: 1,
        limit: LIMIT,
        profile: Profile::DockerHost,
        run: docker_host,
    },
    Check {
        name: "cleanup",
        title: "after every container ended: no veth, no address file, no per-container rule",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup,
    },
];

/// Starts the containers one after the other, each running [`SLEEP`].
fn start_all(probe: &Probe, names: &[&str]) -> Result<Vec<Running>, Outcome> {
    let mut running = Vec::new();
    for name in names {
        running.push(probe.start(name, SLEEP)?);
    }
    Ok(running)
}

/// For failures: the lab host's links, then the diagram of the whole lab (namespaces, cables,
/// bridge ports, routes, NAT), as `cargo xtask show` draws it.
pub(crate) fn lab_view(probe: &Probe) -> String {
    format!(
        "{}\n{}",
        observe::or_error(
            observe::host_network().map(|h| observe::links_view("lab host's links", &h))
        ),
        probe.diagram()
    )
}
