//! The pods' lock, proven without a race: while the check holds the flock on
//! `$NETLAB_STATE/pods/lock`, a joiner must wait for it before it enters the pod (its command
//! never starts), and a member that ended must wait for it before it leaves (its step binary
//! never ends). Waiting is seen in `/proc/locks` (a `->` line on that file); no sleep decides.
//! A join that does not lock can find a pod the last member is removing; a leave that does not
//! lock can remove the pod under a member that is joining.

use super::super::flocks;
use super::{join_opts, observe, SLEEP};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;

pub(super) fn lock(probe: &Probe) -> Verdict {
    let path = probe.lab.paths().state.join("pods").join("lock");
    let mut c1 = probe.start("c1", SLEEP)?;
    let ino = flocks::inode(&path)?;

    // Joining: c2 waits for the lock, and runs once it is free.
    let held = flocks::hold(&path)?;
    let options = join_opts("c1");
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let mut c2 = probe.spawn("c2", &options, SLEEP)?;
    let mut clock = c2.clock();
    loop {
        if c2.pid().is_some() {
            return Err(Outcome::failed(
                "while another process holds the flock on $NETLAB_STATE/pods/lock, a container \
                 joining a pod (--net container:c1) waits for it before it enters the pod",
                format!(
                    "c2 joined and started its command anyway\n{}",
                    flocks::view()
                ),
            ));
        }
        if flocks::waited_for(ino)? {
            break;
        }
        if c2.has_ended() {
            return Err(c2.ended("container c2 waits for the pods' lock, then joins c1's pod"));
        }
        clock.over("a container waiting for pods/lock to join a pod")?;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(held);
    let mut c2 = c2.wait_running()?;

    // Leaving: c1's command ends; its step binary waits for the lock before it leaves.
    let held = flocks::hold(&path)?;
    c1.end_command().context("ending c1's command")?;
    let mut clock = c1.clock();
    loop {
        if c1.has_ended() {
            return Err(Outcome::failed(
                "while another process holds the flock on $NETLAB_STATE/pods/lock, a member \
                 whose command ended waits for it before it leaves the pod",
                format!(
                    "c1's step binary left the pod and ended without waiting\n{}",
                    flocks::view()
                ),
            ));
        }
        if flocks::waited_for(ino)? {
            break;
        }
        clock.over("a member waiting for pods/lock to leave its pod")?;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(held);
    c1.finish()?;
    if c2.has_ended() {
        return Err(Outcome::failed(
            "c2 runs on after c1 left the pod",
            observe::or_error(observe::inside(&c2).map(|n| observe::links_view("its links", &n))),
        ));
    }
    c2.stop()?;
    Ok(())
}
