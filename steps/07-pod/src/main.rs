//! Step 07's container binary. This file only wires your code into the runtime:
//! your work is in `src/pod.rs`. The pod's first member gets its address, its cable and its
//! bridge from step 05's solution; the others join its network namespace.

use container::Networking;
use solution05_bridge as bridge;
use step07_pod as pod;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| match &c.join {
            // A member that joins a pod needs nothing on the host: no address, no cable.
            Some(_) => Ok(()),
            None => {
                bridge::allocate_address(&c.name)?;
                bridge::ensure_bridge()?;
                bridge::attach(c.pid)?;
                pod::hold(c)
            }
        },
        in_container: |c| match &c.join {
            Some(joined) => pod::join(c, joined),
            None => bridge::configure_container(&c.name),
        },
        after_exit: |c| match pod::pod_of(&c.name)? {
            Some(name) => pod::leave(c, &name),
            // It never made it into a pod: what step 05's code gave it, if anything.
            None => {
                let detached = bridge::detach(c.pid);
                bridge::release_address(&c.name)?;
                detached
            }
        },
    })
}
