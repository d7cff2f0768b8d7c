//! `cni05`: step 05's container binary with the CNI reference plugins doing the networking.
//! It is run by the checks exactly like `solution05` (`checker check 05=target/debug/cni05`).

use container::Networking;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| cni05_bridge::add(&c.name, c.pid, None),
        // The plugins configure the container's side (eth0, lo, routes) from the host.
        in_container: |_| Ok(()),
        after_exit: |c| cni05_bridge::del(&c.name, c.pid),
    })
}
