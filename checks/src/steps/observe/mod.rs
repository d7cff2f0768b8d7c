//! Observations shared by several steps' checks, all of them questions to one model of a
//! namespace's state ([`lab::state::Netns`]): its links, routes, sysctls and firewall, read
//! the same whatever wrote them (iproute2, iptables of either backend, nft).

mod links;
mod rules;

pub use links::{
    addresses, cable, cables, container_veths, describe, links_view, plain_links, routes_view,
};
pub use rules::{
    dnat_rules, duplicate_rules, forward_chains, forward_policy_is_drop, forward_view, nat_tables,
    nat_view, rules_lines, snat_explained, snat_rules, theirs_added, Theirs,
};

use crate::probe::Running;
use anyhow::{bail, Result};
use lab::state::{Netns, Parts, Place};
use std::process::Output;

/// A namespace's state, read now; what could not be read is an error (a check cannot judge
/// a namespace it saw only in part).
pub fn read(place: &Place, parts: Parts) -> Result<Netns> {
    let netns = Netns::read_parts(place, parts);
    let problems = netns.all_problems();
    if !problems.is_empty() {
        bail!("reading the network state: {}", problems.join("; "));
    }
    Ok(netns)
}

/// The lab host's whole state: links, routes, sysctls, firewall.
pub fn host() -> Result<Netns> {
    read(&Place::here(), Parts::ALL)
}

/// The lab host's links, addresses and routes only (quicker: no firewall).
pub fn host_network() -> Result<Netns> {
    read(&Place::here(), Parts::NETWORK)
}

/// A container's network namespace: links, addresses and routes.
pub fn inside(container: &Running) -> Result<Netns> {
    inside_pid(container.pid)
}

/// The network namespace of process `pid`: links, addresses and routes.
pub fn inside_pid(pid: i32) -> Result<Netns> {
    read(&Place::pid(pid), Parts::NETWORK)
}

/// stdout and stderr of a command, trimmed, for reports.
pub fn text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text.trim_end().to_string()
}

/// Whether a client run under busybox `timeout` was stopped by it (SIGTERM).
pub fn killed_by_timeout(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(15) || status.code() == Some(128 + 15)
}

/// Calls `f` until it gives something, or `limit` has passed.
pub fn poll<T>(limit: std::time::Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A view for a report, or what kept it from being read.
pub fn or_error(view: Result<String>) -> String {
    view.unwrap_or_else(|e| format!("{e:#}"))
}
