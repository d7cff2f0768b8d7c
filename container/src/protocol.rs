//! What the runtime prints and returns, so that the checks can tell a learner's TODO, panic or
//! hook error from a container that simply ran its command. Kept in one place so the runtime
//! and the checks cannot drift apart.

/// Every line the runtime itself prints starts with this.
pub const PREFIX: &str = "netlab";
/// A `todo!()` reached: followed by `<file>:<line>:<column>` and the TODO's own words.
pub const NOT_IMPLEMENTED: &str = "netlab: not implemented yet:";
/// Any other panic in learner code: followed by `<file>:<line>:<column>: <message>`.
pub const PANICKED: &str = "netlab: your code panicked at";
/// A hook returned an error: followed by the hook's name and the error chain.
pub const HOOK_FAILED: &str = "netlab: hook failed:";
/// After a failing hook inside the container: one line each of what its network namespace
/// held at that moment (`ip addr`, `ip route`), for the report.
pub const VIEW: &str = "netlab: view:";

/// Exit status when the runtime or a hook failed (as `docker run` does).
pub const EXIT_RUNTIME: u8 = 125;
/// Exit status when the command line was wrong.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the container's command could not be found or run.
pub const EXIT_NOT_FOUND: u8 = 127;

/// The lab exports these to every step binary it starts.
pub mod env {
    /// The base root filesystem (busybox) that containers copy their root from.
    pub const ROOTFS: &str = "NETLAB_ROOTFS";
    /// A directory private to the running lab, where containers keep their state.
    pub const STATE: &str = "NETLAB_STATE";
}

/// Where a running container's files live under the lab's state directory.
pub mod layout {
    use std::path::{Path, PathBuf};

    /// `<state>/containers/<name>`: the container's directory, present while it runs.
    pub fn container_dir(state: &Path, name: &str) -> PathBuf {
        state.join("containers").join(name)
    }
    /// `<container dir>/pid`: written once the container's command has started; holds the
    /// PID of its first process as the host sees it.
    pub fn pid_file(state: &Path, name: &str) -> PathBuf {
        container_dir(state, name).join("pid")
    }
}
