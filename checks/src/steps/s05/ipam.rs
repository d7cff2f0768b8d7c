//! The address allocator: each container an address of its own, on its eth0, and the records
//! the allocator keeps on disk (the files of `$NETLAB_STATE/ipam/` named after an address).

use super::{observe, start_all, stop_all, SLEEP};
use crate::probe::{Probe, Running, START_LIMIT};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::containers::{assignable, FIRST, GATEWAY, LAST, PREFIX, SUBNET};
use lab::state::Netns;
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

pub(super) fn addresses(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b", "c"])?;
    let mut seen: Vec<Ipv4Addr> = Vec::new();
    for container in &running {
        let address = address_of(container)?;
        if seen.contains(&address) {
            return Err(Outcome::failed(
                "each container has an address of its own",
                format!(
                    "{address} twice\n{}\n{}",
                    all_addresses(&running),
                    ipam_view(probe)
                ),
            ));
        }
        seen.push(address);
        let inside = observe::inside(container)?;
        let lo = container.exec("ping", &["-c", "1", "-W", "1", "127.0.0.1"])?;
        if !lo.status.success() {
            return Err(Outcome::failed(
                format!(
                    "container {} reaches itself on 127.0.0.1: its loopback lo is UP",
                    container.name
                ),
                format!(
                    "container# ping -c1 -W1 127.0.0.1\n{}\n{}",
                    observe::text(&lo),
                    observe::links_view("in its namespace", &inside)
                ),
            ));
        }
        let via_gateway = inside
            .routes
            .iter()
            .any(|r| r.is_default() && r.via == Some(IpAddr::V4(GATEWAY)));
        if !via_gateway {
            return Err(Outcome::failed(
                format!(
                    "container {} has a default route via {GATEWAY}",
                    container.name
                ),
                observe::routes_view("in its namespace: routes", &inside),
            ));
        }
    }
    stop_all(running)
}

pub(super) fn exhausted(probe: &Probe) -> Verdict {
    let dir = ipam(probe);
    std::fs::create_dir_all(&dir).context("creating ipam/")?;
    let mut planted = Vec::new();
    while let Some(address) = plant(&dir)? {
        planted.push(address);
    }
    let mut full = probe.spawn("full", &[], SLEEP)?;
    let deadline = Instant::now() + START_LIMIT;
    let refused = loop {
        if let Some(pid) = full.pid() {
            let got = observe::inside_pid(pid)
                .ok()
                .and_then(|inside| eth0_address(&inside))
                .map_or("no address".to_string(), |a| a.to_string());
            break Err(got);
        }
        if full.has_ended() {
            break Ok(());
        }
        if Instant::now() > deadline {
            return Err(Outcome::TimedOut {
                seconds: START_LIMIT.as_secs(),
                doing: "starting a container with every address taken".into(),
            });
        }
        thread::sleep(Duration::from_millis(5));
    };
    let verdict = match refused {
        Ok(()) => match full.finish() {
            // The allocator's error, as the runtime reports it: the container is refused.
            Ok(_) | Err(Outcome::HookFailed { .. }) | Err(Outcome::Failed { .. }) => Ok(()),
            Err(trouble) => Err(trouble),
        },
        Err(got) => {
            let _ = full.stop();
            Err(Outcome::failed(
                format!(
                    "with every address from {FIRST} to {LAST} recorded by a running owner, a \
                     new container is refused (no free address: never .0, the gateway .1 nor \
                     the broadcast address .255)"
                ),
                format!("container full started with {got}"),
            ))
        }
    };
    for address in planted {
        let _ = std::fs::remove_file(dir.join(address.to_string()));
    }
    verdict
}

/// Records the lowest address of the subnet without a record, as another allocator would
/// (its owner: the check, which runs); `None` when every one is taken.
pub(super) fn plant(dir: &Path) -> Result<Option<Ipv4Addr>> {
    for address in (u32::from(FIRST)..=u32::from(LAST)).map(Ipv4Addr::from) {
        let path = dir.join(address.to_string());
        match File::create_new(&path) {
            Ok(mut file) => {
                write!(file, "other\n{}\n", std::process::id())
                    .with_context(|| format!("writing {}", path.display()))?;
                return Ok(Some(address));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    Ok(None)
}

/// The address on eth0 in a namespace, with the subnet's prefix length.
pub(super) fn eth0_address(inside: &Netns) -> Option<Ipv4Addr> {
    inside
        .link("eth0")?
        .addrs
        .iter()
        .find(|(_, len)| *len == PREFIX)
        .map(|(addr, _)| *addr)
}

/// The container's address: on its eth0, in the subnet, not the network, the gateway nor
/// the broadcast address.
pub(super) fn address_of(container: &Running) -> Result<Ipv4Addr, Outcome> {
    let inside = observe::inside(container)?;
    match eth0_address(&inside) {
        Some(a) if assignable(a) => Ok(a),
        _ => Err(Outcome::failed(
            format!(
                "container {} has an address of {SUBNET} on eth0 (not .0, .1 nor .255), with \
                 the prefix /{PREFIX}",
                container.name
            ),
            observe::links_view("in its namespace", &inside),
        )),
    }
}

/// `a: eth0 10.0.0.2/24` lines, for reports.
fn all_addresses(running: &[Running]) -> String {
    running
        .iter()
        .map(|c| {
            let shown = observe::inside(c).map(|inside| match inside.link("eth0") {
                Some(eth0) => format!("eth0 {}", eth0.addrs_text()),
                None => "no eth0".to_string(),
            });
            format!("{}: {}", c.name, observe::or_error(shown))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The allocator's records: every file of `ipam/` named after an address, with its text.
pub(super) fn leases(probe: &Probe) -> Result<Vec<(Ipv4Addr, String)>> {
    let dir = ipam(probe);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if let Some(address) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
        {
            found.push((address, std::fs::read_to_string(&path).unwrap_or_default()));
        }
    }
    found.sort();
    Ok(found)
}

/// `$NETLAB_STATE/ipam/`.
pub(super) fn ipam(probe: &Probe) -> PathBuf {
    probe.lab.paths().state.join("ipam")
}

/// `$NETLAB_STATE/ipam/`, for reports.
pub(super) fn ipam_view(probe: &Probe) -> String {
    let shown = match leases(probe) {
        Ok(found) if found.is_empty() => "(no address files)".to_string(),
        Ok(found) => found
            .iter()
            .map(|(a, text)| {
                format!(
                    "{a}: {}",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("{e:#}"),
    };
    format!("lab# ls $NETLAB_STATE/ipam\n{shown}")
}
