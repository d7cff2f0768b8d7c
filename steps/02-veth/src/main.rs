//! Step 02's container binary. This file only wires your code into the runtime:
//! your work is in `src/veth.rs`. The namespace and `lo` come from step 01's solution.

use container::Networking;
use step02_veth as veth;

fn main() -> std::process::ExitCode {
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: |c| veth::setup_veth(c.pid),
        in_container: |_| solution01_netns::setup_loopback(),
        after_exit: |c| veth::cleanup_veth(&veth::host_end(c.pid)),
    })
}
