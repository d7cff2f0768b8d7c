//! Step 08: networking from an OCI hook, under real runc.
//!
//! Lesson: steps/08-oci-hook/README.md. Check your work: `cargo xtask check 08`.
//! The state, the bundle and the helpers are in steps/08-oci-hook/src/given.rs (given, not
//! TODO): the learner's own copy, which this solution compiles too.

use anyhow::Result;
use std::io::Read;

pub mod given;
pub use given::*;

/// The stage of the OCI runtime spec at which the network hook runs: `createRuntime` (after
/// the namespaces exist, before pivot_root) or `prestart` (its older, deprecated name, at
/// the same moment in runc). Both run in the runtime's namespaces.
pub const NETWORK_HOOK: &str = "createRuntime";

/// Reads the OCI state runc writes on the hook's stdin (JSON: `id`, `pid`, `bundle`, ...).
pub fn read_state(input: &mut dyn Read) -> Result<State> {
    // TODO: parse the JSON runc wrote on stdin into a State (serde_json::from_reader).
    let _ = input;
    todo!("read the OCI state")
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
    // TODO: an address (allocate_address, owned by state.pid), the bridge, the veth with eth0
    // in the namespace of state.pid (remember its host end), then inside that namespace only
    // (nsenter -t PID -n, the lab host's ip): lo up, the address on eth0, eth0 up, the
    // default route via GATEWAY.
    let _ = state;
    todo!("attach the container")
}

/// After the container is gone (exited, failed, killed): its cable, if the kernel has not
/// removed it with the namespace, its address and its record. Nothing left is no error.
pub fn poststop(state: &State) -> Result<()> {
    // TODO: delete the host end you remembered (if the kernel has not), release the
    // address, forget the record. Nothing left to release is no error.
    let _ = state;
    todo!("release the address and the link")
}
