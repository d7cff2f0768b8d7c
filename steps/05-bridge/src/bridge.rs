//! Step 05: many containers on one bridge, each with an address of its own.
//!
//! Lesson: steps/05-bridge/README.md. Check your work: `cargo xtask check 05`.
//! The names and helpers it uses are in src/given.rs, beside this file (given, not TODO).

use anyhow::Result;
use container::Pid;
use std::net::Ipv4Addr;

pub mod given;
pub use given::*;

/// Runs on the lab host for every container: makes the bridge if it is missing (never again
/// if it is there, containers may hang off it), and the host-wide settings: forwarding, NAT,
/// and FORWARD rules that let the bridge's traffic through whatever the chain's policy.
pub fn ensure_bridge() -> Result<()> {
    // TODO: create the bridge BRIDGE with its own MAC address BRIDGE_MAC (another container
    // starting at the same moment may create it first: "File exists" is then fine), give it
    // GATEWAY/PREFIX and bring it up; turn on ip_forward; with ensure_rule (or ensure_rules,
    // all three at once), the MASQUERADE rule for SUBNET but not out of BRIDGE, and FORWARD
    // ACCEPT for traffic in from and out to BRIDGE.
    todo!("make the bridge {BRIDGE}, forwarding, NAT and the FORWARD rules")
}

/// Runs on the lab host before the container starts: records a free address of the subnet
/// for the container `name` and returns it. Holds the lock throughout, so that containers
/// starting at the same moment get different addresses; takes back the addresses whose owner
/// is gone.
pub fn allocate_address(name: &str) -> Result<Ipv4Addr> {
    // TODO: hold lock_ipam() throughout; remove the leases whose owner is not alive (and any
    // under `name`); pick the lowest free 10.0.0.2 ..= 10.0.0.254; write its lease file
    // (`name`, then this process's PID) and return it.
    todo!("allocate a free address of {SUBNET} to {name}")
}

/// Runs on the lab host after the container ended: forgets its allocation. Nothing to release
/// is no error.
pub fn release_address(name: &str) -> Result<()> {
    // TODO: under the lock, remove the lease file(s) of `name`; none is no error.
    todo!("release the address of {name}")
}

/// Runs on the lab host: lays the container's cable, its `eth0` in the container's namespace
/// and its host end plugged into the bridge, UP.
pub fn attach(pid: Pid) -> Result<()> {
    // TODO: create the veth pair (host end host_end(pid), container end eth0 in the namespace
    // of `pid`), plug the host end into BRIDGE (`master`) and bring it up.
    todo!("plug container {pid} into {BRIDGE}")
}

/// Runs inside the container's namespaces: `lo` up, `eth0` up with the container's address
/// and the MAC made of it, and the default route via the bridge.
pub fn configure_container(name: &str) -> Result<()> {
    // TODO: lo up; eth0 gets the MAC mac_of(its address), then address_of(name) with PREFIX,
    // and comes up; default via GATEWAY.
    todo!("configure the network of container {name}")
}
