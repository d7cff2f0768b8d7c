//! Step 01's container binary. This file only wires your code into the runtime:
//! your work is in `src/netns.rs`.

use container::Networking;
use step01_netns as netns;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: netns::extra_namespaces,
        in_container: |_| netns::setup_loopback(),
        ..Networking::NONE
    })
}
