//! Traffic: the containers reach each other (from their own addresses: nothing between them
//! is masqueraded) and the lab's internet (masqueraded), with the FORWARD policy ACCEPT or, as
//! on a Docker host, DROP.

use super::ipam::{address_of, eth0_address};
use super::{lab_view, observe, start_all, stop_all, three};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid as NixPid;
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use lab::addresses::containers::{BRIDGE, FIRST, GATEWAY, SUBNET};
use lab::addresses::{HOST_ADDR, HOST_UPLINK, WEB_ADDR};
use lab::netcmd;
use lab::state::netfilter::Packet;
use std::net::Ipv4Addr;
use std::process::{Child, ChildStdin, Stdio};
use std::time::Duration;

/// Another address of the lab host's uplink network, as a host with two addresses would send
/// from.
const OTHER_HOST_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 3);
/// The port of the container-to-container TCP check.
const PORT: &str = "7000";

pub(crate) fn ping_each_other(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    for (from, to) in [(0, 1), (1, 0), (1, 2), (2, 0)] {
        ping(probe, &running[from], &running[to])?;
    }
    Ok(())
}

pub(super) fn source_address(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let (a, b) = (&running[0], &running[1]);
    let (from, to) = (address_of(a)?, address_of(b)?);
    let between = Packet::tcp(from, to, 7000).iif(BRIDGE).oif(BRIDGE);
    arrives_from_own_address(a, b, (from, to), &between, &format!("on {BRIDGE}"))
}

/// A TCP connection from container `a` to container `b` (their addresses `from` and `to`)
/// arrives from `from`: nothing between them is masqueraded. `between` is that packet on the
/// lab host, for the report; `path` says how it goes there ("on netlab0").
pub(crate) fn arrives_from_own_address(
    a: &Running,
    b: &Running,
    (from, to): (Ipv4Addr, Ipv4Addr),
    between: &Packet,
    path: &str,
) -> Verdict {
    // Busybox's nc ends when its input does, and when its peer's end closes: each input is a
    // pipe held here, closed once the connection has been seen. `timeout` ends them anyway
    // if it never is (a failure).
    let listener = Helper::spawn(b, &["timeout", "10", "nc", "-l", "-p", PORT])
        .context("starting nc -l in container b")?;
    let listen_filter = format!("sport = :{PORT}");
    let listening = observe::poll(Duration::from_secs(3), || {
        let out = b.in_netns("ss", &["-tlnH", &listen_filter]).ok()?;
        (!out.stdout.is_empty()).then_some(())
    });
    if listening.is_none() {
        return Err(Outcome::LabError {
            message: format!("nc -l -p {PORT} did not listen in container b"),
        });
    }
    let client = Helper::spawn(a, &["timeout", "5", "nc", &to.to_string(), PORT])
        .context("starting nc in container a")?;
    let peer = observe::poll(Duration::from_secs(4), || {
        let out = b
            .in_netns("ss", &["-tnH", "state", "established", &listen_filter])
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let last = text.split_whitespace().last()?;
        // `10.0.0.2:40086`, or `[::ffff:10.0.0.2]:40086` from a dual-stack socket.
        let ip = last.rsplit_once(':').map_or(last, |(ip, _)| ip);
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Some(ip.trim_start_matches("::ffff:").to_string())
    });
    let expected = format!(
        "a TCP connection from container a ({from}) to container b ({to}:{PORT}) arrives from \
         {from}: traffic between two containers {path} is not masqueraded"
    );
    match peer {
        None => {
            return Err(Outcome::failed(
                expected,
                format!(
                    "no connection arrived within 4 s\n{}",
                    nat_report(between)
                ),
            ))
        }
        Some(peer) if peer != from.to_string() => {
            return Err(Outcome::failed(
                expected,
                format!(
                    "container b saw the connection come from {peer}{}\n{}",
                    if peer == GATEWAY.to_string() {
                        " (the bridge's address: MASQUERADE rewrote it)"
                    } else if peer == HOST_ADDR.to_string() {
                        " (the lab host's address: MASQUERADE rewrote it)"
                    } else {
                        ""
                    },
                    nat_report(between)
                ),
            ))
        }
        Some(_) => {}
    }
    // The containers stay, for the other checks of the lab: the client's input closed ends
    // the connection, and both nc with it.
    client.finish();
    listener.finish();
    Ok(())
}

pub(crate) fn internet(probe: &Probe) -> Verdict {
    for container in three(probe)?.iter() {
        web(probe, container)?;
    }
    own_traffic_untouched()
}

/// A negative probe: what the lab host sends from another of its addresses (a host has
/// several) keeps its source address; the containers' NAT is for their subnet alone.
pub(crate) fn own_traffic_untouched() -> Verdict {
    let host = observe::host()?;
    let own = Packet::tcp(OTHER_HOST_ADDR, WEB_ADDR, 80).oif(HOST_UPLINK);
    let rules = observe::snat_rules(&host, &own);
    if !rules.is_empty() {
        return Err(Outcome::failed(
            format!(
                "the lab host's own traffic from another of its addresses ({OTHER_HOST_ADDR}) \
                 leaving {HOST_UPLINK} is not masqueraded: the containers' MASQUERADE rule is \
                 for their subnet alone (`-s {SUBNET}`)"
            ),
            format!(
                "{}\nrules that would rewrite it:\n{}",
                observe::snat_explained(&host, &own),
                observe::rules_lines(&rules)
            ),
        ));
    }
    Ok(())
}

pub(crate) fn docker_host(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b"])?;
    web(probe, &running[0])?;
    ping(probe, &running[0], &running[1])?;
    ping(probe, &running[1], &running[0])?;
    policy_is_drop("while the containers run")?;
    stop_all(running)?;
    policy_is_drop("after the containers ended")
}

/// Busybox's ping from one container to another's address.
pub(super) fn ping(probe: &Probe, from: &Running, to: &Running) -> Verdict {
    let target = address_of(to)?;
    ping_address(probe, from, target, &format!("container {} ({target})", to.name))
}

/// Busybox's ping from a container to its gateway, the bridge.
pub(super) fn ping_gateway(probe: &Probe, from: &Running) -> Verdict {
    ping_address(probe, from, GATEWAY, &format!("its gateway {BRIDGE} ({GATEWAY})"))
}

/// Busybox's ping from `from` to `target` (`whom`, for the report).
fn ping_address(probe: &Probe, from: &Running, target: Ipv4Addr, whom: &str) -> Verdict {
    let ping = from.exec("ping", &["-c", "1", "-W", "2", &target.to_string()])?;
    if !ping.status.success() {
        let source = source_of(from);
        let packet = Packet::icmp(source, target).iif(BRIDGE).oif(BRIDGE);
        return Err(Outcome::failed(
            format!("container {} pings {whom}", from.name),
            format!(
                "container# ping -c1 -W2 {target}\n{}\n{}\n{}\n{}",
                observe::text(&ping),
                probe.trace_from(from, &lab::endpoint::To::ping(target)),
                lab_view(probe),
                observe::or_error(observe::host().map(|h| observe::forward_view(&h, &packet)))
            ),
        ));
    }
    Ok(())
}

/// wget of the lab's web page from inside `container`; the server must see the lab host.
pub(super) fn web(probe: &Probe, container: &Running) -> Verdict {
    web_via(probe, container, source_of(container), BRIDGE)
}

/// [`web`] from `container`, whose address is `source` and whose packets reach the lab host
/// on `iif` (for the report).
pub(crate) fn web_via(probe: &Probe, container: &Running, source: Ipv4Addr, iif: &str) -> Verdict {
    let url = format!("http://{WEB_ADDR}/");
    let wget = container.exec("timeout", &["5", "wget", "-qO-", &url])?;
    let page = String::from_utf8_lossy(&wget.stdout).into_owned();
    let client = lab::web::client_of(&page).map(str::to_string);
    if !wget.status.success() || client != Some(HOST_ADDR.to_string()) {
        let out = Packet::tcp(source, WEB_ADDR, 80).iif(iif).oif(HOST_UPLINK);
        return Err(Outcome::failed(
            format!(
                "wget -qO- {url} in container {} gets the page, and the server names the client \
                 {HOST_ADDR} (masqueraded)",
                container.name
            ),
            format!(
                "container# wget -qO- {url}\n{}\n{}\n{}\n{}",
                observe::text(&wget),
                probe.trace_from(container, &lab::endpoint::To::tcp(WEB_ADDR, 80)),
                nat_report(&out),
                observe::or_error(observe::host().map(|h| observe::forward_view(&h, &out)))
            ),
        ));
    }
    Ok(())
}

/// The container's address for a packet of a report: its own, else the first of the subnet.
fn source_of(container: &Running) -> Ipv4Addr {
    observe::inside(container)
        .ok()
        .and_then(|inside| eth0_address(&inside))
        .unwrap_or(FIRST)
}

/// What the lab host's NAT does to `packet`, and its NAT rules, for reports.
fn nat_report(packet: &Packet) -> String {
    observe::or_error(observe::host().map(|host| {
        format!(
            "{}\n{}",
            observe::snat_explained(&host, packet),
            observe::nat_view(&host)
        )
    }))
}

pub(crate) fn policy_is_drop(when: &str) -> Verdict {
    let host = observe::host()?;
    if !observe::forward_policy_is_drop(&host) {
        return Err(Outcome::failed(
            format!(
                "the FORWARD policy stays DROP {when}: explicit ACCEPT rules for the containers' \
                 traffic, \
                 never a change of policy"
            ),
            observe::forward_chains(&host),
        ));
    }
    Ok(())
}

/// A program inside a container (nsenter runs it), its input a pipe held here. Reaped when
/// dropped: killed first, with the program, if it still runs.
struct Helper {
    nsenter: Child,
    input: Option<ChildStdin>,
}

impl Helper {
    /// `program` and its arguments (`args[0]`), inside `container`.
    fn spawn(container: &Running, args: &[&str]) -> anyhow::Result<Helper> {
        let mut nsenter = netcmd::in_container(container.pid, args[0])
            .args(&args[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let input = nsenter.stdin.take();
        Ok(Helper { nsenter, input })
    }

    /// Closes the program's input and waits for its end (and nsenter's).
    fn finish(mut self) {
        drop(self.input.take());
        let _ = self.nsenter.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if self.input.take().is_none() {
            return;
        }
        if let Ok(Some(_)) = self.nsenter.try_wait() {
            return;
        }
        // The program (nsenter's child, in the container's PID namespace) is killed, and
        // nsenter, its parent, reaps it and ends. Killing nsenter instead would leave it to
        // the lab's init, and the container's PID namespace, kept for the other checks, could
        // not go away until someone reaped it.
        let pid = self.nsenter.id();
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default();
        let mut killed = false;
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            killed |= kill(NixPid::from_raw(child), Signal::SIGKILL).is_ok();
        }
        if !killed {
            // No child (not forked yet, or gone): nothing of it is left in the container.
            let _ = self.nsenter.kill();
        }
        let _ = self.nsenter.wait();
    }
}
