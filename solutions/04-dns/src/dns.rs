//! Step 04: the container gets its own `/etc/resolv.conf` and `/etc/hosts`.
//!
//! Lesson: steps/04-dns/README.md. Check your work: `cargo xtask check 04`.

use anyhow::{Context, Result};
use solution03_container_net::CONTAINER_IP;
use std::fs;
use std::net::IpAddr;
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
    let mut text = String::new();
    let mut nameservers = 0;
    for line in host.lines() {
        if let Some(address) = nameserver(line) {
            // An address that does not parse (say, `fe80::1%eth0`) is no loopback: kept.
            let loopback = address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                continue;
            }
            nameservers += 1;
        }
        text.push_str(line);
        text.push('\n');
    }
    if nameservers == 0 {
        text.push_str(&format!("nameserver {FALLBACK_NAMESERVER}\n"));
    }
    text
}

/// Runs on the lab host before the container's command starts: writes the container's
/// `etc/resolv.conf` (made from the host's [`HOST_RESOLV_CONF`]) and `etc/hosts` (localhost,
/// and `hostname` at the container's address) under its root filesystem `rootfs`.
pub fn write_dns_files(rootfs: &Path, hostname: &str) -> Result<()> {
    let etc = rootfs.join("etc");
    let host = fs::read_to_string(HOST_RESOLV_CONF)
        .with_context(|| format!("reading the host's {HOST_RESOLV_CONF}"))?;
    fs::write(etc.join("resolv.conf"), container_resolv_conf(&host))
        .context("writing the container's /etc/resolv.conf")?;
    let hosts = format!(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         {CONTAINER_IP}\t{hostname}\n"
    );
    fs::write(etc.join("hosts"), hosts).context("writing the container's /etc/hosts")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stub_resolver_alone_gives_the_fallback_and_keeps_search_and_options() {
        let host = "nameserver 127.0.0.53\nsearch lab.test\noptions edns0 trust-ad\n";
        assert_eq!(
            container_resolv_conf(host),
            "search lab.test\noptions edns0 trust-ad\nnameserver 203.0.113.53\n"
        );
    }

    #[test]
    fn loopback_nameservers_go_and_the_others_stay_in_order() {
        let host = "# a comment\nnameserver 127.0.0.53\nnameserver 203.0.113.53\n\
                    nameserver 127.0.1.1\nnameserver 203.0.113.54\nsearch lab.test\n";
        assert_eq!(
            container_resolv_conf(host),
            "# a comment\nnameserver 203.0.113.53\nnameserver 203.0.113.54\nsearch lab.test\n"
        );
    }

    #[test]
    fn ipv6_loopback_goes_and_other_ipv6_stays() {
        let host = "nameserver ::1\nnameserver 2001:db8::53\n";
        assert_eq!(container_resolv_conf(host), "nameserver 2001:db8::53\n");
        assert_eq!(
            container_resolv_conf("nameserver ::1\n"),
            "nameserver 203.0.113.53\n"
        );
    }

    #[test]
    fn options_and_search_are_kept_as_written() {
        let host = "nameserver 198.51.100.53\nsearch a.test b.test\noptions ndots:2 timeout:1";
        assert_eq!(
            container_resolv_conf(host),
            "nameserver 198.51.100.53\nsearch a.test b.test\noptions ndots:2 timeout:1\n"
        );
    }

    #[test]
    fn an_empty_host_file_gives_the_fallback() {
        assert_eq!(container_resolv_conf(""), "nameserver 203.0.113.53\n");
    }

    #[test]
    fn nameserver_reads_only_nameserver_lines() {
        assert_eq!(nameserver("nameserver 127.0.0.53"), Some("127.0.0.53"));
        assert_eq!(nameserver("  nameserver\t10.1.2.3  "), Some("10.1.2.3"));
        assert_eq!(nameserver("search lab.test"), None);
        assert_eq!(nameserver("# nameserver 127.0.0.53"), None);
        assert_eq!(nameserver("nameserver"), None);
    }
}
