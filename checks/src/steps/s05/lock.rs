//! The allocation lock, proven without a race: whenever the container's step binary does not
//! hold the flock on `ipam/lock` (before it takes it, and after each time it releases it), it
//! is stopped and another container is started, whose allocation (the learner's own code, in
//! the learner's own format) runs to the end meanwhile. A correct allocator reads the records
//! and writes its own under one hold of the lock, so it never hands out an address that was
//! recorded in between; one that chose before taking the lock, or writes after releasing it
//! (or under another lock), takes the other container's.
//!
//! Waiting is observed in `/proc/locks` (a `->` line: blocked on that file), releases by
//! following the step binary's system calls ([`Traced`]): no fixed sleep anywhere.

use super::super::flocks;
use super::ipam::{address_of, ipam, ipam_view, leases};
use super::tracer::{Event, Traced};
use super::SLEEP;
use crate::probe::{stop_all, Probe, Running, Starting};
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Other containers started while container a does not hold the lock, at most.
const OTHERS: &[&str] = &["b", "c", "d"];

pub(super) fn lock(probe: &Probe) -> Verdict {
    let dir = ipam(probe);
    let path = dir.join("lock");
    let held = flocks::hold(&path)?;
    let ino = flocks::inode(&path)?;
    let first = probe.spawn("a", &[], SLEEP)?;
    let mut traced =
        Traced::seize(first.step_pid(), &path).context("following the step binary (ptrace)")?;
    let mut clock = first.clock();
    // While the check holds the lock: the container must wait for it, in flock.
    loop {
        let event = traced.poll()?;
        if event == Event::Released {
            traced.resume()?;
        }
        if first.pid().is_some() || !leases(probe)?.is_empty() {
            return Err(Outcome::failed(
                "while another process holds the flock on $NETLAB_STATE/ipam/lock, a new \
                 container waits: its allocation takes the same lock",
                format!(
                    "it allocated an address and started anyway\n{}",
                    ipam_view(probe)
                ),
            ));
        }
        if flocks::waited_for(ino)? {
            break;
        }
        if event == Event::Ended {
            drop(traced);
            return Err(ended(first));
        }
        clock.over("a container waiting for ipam/lock")?;
        traced.pause();
    }
    // Before it takes the lock: stopped (out of its wait), it lets another allocation pass.
    traced.interrupt()?;
    drop(held);
    let mut others = Vec::new();
    let mut names = OTHERS.iter();
    if let Some(name) = names.next() {
        others.push(meanwhile(probe, name, &mut traced)?);
        clock = first.clock();
    }
    traced.resume()?;
    // Until it runs: each release of the lock is another allocation's turn.
    while first.pid().is_none() {
        match traced.poll()? {
            Event::Ended => break,
            Event::Released => {
                if let Some(name) = names.next() {
                    others.push(meanwhile(probe, name, &mut traced)?);
                    clock = first.clock();
                }
                traced.resume()?;
            }
            Event::Running => traced.pause(),
        }
        clock.over("starting a container")?;
    }
    traced.detach();
    let container = first.wait_running()?;
    let address = address_of(&container)?;
    let mut taken = Vec::new();
    for other in &others {
        taken.push((other.name.clone(), address_of(other)?));
    }
    if let Some((name, _)) = taken.iter().find(|(_, a)| *a == address) {
        let view = ipam_view(probe);
        stop_all(others)?;
        container.stop()?;
        return Err(Outcome::failed(
            "an address allocated by another container while the container's step binary did \
             not hold the flock on ipam/lock (before it took it, after it released it) is \
             never handed out again: the allocator reads the records and writes its own \
             under one hold of the lock",
            format!(
                "container {name} got {address} meanwhile, and container a got {address} all \
                 the same: its allocator chose before it took the lock, or wrote its record \
                 after releasing it (or under another lock)\nmeanwhile: {}\n{view}",
                shown(&taken)
            ),
        ));
    }
    stop_all(others)?;
    container.stop()?;
    Ok(())
}

/// Starts container `name` while `traced` is stopped, until it runs. If it waits for a lock
/// that the stopped step binary holds, the step binary goes on (and is followed, its
/// releases let pass) until the new container runs.
fn meanwhile(probe: &Probe, name: &str, traced: &mut Traced) -> Result<Running, Outcome> {
    let mut other = probe.spawn(name, &[], SLEEP)?;
    let mut clock = other.clock();
    let mut stopped = true;
    loop {
        if other.pid().is_some() {
            return other.wait_running();
        }
        if other.has_ended() {
            return Err(ended(other));
        }
        if stopped && !flocks::waiters()?.is_empty() {
            // It waits for a lock that container a, stopped, holds: no allocation fits in
            // here; both go on.
            traced.resume()?;
            stopped = false;
        }
        if !stopped {
            match traced.poll()? {
                Event::Released => traced.resume()?,
                Event::Running | Event::Ended => {}
            }
        }
        clock.over(&format!("starting container {name}"))?;
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `b 10.0.0.2, c 10.0.0.3`.
fn shown(taken: &[(String, Ipv4Addr)]) -> String {
    taken
        .iter()
        .map(|(name, address)| format!("{name} {address}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The step binary ended while it should have waited or started.
fn ended(starting: Starting) -> Outcome {
    let expected = format!(
        "container {} waits for the allocation lock, then starts",
        starting.name
    );
    starting.ended(&expected)
}
