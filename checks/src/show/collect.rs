//! Collecting a lab's real state, from inside its mount namespace (its `/proc` and its state
//! directory): the lab host is PID 1's network namespace, the internet the one of the lab
//! process's thread that lives elsewhere, each container the one of the PID in its pid file.
//! Only reads (see [`lab::state`]), and the firewall only in the lab host's namespace.

use super::model::{Model, Namespace, Role};
use anyhow::{Context, Result};
use container::protocol::layout;
use lab::registry::netns_inode;
use lab::state::{Netns, Parts, Place};
use std::path::Path;

pub use lab::state::Where;

/// One namespace as [`lab::state`] reads it at `place` (never in namespace `forbidden`): its
/// links, addresses and routes, and its firewall when it is the lab host.
fn namespace(
    name: &str,
    role: Role,
    pid: Option<i32>,
    place: Where,
    forbidden: Option<u64>,
) -> Namespace {
    let parts = Parts {
        netfilter: role == Role::Host,
        ..Parts::NETWORK
    };
    let place = Place {
        at: place,
        forbidden,
    };
    Namespace::from_state(name, role, pid, &Netns::read_parts(&place, parts))
}

/// The thread of the lab process (PID 1 in `/proc`) whose network namespace is not the lab
/// host's: the one that owns the internet.
pub fn internet_tid() -> Result<i32> {
    let host = netns_inode("/proc/1/ns/net")?;
    let mut tids: Vec<i32> = std::fs::read_dir("/proc/1/task")
        .context("listing the lab process's threads")?
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    tids.sort();
    tids.into_iter()
        .find(|tid| netns_inode(&format!("/proc/1/task/{tid}/ns/net")).is_ok_and(|ns| ns != host))
        .context("no thread of the lab process is in another network namespace (no internet)")
}

/// The running containers of the lab whose state directory is `state`: (name, PID), by name.
pub fn containers(state: &Path) -> Vec<(String, i32)> {
    let dir = state.join("containers");
    let mut found: Vec<(String, i32)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let pid = std::fs::read_to_string(layout::pid_file(state, &name))
                        .ok()?
                        .trim()
                        .parse()
                        .ok()?;
                    // A pid file left by a container that is gone.
                    Path::new(&format!("/proc/{pid}"))
                        .exists()
                        .then_some((name, pid))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The whole lab, seen from its mount namespace: the lab host is `host` (this thread's
/// namespace inside a check, PID 1's from outside). Nothing runs in namespace `forbidden`.
pub fn lab(title: &str, host: Where, state: &Path, forbidden: Option<u64>) -> Model {
    let mut namespaces = vec![namespace("lab host", Role::Host, None, host, forbidden)];
    match internet_tid() {
        Ok(tid) => namespaces.push(namespace(
            "internet",
            Role::Internet,
            None,
            Where::Pid(tid),
            forbidden,
        )),
        Err(e) => namespaces[0].problems.push(format!("{e:#}")),
    }
    for (name, pid) in containers(state) {
        namespaces.push(namespace(
            &name,
            Role::Container,
            Some(pid),
            Where::Pid(pid),
            forbidden,
        ));
    }
    Model {
        title: title.to_string(),
        namespaces,
    }
}
