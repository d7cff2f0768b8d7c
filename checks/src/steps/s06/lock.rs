//! Publishing holds the lock, proven by holding it: two containers publishing 8080 at the same
//! moment both got it when the check of taken ports and the new rules were not one step under
//! `ipam/lock` (the lock the lesson names). The check holds the lock and sees container a's
//! step binary wait for it in /proc/locks. It stops that process (SIGSTOP takes it out of its
//! wait), releases the lock and starts container b, which publishes 8080 with the learner's
//! own code, in the learner's own format; then lets a go on: a must refuse 8080.

use super::super::flocks;
use super::rules::{from_the_internet, refused};
use super::{observe, SLEEP, WEB};
use crate::probe::{Probe, Running, Starting, START_LIMIT};
use crate::verdict::{Outcome, Verdict};
use nix::fcntl::Flock;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the check waits for a lock it expects to be free soon.
const FREE_SOON: Duration = Duration::from_secs(3);

pub(super) fn publish_lock(probe: &Probe) -> Verdict {
    let state = probe.lab.paths().state.clone();
    let ipam_lock = state.join("ipam").join("lock");
    let rules_lock = state.join("rules.lock");
    // The step binaries of this step allocate, then make the bridge (ensure_rule, under
    // rules.lock), then publish: holding rules.lock stops them between the two.
    let rules = flocks::hold(&rules_lock)?;
    let mut a = probe.spawn("a", WEB, SLEEP)?;
    match wait_for(&mut a, &[&rules_lock], &BTreeSet::new())? {
        Seen::Waiting(_) => step_binary(probe, a, rules, &ipam_lock),
        Seen::Ended => Err(ended(a)),
        Seen::Running => {
            // Not this step's wiring (a CNI runtime): whatever its locks, two publishers of
            // one port at once must end with one publication.
            drop(rules);
            a.stop()?;
            two_publishers(probe, &ipam_lock)
        }
    }
}

fn step_binary(probe: &Probe, mut a: Starting, rules: Flock<File>, ipam_lock: &Path) -> Verdict {
    let Some(ipam) = flocks::try_hold(ipam_lock, FREE_SOON)? else {
        return Err(Outcome::failed(
            "while container a waits for rules.lock (making the bridge), ipam/lock is free",
            format!(
                "ipam/lock stayed taken for {} s\n{}",
                FREE_SOON.as_secs(),
                flocks::view()
            ),
        ));
    };
    drop(rules);
    let expected = "publishing takes ipam/lock (the given lock_ipam) before it looks at the \
                    published ports: while another process holds it, container a waits";
    let waiter = match wait_for(&mut a, &[ipam_lock], &BTreeSet::new())? {
        Seen::Waiting(pids) => pids,
        Seen::Ended => return Err(ended(a)),
        Seen::Running => {
            drop(ipam);
            let view = observe::or_error(observe::host().map(|h| observe::nat_view(&h)));
            a.stop()?;
            return Err(Outcome::failed(
                expected,
                format!(
                    "container a published 8080 and started while the check held ipam/lock: \
                     two containers publishing one port at once both get it\n{view}"
                ),
            ));
        }
    };
    let host = observe::host()?;
    let early = observe::dnat_rules(&host, &from_the_internet(8080));
    if !early.is_empty() {
        return Err(Outcome::failed(
            expected,
            format!(
                "while it waits for ipam/lock (process {}), container a has already added:\n{}",
                pids_text(&waiter),
                observe::rules_lines(&early)
            ),
        ));
    }
    // Out of its wait, container a lets another publisher of 8080 pass.
    let paused = Paused::new(&waiter)?;
    drop(ipam);
    let mut b = probe.spawn("b", WEB, SLEEP)?;
    let b = match wait_for(&mut b, &[], &waiter)? {
        // b waits for a lock that a, stopped, holds: both go on, and one must be refused.
        Seen::Waiting(_) => {
            drop(paused);
            return one_of_two(settle(a)?, settle(b)?);
        }
        Seen::Ended => {
            drop(paused);
            let said = refused(b.finish())?;
            if let Ok(running) = settle(a)? {
                running.stop()?;
            }
            return Err(Outcome::failed(
                "container b, publishing 8080 while container a waits for ipam/lock (before \
                 publishing anything), starts",
                format!("it was refused:\n{said}"),
            ));
        }
        Seen::Running => b.wait_running()?,
    };
    drop(paused);
    let settled = settle(a)?;
    b.stop()?;
    match settled {
        Err(message) if message.contains("8080") => Ok(()),
        Err(message) => Err(Outcome::failed(
            "container a refuses host port 8080 with an error naming it",
            format!("the error does not name the port:\n{message}"),
        )),
        Ok(running) => {
            running.stop()?;
            Err(Outcome::failed(
                "container a, which waited for ipam/lock while container b published 8080, \
                 refuses 8080 once it has the lock: it looks at the published ports under the \
                 lock, not before taking it",
                "container a started with 8080 published twice".to_string(),
            ))
        }
    }
}

/// Two containers asking for 8080 while the check holds ipam/lock: once released, exactly
/// one of them runs and the other is refused.
fn two_publishers(probe: &Probe, ipam_lock: &Path) -> Verdict {
    let ipam = flocks::hold(ipam_lock)?;
    let mut a = probe.spawn("a", WEB, SLEEP)?;
    let first = match wait_for(&mut a, &[ipam_lock], &BTreeSet::new())? {
        Seen::Waiting(pids) => pids,
        Seen::Ended => return Err(ended(a)),
        Seen::Running => {
            a.stop()?;
            return Err(Outcome::failed(
                "a container waits while another process holds ipam/lock (allocation takes it)",
                "container a started anyway",
            ));
        }
    };
    let mut b = probe.spawn("b", WEB, SLEEP)?;
    match wait_for(&mut b, &[], &first)? {
        Seen::Waiting(_) => {}
        Seen::Ended => return Err(ended(b)),
        Seen::Running => {
            drop(ipam);
            if let Ok(running) = settle(a)? {
                running.stop()?;
            }
            b.stop()?;
            return Err(Outcome::failed(
                "a second container waits while the first one publishing 8080 is not done",
                "container b started while container a waited for ipam/lock",
            ));
        }
    }
    drop(ipam);
    one_of_two(settle(a)?, settle(b)?)
}

/// Of two containers publishing 8080 at once, one runs and the other is refused, naming it.
fn one_of_two(a: Result<Running, String>, b: Result<Running, String>) -> Verdict {
    match (a, b) {
        (Ok(one), Err(refusal)) | (Err(refusal), Ok(one)) if refusal.contains("8080") => {
            one.stop()?;
            Ok(())
        }
        (a, b) => {
            let said = |r: &Result<Running, String>| match r {
                Ok(_) => "started".to_string(),
                Err(message) => format!("was refused: {message}"),
            };
            let text = format!("container a {}; container b {}", said(&a), said(&b));
            for running in [a, b].into_iter().flatten() {
                running.stop()?;
            }
            Err(Outcome::failed(
                "of two containers publishing 8080 at the same moment, one gets it and the \
                 other is refused, naming the port",
                text,
            ))
        }
    }
}

/// What a starting container was seen doing.
enum Seen {
    /// A process (these PIDs, not among those known already) waits for one of the locks
    /// (any lock when none is named).
    Waiting(BTreeSet<u32>),
    Running,
    Ended,
}

/// Waits until a new process waits for one of `locks` (any, when empty), or `starting` runs.
fn wait_for(
    starting: &mut Starting,
    locks: &[&Path],
    known: &BTreeSet<u32>,
) -> Result<Seen, Outcome> {
    let inodes: Vec<u64> = locks
        .iter()
        .map(|path| flocks::inode(path))
        .collect::<anyhow::Result<_>>()?;
    let mut clock = starting.clock();
    loop {
        let waiting: BTreeSet<u32> = flocks::waiters()?
            .into_iter()
            .filter(|(pid, ino)| !known.contains(pid) && (inodes.is_empty() || inodes.contains(ino)))
            .map(|(pid, _)| pid)
            .collect();
        if !waiting.is_empty() {
            return Ok(Seen::Waiting(waiting));
        }
        if starting.pid().is_some() {
            return Ok(Seen::Running);
        }
        if starting.has_ended() {
            return Ok(Seen::Ended);
        }
        clock.over(&format!(
            "waiting for container {} to start or to wait for a lock",
            starting.name
        ))?;
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The outcome of a container that ended while it should have started or waited.
fn ended(starting: Starting) -> Outcome {
    let expected = format!("container {} starts", starting.name);
    starting.ended(&expected)
}

/// Waits until `starting` runs (Ok) or ends refused (Err: what it said).
fn settle(starting: Starting) -> Result<Result<Running, String>, Outcome> {
    let mut clock = starting.clock();
    let mut starting = starting;
    loop {
        starting = match starting.running() {
            Ok(running) => return Ok(Ok(running)),
            Err(starting) => starting,
        };
        if starting.has_ended() {
            return refused(starting.finish()).map(Err);
        }
        clock.over(&format!("starting container {}", starting.name))?;
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn pids_text(pids: &BTreeSet<u32>) -> String {
    pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// Processes stopped (SIGSTOP) until dropped (SIGCONT). A process stopped in flock leaves
/// its wait, and takes the call up again when it goes on.
struct Paused(Vec<Pid>);

impl Paused {
    fn new(pids: &BTreeSet<u32>) -> Result<Paused, Outcome> {
        let paused = Paused(pids.iter().map(|p| Pid::from_raw(*p as i32)).collect());
        for pid in &paused.0 {
            let _ = kill(*pid, Signal::SIGSTOP);
        }
        let deadline = Instant::now() + START_LIMIT;
        while flocks::waiters()?
            .iter()
            .any(|(pid, _)| pids.contains(pid))
        {
            if Instant::now() > deadline {
                return Err(Outcome::TimedOut {
                    seconds: START_LIMIT.as_secs(),
                    doing: "stopping a process that waits for ipam/lock".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(paused)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = kill(*pid, Signal::SIGCONT);
        }
    }
}
