//! Step 05: many containers on one bridge, each with an address of its own.
//!
//! Lesson: steps/05-bridge/README.md. Check your work: `cargo xtask check 05`.
//! The names and helpers it uses are in steps/05-bridge/src/given.rs (given, not TODO): the
//! learner's own copy, which this solution compiles too.

use anyhow::{bail, Context, Result};
use cmd_lib::run_cmd;
use container::Pid;
use nix::net::if_::if_nametoindex;
use std::fs;
use std::net::Ipv4Addr;

#[path = "../../../steps/05-bridge/src/given.rs"]
pub mod given;
pub use given::*;

/// Runs on the lab host for every container: makes the bridge if it is missing (never again
/// if it is there, containers may hang off it), and the host-wide settings: forwarding, NAT,
/// and FORWARD rules that let the bridge's traffic through whatever the chain's policy.
pub fn ensure_bridge() -> Result<()> {
    // Made only when it is missing. Two containers may start at once and both find it
    // missing: "File exists" from the second `add` means the other one made it, which is
    // fine. Its own MAC address: without one, a bridge takes its lowest port's, and changes
    // it when that container stops. Whether it is there is asked of the kernel in this
    // process, as `ip link show dev netlab0` would (no `ip` to start for every container).
    let exists = || if_nametoindex(BRIDGE).is_ok();
    if !exists()
        && run_cmd!(ip link add $BRIDGE address $BRIDGE_MAC type bridge 2>/dev/null).is_err()
        && !exists()
    {
        bail!("cannot create the bridge {BRIDGE}");
    }
    let gateway = format!("{GATEWAY}/{PREFIX}");
    // `replace` adds the address, or does nothing when it is there already. Both commands in
    // one process: `ip -batch -` runs the lines of its input in turn.
    let commands = format!(
        "addr replace {gateway} dev {BRIDGE}\n\
         link set {BRIDGE} up\n"
    );
    run_cmd!(echo -n $commands | ip -batch -)?;
    fs::write("/proc/sys/net/ipv4/ip_forward", "1").context("turning on ip_forward")?;
    // The three rules of ensure_rule, in one call: one process when they are there already.
    let masquerade = format!("POSTROUTING -s {SUBNET} ! -o {BRIDGE} -j MASQUERADE");
    let forward_in = format!("FORWARD -i {BRIDGE} -j ACCEPT");
    let forward_out = format!("FORWARD -o {BRIDGE} -j ACCEPT");
    ensure_rules(&[
        ("nat", &masquerade),
        ("filter", &forward_in),
        ("filter", &forward_out),
    ])?;
    Ok(())
}

/// Runs on the lab host before the container starts: records a free address of the subnet
/// for the container `name` and returns it. Holds the lock throughout, so that containers
/// starting at the same moment get different addresses; takes back the addresses whose owner
/// is gone.
pub fn allocate_address(name: &str) -> Result<Ipv4Addr> {
    let _lock = lock_ipam()?;
    let mut taken = Vec::new();
    for lease in leases()? {
        // A dead owner (a step binary killed with SIGKILL) never released its address; a
        // lease under this name is a leftover too: names are unique among running containers.
        if !alive(lease.owner) || lease.name == name {
            let _ = fs::remove_file(lease_file(lease.address)?);
        } else {
            taken.push(lease.address);
        }
    }
    // .0 names the network, .1 is the gateway, .255 is the broadcast address.
    let free = (u32::from(FIRST)..=u32::from(LAST))
        .map(Ipv4Addr::from)
        .find(|a| !taken.contains(a))
        .with_context(|| format!("no free address left in {SUBNET}"))?;
    let record = format!("{name}\n{}\n", std::process::id());
    fs::write(lease_file(free)?, record).context("recording the allocation")?;
    Ok(free)
}

/// Runs on the lab host after the container ended: forgets its allocation. Nothing to release
/// is no error.
pub fn release_address(name: &str) -> Result<()> {
    let _lock = lock_ipam()?;
    for lease in leases()?.into_iter().filter(|l| l.name == name) {
        fs::remove_file(lease_file(lease.address)?).context("releasing the address")?;
    }
    Ok(())
}

/// Runs on the lab host: lays the container's cable, its `eth0` in the container's namespace
/// and its host end plugged into the bridge and UP: `ip link add` takes `master` and `up` as
/// `ip link set` does, so one command does it all.
pub fn attach(pid: Pid) -> Result<()> {
    let host = host_end(pid);
    run_cmd!(ip link add $host master $BRIDGE up type veth peer name eth0 netns $pid)?;
    Ok(())
}

/// Runs inside the container's namespaces: `lo` up, `eth0` up with the container's address
/// and the MAC made of it, and the default route via the bridge.
pub fn configure_container(name: &str) -> Result<()> {
    let ip = address_of(name)?;
    let address = format!("{ip}/{PREFIX}");
    let mac = mac_of(ip);
    // The five `ip` commands in one process: `ip -batch -` runs the lines of its input in
    // turn (each an `ip` command without the `ip`), and fails at the first that does.
    let commands = format!(
        "link set lo up\n\
         link set eth0 address {mac}\n\
         addr add {address} dev eth0\n\
         link set eth0 up\n\
         route add default via {GATEWAY}\n"
    );
    run_cmd!(echo -n $commands | ip -batch -)?;
    Ok(())
}
