//! One typed model of a network namespace's state, read from the real thing, one reader per
//! source: links, addresses and routes (rtnetlink, as `ip -j` lists them), sysctls (`/proc/sys/net`),
//! and the firewall (`iptables-save`, `iptables-legacy-save`, `nft -j`).
//!
//! Checks ask it questions of behaviour ([`Netns::trace`], [`Netns::masquerades`],
//! [`Netns::dnat`], [`Netns::forward_verdict`], [`Netns::diff`]) rather than of rule text, so
//! that an implementation in native nftables is judged like one in iptables.
//!
//! Every reader runs in a [`Place`]: this thread's namespace or a process's, never a
//! forbidden one. Reading never changes anything; a tool that is missing is a problem of the
//! result, not an error.

pub mod diff;
pub mod link;
pub mod net;
pub mod netfilter;
pub mod netlink;
pub mod place;
pub mod route;
pub mod rtnl;
pub mod sysctl;
pub mod trace;

pub use diff::NetnsChanges;
pub use link::Link;
pub use net::Net;
pub use netfilter::Netfilter;
pub use place::{Place, Where};
pub use route::Route;
pub use sysctl::Sysctls;
pub use trace::{End, Start, Trace};

use netfilter::{AddrType, Host, Locals};
use std::net::Ipv4Addr;

/// A network namespace's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netns {
    pub links: Vec<Link>,
    /// The main table (IPv4) unless read with [`route::Tables::All`].
    pub routes: Vec<Route>,
    pub sysctls: Sysctls,
    pub netfilter: Netfilter,
    /// What could not be read of links, routes and sysctls (the firewall's own problems are
    /// in `netfilter.problems`).
    pub problems: Vec<String>,
}

/// Which parts to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub routes: route::Tables,
    pub sysctls: bool,
    pub netfilter: bool,
}

impl Parts {
    /// Everything, routes of the main table.
    pub const ALL: Parts = Parts {
        routes: route::Tables::Main,
        sysctls: true,
        netfilter: true,
    };
    /// Links, addresses and routes only (quick: three netlink dumps, no process).
    pub const NETWORK: Parts = Parts {
        routes: route::Tables::Main,
        sysctls: false,
        netfilter: false,
    };
}

impl Netns {
    /// Reads everything of `place` ([`Parts::ALL`]).
    pub fn read(place: &Place) -> Netns {
        Netns::read_parts(place, Parts::ALL)
    }

    /// Reads `parts` of `place`; what fails is in `problems`.
    pub fn read_parts(place: &Place, parts: Parts) -> Netns {
        let mut ns = Netns::default();
        match rtnl::read(place, parts.routes) {
            Ok((links, routes)) => (ns.links, ns.routes) = (links, routes),
            Err(e) => ns.problems.push(format!("links and routes: {e:#}")),
        }
        if parts.sysctls {
            let devs: Vec<String> = ns.links.iter().map(|l| l.name.clone()).collect();
            match sysctl::read(place, &devs) {
                Ok(sysctls) => ns.sysctls = sysctls,
                Err(e) => ns.problems.push(format!("sysctls: {e:#}")),
            }
        }
        if parts.netfilter {
            ns.netfilter = netfilter::read(place);
        }
        ns
    }

    /// A namespace from captured listings: `ip -j -d link show`, `ip -j addr show`,
    /// `ip -j route show` and the firewall's (no sysctls).
    pub fn from_listings(
        link_json: &str,
        addr_json: &str,
        route_json: &str,
        firewall: &netfilter::Listings,
    ) -> anyhow::Result<Netns> {
        Ok(Netns {
            links: link::parse_links(link_json, addr_json)?,
            routes: route::parse_routes(route_json)?,
            sysctls: Sysctls::default(),
            netfilter: firewall.parse(),
            problems: Vec::new(),
        })
    }

    /// Every problem, the firewall's included.
    pub fn all_problems(&self) -> Vec<String> {
        let mut all = self.problems.clone();
        all.extend(
            self.netfilter
                .problems
                .iter()
                .map(|p| format!("firewall: {p}")),
        );
        all
    }

    /// A link by name.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The namespace's addresses as the firewall sees them (`addrtype LOCAL`): every IPv4
    /// address of an up link, and the whole prefix of a loopback's.
    pub fn locals(&self) -> Locals {
        let mut locals = Locals::default();
        for link in self.links.iter().filter(|l| l.up) {
            for &(addr, len) in &link.addrs {
                let net = Net::new(addr, len);
                locals.local.push(if link.is_loopback() {
                    net
                } else {
                    Net::new(addr, 32)
                });
                if len < 31 {
                    locals.broadcast.push(net.broadcast());
                }
            }
            if let Some(&(addr, _)) = link.addrs.first() {
                locals.primary.push((link.name.clone(), addr));
            }
        }
        locals
    }

    /// The route of the main table a packet to `dst` takes: the longest prefix, then the
    /// lowest metric (None when no route, or the best is unreachable, blackhole, prohibit).
    pub fn route_to(&self, dst: Ipv4Addr) -> Option<&Route> {
        let best = self
            .routes
            .iter()
            .filter(|r| r.table == "main" && r.covers(dst))
            .max_by_key(|r| (r.prefix_len(), std::cmp::Reverse(r.metric.unwrap_or(0))))?;
        (best.kind == "unicast" && best.dev.is_some()).then_some(best)
    }

    /// The interface a packet to `dst` leaves by: `lo` for a local address.
    pub fn oif_for(&self, dst: Ipv4Addr) -> Option<String> {
        NetnsHost::new(self).route(dst)
    }
}

/// A [`Netns`] as the firewall walker sees it: its addresses and routes.
pub struct NetnsHost<'a> {
    pub netns: &'a Netns,
    pub locals: Locals,
}

impl<'a> NetnsHost<'a> {
    pub fn new(netns: &'a Netns) -> NetnsHost<'a> {
        NetnsHost {
            netns,
            locals: netns.locals(),
        }
    }
}

impl Host for NetnsHost<'_> {
    fn addr_type(&self, addr: Ipv4Addr) -> AddrType {
        self.locals.addr_type(addr)
    }

    fn route(&self, dst: Ipv4Addr) -> Option<String> {
        if self.locals.addr_type(dst) == AddrType::Local {
            return Some("lo".to_string());
        }
        self.netns.route_to(dst).and_then(|r| r.dev.clone())
    }

    fn masquerade_addr(&self, dev: &str) -> Option<Ipv4Addr> {
        self.locals.masquerade_addr(dev)
    }
}

#[cfg(test)]
mod tests;
