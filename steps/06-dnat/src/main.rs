//! Step 06's container binary. This file only wires your code into the runtime:
//! your work is in `src/dnat.rs`. The bridge and the addresses come from step 05's solution.

use container::Networking;
use solution05_bridge as bridge;
use step06_dnat as dnat;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| {
            bridge::allocate_address(&c.name)?;
            bridge::ensure_bridge()?;
            bridge::attach(c.pid)?;
            dnat::ensure_port_rules()?;
            dnat::publish(c)
        },
        in_container: |c| bridge::configure_container(&c.name),
        after_exit: |c| {
            let unpublished = dnat::unpublish(&c.name);
            let detached = bridge::detach(c.pid);
            bridge::release_address(&c.name)?;
            unpublished.and(detached)
        },
    })
}
