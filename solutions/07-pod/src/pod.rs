//! Step 07: a pod, containers that share one network namespace: the first one's, held open
//! by a bind mount, joined by the others with setns, removed by the last one out.
//!
//! Lesson: steps/07-pod/README.md. Check your work: `cargo xtask check 07`.
//! The names and helpers it uses are in steps/07-pod/src/given.rs (given, not TODO): the
//! learner's own copy, which this solution compiles too.

use anyhow::{Context, Result};
use container::{CloneFlags, Container, Joined};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::fs::{self, File};

#[path = "../../../steps/07-pod/src/given.rs"]
pub mod given;
pub use given::*;

/// Runs on the lab host for a container started without `--net`, once step 05's code has
/// given it an address and a cable: makes the pod named after it, with a holder that keeps
/// its network namespace (and so its veth) while any member runs, and it as first member.
pub fn hold(container: &Container) -> Result<()> {
    let pod = &container.name;
    let _lock = lock_pods()?;
    let dir = pod_dir(pod)?;
    fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    record_host_end(pod, container.pid)?;
    // The holder, as `ip netns add` makes one: the namespace's file bind-mounted on an empty one.
    let holder = netns_file(pod)?;
    write_new(&holder, "")?;
    let namespace = format!("/proc/{}/ns/net", container.pid);
    mount(
        Some(namespace.as_str()),
        &holder,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .with_context(|| format!("bind-mounting {namespace} on {}", holder.display()))?;
    add_member(pod, pod, container.pid)
}

/// Runs inside a container started with `--net container:NAME`, before its command: enters
/// the network namespace of NAME's pod and becomes one of its members.
pub fn join(container: &Container, joined: &Joined) -> Result<()> {
    let _lock = lock_pods()?;
    let pod =
        pod_of(&joined.name)?.with_context(|| format!("container {} is in no pod", joined.name))?;
    let holder = File::open(netns_file(&pod)?).context("opening the pod's network namespace")?;
    nix::sched::setns(&holder, CloneFlags::CLONE_NEWNET)
        .context("entering the pod's network namespace (setns)")?;
    add_member(&pod, &container.name, container.pid)
}

/// Runs on the lab host after a member of `pod` ended: it leaves the pod. While another
/// member runs, the pod stays, and its address goes to that member; the last one out removes
/// the holder, the veth and the address, and the pod's records.
pub fn leave(container: &Container, pod: &str) -> Result<()> {
    let _lock = lock_pods()?;
    remove_member(pod, &container.name)?;
    let others: Vec<Member> = members(pod)?
        .into_iter()
        .filter(|m| running(m.pid))
        .collect();
    if let Some(member) = others.first() {
        return hand_over_address(pod, member.pid);
    }
    let holder = netns_file(pod)?;
    let _ = umount2(&holder, MntFlags::MNT_DETACH);
    delete_link(&host_end_of(pod)?)?;
    solution05_bridge::release_address(pod)?;
    let dir = pod_dir(pod)?;
    fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))
}
