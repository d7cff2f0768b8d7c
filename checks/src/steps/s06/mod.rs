//! Step 06: published ports. A busybox httpd serves `page of NAME` on port 80 inside each
//! container; real sockets ask for it from the lab's internet, from the lab host (its own
//! address and 127.0.0.1), from another container and from the container itself.

mod clients;
mod localnet;
mod rules;

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{stop_all, Probe, Running};
use crate::sockets;
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use clients::{expect_wget, host_gets, internet_gets, internet_netns, said};
use lab::addresses::containers::BRIDGE;
use lab::addresses::HOST_ADDR;
use lab::Profile;
use localnet::{localhost, localnet_scope};
use rules::{cleanup, conflict, stale};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

/// How long a container's httpd may take to answer once the container runs.
const SERVER_START: Duration = Duration::from_secs(3);
/// What the clients of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "from-internet",
        title: "GET 198.51.100.2:8080 from the lab's internet returns the container's page",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: from_internet,
    },
    Check {
        name: "from-host",
        title: "GET 198.51.100.2:8080 from the lab host itself returns the page (OUTPUT)",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: from_host,
    },
    Check {
        name: "localhost",
        title: "GET 127.0.0.1:8080 on the lab host returns the page",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: localhost,
    },
    Check {
        name: "localnet-scope",
        title: "route_localnet is 1 on netlab0 only: still 0 on all, default and eth0",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: localnet_scope,
    },
    Check {
        name: "from-container",
        title: "GET 198.51.100.2:8080 from a second container returns the page",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: from_container,
    },
    Check {
        name: "hairpin",
        title: "GET 198.51.100.2:8080 from the publishing container itself returns its page",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: hairpin,
    },
    Check {
        name: "two-ports",
        title: "two containers publishing 8080 and 8081 each get their own traffic",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: two_ports,
    },
    Check {
        name: "udp",
        title:
            "-p 5353:53/udp: a datagram to 198.51.100.2:5353 reaches the container's port 53",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: udp,
    },
    Check {
        name: "conflict",
        title: "publishing a host port already published fails clearly and adds no rule",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: conflict,
    },
    Check {
        name: "stale",
        title: "the rules of a step binary killed with SIGKILL are removed, not left to \
                send traffic to a dead container",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: stale,
    },
    Check {
        name: "docker-host",
        title: "with FORWARD policy DROP, the published port answers; the policy stays DROP",
        hint: 1,
        limit: LIMIT,
        profile: Profile::DockerHost,
        run: docker_host,
    },
    Check {
        name: "cleanup",
        title: "after the containers ended: no DNAT rule, no rule of theirs, route_localnet \
                still 0 on all and eth0",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup,
    },
];

fn from_internet(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    internet_gets(probe, 8080, "web")?;
    stop_all(vec![web])
}

fn from_host(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    host_gets(probe, "from the lab host", HOST_ADDR, 8080, "web")?;
    stop_all(vec![web])
}

fn from_container(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let client = probe.start("client", SLEEP)?;
    expect_wget(probe, &client, 8080, "web")?;
    stop_all(vec![client, web])
}

fn hairpin(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    if let Err(e) = expect_wget(probe, &web, 8080, "web") {
        return Err(with_more(e, &observe::or_error(bridge_view(&web))));
    }
    stop_all(vec![web])
}

fn two_ports(probe: &Probe) -> Verdict {
    let one = serve(probe, "one", "8080:80")?;
    let two = serve(probe, "two", "8081:80")?;
    for (port, name) in [(8080, "one"), (8081, "two")] {
        internet_gets(probe, port, name)?;
    }
    stop_all(vec![one, two])
}

fn udp(probe: &Probe) -> Verdict {
    let dns = probe.start_with("dns", &["-p", "5353:53/udp"], SLEEP)?;
    // The container's port 53 is answered by a socket of this check, opened in its namespace.
    let netns = PathBuf::from(format!("/proc/{}/ns/net", dns.pid));
    let socket = sockets::in_netns(netns, || UdpSocket::bind(("0.0.0.0", 53)))?
        .context("binding port 53 in the container's namespace")?;
    sockets::udp_answer(socket, "answer of dns".to_string());
    let to = SocketAddr::from((HOST_ADDR, 5353));
    let asked = sockets::in_netns(internet_netns(probe), move || {
        sockets::udp_ask(to, "question")
    })?;
    match asked {
        Ok(answer) if answer.starts_with("answer of dns") => {}
        other => {
            return Err(Outcome::failed(
                format!(
                    "a datagram from the lab's internet to {to} reaches port 53 of container dns, \
                     and its answer comes back"
                ),
                format!("{}\n{}", said(&other), probe.diagram()),
            ))
        }
    }
    stop_all(vec![dns])
}

fn docker_host(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let client = probe.start("client", SLEEP)?;
    internet_gets(probe, 8080, "web").map_err(|e| {
        with_more(
            e,
            &observe::or_error(observe::host().map(|h| observe::forward_chains(&h))),
        )
    })?;
    expect_wget(probe, &client, 8080, "web")?;
    let host = observe::host()?;
    if !observe::forward_policy_is_drop(&host) {
        return Err(Outcome::failed(
            "the FORWARD policy is still DROP: publishing adds rules, it never opens the chain",
            observe::forward_chains(&host),
        ));
    }
    stop_all(vec![client, web])
}

/// Starts container `name` publishing `ports` with a web server on port 80 serving
/// `page of NAME`, and waits until the server answers inside it.
fn serve(probe: &Probe, name: &str, ports: &str) -> Result<Running, Outcome> {
    let script = format!(
        "mkdir -p /tmp/www && echo 'page of {name}' > /tmp/www/index.html && \
         exec httpd -f -p 80 -h /tmp/www"
    );
    let running = probe.start_with(name, &["-p", ports], &["sh", "-c", &script])?;
    let answered = observe::poll(SERVER_START, || {
        let wget = running
            .exec("timeout", &["2", "wget", "-qO-", "http://127.0.0.1/"])
            .ok()?;
        wget.status.success().then_some(())
    });
    if answered.is_none() {
        return Err(Outcome::LabError {
            message: format!(
                "the web server of container {name} did not answer on 127.0.0.1:80 inside it \
                 within {} s",
                SERVER_START.as_secs()
            ),
        });
    }
    Ok(running)
}

/// The container's address on eth0, from its namespace.
fn address(container: &Running) -> Option<Ipv4Addr> {
    let inside = observe::inside(container).ok()?;
    inside.link("eth0")?.addrs.first().map(|(addr, _)| *addr)
}

/// The hairpin mode of every port of the bridge, the publishing container's first.
fn bridge_view(web: &Running) -> anyhow::Result<String> {
    let host = observe::host_network()?;
    let inside = observe::inside(web)?;
    let mut lines = Vec::new();
    if let Some((end, _)) = observe::cable(&host, &inside) {
        if !end.hairpin {
            lines.push(format!(
                "hairpin mode is off on {} (container {}'s port of {BRIDGE}): a frame cannot \
                 leave the bridge by the port it came in by",
                end.name, web.name
            ));
        }
    }
    lines.push(format!("the ports of {BRIDGE} (hairpin mode of each):"));
    lines.extend(
        host.links
            .iter()
            .filter(|l| l.master.as_deref() == Some(BRIDGE))
            .map(|l| {
                format!(
                    "  {}: hairpin {}",
                    l.name,
                    if l.hairpin { "on" } else { "off" }
                )
            }),
    );
    Ok(lines.join("\n"))
}

/// Appends more of what was observed to a failure.
fn with_more(outcome: Outcome, more: &str) -> Outcome {
    match outcome {
        Outcome::Failed { expected, observed } => Outcome::Failed {
            expected,
            observed: format!("{observed}\n{more}"),
        },
        other => other,
    }
}
