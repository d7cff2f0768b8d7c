//! A packet as the firewall sees it, and what the walker needs to know of its namespace.

use super::rule::{AddrType, CtState, Proto};
use crate::state::net::Net;
use std::net::Ipv4Addr;

/// A packet, as the hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The interface it came in by (None: sent by the namespace itself).
    pub iif: Option<String>,
    /// The interface it leaves by (None: not routed yet, or delivered here).
    pub oif: Option<String>,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: Proto,
    pub sport: u16,
    pub dport: u16,
    pub mark: u32,
    /// Its connection's state: `New` for a first packet.
    pub ct: CtState,
    /// Its connection's source was translated (`ctstate SNAT`).
    pub snatted: bool,
    /// Its connection's destination was translated (`ctstate DNAT`).
    pub dnatted: bool,
}

impl Packet {
    /// The first packet of a TCP connection from `src` (port 40000) to `dst:dport`.
    pub fn tcp(src: Ipv4Addr, dst: Ipv4Addr, dport: u16) -> Packet {
        Packet {
            iif: None,
            oif: None,
            src,
            dst,
            proto: Proto::Tcp,
            sport: 40000,
            dport,
            mark: 0,
            ct: CtState::New,
            snatted: false,
            dnatted: false,
        }
    }

    /// The same, for UDP.
    pub fn udp(src: Ipv4Addr, dst: Ipv4Addr, dport: u16) -> Packet {
        Packet {
            proto: Proto::Udp,
            ..Packet::tcp(src, dst, dport)
        }
    }

    /// An ICMP echo request (no ports).
    pub fn icmp(src: Ipv4Addr, dst: Ipv4Addr) -> Packet {
        Packet {
            proto: Proto::Icmp,
            sport: 0,
            dport: 0,
            ..Packet::tcp(src, dst, 0)
        }
    }

    pub fn iif(self, name: &str) -> Packet {
        Packet {
            iif: Some(name.to_string()),
            ..self
        }
    }

    pub fn oif(self, name: &str) -> Packet {
        Packet {
            oif: Some(name.to_string()),
            ..self
        }
    }
}

/// What the walker needs to know of the namespace: its addresses and, to reroute a packet
/// whose destination a NAT rule changed in OUTPUT, its routes.
pub trait Host {
    /// The type of `addr` here (`LOCAL` for one of its own addresses).
    fn addr_type(&self, addr: Ipv4Addr) -> AddrType;
    /// The interface a packet to `dst` leaves by (`lo` for a local address).
    fn route(&self, dst: Ipv4Addr) -> Option<String>;
    /// The address a packet leaving by `dev` is masqueraded to.
    fn masquerade_addr(&self, dev: &str) -> Option<Ipv4Addr>;
}

/// A host known by its addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locals {
    /// Local networks: each address as a /32, and whole prefixes of loopback devices.
    pub local: Vec<Net>,
    /// Broadcast addresses of the local networks.
    pub broadcast: Vec<Ipv4Addr>,
    /// (interface, its first IPv4 address).
    pub primary: Vec<(String, Ipv4Addr)>,
}

impl Locals {
    /// Local if in 127.0.0.0/8 or one of `addrs`.
    pub fn of(addrs: &[Ipv4Addr]) -> Locals {
        let mut local = vec![Net::new(Ipv4Addr::new(127, 0, 0, 0), 8)];
        local.extend(addrs.iter().map(|a| Net::new(*a, 32)));
        Locals {
            local,
            ..Locals::default()
        }
    }
}

impl Host for Locals {
    fn addr_type(&self, addr: Ipv4Addr) -> AddrType {
        if self.local.iter().any(|n| n.contains(addr)) {
            AddrType::Local
        } else if addr.is_multicast() {
            AddrType::Multicast
        } else if addr.is_broadcast() || self.broadcast.contains(&addr) {
            AddrType::Broadcast
        } else {
            AddrType::Unicast
        }
    }

    fn route(&self, dst: Ipv4Addr) -> Option<String> {
        (self.addr_type(dst) == AddrType::Local).then(|| "lo".to_string())
    }

    fn masquerade_addr(&self, dev: &str) -> Option<Ipv4Addr> {
        self.primary.iter().find(|(d, _)| d == dev).map(|(_, a)| *a)
    }
}
