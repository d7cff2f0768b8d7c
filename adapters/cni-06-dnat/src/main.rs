//! `cni06`: step 06's container binary with the CNI reference plugins doing the networking:
//! cni05's network list (`bridge`, `host-local`, `firewall`) followed by `portmap`, which gets
//! the container's published ports (`run -p 8080:80`) as its `portMappings` runtime argument.
//! It is run by the checks exactly like `solution06` (`checker check 06=target/debug/cni06`).
//!
//! The runtime's part is in adapters/cni-05-bridge: refusing a host port a live container
//! already publishes, before ADD (CNI leaves conflicts to the runtime), and DEL of the records
//! of dead owners, with the runtime arguments of their ADD, so that their portmap chains go.

use container::Networking;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| cni05_bridge::add(&c.name, c.pid, Some(&c.ports)),
        // The plugins configure the container's side (eth0, lo, routes) from the host.
        in_container: |_| Ok(()),
        after_exit: |c| cni05_bridge::del(&c.name, c.pid),
    })
}
