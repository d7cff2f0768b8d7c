//! Step 06: publishing a container's ports on the host, the way Docker does with its userland
//! proxy off: DNAT rules, plus what 127.0.0.1 and hairpin traffic need.
//!
//! Lesson: steps/06-dnat/README.md. Check your work: `cargo xtask check 06`.
//! The names and helpers it uses are in steps/06-dnat/src/given.rs (given, not TODO): the
//! learner's own copy, which this solution compiles too.

use anyhow::{bail, Context, Result};
use cmd_lib::run_cmd;
use container::Container;
use std::fs;

#[path = "../../../steps/06-dnat/src/given.rs"]
pub mod given;
pub use given::*;

/// Runs on the lab host for every container: the host-wide part, made once and shared. The
/// chain CHAIN, entered from PREROUTING (packets from outside) and OUTPUT (packets the host
/// sends itself) for local destination addresses; masquerading of what the host sends to the
/// bridge from a local address; and route_localnet on the bridge only.
pub fn ensure_port_rules() -> Result<()> {
    // Two containers may start at once: "Chain already exists" from the other is fine.
    if run_cmd!(iptables -w -t nat -S $CHAIN >/dev/null 2>&1).is_err()
        && run_cmd!(iptables -w -t nat -N $CHAIN 2>/dev/null).is_err()
        && run_cmd!(iptables -w -t nat -S $CHAIN >/dev/null 2>&1).is_err()
    {
        bail!("cannot create the nat chain {CHAIN}");
    }
    ensure_rule(
        "nat",
        &format!("PREROUTING -m addrtype --dst-type LOCAL -j {CHAIN}"),
    )?;
    ensure_rule(
        "nat",
        &format!("OUTPUT -m addrtype --dst-type LOCAL -j {CHAIN}"),
    )?;
    ensure_rule(
        "nat",
        &format!("POSTROUTING -o {BRIDGE} -m addrtype --src-type LOCAL -j MASQUERADE"),
    )?;
    // 127.0.0.1 may leave through the bridge, and only through it (CVE-2020-8558).
    fs::write(
        format!("/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet"),
        "1",
    )
    .context("turning on route_localnet on the bridge")?;
    Ok(())
}

/// Runs on the lab host once the container is on the bridge: publishes `container.ports`.
/// A port that a running container already publishes is an error, and then nothing is added.
/// Rules whose owner is gone (a step binary killed with SIGKILL) are removed first.
pub fn publish(container: &Container) -> Result<()> {
    if container.ports.is_empty() {
        return Ok(());
    }
    let address = address_of(&container.name)?;
    let _lock = lock_ipam()?;
    for stale in published()?.iter().filter(|p| !alive(p.owner)) {
        remove_tagged(&format!("netlab:{}:{}", stale.name, stale.owner))?;
    }
    let taken = published()?;
    for port in &container.ports {
        if let Some(other) = taken
            .iter()
            .find(|p| p.host_port == port.host && p.protocol == port.protocol)
        {
            bail!(
                "host port {}/{} is already published by container {}",
                port.host,
                port.protocol.name(),
                other.name
            );
        }
    }
    // A container reaching its own published port: the packet goes back out of the bridge
    // port it came in by, which a bridge only does in hairpin mode.
    let host = host_end(container.pid);
    run_cmd!(bridge link set dev $host hairpin on)?;
    let tag = tag(&container.name);
    for port in &container.ports {
        let (proto, host_port) = (port.protocol.name(), port.host);
        let target = format!("{address}:{}", port.container);
        let container_port = port.container;
        run_cmd!(
            iptables -w -t nat -A $CHAIN -p $proto --dport $host_port
                -m comment --comment $tag -j DNAT --to-destination $target;
            iptables -w -t nat -A POSTROUTING -s $address -d $address -p $proto
                --dport $container_port -m comment --comment $tag -j MASQUERADE;
        )?;
    }
    Ok(())
}

/// Runs on the lab host after the container ended: removes every rule `publish` added for it.
pub fn unpublish(name: &str) -> Result<()> {
    let _lock = lock_ipam()?;
    remove_tagged(&tag(name))
}
