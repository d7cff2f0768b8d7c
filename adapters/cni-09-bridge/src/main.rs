//! `cni09`: step 09's control. The same runtime (`run` has libcni run the lab's lists) and
//! the same list, but the plugin `netlab` in the lab's CNI_PATH is the CNI reference `bridge`
//! plugin (containernetworking-plugins, /usr/lib/cni/bridge): called as a plugin, this binary
//! becomes it (exec, the same variables and stdin). Run by the checks exactly like
//! `solution09` (`checker check 09=target/debug/cni09`); checks/tests/reference.rs lists the
//! verdicts where it differs, and why.

use container::Networking;
use solution09_cni_plugin as step;
use std::os::unix::process::CommandExt;

/// The reference plugin that stands in for the learner's.
const BRIDGE_PLUGIN: &str = "/usr/lib/cni/bridge";

fn main() -> std::process::ExitCode {
    if std::env::var_os("CNI_COMMAND").is_some() {
        let error = std::process::Command::new(BRIDGE_PLUGIN).exec();
        println!(
            "{{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"cannot run {BRIDGE_PLUGIN}: {error}\"}}"
        );
        return std::process::ExitCode::FAILURE;
    }
    container::main(Networking {
        namespaces: solution01_netns::extra_namespaces,
        on_host: step::runtime_add,
        in_container: |_| Ok(()),
        after_exit: step::runtime_del,
    })
}
