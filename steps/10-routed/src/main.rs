//! Step 10's container binary. This file only wires your code into the runtime:
//! your work is in `src/routed.rs`. The namespace comes from step 01's solution.

use container::Networking;
use step10_routed as routed;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| {
            let address = routed::allocate_address(&c.name, c.pid)?;
            routed::ensure_host()?;
            routed::attach(c.pid, address)
        },
        in_container: |c| routed::configure_container(&c.name),
        after_exit: |c| {
            let detached = routed::detach(c.pid);
            routed::release_address(&c.name)?;
            detached
        },
    })
}
