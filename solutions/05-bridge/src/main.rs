//! Step 05's container binary. This file only wires your code into the runtime:
//! your work is in `src/bridge.rs`. The namespace comes from step 01's solution.

use container::Networking;
use solution05_bridge as bridge;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| {
            bridge::allocate_address(&c.name)?;
            bridge::ensure_bridge()?;
            bridge::attach(c.pid)
        },
        in_container: |c| bridge::configure_container(&c.name),
        after_exit: |c| {
            let detached = bridge::detach(c.pid);
            bridge::release_address(&c.name)?;
            detached
        },
    })
}
