//! The routed model itself: a /32 per container and its default route via 169.254.1.1, no
//! bridge, a host route per container, and the host ends answering ARP for the gateway.

use super::{address_of, ends, eth0_address, lab_view, observe, pool_host_routes, three, SLEEP};
use crate::invariants;
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::routed::{in_pool, FIRST, GATEWAY, LAST, POOL};
use lab::addresses::HOST_UPLINK;
use std::net::IpAddr;
use std::time::Duration;

pub(super) fn addresses(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let mut seen = Vec::new();
    for container in running.iter() {
        let address = address_of(container)?;
        let inside = observe::inside(container)?;
        if seen.contains(&address) {
            return Err(Outcome::failed(
                "each container has an address of its own",
                format!("{address} twice\n{}", super::records_view(probe)),
            ));
        }
        seen.push(address);
        // Every other address of the pool is reached through the gateway: no route puts
        // the pool on eth0's link, where nobody would answer ARP for the others.
        let direct: Vec<String> = [FIRST, LAST]
            .into_iter()
            .chain(seen.iter().copied())
            .filter(|other| *other != address)
            .filter_map(|other| {
                let route = inside.route_to(other)?;
                (route.via != Some(IpAddr::V4(GATEWAY))).then(|| format!("{other}: {}", route.short()))
            })
            .collect();
        if !direct.is_empty() {
            return Err(Outcome::failed(
                format!(
                    "container {} reaches the rest of {POOL} through {GATEWAY}: its address is \
                     a /32, and no route puts the pool on eth0's link (nobody there answers ARP \
                     for the other containers)",
                    container.name
                ),
                format!(
                    "routes taken: {}\n{}\n{}",
                    direct.join("; "),
                    observe::links_view("in its namespace", &inside),
                    observe::routes_view("routes", &inside)
                ),
            ));
        }
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
        let default = inside.routes.iter().find(|r| r.is_default());
        let right = default.is_some_and(|r| {
            r.via == Some(IpAddr::V4(GATEWAY)) && r.dev.as_deref() == Some("eth0")
        });
        if !right {
            return Err(Outcome::failed(
                format!(
                    "container {} has a default route via {GATEWAY} dev eth0",
                    container.name
                ),
                observe::routes_view("in its namespace: routes", &inside),
            ));
        }
    }
    Ok(())
}

pub(super) fn no_bridge(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let host = observe::host_network()?;
    let before: Vec<&str> = invariants::baseline()
        .map(|b| b.links.iter().map(|l| l.name.as_str()).collect())
        .unwrap_or_default();
    let bridges: Vec<&str> = host
        .links
        .iter()
        .filter(|l| l.kind == "bridge" && !before.contains(&l.name.as_str()))
        .map(|l| l.name.as_str())
        .collect();
    if !bridges.is_empty() {
        return Err(Outcome::failed(
            "the lab host has no bridge of the step's: each container's cable ends on the host \
             alone, and the host routes between them",
            format!("bridges: {}\n{}", bridges.join(", "), lab_view(probe)),
        ));
    }
    for (address, end) in ends(probe, running.iter())? {
        let pool: Vec<String> = end
            .addrs
            .iter()
            .filter(|(a, _)| in_pool(*a))
            .map(|(a, len)| format!("{a}/{len}"))
            .collect();
        if end.master.is_some() || !end.up || !pool.is_empty() {
            return Err(Outcome::failed(
                format!(
                    "the host end of every container's veth is UP, plugged into nothing, and \
                     holds no address of {POOL}"
                ),
                format!(
                    "the host end {} of {address} has master {}, is {}, and holds {}\n{}",
                    end.name,
                    end.master.as_deref().unwrap_or("none"),
                    if end.up { "UP" } else { "DOWN" },
                    if pool.is_empty() {
                        "no pool address".to_string()
                    } else {
                        pool.join(", ")
                    },
                    lab_view(probe)
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn host_routes(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let ends = ends(probe, running.iter())?;
    let host = observe::host_network()?;
    let view = || observe::routes_view("lab host's routes", &host);
    let wide: Vec<String> = host
        .routes
        .iter()
        .filter(|r| r.table == "main" && !r.is_default() && r.prefix_len() < 32)
        .filter(|r| {
            r.dst
                .is_some_and(|d| in_pool(d.addr) || ends.iter().any(|(a, _)| d.contains(*a)))
        })
        .filter(|r| ends.iter().any(|(_, end)| r.dev.as_deref() == Some(&end.name)))
        .map(|r| r.short())
        .collect();
    if !wide.is_empty() {
        return Err(Outcome::failed(
            format!(
                "no route sends a whole range of {POOL} to one container's host end: each \
                 container is routed by its own /32"
            ),
            format!("{}\n{}", wide.join("\n"), view()),
        ));
    }
    for (address, end) in &ends {
        let mine: Vec<_> = pool_host_routes(&host)
            .into_iter()
            .filter(|r| r.dst.is_some_and(|d| d.addr == *address))
            .collect();
        let right = mine.len() == 1
            && mine[0].dev.as_deref() == Some(&end.name)
            && mine[0].via.is_none()
            && mine[0].kind == "unicast";
        if !right {
            return Err(Outcome::failed(
                format!(
                    "the lab host has one route to each container's address, {address}/32 dev \
                     {} (its host end), no gateway",
                    end.name
                ),
                format!(
                    "routes to {address}/32: {}\n{}",
                    if mine.is_empty() {
                        "none".to_string()
                    } else {
                        mine.iter().map(|r| r.short()).collect::<Vec<_>>().join("; ")
                    },
                    view()
                ),
            ));
        }
    }
    Ok(())
}

/// The neighbour-table parameter `proxy_delay` of interface `dev` in the lab host.
fn proxy_delay(dev: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/neigh/{dev}/proxy_delay"))
        .ok()
        .map(|v| v.trim().to_string())
}

/// Whether the lab host has a proxy neighbour entry for the gateway on `dev`.
fn proxy_entry(dev: &str) -> bool {
    let gateway = GATEWAY.to_string();
    std::process::Command::new("ip")
        .args(["-j", "neigh", "show", "proxy", "dev", dev])
        .output()
        .ok()
        .and_then(|out| serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).ok())
        .is_some_and(|entries| entries.iter().any(|e| e["dst"] == gateway.as_str()))
}

pub(super) fn proxy_arp(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let ends = ends(probe, running.iter())?;
    let host = observe::host()?;
    let baseline = invariants::baseline();
    for scope in ["all", HOST_UPLINK] {
        let now = host.sysctls.conf(scope, "proxy_arp").unwrap_or("0");
        let before = baseline
            .and_then(|b| b.sysctls.conf(scope, "proxy_arp"))
            .unwrap_or("0");
        if now != before && now != "0" {
            return Err(Outcome::failed(
                format!(
                    "proxy ARP is on for the host ends only: net.ipv4.conf.{scope}.proxy_arp \
                     stays {before} (host-wide, or on the uplink, the lab host would answer ARP \
                     on {HOST_UPLINK} for addresses that are not its own)"
                ),
                format!("net.ipv4.conf.{scope}.proxy_arp is {now}"),
            ));
        }
    }
    for (address, end) in &ends {
        // The host end holding the gateway itself answers ARP for it without proxy ARP (the
        // ptp plugin's way).
        if end.addrs.iter().any(|(a, _)| *a == GATEWAY) {
            continue;
        }
        // Proxy ARP for every address the host routes elsewhere, or for the gateway alone
        // (`ip neigh add proxy 169.254.1.1 dev END`): either answers, after proxy_delay.
        let on = host.sysctls.conf(&end.name, "proxy_arp").unwrap_or("?");
        let entry = proxy_entry(&end.name);
        let delay = proxy_delay(&end.name).unwrap_or_else(|| "?".into());
        if (on != "1" && !entry) || delay != "0" {
            return Err(Outcome::failed(
                "the host end of every container has proxy_arp 1 \
                 (net.ipv4.conf.END.proxy_arp, or a proxy entry for 169.254.1.1) and \
                 proxy_delay 0 (net.ipv4.neigh.END.proxy_delay; by default a proxy answer \
                 waits up to 0.8 s, at random)",
                format!(
                    "the host end {} of {address} has proxy_arp {on}, {} proxy entry for \
                     {GATEWAY}, and proxy_delay {delay}",
                    end.name,
                    if entry { "a" } else { "no" }
                ),
            ));
        }
    }
    Ok(())
}

/// Who answers the container's ARP for the gateway: the MAC in the reply to its busybox
/// `arping` (a broadcast request, as the kernel sends one), if one came within `seconds`.
fn gateway_mac(container: &Running, seconds: u32) -> anyhow::Result<Option<String>> {
    let out = container.exec(
        "arping",
        &["-f", "-c", "1", "-w", &seconds.to_string(), "-I", "eth0", &GATEWAY.to_string()],
    )?;
    // `Unicast reply from 169.254.1.1 [0A:EF:38:DA:46:AC] 0.008ms`
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Ok(text
        .lines()
        .find(|l| l.contains("reply from"))
        .and_then(|l| l.split_once('[')?.1.split_once(']'))
        .map(|(mac, _)| mac.to_ascii_lowercase()))
}

pub(super) fn arp(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    for container in running.iter() {
        let end = super::host_end(probe, container)?;
        let mac = gateway_mac(container, 3)?;
        if mac.as_deref() != Some(end.mac.as_str()) {
            return Err(Outcome::failed(
                format!(
                    "container {}'s ARP for {GATEWAY} is answered by its host end {} with its \
                     MAC {}",
                    container.name, end.name, end.mac
                ),
                format!(
                    "{}\n{}",
                    match mac {
                        Some(mac) => format!("it was answered with {mac}"),
                        None => "container# arping -f -c1 -w3 -I eth0 169.254.1.1: no reply within 3 s"
                            .to_string(),
                    },
                    lab_view(probe)
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn needs_route(probe: &Probe) -> Verdict {
    let host = observe::host_network()?;
    if host.route_to(GATEWAY).is_some() {
        return Err(Outcome::LabError {
            message: format!("the lab host of this check has a route covering {GATEWAY}"),
        });
    }
    let mut starting = probe.spawn("a", &[], SLEEP)?;
    let running = loop {
        if starting.pid().is_some() {
            match starting.running() {
                Ok(running) => break running,
                Err(again) => starting = again,
            }
        } else if starting.has_ended() {
            // Refused: the step's own error, as the runtime reports it; and nothing kept.
            match starting.finish() {
                Ok(_) | Err(Outcome::HookFailed { .. }) | Err(Outcome::Failed { .. }) => {}
                Err(trouble) => return Err(trouble),
            }
            let kept = super::records(probe);
            if !kept.is_empty() {
                return Err(Outcome::failed(
                    "a refused container keeps no address",
                    super::records_view(probe),
                ));
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let answered = eth0_address(&observe::inside(&running)?).is_some()
        && gateway_mac(&running, 3)?.is_some();
    let view = lab_view(probe);
    running.stop()?;
    if !answered {
        return Err(Outcome::failed(
            format!(
                "on a lab host with no route covering {GATEWAY} (no default route), a container \
                 is refused with a clear error (`ip route get {GATEWAY}` fails): proxy ARP \
                 answers only for addresses the host routes elsewhere"
            ),
            format!(
                "container a started, and its ARP for {GATEWAY} was not answered within 3 s\n{view}"
            ),
        ));
    }
    Ok(())
}
