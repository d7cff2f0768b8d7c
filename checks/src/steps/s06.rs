//! Step 06: published ports. A busybox httpd serves `page of NAME` on port 80 inside each
//! container; real sockets ask for it from the lab's internet, from the lab host (its own
//! address and 127.0.0.1), from another container and from the container itself.

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{Probe, Running};
use crate::sockets;
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::{HOST_ADDR, HOST_UPLINK};
use lab::netcmd;
use lab::Profile;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

/// The bridge of step 05.
const BRIDGE: &str = "netlab0";
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
    host_gets("from the lab host", HOST_ADDR, 8080, "web")?;
    stop_all(vec![web])
}

fn localhost(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    if let Err(e) = host_gets("from the lab host", Ipv4Addr::LOCALHOST, 8080, "web") {
        return Err(with_more(e, &localnet_view()));
    }
    stop_all(vec![web])
}

fn localnet_scope(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let wide = widened_localnet();
    if !wide.is_empty() {
        return Err(Outcome::failed(
            format!(
                "route_localnet stays 0 on all, default and {HOST_UPLINK}: set anywhere else \
                 than on {BRIDGE}, it lets other hosts reach the host's 127.0.0.1 services \
                 (CVE-2020-8558)"
            ),
            format!("set on: {}\n{}", wide.join(", "), localnet_view()),
        ));
    }
    stop_all(vec![web])
}

fn from_container(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let client = probe.start("client", SLEEP)?;
    expect_wget(&client, 8080, "web")?;
    stop_all(vec![client, web])
}

fn hairpin(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    if let Err(e) = expect_wget(&web, 8080, "web") {
        return Err(with_more(e, &bridge_view()));
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
                format!("{}\n{}", said(&other), picture()),
            ))
        }
    }
    stop_all(vec![dns])
}

fn conflict(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let before = nat_rules();
    let expected = "a second container asking for host port 8080 is refused with an error \
                    naming the port, and no rule is added";
    match probe.run_with("again", &["-p", "8080:80"], &["true"]) {
        Err(Outcome::HookFailed { message }) if message.contains("8080") => {}
        Err(Outcome::HookFailed { message }) => {
            return Err(Outcome::failed(
                expected,
                format!("the error does not name the port:\n{message}"),
            ))
        }
        Err(other) => return Err(other),
        Ok(finished) => {
            return Err(Outcome::failed(
                expected,
                format!(
                    "container again started (exit status {}); the nat table then:\n{}",
                    finished.status,
                    nat_view()
                ),
            ))
        }
    }
    let after = nat_rules();
    if after != before {
        return Err(Outcome::failed(
            expected,
            format!(
                "the nat table changed.\nbefore:\n{}\nafter:\n{}",
                before.join("\n"),
                after.join("\n")
            ),
        ));
    }
    host_gets(
        "from the lab host, after the refusal,",
        HOST_ADDR,
        8080,
        "web",
    )?;
    stop_all(vec![web])
}

fn stale(probe: &Probe) -> Verdict {
    let gone = serve(probe, "gone", "8080:80")?;
    gone.crash();
    // The dead container's address goes to a container without a server, so that a rule
    // left behind sends the port's traffic nowhere.
    let other = probe.start("other", SLEEP)?;
    let web = match serve(probe, "web", "8080:80") {
        Ok(web) => web,
        Err(Outcome::HookFailed { message }) => {
            return Err(Outcome::failed(
                "after the step binary of container gone was killed with SIGKILL, a new \
                 container can publish host port 8080: rules whose owner is dead are removed",
                format!("{message}\n{}", picture()),
            ))
        }
        Err(other) => return Err(other),
    };
    let dnat = nat_rules()
        .into_iter()
        .filter(|r| is_dnat(r) && names_port(r, 8080))
        .count();
    if dnat != 1 {
        return Err(Outcome::failed(
            "exactly one DNAT rule for port 8080: the new container's",
            format!("{dnat} of them\n{}", nat_view()),
        ));
    }
    internet_gets(probe, 8080, "web")?;
    stop_all(vec![web, other])
}

fn docker_host(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", "8080:80")?;
    let client = probe.start("client", SLEEP)?;
    internet_gets(probe, 8080, "web")
        .map_err(|e| with_more(e, &observe::iptables_view(&["-S", "FORWARD"])))?;
    expect_wget(&client, 8080, "web")?;
    let listing = netcmd::run("iptables", &["-w", "-S", "FORWARD"])?;
    if !listing.lines().any(|l| l.trim() == "-P FORWARD DROP") {
        return Err(Outcome::failed(
            "the FORWARD policy is still DROP: publishing adds rules, it never opens the chain",
            observe::iptables_view(&["-S", "FORWARD"]),
        ));
    }
    stop_all(vec![client, web])
}

fn cleanup(probe: &Probe) -> Verdict {
    let one = serve(probe, "one", "8080:80")?;
    let two = probe.start_with("two", &["-p", "8081:80", "-p", "5353:53/udp"], SLEEP)?;
    let addresses: Vec<Ipv4Addr> = [&one, &two].into_iter().filter_map(address).collect();
    stop_all(vec![one, two])?;
    // Theirs: any DNAT rule, any rule naming their ports or their addresses. The shared rules
    // (the chain, its jumps, the localhost MASQUERADE) may stay, as docker0's do, whatever
    // their names (CNI's portmap jumps to a chain called CNI-HOSTPORT-DNAT).
    let theirs = |rule: &String| {
        is_dnat(rule)
            || [8080, 8081, 5353]
                .into_iter()
                .any(|port| names_port(rule, port))
            || addresses
                .iter()
                .any(|a| rule.contains(&format!("{a}/32")) || rule.contains(&format!("{a}:")))
    };
    let left: Vec<String> = nat_rules().into_iter().filter(theirs).collect();
    if !left.is_empty() {
        return Err(Outcome::failed(
            "after both containers ended, no rule of theirs is left in the nat table (a DNAT \
             rule left behind sends a port's traffic to whoever gets the address next)",
            format!("left:\n{}\n{}", left.join("\n"), nat_view()),
        ));
    }
    let wide = widened_localnet();
    if !wide.is_empty() {
        return Err(Outcome::failed(
            format!("route_localnet is still 0 on all, default and {HOST_UPLINK}"),
            format!("set on: {}\n{}", wide.join(", "), localnet_view()),
        ));
    }
    Ok(())
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
    let output = container
        .in_netns("ip", &["-j", "addr", "show", "dev", "eth0"])
        .ok()?;
    observe::inet(&output.stdout, None).ok()?
}

fn stop_all(running: Vec<Running>) -> Verdict {
    for container in running {
        container.stop()?;
    }
    Ok(())
}

/// The network namespace of the lab's internet (the thread of this process that owns it).
fn internet_netns(probe: &Probe) -> PathBuf {
    PathBuf::from(format!("/proc/{}/ns/net", probe.lab.internet_tid()))
}

/// `GET http://198.51.100.2:PORT/` from the lab's internet (its router, 198.51.100.1).
fn from_the_internet(probe: &Probe, port: u16) -> Result<String> {
    let to = SocketAddr::from((HOST_ADDR, port));
    sockets::in_netns(internet_netns(probe), move || sockets::http_get(to))?
}

/// Fails unless `GET http://198.51.100.2:PORT/` from the lab's internet gets the page of
/// container `name`.
fn internet_gets(probe: &Probe, port: u16, name: &str) -> Verdict {
    let got = from_the_internet(probe, port);
    expect_page("from the lab's internet", HOST_ADDR, port, got, name)
}

/// Fails unless `GET http://HOST:PORT/` from the lab host gets the page of container `name`.
fn host_gets(from: &str, host: Ipv4Addr, port: u16, name: &str) -> Verdict {
    let got = sockets::http_get(SocketAddr::from((host, port)));
    expect_page(from, host, port, got, name)
}

/// Fails unless `got` is the page of container `name`.
fn expect_page(from: &str, host: Ipv4Addr, port: u16, got: Result<String>, name: &str) -> Verdict {
    let page = format!("page of {name}");
    match got {
        Ok(body) if body.trim() == page => Ok(()),
        other => Err(Outcome::failed(
            format!("GET http://{host}:{port}/ {from} returns '{page}'"),
            format!("{}\n{}", said(&other), picture()),
        )),
    }
}

/// Fails unless busybox wget in `client` gets the page of container `name` through the
/// lab host's address.
fn expect_wget(client: &Running, port: u16, name: &str) -> Verdict {
    let url = format!("http://{HOST_ADDR}:{port}/");
    let page = format!("page of {name}");
    let wget = client.exec("timeout", &["5", "wget", "-qO-", &url])?;
    let body = String::from_utf8_lossy(&wget.stdout).trim().to_string();
    if wget.status.success() && body == page {
        return Ok(());
    }
    Err(Outcome::failed(
        format!(
            "container# wget -qO- {url} in container {} returns '{page}'",
            client.name
        ),
        format!(
            "{}\n{}",
            if observe::killed_by_timeout(&wget.status) {
                "no answer within 5 s".to_string()
            } else {
                format!("container# wget -qO- {url}\n{}", observe::text(&wget))
            },
            picture()
        ),
    ))
}

fn said(got: &Result<String>) -> String {
    match got {
        Ok(body) if body.is_empty() => "an empty answer".to_string(),
        Ok(body) => format!("the answer was: {body}"),
        Err(e) => format!("{e:#}"),
    }
}

/// Whether a rule (as `iptables -S` writes it) translates destinations: its target is DNAT,
/// whatever the chain's names.
fn is_dnat(rule: &str) -> bool {
    let words: Vec<&str> = rule.split_whitespace().collect();
    words.windows(2).any(|w| w == ["-j", "DNAT"])
}

/// Whether a rule matches destination port `port`: `--dport PORT` or a `--dports` list
/// (multiport, as CNI's portmap writes its jumps) holding it.
fn names_port(rule: &str, port: u16) -> bool {
    let words: Vec<&str> = rule.split_whitespace().collect();
    words.windows(2).any(|w| {
        matches!(w[0], "--dport" | "--dports")
            && w[1].split([',', ':']).any(|p| p == port.to_string())
    })
}

/// The nat table's rules (`-A ...` lines), as `iptables -S` writes them.
fn nat_rules() -> Vec<String> {
    netcmd::run("iptables", &["-w", "-t", "nat", "-S"])
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("-A "))
        .map(String::from)
        .collect()
}

fn nat_view() -> String {
    observe::iptables_view(&["-t", "nat", "-S"])
}

/// The lab as `cargo xtask show` draws it: namespaces, cables, routes, NAT, hairpin ports.
fn picture() -> String {
    crate::show::diagram()
}

/// The places other than the bridge where route_localnet is on.
fn widened_localnet() -> Vec<String> {
    ["all", "default", HOST_UPLINK]
        .into_iter()
        .filter(|iface| localnet(iface).as_deref() != Some("0"))
        .map(String::from)
        .collect()
}

fn localnet(iface: &str) -> Option<String> {
    netcmd::sysctl(&format!("net.ipv4.conf.{iface}.route_localnet")).ok()
}

fn localnet_view() -> String {
    let lines: Vec<String> = ["all", "default", HOST_UPLINK, BRIDGE]
        .into_iter()
        .map(|iface| {
            format!(
                "net.ipv4.conf.{iface}.route_localnet = {}",
                localnet(iface).unwrap_or_else(|| "(none)".to_string())
            )
        })
        .collect();
    format!(
        "lab# sysctl net.ipv4.conf.*.route_localnet\n{}",
        lines.join("\n")
    )
}

fn bridge_view() -> String {
    let shown = netcmd::run("bridge", &["-d", "link", "show"]).unwrap_or_else(|e| format!("{e:#}"));
    // `4: veth11@eth0: <...> master netlab0 ...` then, on the next line, `hairpin off ...`.
    let mut ports = Vec::new();
    let mut port = "";
    for line in shown.lines().map(str::trim) {
        if let Some((_, rest)) = line.split_once(": ") {
            port = rest.split(['@', ':']).next().unwrap_or(rest);
        }
        if let Some(mode) = line
            .split_whitespace()
            .skip_while(|w| *w != "hairpin")
            .nth(1)
        {
            ports.push(format!("{port}: hairpin {mode}"));
        }
    }
    format!(
        "lab# bridge -d link show (hairpin mode of each port)\n{}",
        ports.join("\n")
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dnat_rule_is_one_whose_target_is_dnat_whatever_the_chains_are_called() {
        let docker = "-A NETLAB-PORTS -p tcp -m tcp --dport 8080 -m comment --comment \
                      netlab:web:4242 -j DNAT --to-destination 10.0.0.2:80";
        let portmap = "-A CNI-DN-a17def123e9711a5b42cb -p tcp -m tcp --dport 8080 -j DNAT \
                       --to-destination 10.0.0.2:80";
        let shared_jump = "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT";
        assert!(is_dnat(docker) && is_dnat(portmap));
        assert!(!is_dnat(shared_jump));
    }

    #[test]
    fn a_rule_names_a_port_by_dport_or_in_a_multiport_list() {
        assert!(names_port("-A X -p tcp -m tcp --dport 8080 -j DNAT", 8080));
        assert!(names_port(
            "-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 8081,8080 -j CNI-DN-1",
            8080
        ));
        assert!(!names_port(
            "-A X -p tcp -m tcp --dport 80801 -j DNAT",
            8080
        ));
        assert!(!names_port("-A X -p tcp -m tcp --dport 80 -j DNAT", 8080));
    }
}
