//! Step 08: networking from an OCI hook, under real runc.
//!
//! Lesson: steps/08-oci-hook/README.md. Check your work: `cargo xtask check 08`.
//! The state, the bundle and the helpers are in steps/08-oci-hook/src/given.rs (given, not
//! TODO): the learner's own copy, which this solution compiles too.

use anyhow::{Context, Result};
use cmd_lib::run_cmd;
use std::io::Read;

#[path = "../../../steps/08-oci-hook/src/given.rs"]
pub mod given;
pub use given::*;

/// The stage of the OCI runtime spec at which the network hook runs: `createRuntime` (after
/// the namespaces exist, before pivot_root) or `prestart` (its older, deprecated name, at
/// the same moment in runc). Both run in the runtime's namespaces.
pub const NETWORK_HOOK: &str = "createRuntime";

/// Reads the OCI state runc writes on the hook's stdin (JSON: `id`, `pid`, `bundle`, ...).
pub fn read_state(input: &mut dyn Read) -> Result<State> {
    serde_json::from_reader(input).context("the state on stdin is not the OCI state JSON")
}

/// The network hook, on the lab host (the runtime's namespaces): an address for the container
/// `state.id`, the bridge, the cable into the namespace of `state.pid`, and inside that
/// namespace lo, eth0 and the default route. What poststop needs is kept under the id.
/// Whatever fails is undone before the error goes back to runc.
pub fn create_runtime(state: &State) -> Result<()> {
    let done = attach(state);
    if done.is_err() {
        let _ = poststop(state);
    }
    done
}

fn attach(state: &State) -> Result<()> {
    let pid = state.pid;
    let address = format!("{}/{PREFIX}", allocate_address(&state.id, pid)?);
    ensure_bridge()?;
    let host = host_end(container::Pid::from_raw(pid));
    remember(&state.id, &host)?;
    run_cmd!(
        ip link add $host type veth peer name eth0 netns $pid;
        ip link set $host master $BRIDGE;
        ip link set $host up;
    )?;
    // Only the network namespace is entered: the tools are the lab host's, never programs
    // from the container's root filesystem.
    run_cmd!(
        nsenter -t $pid -n ip link set lo up;
        nsenter -t $pid -n ip addr add $address dev eth0;
        nsenter -t $pid -n ip link set eth0 up;
        nsenter -t $pid -n ip route add default via $GATEWAY;
    )?;
    Ok(())
}

/// After the container is gone (exited, failed, killed): its cable, if the kernel has not
/// removed it with the namespace, its address and its record. Nothing left is no error.
pub fn poststop(state: &State) -> Result<()> {
    if let Some(host) = recall(&state.id)? {
        let host = host.trim();
        if run_cmd!(ip link del $host 2>/dev/null).is_err()
            && run_cmd!(ip link show dev $host >/dev/null 2>&1).is_ok()
        {
            anyhow::bail!("cannot delete the link {host}");
        }
    }
    release_address(&state.id)?;
    forget(&state.id)
}
