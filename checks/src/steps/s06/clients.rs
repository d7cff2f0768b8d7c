//! The clients of the published ports: real sockets from the lab's internet and the lab host,
//! busybox's wget from a container.

use super::{observe, page_of};
use crate::probe::{Probe, Running};
use crate::sockets;
use crate::verdict::{Outcome, Verdict};
use anyhow::Result;
use lab::addresses::HOST_ADDR;
use lab::endpoint::{From, To};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The network namespace of the lab's internet (the thread of this process that owns it).
pub(super) fn internet_netns(probe: &Probe) -> PathBuf {
    PathBuf::from(format!("/proc/{}/ns/net", probe.lab.internet_tid()))
}

/// `GET http://198.51.100.2:PORT/` from the lab's internet (its router, 198.51.100.1).
fn from_the_internet(probe: &Probe, port: u16) -> Result<String> {
    let to = SocketAddr::from((HOST_ADDR, port));
    sockets::in_netns(internet_netns(probe), move || {
        // A connection that timed out is tried once more: on a machine loaded to the hilt
        // (eight `check all` at once on two cores) a SYN and its retransmission can both go
        // unanswered for 3 s through a path that is right, and that is no verdict on the
        // learner's rules. A wrong path (a rule to a dead container) times out both times.
        match sockets::http_get(to) {
            Err(e) if sockets::timed_out(&e) => sockets::http_get(to),
            got => got,
        }
    })?
}

/// Fails unless `GET http://198.51.100.2:PORT/` from the lab's internet gets the page of
/// container `name`.
pub(super) fn internet_gets(probe: &Probe, port: u16, name: &str) -> Verdict {
    internet_gets_page(probe, port, &page_of(name, 80))
}

/// Fails unless `GET http://198.51.100.2:PORT/` from the lab's internet gets `page`.
pub(super) fn internet_gets_page(probe: &Probe, port: u16, page: &str) -> Verdict {
    let got = from_the_internet(probe, port);
    let source = From::Internet;
    expect_page(probe, "from the lab's internet", &source, HOST_ADDR, port, got, page)
}

/// `GET http://198.51.100.2:PORT/` from the lab's internet: the body, or why there is none.
pub(super) fn internet_get(probe: &Probe, port: u16) -> Result<String> {
    from_the_internet(probe, port)
}

/// Fails unless `GET http://HOST:PORT/` from the lab host gets the page of container `name`.
pub(super) fn host_gets(probe: &Probe, from: &str, host: Ipv4Addr, port: u16, name: &str) -> Verdict {
    let got = sockets::http_get(SocketAddr::from((host, port)));
    expect_page(probe, from, &From::Host, host, port, got, &page_of(name, 80))
}

/// Fails unless `got` is `page`.
fn expect_page(
    probe: &Probe,
    from: &str,
    source: &From,
    host: Ipv4Addr,
    port: u16,
    got: Result<String>,
    page: &str,
) -> Verdict {
    match got {
        Ok(body) if body.trim() == page => Ok(()),
        other => Err(Outcome::failed(
            format!("GET http://{host}:{port}/ {from} returns '{page}'"),
            format!(
                "{}\n{}\n{}",
                said(&other),
                probe.trace(source, &To::tcp(host, port)),
                probe.diagram()
            ),
        )),
    }
}

/// Fails unless busybox wget in `client` gets the page of container `name` through the
/// lab host's address.
pub(super) fn expect_wget(probe: &Probe, client: &Running, port: u16, name: &str) -> Verdict {
    let url = format!("http://{HOST_ADDR}:{port}/");
    let page = page_of(name, 80);
    match wget(client, &url)? {
        Ok(body) if body.trim() == page => Ok(()),
        other => Err(Outcome::failed(
            format!(
                "container# wget -qO- {url} in container {} returns '{page}'",
                client.name
            ),
            format!(
                "{}\n{}\n{}",
                wget_said(&url, &other),
                probe.trace_from(client, &To::tcp(HOST_ADDR, port)),
                probe.diagram()
            ),
        )),
    }
}

/// busybox `wget -qO- URL` in `client` (under `timeout 5`): the body, or what it said.
pub(super) fn wget(client: &Running, url: &str) -> anyhow::Result<Result<String, String>> {
    let wget = client.exec("timeout", &["5", "wget", "-qO-", url])?;
    if wget.status.success() {
        return Ok(Ok(String::from_utf8_lossy(&wget.stdout).into_owned()));
    }
    Ok(Err(if observe::killed_by_timeout(&wget.status) {
        "no answer within 5 s".to_string()
    } else {
        observe::text(&wget)
    }))
}

/// What a wget got, for reports.
pub(super) fn wget_said(url: &str, got: &Result<String, String>) -> String {
    match got {
        Ok(body) => format!("container# wget -qO- {url}\n{}", body.trim_end()),
        Err(said) => format!("container# wget -qO- {url}\n{said}"),
    }
}

/// What a client got, for reports.
pub(super) fn said(got: &Result<String>) -> String {
    match got {
        Ok(body) if body.is_empty() => "an empty answer".to_string(),
        Ok(body) => format!("the answer was: {body}"),
        Err(e) => format!("{e:#}"),
    }
}
