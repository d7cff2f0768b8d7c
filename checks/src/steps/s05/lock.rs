//! The allocation lock, proven without a race: whenever the container's step binary does not
//! hold the flock on `ipam/lock` (before it takes it, and after each time it releases it),
//! the check, as another allocator would, takes the lock and records the lowest free address.
//! A correct allocator reads the records and writes its own under one hold of the lock, so it
//! never hands out an address recorded in between; one that chose before taking the lock, or
//! writes after releasing it (or under another lock), takes the recorded one.
//!
//! Waiting is observed in `/proc/locks` (a `->` line: blocked on that file), releases by
//! following the step binary's system calls ([`Traced`]): no fixed sleep anywhere.

use super::ipam::{address_of, ipam, ipam_view, leases, plant};
use super::tracer::{Event, Traced};
use super::SLEEP;
use crate::probe::{Probe, Starting, START_LIMIT};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

pub(super) fn lock(probe: &Probe) -> Verdict {
    let dir = ipam(probe);
    std::fs::create_dir_all(&dir).context("creating ipam/")?;
    let path = dir.join("lock");
    let held = hold(&path, FlockArg::LockExclusive)?.context("locking ipam/lock")?;
    let first = probe.spawn("a", &[], SLEEP)?;
    let mut traced =
        Traced::seize(first.step_pid(), &path).context("following the step binary (ptrace)")?;
    let deadline = Instant::now() + START_LIMIT;
    // While the check holds the lock: the container must wait for it, in flock.
    let ino = std::fs::metadata(&path).context("ipam/lock")?.ino();
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
        if waiting_on(ino)? {
            break;
        }
        if event == Event::Ended {
            drop(traced);
            return ended(first);
        }
        too_late(deadline, "a container waiting for ipam/lock")?;
        traced.pause();
    }
    let mut planted: Vec<Ipv4Addr> = plant(&dir)?.into_iter().collect();
    drop(held);
    // Until it runs: each release of the lock is another allocator's turn.
    while first.pid().is_none() {
        match traced.poll()? {
            Event::Ended => break,
            Event::Released => {
                if let Some(turn) = hold(&path, FlockArg::LockExclusiveNonblock)? {
                    planted.extend(plant(&dir)?);
                    drop(turn);
                }
                traced.resume()?;
            }
            Event::Running => traced.pause(),
        }
        too_late(deadline, "starting a container")?;
    }
    traced.detach();
    let container = first.wait_running()?;
    let address = address_of(&container)?;
    if planted.contains(&address) {
        return Err(Outcome::failed(
            "an address recorded by another allocation while the container's step binary did \
             not hold the flock on ipam/lock (before it took it, after it released it) is never \
             handed out: the allocator reads the records and writes its own under one hold of \
             the lock",
            format!(
                "another allocation recorded {} meanwhile, and container a got {address} all the \
                 same: its allocator chose before it took the lock, or wrote its record after \
                 releasing it (or under another lock)\n{}",
                planted
                    .iter()
                    .map(Ipv4Addr::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                ipam_view(probe)
            ),
        ));
    }
    for address in &planted {
        let _ = std::fs::remove_file(dir.join(address.to_string()));
    }
    container.stop()?;
    Ok(())
}

/// The step binary ended while it should have waited: its trouble, or a failure.
fn ended(first: Starting) -> Verdict {
    let finished = first.finish()?;
    Err(Outcome::failed(
        "the container waits for the allocation lock",
        format!("it ended at once:\n{}", finished.output()),
    ))
}

fn too_late(deadline: Instant, doing: &str) -> Result<(), Outcome> {
    if Instant::now() > deadline {
        return Err(Outcome::TimedOut {
            seconds: START_LIMIT.as_secs(),
            doing: doing.to_string(),
        });
    }
    Ok(())
}

/// The flock on `path`, held until dropped; `None` when `how` does not wait and it is taken.
fn hold(path: &Path, how: FlockArg) -> Result<Option<Flock<File>>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match Flock::lock(file, how) {
        Ok(held) => Ok(Some(held)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Whether a process waits for a flock of the file with inode `ino` (`->` in /proc/locks).
fn waiting_on(ino: u64) -> Result<bool> {
    let locks = std::fs::read_to_string("/proc/locks").context("reading /proc/locks")?;
    let inode = format!(":{ino}");
    Ok(locks.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        // `1: -> FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF`
        words.get(1) == Some(&"->")
            && words.get(2) == Some(&"FLOCK")
            && words.get(6).is_some_and(|w| w.ends_with(&inode))
    }))
}
