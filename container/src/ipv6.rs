//! The lab is IPv4-only, and so is every container with a network namespace of its own: as
//! Docker does on a network without IPv6 (`disable_ipv6` on the container's interface), the
//! runtime turns IPv6 off on every interface of the new namespace but `lo` (which keeps `::1`,
//! as in Docker), and by default for those that come later. Without it, each `eth0` that
//! comes up sends its IPv6 chatter (duplicate address detection, router solicitations,
//! multicast reports) to multicast groups that a bridge floods to every port: a hundred
//! containers on one bridge each take the next one's, and starting one grows slower with
//! every container already running.

use anyhow::{Context, Result};
use std::fs;
use std::io::ErrorKind;

/// Where the namespace's per-interface IPv6 settings are (`default` and `all` among them).
const CONF: &str = "/proc/sys/net/ipv6/conf";

/// Turns IPv6 off in this process's network namespace: `default` and each interface but `lo`.
/// A kernel without IPv6 has nothing to turn off.
pub fn off_but_loopback() -> Result<()> {
    let entries = match fs::read_dir(CONF) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("listing {CONF}")),
    };
    for entry in entries {
        let name = entry
            .with_context(|| format!("listing {CONF}"))?
            .file_name();
        // `all` would take `lo`'s `::1` too.
        if name == "lo" || name == "all" {
            continue;
        }
        let path = format!("{CONF}/{}/disable_ipv6", name.to_string_lossy());
        match fs::write(&path, "1") {
            // An interface that went meanwhile.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            other => other.with_context(|| format!("writing 1 to {path}"))?,
        }
    }
    Ok(())
}
