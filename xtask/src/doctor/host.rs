//! Where the workshop runs: WSL2 (and whether under /mnt), or inside a container (and whether
//! it may make namespaces).

use super::{Finding, Status};
use crate::workspace::Paths;
use std::path::Path;

pub fn wsl2(paths: &Paths) -> Finding {
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    if !version.to_lowercase().contains("microsoft") {
        return Finding::ok("WSL2", "not WSL");
    }
    if paths.root.starts_with("/mnt") {
        Finding::new(
            "WSL2",
            Status::Warn,
            format!(
                "WSL2, with the workshop under /mnt ({}): builds are slow and file events \
                 do not arrive there (watch polls)",
                paths.root.display()
            ),
            "move the workshop into the Linux filesystem, e.g. `cp -r . ~/netlab`",
        )
    } else {
        Finding::ok(
            "WSL2",
            "WSL2, with the workshop in the Linux filesystem: works",
        )
    }
}

/// A capability set from `/proc/self/status` (`CapEff`, `CapBnd`).
fn capabilities(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

pub fn container() -> Finding {
    let marker = ["/.dockerenv", "/run/.containerenv"]
        .into_iter()
        .find(|m| Path::new(m).exists());
    let Some(marker) = marker else {
        return Finding::ok("container", "not inside a container");
    };
    const CAP_NET_ADMIN: u64 = 1 << 12;
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    let needed = CAP_NET_ADMIN | CAP_SYS_ADMIN;
    // The bounding set: what any process here could ever hold (root's CapEff, or via sudo).
    let bounding = capabilities("CapBnd").or_else(|| capabilities("CapEff"));
    match bounding {
        Some(caps) if caps & needed == needed => Finding::ok(
            "container",
            format!("inside a container ({marker}) with CAP_SYS_ADMIN and CAP_NET_ADMIN"),
        ),
        Some(_) => Finding::new(
            "container",
            Status::Fail,
            format!(
                "inside a container ({marker}) without privileges: no CAP_SYS_ADMIN and \
                 CAP_NET_ADMIN, so no namespaces"
            ),
            "start the container privileged: docker run --privileged (podman run --privileged)",
        ),
        None => Finding::new(
            "container",
            Status::Warn,
            format!("inside a container ({marker}); its capabilities are unknown"),
            "if the lab fails below: docker run --privileged",
        ),
    }
}
