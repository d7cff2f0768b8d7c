//! Step 08: a container under real runc, networked by the learner's OCI hooks
//! (createRuntime attaches, poststop releases). Everything is looked at from the lab host:
//! the container's namespace through its PID, the allocator's records, the bridge's ports.

use crate::catalog::{Check, LIMIT};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::{BRIDGE, FIRST, GATEWAY, LAST, SUBNET};
use lab::addresses::WEB_ADDR;
use lab::Profile;
use std::net::Ipv4Addr;

mod failure;
mod namespaces;

/// What the containers of these checks run.
pub(super) const SLEEP: &[&str] = &["sleep", "30"];

/// Checks that share one lab and its containers: none (each looks at its own end).
pub const TOGETHER: &[&[&str]] = &[];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "eth0",
        title: "a runc container has lo UP, eth0 with an address of 10.0.0.0/24 and a \
                default route via 10.0.0.1",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: eth0,
    },
    Check {
        name: "internet",
        title: "the runc container gets the lab's web page and resolves web.lab.test",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: internet,
    },
    Check {
        name: "runtime-namespaces",
        title: "the hook worked from the lab host, where runc runs it: the host end is UP on \
                netlab0, the container's address is on no link of the lab host",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: namespaces::runtime_namespaces,
    },
    Check {
        name: "two-at-once",
        title: "two runc containers running at once get two different addresses",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: two_at_once,
    },
    Check {
        name: "stop",
        title: "after a container is stopped, poststop has released its address and its \
                host end",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: stop,
    },
    Check {
        name: "runc-kill",
        title: "after `runc kill ID KILL`, poststop has released its address and its host end",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: runc_kill,
    },
    Check {
        name: "hook-fails",
        title: "when the network hook fails (no free address), `runc run` fails and \
                nothing of the container is left: no lease, no record, no link",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: failure::hook_fails,
    },
    Check {
        name: "late-failure",
        title: "when the network hook fails half-way (netlab0 is a veth, no bridge), `runc run` fails \
                and the lease, the record and the cable are gone",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: failure::late_failure,
    },
    Check {
        name: "dead-owner",
        title: "addresses whose owner has died are taken back: a container starts with \
                every address leased to a process that is gone",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: failure::dead_owner,
    },
];

pub(super) fn text(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The container's eth0 address (`ip -4 -o addr show dev eth0`, in its namespace).
pub(super) fn address_of(container: &Running) -> Result<Ipv4Addr, Outcome> {
    let out = container.in_netns("ip", &["-4", "-o", "addr", "show", "dev", "eth0"])?;
    let seen = text(&out);
    let address = seen
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse::<Ipv4Addr>().ok());
    match address {
        Some(a) if (FIRST..=LAST).contains(&a) => Ok(a),
        _ => Err(Outcome::failed(
            format!("container {} has eth0 with an address of {SUBNET}", container.name),
            if seen.is_empty() {
                "no IPv4 address on eth0 (or no eth0)".to_string()
            } else {
                seen
            },
        )),
    }
}

fn eth0(probe: &Probe) -> Verdict {
    let c = probe.start("c1", SLEEP)?;
    address_of(&c)?;
    let lo = text(&c.in_netns("ip", &["-o", "link", "show", "dev", "lo"])?);
    if !lo.contains("UP,") && !lo.contains(",UP") {
        return Err(Outcome::failed(
            "lo is UP in the container's network namespace",
            lo,
        ));
    }
    let route = text(&c.in_netns("ip", &["-4", "route", "show", "default"])?);
    if !route.contains(&format!("via {GATEWAY}")) {
        return Err(Outcome::failed(
            format!("the container's default route goes via {GATEWAY}"),
            format!("ip route show default: {route:?}"),
        ));
    }
    c.stop()?;
    Ok(())
}

fn internet(probe: &Probe) -> Verdict {
    let c = probe.start("c1", SLEEP)?;
    let url = format!("http://{WEB_ADDR}/");
    let page = c.exec("wget", &["-q", "-O", "-", &url])?;
    if !page.status.success() {
        return Err(Outcome::failed(
            format!("wget {url} in the container gets the lab's page"),
            format!("{}{}", text(&page), String::from_utf8_lossy(&page.stderr)),
        ));
    }
    let name = c.exec("nslookup", &["web.lab.test"])?;
    if !text(&name).contains(&WEB_ADDR.to_string()) {
        return Err(Outcome::failed(
            format!("nslookup web.lab.test in the container answers {WEB_ADDR}"),
            format!("{}{}", text(&name), String::from_utf8_lossy(&name.stderr)),
        ));
    }
    c.stop()?;
    Ok(())
}

fn two_at_once(probe: &Probe) -> Verdict {
    let a = probe.start("a", SLEEP)?;
    let b = probe.start("b", SLEEP)?;
    let (first, second) = (address_of(&a)?, address_of(&b)?);
    if first == second {
        return Err(Outcome::failed(
            "containers a and b have different addresses",
            format!("both have {first}"),
        ));
    }
    a.stop()?;
    b.stop()?;
    Ok(())
}

/// What is left of containers on the lab host: lease files in ipam/, ports of the bridge.
fn leftovers(probe: &Probe) -> Vec<String> {
    let mut left = Vec::new();
    let ipam = probe.lab.paths().state.join("ipam");
    if let Ok(entries) = std::fs::read_dir(&ipam) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.parse::<Ipv4Addr>().is_ok() {
                left.push(format!("the lease ipam/{name}"));
            }
        }
    }
    if let Ok(out) = probe.host("ip", &["-o", "link", "show", "master", BRIDGE]) {
        for line in text(&out).lines() {
            let link = line.split(':').nth(1).unwrap_or(line).trim().to_string();
            left.push(format!("the link {link} on {BRIDGE}"));
        }
    }
    left
}

fn released(probe: &Probe, how: &str) -> Verdict {
    let left = leftovers(probe);
    if left.is_empty() {
        return Ok(());
    }
    Err(Outcome::failed(
        format!("after the container was {how}, nothing of it is left"),
        left.join("\n"),
    ))
}

fn stop(probe: &Probe) -> Verdict {
    let c = probe.start("c1", SLEEP)?;
    address_of(&c)?;
    c.stop()?;
    released(probe, "stopped")
}

fn runc_kill(probe: &Probe) -> Verdict {
    let c = probe.spawn("c1", &[], SLEEP)?;
    let c = c.wait_running()?;
    address_of(&c)?;
    let root = probe.lab.paths().state.join("runc");
    let root = root.to_string_lossy().into_owned();
    let killed = probe.host("runc", &["--root", &root, "kill", "c1", "KILL"])?;
    if !killed.status.success() {
        return Err(Outcome::LabError {
            message: format!(
                "runc kill c1 KILL failed: {}",
                String::from_utf8_lossy(&killed.stderr).trim()
            ),
        });
    }
    // The step binary ends once runc has run poststop.
    let _ = c.stop();
    released(probe, "killed with runc kill")
}
