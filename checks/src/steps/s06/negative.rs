//! Negative probes: what is not a published port of the lab host goes where it went before.
//! The remote web server's own port 8080 stays its own, a port nobody published is
//! untouched, and the published container sees its clients' own addresses.

use super::clients::{internet_get, wget, wget_said};
use super::{address, observe, page_of, serve, stop_all, SLEEP, WEB};
use crate::probe::{Probe, Running};
use crate::sockets;
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use lab::addresses::containers::BRIDGE;
use lab::addresses::{HOST_ADDR, HOST_UPLINK, ROUTER_ADDR, WEB_ADDR};
use lab::state::netfilter::Packet;
use lab::state::{Netns, Start};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;

/// The remote web server's port that the publishing container also publishes.
const REMOTE: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(WEB_ADDR), 8080);

pub(super) fn remote_port(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    let client = probe.start("client", SLEEP)?;
    let url = format!("http://{REMOTE}/");
    let got = wget(&client, &url)?;
    let from = address(&client).unwrap_or(Ipv4Addr::UNSPECIFIED);
    expect_remote(
        probe,
        &format!("from container {}", client.name),
        &got,
        &wget_said(&url, &got),
        Start::Arrives(BRIDGE.to_string()),
        Packet::tcp(from, WEB_ADDR, REMOTE.port()),
    )?;
    let got = sockets::http_get(REMOTE).map_err(|e| format!("{e:#}"));
    expect_remote(
        probe,
        "from the lab host",
        &got,
        &format!("lab# wget -qO- {url}\n{}", either(&got)),
        Start::Sent,
        Packet::tcp(HOST_ADDR, WEB_ADDR, REMOTE.port()),
    )?;
    stop_all(vec![client, web])
}

/// Fails unless `got` is the remote web server's page for [`REMOTE`].
fn expect_remote(
    probe: &Probe,
    from: &str,
    got: &Result<String, String>,
    said: &str,
    start: Start,
    packet: Packet,
) -> Verdict {
    let remote = REMOTE.to_string();
    if let Ok(body) = got {
        if lab::web::server_of(body) == Some(remote.as_str()) {
            return Ok(());
        }
    }
    let expected = format!(
        "a connection {from} to {REMOTE}, the remote web server's port, is answered by it: \
         publishing 8080 is about the lab host's own addresses only"
    );
    let hijacked = matches!(got, Ok(body) if body.trim() == page_of("web", 80));
    let why = if hijacked {
        format!(
            "the connection to {REMOTE} was answered by container web: the jump to the chain \
             of published ports lacks `-m addrtype --dst-type LOCAL` (nft: `fib daddr type \
             local`), so port 8080 of every address is translated\n"
        )
    } else {
        String::new()
    };
    let model = observe::or_error(observe::host().map(|host| translated(&host, start, packet)));
    Err(Outcome::failed(
        expected,
        format!("{why}{said}\n{model}\n{}", probe.diagram()),
    ))
}

/// How the lab host's NAT rules translate `packet` starting at `start`, for reports.
fn translated(host: &Netns, start: Start, packet: Packet) -> String {
    let what = format!(
        "a connection {} → {}:{} ({})",
        packet.src,
        packet.dst,
        packet.dport,
        match &start {
            Start::Arrives(iif) => format!("in by {iif}"),
            Start::Sent => "sent by the lab host".to_string(),
        }
    );
    let trace = host.trace(start, packet);
    let mut lines = vec![match &trace.dnat {
        Some((nat, at)) => format!("{what}: {nat} by {at}"),
        None => format!("{what}: its destination is not translated"),
    }];
    if let Some((nat, at)) = &trace.snat {
        lines.push(format!("  and its source: {nat} by {at}"));
    }
    lines.join("\n")
}

/// The body, or what kept it from coming.
fn either(got: &Result<String, String>) -> &str {
    match got {
        Ok(body) | Err(body) => body.trim_end(),
    }
}

pub(super) fn unpublished(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    if let Ok(body) = internet_get(probe, 8081) {
        if body.trim() == page_of("web", 80) {
            return Err(Outcome::failed(
                format!(
                    "a connection from the lab's internet to {HOST_ADDR}:8081, a port nobody \
                     published, is not sent to container web"
                ),
                format!(
                    "the connection to {HOST_ADDR}:8081 was answered by container web\n{}",
                    observe::or_error(observe::host().map(|h| observe::nat_view(&h)))
                ),
            ));
        }
    }
    let host = observe::host()?;
    let cases = [
        (
            format!("from the lab's internet to {HOST_ADDR}:8081"),
            Start::Arrives(HOST_UPLINK.to_string()),
            Packet::tcp(ROUTER_ADDR, HOST_ADDR, 8081),
        ),
        (
            "sent by the lab host to its own 127.0.0.1:8081".to_string(),
            Start::Sent,
            Packet::tcp(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, 8081),
        ),
    ];
    for (what, start, packet) in cases {
        let trace = host.trace(start.clone(), packet.clone());
        if trace.dnat.is_some() || trace.snat.is_some() {
            return Err(Outcome::failed(
                format!(
                    "a connection {what}, a port nobody published, is not translated (neither \
                     its destination nor its source)"
                ),
                format!(
                    "{}\n{}",
                    translated(&host, start, packet),
                    observe::nat_view(&host)
                ),
            ));
        }
    }
    stop_all(vec![web])
}

pub(super) fn source_kept(probe: &Probe) -> Verdict {
    // The published container's port 80 is a server of this check, which names the client
    // address it saw.
    let web = probe.start_with("web", WEB, SLEEP)?;
    let netns = PathBuf::from(format!("/proc/{}/ns/net", web.pid));
    let listener = sockets::in_netns(netns, || TcpListener::bind(("0.0.0.0", 80)))?
        .context("binding port 80 in the container's namespace")?;
    std::thread::spawn(move || lab::web::serve(listener));
    let seen = internet_get(probe, 8080).map_err(|e| format!("{e:#}"));
    expect_client(
        probe,
        &web,
        &format!("a connection from the lab's internet ({ROUTER_ADDR}) to {HOST_ADDR}:8080"),
        ROUTER_ADDR,
        &seen,
        Packet::tcp(ROUTER_ADDR, address(&web).unwrap_or(Ipv4Addr::UNSPECIFIED), 80),
    )?;
    let client = probe.start("client", SLEEP)?;
    let (from, to) = (
        address(&client).unwrap_or(Ipv4Addr::UNSPECIFIED),
        address(&web).unwrap_or(Ipv4Addr::UNSPECIFIED),
    );
    let url = format!("http://{to}/");
    let seen = wget(&client, &url)?;
    expect_client(
        probe,
        &web,
        &format!("container client's connection to {to}:80"),
        from,
        &seen,
        Packet::tcp(from, to, 80),
    )?;
    stop_all(vec![client, web])
}

/// Fails unless the page `seen` says its server saw the client `client`.
fn expect_client(
    probe: &Probe,
    web: &Running,
    what: &str,
    client: Ipv4Addr,
    seen: &Result<String, String>,
    packet: Packet,
) -> Verdict {
    let saw = seen.as_ref().ok().and_then(|p| lab::web::client_of(p));
    if saw == Some(client.to_string().as_str()) {
        return Ok(());
    }
    let said = match saw {
        Some(other) => format!(
            "container {} saw it coming from {other}: its source was rewritten on the way \
             (a MASQUERADE of more than the container's connections to itself?)",
            web.name
        ),
        None => format!("no page: {}", either(seen)),
    };
    let model = observe::or_error(
        observe::host().map(|h| observe::snat_explained(&h, &packet.oif(BRIDGE))),
    );
    Err(Outcome::failed(
        format!(
            "{what} reaches container {} from {client}, its own address",
            web.name
        ),
        format!("{said}\n{model}\n{}", probe.diagram()),
    ))
}
