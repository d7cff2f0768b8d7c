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
    // TODO: bring lo up, give eth0 CONTAINER_ADDR, bring eth0 up, and add a default route
    // via GATEWAY.
    todo!("configure lo, eth0 and the default route")
}
