//! Step 02: a virtual cable (a veth pair) between the lab host and the container, and NAT.
//!
//! Lesson: steps/02-veth/README.md. Check your work: `cargo xtask check 02`.

use anyhow::Result;
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
    // TODO: create the pair (host end `host_end(pid)`, container end `eth0` in the namespace
    // of `pid`), give the host end HOST_ADDR and bring it up, turn on net.ipv4.ip_forward, and
    // add the MASQUERADE rule for SUBNET unless it is there already.
    todo!("lay the veth pair, forwarding and NAT for container {pid}")
}

/// Runs on the lab host after the container has ended, however it ended. Removes what
/// `setup_veth` made, and succeeds when it is already gone. The MASQUERADE rule serves every
/// container of the subnet: it goes with the last one only, while other containers' cables
/// (other links with HOST_ADDR) remain, it stays.
pub fn cleanup_veth(name: &str) -> Result<()> {
    // TODO: delete the link `name` if it is still there; then, when no other link of the host
    // has HOST_ADDR (no other container runs), the MASQUERADE rule while it is there. Nothing
    // already gone is an error.
    todo!("remove the link {name} and the MASQUERADE rule")
}
