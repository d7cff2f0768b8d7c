//! Step 09: the learner's networking as a CNI plugin, driven as a runtime drives one: through
//! the real libcni (the Go driver over Debian's golang-github-appc-cni-dev), in a list
//! chained with the reference `portmap` plugin, with the reference `host-local` for IPAM.
//!
//! Two kinds of checks. Step 05's and 06's, reused as they are: the step binary's `run`
//! writes the lab's lists and has libcni attach each container, so the same containers must
//! get the same network. And a conformance list written from the CNI spec (SPEC.md, 1.0 and
//! 1.1), each driving the plugin on bare namespaces the check makes ([`cni::Sandbox`]):
//! every command, the error codes, the result against the spec, DEL twice and after the
//! namespace is gone, GC after a simulated reboot.

mod cni;
mod conformance;

use super::{s05, s06};
use crate::catalog::{Check, LIMIT};
use crate::probe::Probe;
use crate::verdict::Verdict;
use lab::Profile;

/// Step 05's checks of the same three containers: one lab, the containers started once.
pub const TOGETHER: &[&[&str]] = &[&["addresses", "ping-each-other", "internet"]];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "addresses",
        title: "through libcni, three containers get three different addresses of \
                10.0.0.0/24 on eth0, their loopback, and a default route via 10.0.0.1",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: addresses,
    },
    Check {
        name: "ping-each-other",
        title: "the containers ping each other, both ways",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ping_each_other,
    },
    Check {
        name: "internet",
        title: "every container gets the lab's web page; the server sees 198.51.100.2",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: internet,
    },
    Check {
        name: "from-internet",
        title: "chained with portmap: GET 198.51.100.2:8080 from the lab's internet returns \
                the container's page",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: from_internet,
    },
    Check {
        name: "version",
        title: "VERSION lists 1.0.0 and 1.1.0 among its supportedVersions",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::version,
    },
    Check {
        name: "add-result",
        title: "ADD's result is valid per the spec: interfaces (the container's with its \
                sandbox), ips whose interface index names it, routes, dns; and it is true",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::add_result,
    },
    Check {
        name: "check-verifies",
        title: "CHECK succeeds on a fresh attachment and fails once eth0 lost its address",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::check_verifies,
    },
    Check {
        name: "del-twice",
        title: "DEL frees the address and removes the veth; a second DEL succeeds too",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::del_twice,
    },
    Check {
        name: "del-netns-gone",
        title: "DEL after the container's namespace is gone succeeds and frees the address",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::del_netns_gone,
    },
    Check {
        name: "cycles",
        title: "ADD then DEL, five times on one namespace: each ADD valid, nothing left after \
                each DEL",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::cycles,
    },
    Check {
        name: "add-fails-cleanly",
        title: "an ADD that fails (eth0 taken in the namespace) leaves no lease and no veth",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::add_fails_cleanly,
    },
    Check {
        name: "chained",
        title: "after loopback in one list, the result keeps loopback's interface and ip \
                (prevResult) and eth0's ip points at eth0",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::chained,
    },
    Check {
        name: "error-codes",
        title: "the spec's error objects: 6 for stdin that is not JSON, 1 for an unknown \
                cniVersion, 7 without ipam, 4 without CNI_CONTAINERID",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::error_codes,
    },
    Check {
        name: "gc-reboot",
        title: "GC frees the leases of attachments the runtime no longer knows, keeps the \
                others; after a simulated reboot, no address is leaked",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::gc_reboot,
    },
    Check {
        name: "status",
        title: "STATUS succeeds with host-local in CNI_PATH, and is error 50 without it",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::status,
    },
    Check {
        name: "docker-host",
        title: "with FORWARD policy DROP, containers attached through libcni reach the internet \
                and each other; the policy stays DROP",
        hint: 2,
        limit: LIMIT,
        profile: Profile::DockerHost,
        run: docker_host,
    },
    Check {
        name: "cleanup",
        title: "after run's containers ended (libcni's DEL, no namespace): no lease, no veth",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conformance::cleanup,
    },
];

/// Step 05's or 06's `check`, once the CNI driver is known to be there: each of them starts
/// containers through the step binary's `run`, which has libcni attach them, and a missing
/// driver is the lab's failure, not the learner's code's.
fn with_driver(probe: &Probe, check: fn(&Probe) -> Verdict) -> Verdict {
    cni::driver(probe)?;
    check(probe)
}

fn addresses(probe: &Probe) -> Verdict {
    with_driver(probe, s05::ipam::addresses)
}

fn ping_each_other(probe: &Probe) -> Verdict {
    with_driver(probe, s05::traffic::ping_each_other)
}

fn internet(probe: &Probe) -> Verdict {
    with_driver(probe, s05::traffic::internet)
}

fn from_internet(probe: &Probe) -> Verdict {
    with_driver(probe, s06::from_internet)
}

fn docker_host(probe: &Probe) -> Verdict {
    with_driver(probe, s05::traffic::docker_host)
}
