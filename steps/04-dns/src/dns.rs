//! Step 04: the container gets its own `/etc/resolv.conf` and `/etc/hosts`.
//!
//! Lesson: steps/04-dns/README.md. Check your work: `cargo xtask check 04`.

use anyhow::Result;
use std::path::Path;

/// The lab host's resolver configuration, which the container's is made from.
pub const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";

/// The nameserver a container gets when the host names none that works inside it: the lab's
/// own resolver. (Docker, on a real host, falls back to well-known public resolvers, which the
/// offline lab cannot reach: the lesson names them.)
pub const FALLBACK_NAMESERVER: &str = "203.0.113.53";

/// The address a `nameserver` line names, as written: `Some("127.0.0.53")` for
/// `nameserver 127.0.0.53`, `None` for any other line (`search`, `options`, comments).
pub fn nameserver(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace();
    match words.next() {
        Some("nameserver") => words.next(),
        _ => None,
    }
}

/// The container's resolv.conf, made from the text of the host's: every line is kept except
/// the nameservers on the loopback network (127.0.0.0/8 and ::1), which would be the
/// container's own loopback inside its namespace; when no nameserver is left, the container
/// gets [`FALLBACK_NAMESERVER`].
pub fn container_resolv_conf(host: &str) -> String {
    // TODO: keep every line of `host` but the loopback nameservers; add the fallback
    // nameserver when none is left.
    todo!(
        "filter the {} lines of the host's resolv.conf",
        host.lines().count()
    )
}

/// Runs on the lab host before the container's command starts: writes the container's
/// `etc/resolv.conf` (made from the host's [`HOST_RESOLV_CONF`]) and `etc/hosts` (localhost,
/// and `hostname` at the container's address) under its root filesystem `rootfs`.
pub fn write_dns_files(rootfs: &Path, hostname: &str) -> Result<()> {
    // TODO: read the host's resolv.conf and write the container's; write its hosts file
    // (localhost, and `hostname` at solution03_container_net::CONTAINER_IP).
    todo!(
        "write {hostname}'s resolv.conf and hosts under {}",
        rootfs.display()
    )
}
