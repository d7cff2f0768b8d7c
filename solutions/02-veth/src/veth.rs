//! Step 02: a virtual cable (a veth pair) between the lab host and the container, and NAT.
//!
//! Lesson: steps/02-veth/README.md. Check your work: `cargo xtask check 02`.

use anyhow::{bail, Context, Result};
use cmd_lib::{run_cmd, run_fun};
use container::Pid;

/// The lab host's address on its end of the cable, with the subnet's prefix length:
/// 10.0.0.1/24 (the addressing plan is in the `addresses` crate).
pub const HOST_ADDR: &str = addresses::containers::GATEWAY_CIDR;
/// The containers' subnet, 10.0.0.0/24: what the MASQUERADE rule matches.
pub const SUBNET: &str = addresses::containers::SUBNET;

/// The name of the host's end of the container's veth pair: `veth` and the container's PID.
///
/// Interface names live in one namespace with everything else on the host, so a fixed name
/// such as `veth0` works for the first container and fails for the second ("File exists").
/// A PID is unique among running processes, so the name is unique among running containers.
/// Linux allows 15 characters (IFNAMSIZ is 16, with the final NUL): a PID has at most 7
/// digits (pid_max is at most 4194304), so `veth` and a PID always fit.
pub fn host_end(pid: Pid) -> String {
    format!("veth{pid}")
}

/// Runs on the lab host after the container's namespaces exist, before the container
/// configures itself: lays the cable, addresses the host's end, and turns on forwarding and NAT.
pub fn setup_veth(pid: Pid) -> Result<()> {
    let host = host_end(pid);
    // One command creates the pair and puts its second end, named eth0, in the network
    // namespace of process `pid`: the container's.
    run_cmd!(ip link add $host type veth peer name eth0 netns $pid)?;
    run_cmd!(ip addr add $HOST_ADDR dev $host)?;
    run_cmd!(ip link set $host up)?;
    // What `sysctl -w net.ipv4.ip_forward=1` does: let the host route packets between links.
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").context("turning on ip_forward")?;
    // -C asks whether the rule is there already; add it only if not, or every container
    // would add one more copy.
    if run_cmd!(iptables -w -t nat -C POSTROUTING -s $SUBNET -j MASQUERADE 2>/dev/null).is_err() {
        run_cmd!(iptables -w -t nat -A POSTROUTING -s $SUBNET -j MASQUERADE)?;
    }
    Ok(())
}

/// Runs on the lab host after the container has ended, however it ended. Removes what
/// `setup_veth` made, and succeeds when it is already gone. The MASQUERADE rule serves every
/// container of the subnet: it goes with the last one only, while other containers' cables
/// (other links with HOST_ADDR) remain, it stays.
pub fn cleanup_veth(name: &str) -> Result<()> {
    // Deleting one end of a veth pair deletes both. The kernel deletes the pair too, a moment
    // after the container's namespace dies, so the link may be gone already: only a link
    // still there is a failure.
    if run_cmd!(ip link del $name 2>/dev/null).is_err() && link_exists(name) {
        bail!("cannot delete the link {name}");
    }
    // Another container still runs: it needs the rule (and forwarding, which stays on).
    if other_cables()? {
        return Ok(());
    }
    // -D deletes one copy; -C says whether another is left.
    while run_cmd!(iptables -w -t nat -C POSTROUTING -s $SUBNET -j MASQUERADE 2>/dev/null).is_ok() {
        run_cmd!(iptables -w -t nat -D POSTROUTING -s $SUBNET -j MASQUERADE)?;
    }
    Ok(())
}

/// Whether another container's cable is still there: a link of the host with the address of
/// the host's end (`ip -o addr show to 10.0.0.1` lists the links that have it).
fn other_cables() -> Result<bool> {
    let gateway = addresses::containers::GATEWAY;
    let listed = run_fun!(ip -o -4 addr show to $gateway)?;
    Ok(!listed.trim().is_empty())
}

/// Whether the lab host has a link called `name`.
fn link_exists(name: &str) -> bool {
    run_cmd!(ip link show dev $name >/dev/null 2>&1).is_ok()
}
