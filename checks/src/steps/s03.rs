//! Step 03: inside the container, eth0 has 10.0.0.2/24 and is UP, lo is UP, and the default
//! route goes via the lab host (10.0.0.1); then the lab's internet answers, through NAT.
//!
//! The clients are real: busybox's ping and wget inside the container. Every failure shows
//! what the container's network namespace holds (`ip addr`, `ip route`).

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::Result;
use lab::addresses::containers::{FIRST as CONTAINER_IP, GATEWAY, PREFIX};
use lab::addresses::{HOST_ADDR, WEB_ADDR};
use lab::endpoint::To;
use lab::state::route::{parse_routes, Route};
use lab::Profile;

/// The container's end of the cable.
const CONTAINER_END: &str = "eth0";
/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long wget may try before the check gives up on it (no answer: no NAT, or no way back).
const WGET_SECONDS: &str = "5";

/// The container's routing table as [`normalise_routes`] shows it: what the step's solution
/// makes. `checks/tests/routes.rs` compares it with the solution's actual table.
pub const EXPECTED_ROUTES: &str = "10.0.0.0/24 dev eth0 scope link\ndefault via 10.0.0.1 dev eth0";

/// No checks of this set share a lab (see `steps::TOGETHER`).
pub const TOGETHER: &[&[&str]] = &[];

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
        title: "inside, ping 10.0.0.1 (the lab host's end of the cable) answers; the lab \
                host's ping 10.0.0.2 too",
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
    let inside = observe::inside(&container)?;
    let wanted = format!("{CONTAINER_IP}/{PREFIX}");
    let mut wrong = Vec::new();
    match inside.link(CONTAINER_END) {
        None => wrong.push(format!("there is no {CONTAINER_END}")),
        Some(eth0) => {
            if !eth0.up {
                wrong.push(format!("{CONTAINER_END} is DOWN"));
            }
            if !eth0.addrs.contains(&(CONTAINER_IP, PREFIX)) {
                wrong.push(format!(
                    "{CONTAINER_END} has no {wanted} (its IPv4 addresses: {})",
                    observe::addresses(eth0)
                ));
            }
        }
    }
    match inside.link("lo") {
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
    let container = ping_from_inside(probe, &GATEWAY.to_string(), "the lab host's end of the cable")?;
    // Both ways: an answer from inside may come from the container itself (10.0.0.2/24 on
    // lo makes all of 10.0.0.0/24 local); the lab host's own ping must cross the cable.
    let target = CONTAINER_IP.to_string();
    let back = probe.host("ping", &["-c", "1", "-W", "2", &target])?;
    if !back.status.success() {
        return Err(Outcome::failed(
            format!("the lab host's ping -c1 -W2 {target} answers: the cable works both ways"),
            format!(
                "lab# ping -c1 -W2 {target}\n{}\n{}",
                said(&back),
                views(&container)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn ping_internet(probe: &Probe) -> Verdict {
    ping_from_inside(probe, &WEB_ADDR.to_string(), "the lab's web server")?.stop()?;
    Ok(())
}

/// Busybox's ping inside the container, one echo request with 2 s to answer; the container,
/// still running.
fn ping_from_inside(probe: &Probe, target: &str, what: &str) -> Result<Running, Outcome> {
    let container = probe.start("c1", SLEEP)?;
    let ping = container.exec("ping", &["-c", "1", "-W", "2", target])?;
    if !ping.status.success() {
        let trace = match target.parse() {
            Ok(ip) => format!("\n{}", probe.trace_from(&container, &To::ping(ip))),
            Err(_) => String::new(),
        };
        return Err(Outcome::failed(
            format!("ping -c1 -W2 {target} ({what}) answers inside the container"),
            format!(
                "container# ping -c1 -W2 {target}\n{}{trace}\n{}",
                said(&ping),
                views(&container)
            ),
        ));
    }
    Ok(container)
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
                "container# wget -qO- {url}\n{}\n{}\n{}",
                what.trim_end(),
                probe.trace_from(&container, &To::tcp(WEB_ADDR, 80)),
                views(&container)
            ),
        ));
    }
    let client = lab::web::client_of(&page);
    if client != Some(HOST_ADDR.to_string().as_str()) {
        let saw = match client {
            Some(ip) if ip == CONTAINER_IP.to_string() => {
                format!("the server saw {ip}: the container's own address, not rewritten by NAT")
            }
            Some(ip) => format!("the server saw {ip}"),
            None => "the page names no client".to_string(),
        };
        return Err(Outcome::failed(
            expected,
            format!(
                "{saw}\ncontainer# wget -qO- {url}\n{}\n{}\n{}",
                page.trim_end(),
                probe.trace_from(&container, &To::tcp(WEB_ADDR, 80)),
                views(&container)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn routes(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let seen = normalise(&observe::inside(&container)?.routes);
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
    Ok(normalise(&parse_routes(json)?))
}

/// [`normalise_routes`] of routes read already.
fn normalise(routes: &[Route]) -> String {
    let mut lines: Vec<String> = routes
        .iter()
        .map(|route| {
            let mut words = vec![route.dst_text.clone()];
            if let Some(via) = route.via {
                words.push(format!("via {via}"));
            }
            if let Some(dev) = &route.dev {
                words.push(format!("dev {dev}"));
            }
            if !route.scope.is_empty() && route.scope != "global" {
                words.push(format!("scope {}", route.scope));
            }
            words.join(" ")
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// What a command printed, without its blank lines (they would break up a report).
fn said(output: &std::process::Output) -> String {
    observe::text(output)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the container's network namespace holds, for reports: its links with their
/// addresses (without the kernel's fallback tunnel devices) and its routes.
fn views(container: &Running) -> String {
    observe::or_error(observe::inside(container).map(|inside| {
        format!(
            "{}\n{}",
            observe::links_view("in the container's namespace: links", &inside),
            observe::routes_view("in the container's namespace: routes", &inside)
        )
    }))
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
}
