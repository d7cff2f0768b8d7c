//! A pod's life: its network outlives its first member while another runs, its address stays
//! its own, and the last member out takes everything with it: the veth, the address, the
//! namespace (the holder too) and the pod's records. A member killed with its step binary
//! does not keep the pod alive.

use super::{address, dead, in_namespace, join, observe, pod_of_two, reaches_out, SLEEP, TEARDOWN};
use crate::probe::{stop_all, Probe};
use crate::verdict::{Outcome, Verdict};
use std::path::Path;

pub(super) fn first_leaves(probe: &Probe) -> Verdict {
    let (c1, c2) = pod_of_two(probe)?;
    c1.stop()?;
    if address(&c2).is_none() {
        return Err(Outcome::failed(
            "after c1 ended, c2 still has the pod's eth0 and its address: the pod's network \
             stays while a member runs",
            format!(
                "{}\n{}",
                observe::or_error(
                    observe::inside(&c2).map(|n| observe::links_view("c2's links", &n))
                ),
                probe.diagram()
            ),
        ));
    }
    reaches_out(probe, &c2, "after c1 ended")?;
    let c3 = join(probe, "c3", "c2", SLEEP)?;
    in_namespace(&c3, "c2", &c2.netns()?)?;
    reaches_out(probe, &c3, "after c1 ended")?;
    stop_all(vec![c3, c2])
}

pub(super) fn address_kept(probe: &Probe) -> Verdict {
    let (c1, c2) = pod_of_two(probe)?;
    let Some(pod) = address(&c2) else {
        return Err(Outcome::failed(
            "c2 has the pod's address on eth0",
            observe::or_error(observe::inside(&c2).map(|n| observe::links_view("c2's links", &n))),
        ));
    };
    c1.stop()?;
    let c4 = probe.start("c4", SLEEP)?;
    if address(&c4) == Some(pod) {
        return Err(Outcome::failed(
            format!(
                "a container started after c1 ended gets an address other than {pod}, which c2 \
                 still uses: the pod's address belongs to the pod, not to its first member"
            ),
            format!(
                "c4 got {pod} too: its lease was released, or left to c1's step binary, which \
                 is gone (step 05's allocator takes those back)\n{}",
                probe.diagram()
            ),
        ));
    }
    stop_all(vec![c4, c2])
}

pub(super) fn last_leaves(probe: &Probe) -> Verdict {
    let (c1, c2) = pod_of_two(probe)?;
    let c3 = join(probe, "c3", "c1", SLEEP)?;
    let netns = c1.netns()?;
    let host = observe::host_network()?;
    let inside = observe::inside(&c1)?;
    let Some(end) = observe::cable(&host, &inside).map(|(end, _)| end.name.clone()) else {
        return Err(Outcome::failed(
            "the pod has a veth whose host end is on the lab host",
            probe.diagram(),
        ));
    };
    let address = address(&c1);
    // A member whose step binary is killed with SIGKILL never leaves: the others must not
    // count it.
    dead(c3);
    c1.stop()?;
    c2.stop()?;
    let gone = observe::poll(TEARDOWN, || {
        let host = observe::host_network().ok()?;
        (host.link(&end).is_none() && held(&netns).is_empty()).then_some(())
    });
    let mut wrong = Vec::new();
    if gone.is_none() {
        if observe::host_network()?.link(&end).is_some() {
            wrong.push(format!("the pod's host end {end} is still there"));
        }
        for holder in held(&netns) {
            wrong.push(format!("the pod's namespace {netns} is still held: {holder}"));
        }
    }
    let state = &probe.lab.paths().state;
    if let Some(address) = address {
        if state.join("ipam").join(address.to_string()).exists() {
            wrong.push(format!("the pod's address {address} is still allocated (ipam/{address})"));
        }
    }
    for left in pods_left(&state.join("pods")) {
        wrong.push(format!("the pod's records are left: pods/{left}"));
    }
    if !wrong.is_empty() {
        return Err(Outcome::failed(
            "once c1 and c2 ended (and c3 was killed), nothing of the pod is left: no veth, no \
             address, no holder of its namespace, no records",
            format!("{}\n{}", wrong.join("\n"), probe.diagram()),
        ));
    }
    Ok(())
}

/// What still holds the network namespace `netns` (`net:[inode]`): a process in it, or a
/// mount of it (a bind mount, as `ip netns add` makes).
fn held(netns: &str) -> Vec<String> {
    let mut holders = Vec::new();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mountinfo.lines().filter(|l| l.contains(netns)) {
        let at = line.split_whitespace().nth(4).unwrap_or("?");
        holders.push(format!("mounted on {at}"));
    }
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let link = std::fs::read_link(entry.path().join("ns/net")).ok();
        if link.is_some_and(|l| l.to_string_lossy() == netns) {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            holders.push(format!("process {name} ({}) is in it", comm.trim()));
        }
    }
    holders
}

/// The pods' records left in `dir`, besides their lock.
fn pods_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lock")
        .collect()
}

