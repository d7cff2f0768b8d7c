//! Step 07: a pod, containers that share one network namespace: the first one's, held open
//! by a holder, joined by the others with setns, removed by the last one out.
//!
//! Lesson: steps/07-pod/README.md. Check your work: `cargo xtask check 07`.
//! The names and helpers it uses are in src/given.rs, beside this file (given, not TODO).

use anyhow::Result;
use container::{Container, Joined};

pub mod given;
pub use given::*;

/// Runs on the lab host for a container started without `--net`, once step 05's code has
/// given it an address and a cable: makes the pod named after it, with a holder that keeps
/// its network namespace (and so its veth) while any member runs, and it as first member.
pub fn hold(container: &Container) -> Result<()> {
    // TODO: under lock_pods(): create pod_dir(&container.name); record_host_end(); the holder:
    // an empty file netns_file() (write_new) with /proc/PID/ns/net bind-mounted on it
    // (nix::mount::mount, MsFlags::MS_BIND); add_member() the container itself.
    todo!(
        "make the pod {} and hold its network namespace",
        container.name
    )
}

/// Runs inside a container started with `--net container:NAME`, before its command: enters
/// the network namespace of NAME's pod and becomes one of its members.
pub fn join(container: &Container, joined: &Joined) -> Result<()> {
    // TODO: under lock_pods(): the pod of joined.name (pod_of); open its netns_file() and
    // nix::sched::setns(&file, CloneFlags::CLONE_NEWNET); add_member() this container.
    todo!(
        "join the pod of container {} ({})",
        joined.name,
        container.name
    )
}

/// Runs on the lab host after a member of `pod` ended: it leaves the pod. While another
/// member runs, the pod stays, and its address goes to that member; the last one out removes
/// the holder, the veth and the address, and the pod's records.
pub fn leave(container: &Container, pod: &str) -> Result<()> {
    // TODO: under lock_pods(): remove_member(); if a member still runs (running), hand the
    // address over to it (hand_over_address) and stop there. Else unmount the holder
    // (umount2, MNT_DETACH), delete_link(host_end_of(pod)), release the address
    // (solution05_bridge::release_address) and remove pod_dir(pod).
    todo!("leave the pod {pod} ({})", container.name)
}
