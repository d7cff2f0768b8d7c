//! Step 09's binary, two programs in one. With `CNI_COMMAND` set (libcni runs it from the
//! lab's CNI_PATH as the plugin `netlab`) it is your CNI plugin: your work is in
//! `src/cni_plugin.rs`. Otherwise it is the container runtime: `run` starts a container and
//! has libcni (the Go driver) run the lab's network list on it: loopback, then your plugin
//! with host-local, then portmap. The namespace comes from step 01's solution.

use container::Networking;
use solution09_cni_plugin as step;

fn main() -> std::process::ExitCode {
    if std::env::var_os("CNI_COMMAND").is_some() {
        return step::plugin_main(step::handle);
    }
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: step::runtime_add,
        // The plugins configure the container's side (eth0, lo, routes) from the host.
        in_container: |_| Ok(()),
        after_exit: step::runtime_del,
    })
}
