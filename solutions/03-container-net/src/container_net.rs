//! Step 03: the container configures its end of the cable: an address, the link up, `lo` up,
//! and a default route through the lab host.
//!
//! Lesson: steps/03-container-net/README.md. Check your work: `cargo xtask check 03`.

use anyhow::Result;

/// The container's address on its `eth0`, with the subnet's prefix length.
pub const CONTAINER_ADDR: &str = "10.0.0.2/24";
/// The container's address alone, as other hosts name it.
pub const CONTAINER_IP: &str = "10.0.0.2";
/// The lab host's end of the cable: the container's way out to everything else.
pub const GATEWAY: &str = "10.0.0.1";

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
