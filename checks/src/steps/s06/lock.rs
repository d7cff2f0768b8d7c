//! Publishing holds the lock, proven by holding it: two containers publishing 8080 at the same
//! moment both got it when the check of taken ports and the new rules were not one step under
//! `ipam/lock` (the lock the lesson names). The check holds the lock, sees the step binary
//! wait for it in /proc/locks, publishes 8080 itself meanwhile the way the given code reads a
//! publication (a tagged rule of NETLAB-PORTS), releases: the step binary must refuse 8080.

use super::rules::{from_the_internet, refused};
use super::{observe, SLEEP, WEB};
use crate::probe::{Probe, Running, Starting, START_LIMIT};
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use nix::fcntl::{Flock, FlockArg};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// The chain of published ports the given code names (steps/06-dnat/src/given.rs, `CHAIN`).
const CHAIN: &str = "NETLAB-PORTS";
/// The planted publication of 8080: owned by the lab's first process, which always runs.
const PLANTED: &[&str] = &[
    "-p",
    "tcp",
    "--dport",
    "8080",
    "-m",
    "comment",
    "--comment",
    "netlab:planted:1",
    "-j",
    "DNAT",
    "--to-destination",
    "10.0.0.254:80",
];
/// How long the check waits for a lock it expects to be free soon.
const FREE_SOON: Duration = Duration::from_secs(3);

pub(super) fn publish_lock(probe: &Probe) -> Verdict {
    let state = probe.lab.paths().state.clone();
    let ipam_lock = state.join("ipam").join("lock");
    let rules_lock = state.join("rules.lock");
    // The step binaries of this step allocate, then make the bridge (ensure_rule, under
    // rules.lock), then publish: holding rules.lock stops them between the two.
    let rules = hold(&rules_lock)?;
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
    let Some(ipam) = try_hold(ipam_lock)? else {
        return Err(Outcome::failed(
            "while container a waits for rules.lock (making the bridge), ipam/lock is free",
            format!(
                "ipam/lock stayed taken for {} s\n{}",
                FREE_SOON.as_secs(),
                locks_view()
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
    let planted = Planted::new(probe)?;
    drop(ipam);
    let settled = settle(a)?;
    drop(planted);
    match settled {
        Err(message) if message.contains("8080") => Ok(()),
        Err(message) => Err(Outcome::failed(
            "container a refuses host port 8080 with an error naming it",
            format!("the error does not name the port:\n{message}"),
        )),
        Ok(running) => {
            running.stop()?;
            Err(Outcome::failed(
                "container a, which waited for ipam/lock while port 8080 was published, \
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
    let ipam = hold(ipam_lock)?;
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
    let (a, b) = (settle(a)?, settle(b)?);
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
        .map(|path| inode(path))
        .collect::<anyhow::Result<_>>()?;
    let deadline = Instant::now() + START_LIMIT;
    loop {
        let waiting: BTreeSet<u32> = waiters()?
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
        if Instant::now() > deadline {
            return Err(Outcome::TimedOut {
                seconds: START_LIMIT.as_secs(),
                doing: format!("waiting for container {} to start or to wait for a lock", starting.name),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The outcome of a container that ended while it should have started or waited.
fn ended(starting: Starting) -> Outcome {
    let name = starting.name.clone();
    match starting.finish() {
        Err(outcome) => outcome,
        Ok(finished) => Outcome::failed(
            format!("container {name} starts"),
            format!("it ended at once:\n{}", finished.output()),
        ),
    }
}

/// Waits until `starting` runs (Ok) or ends refused (Err: what it said).
fn settle(starting: Starting) -> Result<Result<Running, String>, Outcome> {
    let deadline = Instant::now() + START_LIMIT;
    let mut starting = starting;
    loop {
        starting = match starting.running() {
            Ok(running) => return Ok(Ok(running)),
            Err(starting) => starting,
        };
        if starting.has_ended() {
            return refused(starting.finish()).map(Err);
        }
        if Instant::now() > deadline {
            return starting.wait_running().map(Ok);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The processes waiting for a flock, with the inode of the locked file, from /proc/locks
/// (`1: -> FLOCK  ADVISORY  WRITE 1234 00:2e:5678 0 EOF`).
fn waiters() -> anyhow::Result<Vec<(u32, u64)>> {
    let text = std::fs::read_to_string("/proc/locks").context("reading /proc/locks")?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.get(1) != Some(&"->") {
                return None;
            }
            let pid = words.get(5)?.parse().ok()?;
            let ino = words.get(6)?.rsplit(':').next()?.parse().ok()?;
            Some((pid, ino))
        })
        .collect())
}

/// /proc/locks, for reports.
fn locks_view() -> String {
    format!(
        "lab# cat /proc/locks\n{}",
        std::fs::read_to_string("/proc/locks").unwrap_or_else(|e| e.to_string())
    )
}

fn pids_text(pids: &BTreeSet<u32>) -> String {
    pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

fn inode(path: &Path) -> anyhow::Result<u64> {
    Ok(open(path)?.metadata().context("reading a lock file")?.ino())
}

fn open(path: &Path) -> anyhow::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Takes the flock on `path` (waiting for it).
fn hold(path: &Path) -> anyhow::Result<Flock<File>> {
    Flock::lock(open(path)?, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("locking {}", path.display()))
}

/// Takes the flock on `path` if it comes free within [`FREE_SOON`].
fn try_hold(path: &Path) -> anyhow::Result<Option<Flock<File>>> {
    let deadline = Instant::now() + FREE_SOON;
    let mut file = open(path)?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Ok(Some(held)),
            Err((back, _)) if Instant::now() < deadline => file = back,
            Err(_) => return Ok(None),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A publication of 8080 by someone else, as the given code reads one; removed when dropped.
struct Planted<'a> {
    probe: &'a Probe<'a>,
}

impl<'a> Planted<'a> {
    fn new(probe: &'a Probe<'a>) -> anyhow::Result<Planted<'a>> {
        let _ = probe.host("iptables", &["-w", "-t", "nat", "-N", CHAIN]);
        let mut args = vec!["-w", "-t", "nat", "-A", CHAIN];
        args.extend(PLANTED);
        let added = probe.host("iptables", &args)?;
        anyhow::ensure!(
            added.status.success(),
            "planting a publication of 8080: {}",
            observe::text(&added)
        );
        Ok(Planted { probe })
    }
}

impl Drop for Planted<'_> {
    fn drop(&mut self) {
        let mut args = vec!["-w", "-t", "nat", "-D", CHAIN];
        args.extend(PLANTED);
        let _ = self.probe.host("iptables", &args);
    }
}

