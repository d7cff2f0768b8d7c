//! Step 03's container binary. This file only wires your code into the runtime:
//! your work is in `src/container_net.rs`. The namespace comes from step 01's solution,
//! the veth pair and NAT from step 02's.

use container::Networking;
use solution03_container_net as container_net;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| solution02_veth::setup_veth(c.pid),
        in_container: |_| container_net::setup_container_networking(),
        after_exit: |c| solution02_veth::cleanup_veth(&solution02_veth::host_end(c.pid)),
    })
}
