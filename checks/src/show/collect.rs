//! Collecting a lab's real state, from inside its mount namespace (its `/proc` and its state
//! directory): the lab host is PID 1's network namespace, the internet the one of the lab
//! process's thread that lives elsewhere, each container the one of the PID in its pid file.
//! Only reads: `ip -j ... show`, `iptables-save -t nat`, `nft list ruleset`, and the last
//! two only in the lab host's namespace.

use super::model::{self, Model, Namespace, Role};
use anyhow::{bail, Context, Result};
use container::protocol::layout;
use lab::registry::netns_inode;
use std::path::Path;
use std::process::Command;

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// The calling thread's network namespace.
    Here,
    /// The network namespace of this process or thread (`nsenter -t PID -n`).
    Pid(i32),
}

impl Where {
    fn netns_file(self) -> String {
        match self {
            Where::Here => "/proc/thread-self/ns/net".to_string(),
            Where::Pid(pid) => format!("/proc/{pid}/ns/net"),
        }
    }

    /// The inode of its network namespace.
    pub fn netns(self) -> Result<u64> {
        netns_inode(&self.netns_file())
    }
}

/// Runs `program args` in `place`'s network namespace; refuses to when that namespace is
/// `forbidden` (the caller's real one: nothing is ever run there).
fn run(place: Where, forbidden: Option<u64>, program: &str, args: &[&str]) -> Result<String> {
    if let Some(real) = forbidden {
        match place.netns() {
            Ok(inode) if inode != real => {}
            Ok(_) => bail!("refusing to run {program} outside the lab (in the real namespace)"),
            Err(e) => bail!("refusing to run {program} in a namespace it cannot identify: {e:#}"),
        }
    }
    let mut command = match place {
        Where::Here => Command::new(program),
        Where::Pid(pid) => lab::netcmd::in_netns_of(pid, program),
    };
    command.env("PATH", lab::netcmd::TOOL_PATH);
    lab::netcmd::run_command(command, program, args)
}

/// One namespace's links, addresses and routes (and NAT rules when `nat`).
fn namespace(
    name: &str,
    role: Role,
    pid: Option<i32>,
    place: Where,
    forbidden: Option<u64>,
) -> Namespace {
    let mut ns = Namespace::new(name, role, pid);
    let links = run(place, forbidden, "ip", &["-j", "-d", "link", "show"]).and_then(|links| {
        let addrs = run(place, forbidden, "ip", &["-j", "addr", "show"])?;
        model::parse_links(&links, &addrs)
    });
    match links {
        Ok(links) => ns.links = links,
        Err(e) => ns.problems.push(format!("links: {e:#}")),
    }
    match run(place, forbidden, "ip", &["-j", "route", "show"])
        .and_then(|r| model::parse_routes(&r))
    {
        Ok(routes) => ns.routes = routes,
        Err(e) => ns.problems.push(format!("routes: {e:#}")),
    }
    if role == Role::Host {
        match run(place, forbidden, "iptables-save", &["-t", "nat"]) {
            Ok(text) => ns.nat = model::parse_iptables_save(&text),
            Err(e) => ns.problems.push(format!("nat: {e:#}")),
        }
        // Rules written with nft itself (iptables' own tables are shown above already).
        if let Ok(text) = run(place, forbidden, "nft", &["list", "ruleset"]) {
            ns.nat.extend(model::parse_nft_ruleset(&text));
        }
    }
    ns
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
