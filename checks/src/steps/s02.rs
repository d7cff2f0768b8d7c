//! Step 02: a veth pair between the lab host and the container, forwarding and NAT, and a
//! cleanup that removes them.
//!
//! The checks find the container's cable without trusting its names: the container's end
//! names its peer's ifindex (`link_index`), and the host's end must name the container's end
//! back. The lab's own uplink `eth0` is a veth too; it is never counted as a container's.

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{Finished, Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::HOST_UPLINK;
use lab::netcmd;
use lab::Profile;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The host end's address, and its prefix length.
const HOST_ADDR: &str = "10.0.0.1";
const HOST_PREFIX: u64 = 24;
/// The subnet the MASQUERADE rule matches.
const SUBNET: &str = "10.0.0.0/24";
/// The container's end of the cable, inside its namespace.
const CONTAINER_END: &str = "eth0";
/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long the kernel may take to remove a dead container's namespace, and the veth with it.
const TEARDOWN: Duration = Duration::from_secs(3);

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "host-end",
        title: "the lab host has its end of the container's veth, UP, with 10.0.0.1/24",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: host_end,
    },
    Check {
        name: "container-end",
        title: "the other end is eth0 in the container's namespace, not on the lab host",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: container_end,
    },
    Check {
        name: "ip-forward",
        title: "while a container runs, the lab host forwards (net.ipv4.ip_forward = 1)",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ip_forward,
    },
    Check {
        name: "one-masquerade",
        title: "one MASQUERADE rule for 10.0.0.0/24, however many containers ran",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: one_masquerade,
    },
    Check {
        name: "two-at-once",
        title: "two containers at once each get a veth pair of their own",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: two_at_once,
    },
    Check {
        name: "cleanup",
        title: "after the containers exit, no veth and no NAT rule remain",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup,
    },
    Check {
        name: "cleanup-twice",
        title: "cleanup succeeds when the rule or the link is already gone",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup_twice,
    },
];

fn host_end(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let (host, _) = cable(&container)?;
    if !host.up {
        return Err(Outcome::failed(
            format!("the lab host's end of the cable, {}, is UP", host.name),
            format!(
                "its flags (between < and >) have no UP:\n{}",
                observe::lab_view(&["link"])
            ),
        ));
    }
    let addresses = netcmd::run("ip", &["-j", "addr", "show", "dev", &host.name])?;
    if !has_address(&addresses, HOST_ADDR, HOST_PREFIX)? {
        return Err(Outcome::failed(
            format!("{} has the address {HOST_ADDR}/{HOST_PREFIX}", host.name),
            observe::lab_view(&["addr"]),
        ));
    }
    container.stop()?;
    Ok(())
}

fn container_end(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let (_, inside) = cable(&container)?;
    if inside.name != CONTAINER_END {
        return Err(Outcome::failed(
            format!("the container's end of the cable is called {CONTAINER_END}"),
            format!("it is called {}\n{}", inside.name, both_views(&container)),
        ));
    }
    let veths = container_veths(&host_links()?);
    if veths.len() != 1 {
        return Err(Outcome::failed(
            format!(
                "one veth on the lab host for the container (besides the lab's uplink \
                 {HOST_UPLINK}): the other end belongs inside the container"
            ),
            format!(
                "{} of them: {}\n{}",
                veths.len(),
                names(&veths),
                both_views(&container)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn ip_forward(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let value = netcmd::sysctl("net.ipv4.ip_forward")?;
    if value != "1" {
        return Err(Outcome::failed(
            "/proc/sys/net/ipv4/ip_forward reads 1 on the lab host while the container runs",
            format!("it reads {value}"),
        ));
    }
    container.stop()?;
    Ok(())
}

fn one_masquerade(probe: &Probe) -> Verdict {
    let first = probe.start("a", SLEEP)?;
    one_rule("while one container runs")?;
    let second = start_second(probe, "b")?;
    one_rule("while two containers run")?;
    second.stop()?;
    first.stop()?;
    let third = probe.start("c", SLEEP)?;
    one_rule("while a third container runs, after two have come and gone")?;
    third.stop()?;
    Ok(())
}

fn two_at_once(probe: &Probe) -> Verdict {
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    for container in [&first, &second] {
        let (_, inside) = cable(container)?;
        if inside.name != CONTAINER_END {
            return Err(Outcome::failed(
                format!(
                    "each container's end of its cable is called {CONTAINER_END}, in its own \
                     namespace"
                ),
                format!(
                    "in container {} it is called {}\n{}",
                    container.name,
                    inside.name,
                    both_views(container)
                ),
            ));
        }
    }
    second.stop()?;
    first.stop()?;
    Ok(())
}

fn cleanup(probe: &Probe) -> Verdict {
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    first.stop()?;
    second.stop()?;
    // The kernel removes a namespace (and a veth end in it) a moment after its last process.
    let deadline = Instant::now() + TEARDOWN;
    let left = loop {
        let left = container_veths(&host_links()?);
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (rules, listing) = masquerade_rules()?;
    if !left.is_empty() || rules > 0 {
        return Err(Outcome::failed(
            format!(
                "after both containers exited: no veth on the lab host (besides its uplink \
                 {HOST_UPLINK}) and no MASQUERADE rule for {SUBNET}"
            ),
            format!(
                "{} veth left ({}), {rules} rule(s) left\n{}\nlab# iptables -t nat -S POSTROUTING\n{}",
                left.len(),
                names(&left),
                observe::lab_view(&["link"]),
                listing
            ),
        ));
    }
    Ok(())
}

fn cleanup_twice(probe: &Probe) -> Verdict {
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    stopped(first, "for the first of two containers")?;
    stopped(
        second,
        "for the second container, after the first one's cleanup (the rule may be gone)",
    )?;
    let third = probe.start("c", SLEEP)?;
    let (host, _) = cable(&third)?;
    netcmd::run("ip", &["link", "del", &host.name]).context("deleting the veth by hand")?;
    stopped(
        third,
        &format!(
            "for a container whose veth {} was deleted by hand",
            host.name
        ),
    )?;
    Ok(())
}

/// One network interface, as `ip -j -d link` describes it.
#[derive(Debug, Clone)]
struct Link {
    name: String,
    ifindex: u64,
    /// The peer's ifindex (a veth's other end), in `in_other_netns` or here.
    peer: Option<u64>,
    /// The peer lives in another network namespace.
    in_other_netns: bool,
    kind: String,
    up: bool,
}

impl Link {
    fn is_veth(&self) -> bool {
        self.kind == "veth"
    }
}

fn parse_links(json: &[u8]) -> Result<Vec<Link>> {
    Ok(observe::ip_json(json, "ip -j link")?
        .iter()
        .map(|l| Link {
            name: l["ifname"].as_str().unwrap_or("?").to_string(),
            ifindex: l["ifindex"].as_u64().unwrap_or(0),
            peer: l["link_index"].as_u64(),
            in_other_netns: !l["link_netnsid"].is_null(),
            kind: l["linkinfo"]["info_kind"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            up: observe::is_up(l),
        })
        .filter(|l| !observe::FALLBACK_DEVICES.contains(&l.name.as_str()))
        .collect())
}

/// The lab host's links.
fn host_links() -> Result<Vec<Link>> {
    let text = netcmd::run("ip", &["-j", "-d", "link", "show"])?;
    parse_links(text.as_bytes())
}

/// The links in a container's network namespace.
fn container_links(container: &Running) -> Result<Vec<Link>> {
    let output = container.in_netns("ip", &["-j", "-d", "link", "show"])?;
    parse_links(&output.stdout)
}

/// The lab host's veths but its uplink: the containers' cables.
fn container_veths(host: &[Link]) -> Vec<Link> {
    host.iter()
        .filter(|l| l.is_veth() && l.name != HOST_UPLINK)
        .cloned()
        .collect()
}

/// The container's cable, as (the lab host's end, the container's end); a failure when there
/// is none.
fn cable(container: &Running) -> Result<(Link, Link), Outcome> {
    let host = container_veths(&host_links()?);
    let inside = container_links(container)?;
    let found = inside
        .iter()
        .filter(|c| c.is_veth() && c.in_other_netns)
        .find_map(|c| {
            host.iter()
                .find(|h| {
                    h.in_other_netns && Some(h.ifindex) == c.peer && h.peer == Some(c.ifindex)
                })
                .map(|h| (h.clone(), c.clone()))
        });
    found.ok_or_else(|| {
        Outcome::failed(
            format!(
                "a veth pair with one end on the lab host and the other ({CONTAINER_END}) in \
                 the container's network namespace"
            ),
            both_views(container),
        )
    })
}

/// Whether `ip -j addr show` output has `addr/prefix`.
fn has_address(json: &str, addr: &str, prefix: u64) -> Result<bool> {
    let value: Value = serde_json::from_str(json).context("parsing ip -j addr")?;
    Ok(value
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|link| link["addr_info"].as_array().into_iter().flatten())
        .any(|a| a["local"] == addr && a["prefixlen"].as_u64() == Some(prefix)))
}

/// The number of MASQUERADE rules for the subnet in the lab host's POSTROUTING, and the
/// whole chain as `iptables -S` lists it.
fn masquerade_rules() -> Result<(usize, String)> {
    let listing = netcmd::run("iptables", &["-w", "-t", "nat", "-S", "POSTROUTING"])?;
    let count = listing
        .lines()
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.first() == Some(&"-A")
                && words.windows(2).any(|w| w == ["-s", SUBNET])
                && words.windows(2).any(|w| w == ["-j", "MASQUERADE"])
        })
        .count();
    Ok((count, listing.trim_end().to_string()))
}

/// Exactly one MASQUERADE rule for the subnet, now.
fn one_rule(when: &str) -> Verdict {
    let (count, listing) = masquerade_rules()?;
    if count != 1 {
        return Err(Outcome::failed(
            format!("exactly one MASQUERADE rule for {SUBNET} {when}"),
            format!("{count} of them:\nlab# iptables -t nat -S POSTROUTING\n{listing}"),
        ));
    }
    Ok(())
}

/// Starts a second container while another runs; its setup failing is this step's failure
/// (typically a fixed interface name: "File exists").
fn start_second(probe: &Probe, name: &str) -> Result<Running, Outcome> {
    probe.start(name, SLEEP).map_err(|outcome| match outcome {
        Outcome::HookFailed { message } => Outcome::failed(
            "a second container starts while the first runs, with a veth pair of its own",
            format!(
                "its setup failed: {message}\n{}",
                observe::lab_view(&["link"])
            ),
        ),
        other => other,
    })
}

/// Stops a container; its cleanup failing is this step's failure.
fn stopped(container: Running, when: &str) -> Result<Finished, Outcome> {
    container.stop().map_err(|outcome| match outcome {
        Outcome::HookFailed { message } => Outcome::failed(
            format!("cleanup succeeds {when}"),
            format!(
                "it failed: {message}\n{}\nlab# iptables -t nat -S POSTROUTING\n{}",
                observe::lab_view(&["link"]),
                masquerade_rules().map_or_else(|e| format!("{e:#}"), |(_, listing)| listing)
            ),
        ),
        other => other,
    })
}

/// The lab host's links and the container's, for reports.
fn both_views(container: &Running) -> String {
    let inside = container
        .in_netns("ip", &["-br", "link"])
        .map_or_else(|e| format!("{e:#}"), |o| observe::text(&o))
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "{}\nin the container's namespace: ip -br link\n{inside}",
        observe::lab_view(&["link"])
    )
}

/// `veth12, veth18` for reports.
fn names(links: &[Link]) -> String {
    if links.is_empty() {
        return "none".to_string();
    }
    links
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
