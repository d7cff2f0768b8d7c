//! Step 04's container binary. This file only wires your code into the runtime:
//! your work is in `src/dns.rs`. The namespace comes from step 01's solution, the veth pair
//! and NAT from step 02's, the container's address and route from step 03's.

use container::Networking;
use solution04_dns as dns;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| {
            solution02_veth::setup_veth(c.pid)?;
            dns::write_dns_files(&c.rootfs, &c.name)
        },
        in_container: |_| solution03_container_net::setup_container_networking(),
        after_exit: |c| solution02_veth::cleanup_veth(&solution02_veth::host_end(c.pid)),
    })
}
