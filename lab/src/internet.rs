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
    dns_udp: UdpSocket,
    dns_tcp: TcpListener,
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
    ])
    .context("wiring the lab's internet")?;
    let dns = SocketAddr::from((DNS_ADDR, 53));
    Ok(Servers {
        zone: Zone::new(zone()).context("the lab's DNS zone")?,
        dns_udp: UdpSocket::bind(dns).context("binding the DNS server (udp)")?,
        dns_tcp: TcpListener::bind(dns).context("binding the DNS server (tcp)")?,
        web: web::PORTS
            .iter()
            .map(|port| TcpListener::bind((WEB_ADDR, *port)))
            .collect::<std::io::Result<_>>()
            .context("binding the web server")?,
    })
}

impl Servers {
    /// Serves forever; this thread keeps the namespace's owner alive.
    fn run(self) {
        let zone = self.zone;
        let tcp_zone = zone.clone();
        let dns_tcp = self.dns_tcp;
        let _ = thread::Builder::new()
            .name("dns-tcp".into())
            .spawn(move || tcp_zone.serve_tcp(dns_tcp));
        for web in self.web {
            let _ = thread::Builder::new()
                .name("web".into())
                .spawn(move || web::serve(web));
        }
        zone.serve_udp(self.dns_udp);
    }
}
