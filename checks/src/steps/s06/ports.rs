//! Every `-p` of a container is honoured, each to its own container port and protocol: TCP
//! and UDP are distinct, a UDP mapping publishes no TCP.

use super::clients::{internet_get, internet_gets, internet_gets_page, internet_netns, said};
use super::{observe, page_of, serve, serve_on, stop_all};
use crate::probe::{Probe, Running};
use crate::sockets;
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use lab::addresses::HOST_ADDR;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;

/// The options of the container publishing several ports.
const MANY: &[&str] = &["-p", "8080:80", "-p", "8081:81", "-p", "5353:53/udp"];

pub(super) fn every_port(probe: &Probe) -> Verdict {
    // Its TCP port 53 serves a page too: a UDP mapping that publishes TCP would reach it.
    let multi = serve_on(probe, "multi", MANY, &[80, 81, 53])?;
    for (port, container_port) in [(8080, 80), (8081, 81)] {
        internet_gets_page(probe, port, &page_of("multi", container_port)).map_err(|e| {
            super::with_more(
                e,
                &format!(
                    "container multi runs with {}: each -p publishes its own port",
                    MANY.join(" ")
                ),
            )
        })?;
    }
    expect_udp(probe, &multi, 5353, 53)?;
    if let Ok(body) = internet_get(probe, 5353) {
        if body.trim() == page_of("multi", 53) {
            return Err(Outcome::failed(
                format!(
                    "-p 5353:53/udp publishes UDP only: a TCP connection to {HOST_ADDR}:5353 \
                     does not reach container multi"
                ),
                format!(
                    "the TCP connection to {HOST_ADDR}:5353 was answered by container multi's \
                     TCP port 53\n{}",
                    observe::or_error(observe::host().map(|h| observe::nat_view(&h)))
                ),
            ));
        }
    }
    // Host port 5353/tcp is still free.
    let tcp = match serve(probe, "tcp", &["-p", "5353:80"]) {
        Ok(tcp) => tcp,
        Err(Outcome::HookFailed { message }) => {
            return Err(Outcome::failed(
                "while container multi publishes 5353/udp, a container can publish 5353/tcp: \
                 the same port number of the other protocol is another port",
                format!("container tcp (-p 5353:80) was refused:\n{message}"),
            ))
        }
        Err(other) => return Err(other),
    };
    internet_gets(probe, 5353, "tcp")?;
    stop_all(vec![tcp, multi])
}

/// Fails unless a datagram from the lab's internet to 198.51.100.2:`host_port` reaches port
/// `container_port` (UDP) of `container`, and its answer comes back. The container's port is
/// answered by a socket of this check, opened in its namespace.
pub(super) fn expect_udp(
    probe: &Probe,
    container: &Running,
    host_port: u16,
    container_port: u16,
) -> Verdict {
    let netns = PathBuf::from(format!("/proc/{}/ns/net", container.pid));
    let socket = sockets::in_netns(netns, move || UdpSocket::bind(("0.0.0.0", container_port)))?
        .with_context(|| format!("binding UDP port {container_port} in the container's namespace"))?;
    let answer = format!("answer of {}", container.name);
    sockets::udp_answer(socket, answer.clone());
    let to = SocketAddr::from((HOST_ADDR, host_port));
    let asked = sockets::in_netns(internet_netns(probe), move || {
        sockets::udp_ask(to, "question")
    })?;
    match asked {
        Ok(got) if got.starts_with(&answer) => Ok(()),
        other => Err(Outcome::failed(
            format!(
                "a datagram from the lab's internet to {to} reaches UDP port {container_port} \
                 of container {}, and its answer comes back",
                container.name
            ),
            format!("{}\n{}", said(&other), probe.diagram()),
        )),
    }
}
