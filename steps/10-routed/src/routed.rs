//! Step 10: routed containers, as Calico routes its pods: no bridge; each container a /32 of
//! its own, reached by a host route, its gateway a link-local address that the host end of
//! its cable answers for.
//!
//! Lesson: steps/10-routed/README.md. Check your work: `cargo xtask check 10`.
//! The names and helpers it uses are in src/given.rs, beside this file (given, not TODO).

use anyhow::Result;
use container::Pid;
use std::net::Ipv4Addr;

pub mod given;
pub use given::*;

/// Runs on the lab host for every container: refuses to go on when the host has no route
/// covering GATEWAY (proxy ARP would stay silent), then the host-wide settings: forwarding,
/// NAT for what leaves the pool, and FORWARD rules that let the pool's traffic through
/// whatever the chain's policy.
pub fn ensure_host() -> Result<()> {
    // TODO: fail with a clear error if `ip route get GATEWAY` finds no route; turn on
    // ip_forward; with ensure_rules, the MASQUERADE rule for traffic from POOL to anywhere
    // but POOL, and FORWARD ACCEPT for traffic from POOL and to POOL.
    todo!("forwarding, NAT for {POOL} and the FORWARD rules, once a route covers {GATEWAY}")
}

/// Runs on the lab host: lays the container's cable (its `eth0` in the container's
/// namespace, its host end UP on the host, plugged into nothing), makes the host end answer
/// ARP for the gateway at once, and routes the container's `address` to it.
pub fn attach(pid: Pid, address: Ipv4Addr) -> Result<()> {
    // TODO: create the veth pair (host end host_end(pid), container end eth0 in the namespace
    // of `pid`); on the host end set proxy_arp to 1 (/proc/sys/net/ipv4/conf/END/proxy_arp)
    // and proxy_delay to 0 (/proc/sys/net/ipv4/neigh/END/proxy_delay), bring it up, and add
    // the route `address/32 dev END scope link`.
    todo!("attach container {pid} and route {address}/32 to it")
}

/// Runs inside the container's namespaces: `lo` up, `eth0` up with the container's /32,
/// and the default route via GATEWAY, reachable on eth0 although no subnet says so.
pub fn configure_container(name: &str) -> Result<()> {
    // TODO: lo up; eth0 gets address_of(name) with PREFIX (32) and comes up; a route to
    // GATEWAY on eth0 (`scope link`), then the default route via GATEWAY dev eth0.
    todo!("configure the network of container {name}")
}
