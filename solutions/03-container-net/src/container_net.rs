//! Step 03: the container configures its end of the cable: an address, the link up, `lo` up,
//! and a default route through the lab host.
//!
//! Lesson: steps/03-container-net/README.md. Check your work: `cargo xtask check 03`.

use anyhow::Result;

/// The container's address on its `eth0`, with the subnet's prefix length: 10.0.0.2/24 (the
/// addressing plan is in the `addresses` crate).
pub const CONTAINER_ADDR: &str = addresses::containers::FIRST_CIDR;
/// The container's address alone, as other hosts name it: 10.0.0.2.
pub const CONTAINER_IP: std::net::Ipv4Addr = addresses::containers::FIRST;
/// The lab host's end of the cable, 10.0.0.1: the container's way out to everything else.
pub const GATEWAY: std::net::Ipv4Addr = addresses::containers::GATEWAY;

/// Runs inside the container's namespaces, after the lab host has laid the veth pair (its
/// end here is called `eth0`, DOWN and without an address) and before the command starts.
pub fn setup_container_networking() -> Result<()> {
    // In this order: a route via GATEWAY needs eth0 up with its address, or the kernel does
    // not know that GATEWAY is next door and refuses the route.
    cmd_lib::run_cmd!(
        ip link set lo up;
        ip addr add $CONTAINER_ADDR dev eth0;
        ip link set eth0 up;
        ip route add default via $GATEWAY;
    )?;
    Ok(())
}
