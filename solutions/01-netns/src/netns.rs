//! Step 01: give the container a network namespace of its own.
//!
//! Lesson: steps/01-netns/README.md. Check your work: `cargo xtask check 01`.

use anyhow::Result;
use container::CloneFlags;

/// The namespaces the container gets on top of mount, UTS, PID and IPC.
pub fn extra_namespaces() -> CloneFlags {
    CloneFlags::CLONE_NEWNET
}

/// Runs inside the container's namespaces, before its command starts.
pub fn setup_loopback() -> Result<()> {
    cmd_lib::run_cmd!(ip link set lo up)?;
    Ok(())
}
