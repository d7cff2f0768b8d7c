//! Step 06: published ports. A busybox httpd serves `page of NAME` on port 80 inside each
//! container; real sockets ask for it from the lab's internet, from the lab host (its own
//! address and 127.0.0.1), from another container and from the container itself.

mod clients;
mod localnet;
mod lock;
mod negative;
mod ports;
mod rules;

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{stop_all, Probe, Running};
use crate::verdict::{Outcome, Verdict};
use clients::{expect_wget, host_gets, internet_gets};
use lab::addresses::containers::BRIDGE;
use lab::addresses::HOST_ADDR;
use lab::state::netfilter::Packet;
use lab::state::Start;
use lab::Profile;
use localnet::{localhost, localnet_scope};
use lock::publish_lock;
use negative::{remote_port, source_kept, unpublished};
use ports::every_port;
use rules::{cleanup, conflict, stale};
use std::net::Ipv4Addr;
use std::time::Duration;

/// How long a container's httpd may take to answer once the container runs.
const SERVER_START: Duration = Duration::from_secs(3);
/// What the clients of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];

/// No checks of this set share a lab (see `steps::TOGETHER`).
pub const TOGETHER: &[&[&str]] = &[];

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
        name: "remote-port",
        title: "while a container publishes 8080, 203.0.113.80:8080 from another container and \
                from the lab host is still answered by the remote web server",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: remote_port,
    },
    Check {
        name: "unpublished",
        title: "a port nobody published is untouched: 198.51.100.2:8081 is not the container's, \
                the lab host's 127.0.0.1:8081 is not translated",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: unpublished,
    },
    Check {
        name: "every-port",
        title: "-p 8080:80 -p 8081:81 -p 5353:53/udp: each port reaches its own container port, \
                and the UDP one publishes no TCP",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: every_port,
    },
    Check {
        name: "source-kept",
        title: "the published container sees its clients' own addresses: the lab's internet \
                through 8080, another container reaching it directly",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: source_kept,
    },
    Check {
        name: "publish-lock",
        title: "publishing waits for the lock on ipam/lock and then sees a port published meanwhile",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: publish_lock,
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
        title: "after the containers ended, their ports (8080, 8081, 5353/udp: each seen \
                published first) are translated no more, no rule of theirs is left, \
                route_localnet still 0 on all and eth0",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup,
    },
];

/// `-p 8080:80`, the publication most checks use.
const WEB: &[&str] = &["-p", "8080:80"];

pub(crate) fn from_internet(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    internet_gets(probe, 8080, "web")?;
    stop_all(vec![web])
}

fn from_host(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    host_gets(probe, "from the lab host", HOST_ADDR, 8080, "web")?;
    stop_all(vec![web])
}

fn from_container(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    let client = probe.start("client", SLEEP)?;
    expect_wget(probe, &client, 8080, "web")?;
    stop_all(vec![client, web])
}

fn hairpin(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    if let Err(e) = expect_wget(probe, &web, 8080, "web") {
        return Err(with_more(e, &observe::or_error(bridge_view(&web))));
    }
    stop_all(vec![web])
}

fn two_ports(probe: &Probe) -> Verdict {
    let one = serve(probe, "one", &["-p", "8080:80"])?;
    let two = serve(probe, "two", &["-p", "8081:80"])?;
    for (port, name) in [(8080, "one"), (8081, "two")] {
        internet_gets(probe, port, name)?;
    }
    // A survivor: once one has ended, two's port still reaches two.
    one.stop()?;
    internet_gets(probe, 8081, "two").map_err(|e| {
        with_more(
            e,
            "after container one ended (its port 8080 unpublished), container two's 8081 must \
             still be published",
        )
    })?;
    stop_all(vec![two])
}

fn udp(probe: &Probe) -> Verdict {
    let dns = probe.start_with("dns", &["-p", "5353:53/udp"], SLEEP)?;
    ports::expect_udp(probe, &dns, 5353, 53)?;
    stop_all(vec![dns])
}

fn docker_host(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
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

/// Starts container `name` with the options `options` (`-p 8080:80`) and a web server on
/// port 80 serving `page of NAME`, and waits until the server answers inside it.
fn serve(probe: &Probe, name: &str, options: &[&str]) -> Result<Running, Outcome> {
    serve_on(probe, name, options, &[80])
}

/// The page the web server of container `name` serves on its port `port`: `page of NAME`
/// on 80, `page of NAME port PORT` on any other.
fn page_of(name: &str, port: u16) -> String {
    match port {
        80 => format!("page of {name}"),
        _ => format!("page of {name} port {port}"),
    }
}

/// [`serve`] with a web server on each of `ports` (each serving [`page_of`] it).
fn serve_on(
    probe: &Probe,
    name: &str,
    options: &[&str],
    ports: &[u16],
) -> Result<Running, Outcome> {
    let servers: Vec<String> = ports
        .iter()
        .map(|port| {
            format!(
                "mkdir -p /tmp/www{port} && echo '{}' > /tmp/www{port}/index.html && \
                 httpd -p {port} -h /tmp/www{port}",
                page_of(name, *port)
            )
        })
        .collect();
    let script = format!("{} && exec sleep 600", servers.join(" && "));
    let running = probe.start_with(name, options, &["sh", "-c", &script])?;
    for port in ports {
        let url = format!("http://127.0.0.1:{port}/");
        let answered = observe::poll(SERVER_START, || {
            let wget = running.exec("timeout", &["2", "wget", "-qO-", &url]).ok()?;
            wget.status.success().then_some(())
        });
        if answered.is_none() {
            return Err(Outcome::LabError {
                message: format!(
                    "the web server of container {name} did not answer on 127.0.0.1:{port} \
                     inside it within {} s",
                    SERVER_START.as_secs()
                ),
            });
        }
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
    let host = observe::host()?;
    let inside = observe::inside(web)?;
    let mut lines = Vec::new();
    if let Some((end, _)) = observe::cable(&host, &inside) {
        if !end.hairpin {
            lines.push(format!(
                "no hairpin mode: hairpin mode is off on {} (container {}'s port of {BRIDGE}): \
                 a frame cannot leave the bridge by the port it came in by",
                end.name, web.name
            ));
        }
    }
    if let Some(own) = address(web) {
        let trace = host.trace(
            Start::Arrives(BRIDGE.to_string()),
            Packet::tcp(own, HOST_ADDR, 8080),
        );
        match (&trace.dnat, &trace.snat) {
            (None, _) => lines.push(format!(
                "the connection {own} → {HOST_ADDR}:8080 from container {} is not translated \
                 to it at all",
                web.name
            )),
            (Some(_), None) => lines.push(format!(
                "no hairpin masquerade: the connection {own} → {HOST_ADDR}:8080, translated to \
                 {}:{}, leaves by {} with its source {own} kept, so container {} answers \
                 itself directly and the reply never matches the connection it opened",
                trace.packet.dst,
                trace.packet.dport,
                trace.out_of().unwrap_or("?"),
                web.name
            )),
            (Some(_), Some((nat, at))) => {
                lines.push(format!("the hairpin connection is source-NATed: {nat} by {at}"))
            }
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
