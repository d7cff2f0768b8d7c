//! Step 10: routed containers, as Calico routes its pods: no bridge; each container a /32 of
//! its own, reached by a host route, its gateway a link-local address that the host end of
//! its cable answers for.
//!
//! Lesson: steps/10-routed/README.md. Check your work: `cargo xtask check 10`.
//! The names and helpers it uses are in steps/10-routed/src/given.rs (given, not TODO): the
//! learner's own copy, which this solution compiles too.

use anyhow::{bail, Context, Result};
use cmd_lib::run_cmd;
use container::Pid;
use std::fs;
use std::net::Ipv4Addr;

#[path = "../../../steps/10-routed/src/given.rs"]
pub mod given;
pub use given::*;

/// Runs on the lab host for every container: refuses to go on when the host has no route
/// covering GATEWAY (proxy ARP would stay silent), then the host-wide settings: forwarding,
/// NAT for what leaves the pool, and FORWARD rules that let the pool's traffic through
/// whatever the chain's policy.
pub fn ensure_host() -> Result<()> {
    // Proxy ARP answers for an address only if the host would forward a packet to it out of
    // another interface: without a route covering the gateway (a host with no default
    // route), every container's ARP for it would go unanswered.
    if run_cmd!(ip route get $GATEWAY >/dev/null 2>&1).is_err() {
        bail!(
            "the lab host has no route covering {GATEWAY}: the host ends would not answer ARP \
             for the containers' gateway (add a default route, or a route to {GATEWAY})"
        );
    }
    fs::write("/proc/sys/net/ipv4/ip_forward", "1").context("turning on ip_forward")?;
    // No link carries the pool, so "not out of the bridge" becomes "not to the pool": the
    // containers talk to each other from their own addresses.
    let masquerade = format!("POSTROUTING -s {POOL} ! -d {POOL} -j MASQUERADE");
    let forward_out = format!("FORWARD -s {POOL} -j ACCEPT");
    let forward_in = format!("FORWARD -d {POOL} -j ACCEPT");
    ensure_rules(&[
        ("nat", &masquerade),
        ("filter", &forward_out),
        ("filter", &forward_in),
    ])?;
    Ok(())
}

/// Runs on the lab host: lays the container's cable (its `eth0` in the container's
/// namespace, its host end UP on the host, plugged into nothing), makes the host end answer
/// ARP for the gateway at once, and routes the container's `address` to it.
pub fn attach(pid: Pid, address: Ipv4Addr) -> Result<()> {
    let host = host_end(pid);
    run_cmd!(ip link add $host type veth peer name eth0 netns $pid)?;
    // The host end answers ARP for any address the host routes elsewhere (169.254.1.1: by
    // the default route), with its own MAC; at once, not after a random wait of up to
    // proxy_delay (0.8 s by default) meant to let a real owner answer first.
    fs::write(format!("/proc/sys/net/ipv4/conf/{host}/proxy_arp"), "1")
        .with_context(|| format!("turning on proxy_arp on {host}"))?;
    fs::write(format!("/proc/sys/net/ipv4/neigh/{host}/proxy_delay"), "0")
        .with_context(|| format!("setting proxy_delay of {host} to 0"))?;
    let commands = format!(
        "link set {host} up\n\
         route add {address}/32 dev {host} scope link\n"
    );
    run_cmd!(echo -n $commands | ip -batch -)?;
    Ok(())
}

/// Runs inside the container's namespaces: `lo` up, `eth0` up with the container's /32,
/// and the default route via GATEWAY, reachable on eth0 although no subnet says so.
pub fn configure_container(name: &str) -> Result<()> {
    let address = format!("{}/{PREFIX}", address_of(name)?);
    // A /32 puts no neighbour on eth0's link: the route to the gateway says it is there
    // (`scope link`), and only then may the default route go via it.
    let commands = format!(
        "link set lo up\n\
         addr add {address} dev eth0\n\
         link set eth0 up\n\
         route add {GATEWAY} dev eth0 scope link\n\
         route add default via {GATEWAY} dev eth0\n"
    );
    run_cmd!(echo -n $commands | ip -batch -)?;
    Ok(())
}
