//! Step 06: publishing a container's ports on the host, the way Docker does with its userland
//! proxy off: DNAT rules, plus what 127.0.0.1 and hairpin traffic need.
//!
//! Lesson: steps/06-dnat/README.md. Check your work: `cargo xtask check 06`.
//! The names and helpers it uses are in src/given.rs, beside this file (given, not TODO).

use anyhow::Result;
use container::Container;

pub mod given;
pub use given::*;

/// Runs on the lab host for every container: the host-wide part, made once and shared. The
/// chain CHAIN, entered from PREROUTING (packets from outside) and OUTPUT (packets the host
/// sends itself) for local destination addresses; masquerading of what the host sends to the
/// bridge from a local address; and route_localnet on the bridge only.
pub fn ensure_port_rules() -> Result<()> {
    // TODO: create the nat chain CHAIN unless it exists; with ensure_rule, jump to it from
    // PREROUTING and from OUTPUT for `-m addrtype --dst-type LOCAL`; MASQUERADE what leaves
    // by BRIDGE from a local source (`-m addrtype --src-type LOCAL`); set route_localnet to 1
    // on BRIDGE, and nowhere else.
    todo!("make the chain {CHAIN} and the host-wide rules of published ports")
}

/// Runs on the lab host once the container is on the bridge: publishes `container.ports`.
/// A port that a running container already publishes is an error, and then nothing is added.
/// Rules whose owner is gone (a step binary killed with SIGKILL) are removed first.
pub fn publish(container: &Container) -> Result<()> {
    // TODO: nothing to do without ports. Under lock_ipam(): remove_tagged() the rules of every
    // published() port whose owner is not alive; refuse a port that is still published; turn
    // on hairpin mode on host_end(container.pid); per port, a DNAT rule in CHAIN to
    // address_of(name):port and a MASQUERADE rule for the container talking to itself, both
    // with `-m comment --comment tag(name)`.
    todo!("publish the ports of container {}", container.name)
}

/// Runs on the lab host after the container ended: removes every rule `publish` added for it.
pub fn unpublish(name: &str) -> Result<()> {
    // TODO: under lock_ipam(), remove_tagged(&tag(name)).
    todo!("remove the published ports of container {name}")
}
