//! The lab's "internet": a network namespace owned by one thread of the lab process, holding
//! the router end of the uplink and the lab's servers. Its sockets are bound inside it, so they
//! answer there whichever thread serves them.

use crate::addresses::*;
use crate::dns::Zone;
use crate::netcmd;
use crate::web;
use anyhow::{anyhow, Context, Result};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{gettid, Pid};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::mpsc;
use std::thread;

/// The running internet.
pub struct Internet {
    /// The thread that owns the internet's network namespace (usable as a PID by
    /// `ip ... netns` and `nsenter -t`).
    pub tid: Pid,
}

/// Creates the internet namespace, its end of the uplink (the other end appears in the
/// namespace of process `host`), and starts the servers.
pub fn start(host: Pid) -> Result<Internet> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("internet".into())
        .spawn(move || match build(host) {
            Ok(servers) => {
                let _ = tx.send(Ok(gettid()));
                servers.run();
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        })
        .context("starting the internet thread")?;
    let tid = rx
        .recv()
        .map_err(|_| anyhow!("the internet thread died while starting"))??;
    Ok(Internet { tid })
}

struct Servers {
    zone: Zone,
    /// The lab's resolver and the second one (the same names), each over UDP and TCP.
    dns: Vec<(UdpSocket, TcpListener)>,
    web: Vec<TcpListener>,
}

fn build(host: Pid) -> Result<Servers> {
    unshare(CloneFlags::CLONE_NEWNET).context("creating the internet's network namespace")?;
    crate::sandbox::ipv4_only()?;
    netcmd::ip_batch(&[
        "link set lo up".to_string(),
        format!("link add {ROUTER_UPLINK} type veth peer name {HOST_UPLINK} netns {host}"),
        format!("addr add {ROUTER_ADDR}/{UPLINK_PREFIX} dev {ROUTER_UPLINK}"),
        format!("link set {ROUTER_UPLINK} up"),
        format!("addr add {WEB_ADDR}/32 dev lo"),
        format!("addr add {DNS_ADDR}/32 dev lo"),
        format!("addr add {ISP_DNS_ADDR}/32 dev lo"),
    ])
    .context("wiring the lab's internet")?;
    let mut dns = Vec::new();
    for addr in [DNS_ADDR, ISP_DNS_ADDR] {
        let at = SocketAddr::from((addr, 53));
        dns.push((
            UdpSocket::bind(at).with_context(|| format!("binding the DNS server {addr} (udp)"))?,
            TcpListener::bind(at)
                .with_context(|| format!("binding the DNS server {addr} (tcp)"))?,
        ));
    }
    Ok(Servers {
        zone: Zone::new(zone()).context("the lab's DNS zone")?,
        dns,
        web: web::PORTS
            .iter()
            .map(|port| TcpListener::bind((WEB_ADDR, *port)))
            .collect::<std::io::Result<_>>()
            .context("binding the web server")?,
    })
}

/// Serves `listener` on a thread of its own.
fn serve_tcp(zone: &Zone, listener: TcpListener) {
    let zone = zone.clone();
    let _ = thread::Builder::new()
        .name("dns-tcp".into())
        .spawn(move || zone.serve_tcp(listener));
}

impl Servers {
    /// Serves forever; this thread keeps the namespace's owner alive.
    fn run(self) {
        let zone = self.zone;
        for web in self.web {
            let _ = thread::Builder::new()
                .name("web".into())
                .spawn(move || web::serve(web));
        }
        let mut dns = self.dns.into_iter();
        let first = dns.next();
        for (udp, tcp) in dns {
            let udp_zone = zone.clone();
            let _ = thread::Builder::new()
                .name("dns-udp".into())
                .spawn(move || udp_zone.serve_udp(udp));
            serve_tcp(&zone, tcp);
        }
        // This thread serves the lab's resolver over UDP, forever.
        if let Some((udp, tcp)) = first {
            serve_tcp(&zone, tcp);
            zone.serve_udp(udp);
        }
    }
}
