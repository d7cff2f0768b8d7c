//! Containers started at the same moment: each gets an address of its own, and each shared
//! rule is added once. (That allocation holds its lock is proven, without a race, in
//! [`super::lock`].)

use super::ipam::{eth0_address, ipam_view};
use super::{observe, SLEEP};
use crate::probe::{stop_together, Probe, Running, StartClock, Starting, START_LIMIT};
use crate::verdict::{Outcome, Verdict};
use std::net::Ipv4Addr;
use std::thread;
use std::time::Duration;

/// How many containers start at the same moment in `concurrent`.
pub(crate) const AT_ONCE: usize = 8;

pub(super) fn concurrent(probe: &Probe) -> Verdict {
    let mut starting: Vec<Starting> = Vec::new();
    for i in 1..=AT_ONCE {
        starting.push(probe.spawn(&format!("c{i}"), &[], SLEEP)?);
    }
    let running = all_running(starting, || ipam_view(probe))?;
    let mut seen: Vec<(Ipv4Addr, String)> = Vec::new();
    for container in &running {
        let address = eth0_address(&observe::inside(container)?);
        seen.push((
            address.unwrap_or(Ipv4Addr::UNSPECIFIED),
            container.name.clone(),
        ));
    }
    let mut addresses: Vec<Ipv4Addr> = seen.iter().map(|(a, _)| *a).collect();
    addresses.sort();
    addresses.dedup();
    if addresses.len() != AT_ONCE || addresses.contains(&Ipv4Addr::UNSPECIFIED) {
        let shown: Vec<String> = seen.iter().map(|(a, n)| format!("{n}: {a}")).collect();
        return Err(Outcome::failed(
            format!(
                "{AT_ONCE} containers started at the same moment get {AT_ONCE} different \
                 addresses (the allocator holds its lock while it picks and records one)"
            ),
            format!("{}\n{}", shown.join(", "), ipam_view(probe)),
        ));
    }
    let twice = observe::duplicate_rules(&observe::host()?);
    if !twice.is_empty() {
        return Err(Outcome::failed(
            format!(
                "{AT_ONCE} containers started at the same moment add each shared rule once \
                 (`iptables -C` then `-A` is one step under a lock: the given ensure_rule)"
            ),
            format!("rules present more than once:\n{}", twice.join("\n")),
        ));
    }
    // Stopped as they started, all at once: each release under the lock too.
    stop_together(running)
}

/// Waits until every one of `starting` runs; one ending first is a failure. Hung means no
/// container has started for [`START_LIMIT`]: containers that take turns (a lock, a busy
/// machine) are progress, not a hang. `records` shows the allocator's records, for reports.
pub(crate) fn all_running(
    starting: Vec<Starting>,
    records: impl Fn() -> String,
) -> Result<Vec<Running>, Outcome> {
    let mut waiting: Vec<Option<Starting>> = starting.into_iter().map(Some).collect();
    // On the learner's clock, one per step binary: hung when every one still starting has
    // spent the limit since the last start.
    let restart = |waiting: &[Option<Starting>]| -> Vec<StartClock> {
        waiting.iter().flatten().map(Starting::clock).collect()
    };
    let mut clocks = restart(&waiting);
    let mut running: Vec<Option<Running>> = waiting.iter().map(|_| None).collect();
    while running.iter().any(Option::is_none) {
        for (slot, done) in waiting.iter_mut().zip(running.iter_mut()) {
            let Some(mut one) = slot.take() else {
                continue;
            };
            if one.pid().is_none() && one.has_ended() {
                let name = one.name.clone();
                let finished = one.finish()?;
                return Err(Outcome::failed(
                    format!("{AT_ONCE} containers started at the same moment all run"),
                    format!(
                        "container {name} ended at once:\n{}\n{}",
                        finished.output(),
                        records()
                    ),
                ));
            }
            match one.running() {
                Ok(container) => *done = Some(container),
                Err(one) => *slot = Some(one),
            }
        }
        if waiting.iter().flatten().count() != clocks.len() {
            clocks = restart(&waiting);
        }
        let doing = || {
            format!(
                "starting {AT_ONCE} containers at once ({} of them run)",
                running.iter().flatten().count()
            )
        };
        if clocks.iter().any(StartClock::machine_over) {
            return Err(clocks[0].busy(&doing()));
        }
        if !clocks.is_empty() && clocks.iter_mut().all(StartClock::learner_over) {
            return Err(Outcome::TimedOut {
                seconds: START_LIMIT.as_secs(),
                doing: format!(
                    "starting {AT_ONCE} containers at once ({} of them run; none started in \
                     the last {} s)",
                    running.iter().flatten().count(),
                    START_LIMIT.as_secs()
                ),
            });
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(running.into_iter().flatten().collect())
}
