//! Step 03: inside the container, eth0 has 10.0.0.2/24 and is UP, lo is UP, and the default
//! route goes via the lab host (10.0.0.1); then the lab's internet answers, through NAT.
//!
//! The clients are real: busybox's ping and wget inside the container. Every failure shows
//! what the container's network namespace holds (`ip addr`, `ip route`).

use super::observe::{self, FALLBACK_DEVICES};
use crate::catalog::{Check, LIMIT};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::{HOST_ADDR, WEB_ADDR};
use lab::Profile;
use serde_json::Value;

/// The container's end of the cable.
const CONTAINER_END: &str = "eth0";
/// The container's address and prefix length.
const CONTAINER_IP: &str = "10.0.0.2";
const PREFIX: u64 = 24;
/// The lab host's end of the cable.
const GATEWAY: &str = "10.0.0.1";
/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long wget may try before the check gives up on it (no answer: no NAT, or no way back).
const WGET_SECONDS: &str = "5";

/// The container's routing table as [`normalise_routes`] shows it: what the step's solution
/// makes. `checks/tests/routes.rs` compares it with the solution's actual table.
pub const EXPECTED_ROUTES: &str = "10.0.0.0/24 dev eth0 scope link\ndefault via 10.0.0.1 dev eth0";

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "eth0-up",
        title: "inside, eth0 is UP with 10.0.0.2/24, and lo is UP",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: eth0_up,
    },
    Check {
        name: "ping-gateway",
        title: "inside, ping 10.0.0.1 (the lab host's end of the cable) answers",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ping_gateway,
    },
    Check {
        name: "ping-internet",
        title: "inside, ping 203.0.113.80 (the lab's web server) answers",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ping_internet,
    },
    Check {
        name: "http-nat",
        title: "inside, wget gets the web page; the server saw the lab host, not 10.0.0.2",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: http_nat,
    },
    Check {
        name: "routes",
        title: "the container's routes: 10.0.0.0/24 on eth0, default via 10.0.0.1",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: routes,
    },
];

fn eth0_up(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let output = container.in_netns("ip", &["-j", "addr", "show"])?;
    let seen = interfaces(&output.stdout)?;
    let wanted = format!("{CONTAINER_IP}/{PREFIX}");
    let mut wrong = Vec::new();
    match seen.iter().find(|i| i.name == CONTAINER_END) {
        None => wrong.push(format!("there is no {CONTAINER_END}")),
        Some(eth0) => {
            if !eth0.up {
                wrong.push(format!("{CONTAINER_END} is DOWN"));
            }
            if !eth0.addresses.contains(&wanted) {
                wrong.push(format!(
                    "{CONTAINER_END} has no {wanted} (its IPv4 addresses: {})",
                    list(&eth0.addresses)
                ));
            }
        }
    }
    match seen.iter().find(|i| i.name == "lo") {
        Some(lo) if lo.up => {}
        Some(_) => wrong.push("lo is DOWN".to_string()),
        None => wrong.push("there is no lo".to_string()),
    }
    if !wrong.is_empty() {
        return Err(Outcome::failed(
            format!("inside the container, {CONTAINER_END} UP with {wanted}, and lo UP"),
            format!("{}\n{}", wrong.join("; "), views(&container)),
        ));
    }
    container.stop()?;
    Ok(())
}

fn ping_gateway(probe: &Probe) -> Verdict {
    ping_from_inside(probe, GATEWAY, "the lab host's end of the cable")
}

fn ping_internet(probe: &Probe) -> Verdict {
    ping_from_inside(probe, &WEB_ADDR.to_string(), "the lab's web server")
}

/// Busybox's ping inside the container, one echo request with 2 s to answer.
fn ping_from_inside(probe: &Probe, target: &str, what: &str) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let ping = container.exec("ping", &["-c", "1", "-W", "2", target])?;
    if !ping.status.success() {
        return Err(Outcome::failed(
            format!("ping -c1 -W2 {target} ({what}) answers inside the container"),
            format!(
                "container# ping -c1 -W2 {target}\n{}\n{}",
                said(&ping),
                views(&container)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn http_nat(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let url = format!("http://{WEB_ADDR}/");
    // Without NAT the request leaves with the source 10.0.0.2, which the internet cannot
    // answer: wget would wait for minutes. `timeout` (busybox) ends it sooner.
    let wget = container.exec("timeout", &[WGET_SECONDS, "wget", "-qO-", &url])?;
    let page = String::from_utf8_lossy(&wget.stdout).into_owned();
    let expected = format!(
        "wget -qO- {url} inside the container gets the page, and the server names the client \
         {HOST_ADDR} (the lab host, after MASQUERADE), not {CONTAINER_IP}"
    );
    if !wget.status.success() {
        let mut what = said(&wget);
        if observe::killed_by_timeout(&wget.status) {
            what = format!(
                "no answer within {WGET_SECONDS} s: did the request leave without NAT, so that \
                 the reply had no way back?\n{what}"
            );
        }
        return Err(Outcome::failed(
            expected,
            format!(
                "container# wget -qO- {url}\n{}\n{}",
                what.trim_end(),
                views(&container)
            ),
        ));
    }
    let client = lab::web::client_of(&page);
    if client != Some(HOST_ADDR.to_string().as_str()) {
        let saw = match client {
            Some(ip) if ip == CONTAINER_IP => {
                format!("the server saw {ip}: the container's own address, not rewritten by NAT")
            }
            Some(ip) => format!("the server saw {ip}"),
            None => "the page names no client".to_string(),
        };
        return Err(Outcome::failed(
            expected,
            format!(
                "{saw}\ncontainer# wget -qO- {url}\n{}\n{}",
                page.trim_end(),
                views(&container)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn routes(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let output = container.in_netns("ip", &["-j", "route", "show"])?;
    let seen = normalise_routes(&String::from_utf8_lossy(&output.stdout))?;
    if seen != EXPECTED_ROUTES {
        let shown = |table: &str| {
            if table.is_empty() {
                "no routes at all".to_string()
            } else {
                table.lines().collect::<Vec<_>>().join("; ")
            }
        };
        return Err(Outcome::failed(
            format!("the container's routes are: {}", shown(EXPECTED_ROUTES)),
            format!("they are: {}\n{}", shown(&seen), views(&container)),
        ));
    }
    container.stop()?;
    Ok(())
}

/// A routing table as `ip -j route` gives it, one line per route in `ip route`'s words,
/// sorted: destination, `via` gateway, `dev`, and `scope` when it is not global. What varies
/// or does not matter here (protocol, preferred source, metric, flags) is left out.
pub fn normalise_routes(json: &str) -> Result<String> {
    let value: Value = serde_json::from_str(json)
        .with_context(|| format!("ip -j route gave no JSON: {}", json.trim()))?;
    let mut lines: Vec<String> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|route| {
            let mut words = vec![route["dst"].as_str().unwrap_or("?").to_string()];
            let mut add = |word: &str, key: &str| {
                if let Some(text) = route[key].as_str() {
                    words.push(format!("{word} {text}"));
                }
            };
            add("via", "gateway");
            add("dev", "dev");
            if let Some(scope) = route["scope"].as_str().filter(|s| *s != "global") {
                words.push(format!("scope {scope}"));
            }
            words.join(" ")
        })
        .collect();
    lines.sort();
    Ok(lines.join("\n"))
}

/// One interface of `ip -j addr`: its name, whether it is UP, its IPv4 addresses.
struct Interface {
    name: String,
    up: bool,
    /// `10.0.0.2/24`, ...
    addresses: Vec<String>,
}

fn interfaces(json: &[u8]) -> Result<Vec<Interface>> {
    Ok(observe::ip_json(json, "ip -j addr")?
        .iter()
        .map(|i| Interface {
            name: i["ifname"].as_str().unwrap_or("?").to_string(),
            up: observe::is_up(i),
            addresses: i["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["family"] == "inet")
                .map(|a| {
                    format!(
                        "{}/{}",
                        a["local"].as_str().unwrap_or("?"),
                        a["prefixlen"].as_u64().unwrap_or(0)
                    )
                })
                .collect(),
        })
        .collect())
}

/// What a command printed, without its blank lines (they would break up a report).
fn said(output: &std::process::Output) -> String {
    observe::text(output)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a, b` or `none`.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// What the container's network namespace holds, for reports: `ip addr` (without the kernel's
/// fallback tunnel devices, nor the addresses' lifetimes) and `ip route`.
fn views(container: &Running) -> String {
    let run = |args: &[&str]| {
        container
            .in_netns("ip", args)
            .map_or_else(|e| format!("{e:#}"), |o| observe::text(&o))
    };
    let addr = without_fallback_devices(&run(&["addr", "show"]));
    let route = run(&["route", "show"]);
    let route = if route.trim().is_empty() {
        "(no routes at all)".to_string()
    } else {
        route
    };
    let tidy = |text: &str| {
        text.lines()
            .filter(|line| !line.trim_start().starts_with("valid_lft"))
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "in the container's namespace: ip addr\n{}\nin the container's namespace: ip route\n{}",
        tidy(&addr),
        tidy(&route)
    )
}

/// `ip addr` text without the blocks of the kernel's fallback devices (`sit0`, ...).
fn without_fallback_devices(text: &str) -> String {
    let mut keep = true;
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') {
            // `3: sit0@NONE: <NOARP> ...` starts an interface's block.
            let name = line
                .split(": ")
                .nth(1)
                .map(|n| n.split('@').next().unwrap_or(n));
            keep = !name.is_some_and(|n| FALLBACK_DEVICES.contains(&n));
        }
        if keep {
            out.push(line);
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_normalised_and_sorted() {
        let json = r#"[{"dst":"default","gateway":"10.0.0.1","dev":"eth0","flags":[]},
            {"dst":"10.0.0.0/24","dev":"eth0","protocol":"kernel","scope":"link",
             "prefsrc":"10.0.0.2","flags":[]}]"#;
        assert_eq!(normalise_routes(json).unwrap(), EXPECTED_ROUTES);
        assert_eq!(normalise_routes("[]").unwrap(), "");
        assert!(normalise_routes("Error: nope").is_err());
    }

    #[test]
    fn fallback_devices_are_left_out_of_ip_addr() {
        let text = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    link/loopback 00:00\n\
                    2: tunl0@NONE: <NOARP> mtu 1480\n    link/ipip 0.0.0.0\n\
                    5: eth0@if6: <BROADCAST,UP> mtu 1500\n    inet 10.0.0.2/24 scope global eth0";
        assert_eq!(
            without_fallback_devices(text),
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    link/loopback 00:00\n\
             5: eth0@if6: <BROADCAST,UP> mtu 1500\n    inet 10.0.0.2/24 scope global eth0"
        );
    }
}
