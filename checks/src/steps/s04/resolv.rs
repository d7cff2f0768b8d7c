//! The container's /etc/resolv.conf, made from the lab host's whatever it names: the host's
//! nameservers in order, every loopback one (127.0.0.0/8, ::1) left out, and the fallback (the
//! lab's resolver) only when none is left; the host's other lines (search, options) kept.
//! Each check runs on a host profile of its own: systemd-resolved's stub and a real
//! nameserver (`Fresh`), the stub alone, dnsmasq's loopback addresses, real nameservers only.

use super::{file_inside, looks_up, shown, SLEEP};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::DNS_ADDR;
use std::net::IpAddr;

/// 04.resolv-conf, 04.fallback, 04.dnsmasq: the same judgement, each on its host profile.
pub(super) fn resolv_conf(probe: &Probe) -> Verdict {
    made_from_host(probe)?.stop()?;
    Ok(())
}

pub(super) fn real_nameservers(probe: &Probe) -> Verdict {
    let container = made_from_host(probe)?;
    looks_up(probe, &container)?;
    container.stop()?;
    Ok(())
}

/// Starts a container and judges its resolv.conf against the lab host's (as its profile
/// wrote it); the container, still running.
fn made_from_host(probe: &Probe) -> Result<Running, Outcome> {
    let container = probe.start("c1", SLEEP)?;
    let text = file_inside(&container, "/etc/resolv.conf")?;
    let host = probe.lab.profile().host_resolv_conf();
    no_loopback(&text)?;
    same_nameservers(&text, &host)?;
    for line in other_lines(&host) {
        has_line(&text, line)?;
    }
    Ok(container)
}

/// The nameserver addresses of a resolv.conf, as written.
pub fn nameservers(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        .collect()
}

/// The nameservers a container gets from a host's resolv.conf: the host's but the loopback
/// ones, in order; the lab's resolver when none is left.
fn expected_nameservers(host: &str) -> Vec<String> {
    let usable: Vec<String> = nameservers(host)
        .into_iter()
        .filter(|a| !loopback(a))
        .map(String::from)
        .collect();
    if usable.is_empty() {
        vec![DNS_ADDR.to_string()]
    } else {
        usable
    }
}

/// The lines of a resolv.conf that are neither nameservers, comments nor blank.
fn other_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter(|l| l.split_whitespace().next() != Some("nameserver"))
        .collect()
}

/// Whether an address is on the loopback network (127.0.0.0/8, ::1).
fn loopback(address: &str) -> bool {
    address.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Fails when the container's resolv.conf names a loopback nameserver.
fn no_loopback(text: &str) -> Result<(), Outcome> {
    let bad: Vec<&str> = nameservers(text)
        .into_iter()
        .filter(|a| loopback(a))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(Outcome::failed(
        "no loopback nameserver (127.0.0.0/8, ::1) in the container's /etc/resolv.conf: inside \
         its network namespace, 127.0.0.53, 127.0.1.1 or ::1 is the container's own lo, where \
         no resolver listens",
        format!(
            "it names {}\n{}",
            bad.join(", "),
            shown("the container's /etc/resolv.conf", text)
        ),
    ))
}

/// Fails unless the container names exactly [`expected_nameservers`] of the host's file.
fn same_nameservers(text: &str, host: &str) -> Result<(), Outcome> {
    let wanted = expected_nameservers(host);
    let seen = nameservers(text);
    if seen == wanted {
        return Ok(());
    }
    let on_host = nameservers(host).join(", ");
    let expected = if nameservers(host).iter().all(|a| loopback(a)) {
        format!(
            "nameserver {} alone: the lab host names only loopback nameservers ({on_host}), \
             which cannot work inside the container, so the container falls back to the lab's \
             resolver",
            wanted.join(", ")
        )
    } else {
        format!(
            "the lab host's usable nameservers, in its order, and no other: {} (the host names \
             {on_host}; a fallback is only for a host with no usable nameserver left)",
            wanted.join(", ")
        )
    };
    let names = if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join(", ")
    };
    Err(Outcome::failed(
        expected,
        format!(
            "the container names {names}\n{}",
            shown("the container's /etc/resolv.conf", text)
        ),
    ))
}

/// Fails when no line of `text` reads `wanted` (spaces aside).
fn has_line(text: &str, wanted: &str) -> Result<(), Outcome> {
    let normal = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let wanted = normal(wanted);
    if text.lines().any(|line| normal(line) == wanted) {
        return Ok(());
    }
    Err(Outcome::failed(
        format!("the lab host's line `{wanted}`, kept in the container's /etc/resolv.conf"),
        shown("the container's /etc/resolv.conf", text),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab::Profile;

    #[test]
    fn nameservers_are_read_as_written() {
        let text = "# nameserver 203.0.113.99\nnameserver 127.0.0.53\n nameserver  203.0.113.53 \n\
                    search lab.test\nnameserver\n";
        assert_eq!(nameservers(text), ["127.0.0.53", "203.0.113.53"]);
    }

    #[test]
    fn loopback_is_all_of_127_and_ipv6_one() {
        for address in ["127.0.0.53", "127.0.0.1", "127.0.1.1", "127.1.2.3", "::1"] {
            assert!(loopback(address), "{address}");
        }
        for address in [
            "203.0.113.53",
            "10.0.0.1",
            "2001:db8::1",
            "fe80::1%eth0",
            "x",
        ] {
            assert!(!loopback(address), "{address}");
        }
    }

    #[test]
    fn search_and_options_lines_match_whatever_the_spacing() {
        assert!(has_line("search  lab.test\n", "search lab.test").is_ok());
        assert!(has_line("options\tedns0 trust-ad", "options edns0  trust-ad").is_ok());
        assert!(has_line("search other.test\n", "search lab.test").is_err());
    }

    #[test]
    fn every_profile_has_its_expected_nameservers() {
        let expect = |profile: Profile| expected_nameservers(&profile.host_resolv_conf());
        assert_eq!(expect(Profile::Fresh), ["203.0.113.53"]);
        assert_eq!(expect(Profile::StubResolverOnly), ["203.0.113.53"]);
        assert_eq!(expect(Profile::DnsmasqHost), ["203.0.113.53"]);
        assert_eq!(
            expect(Profile::RealNameservers),
            ["203.0.113.54", "203.0.113.53"]
        );
        assert_eq!(
            other_lines(&Profile::StubResolverOnly.host_resolv_conf()),
            ["search lab.test", "options edns0 trust-ad"]
        );
    }

    #[test]
    fn a_fallback_beside_a_usable_nameserver_is_refused() {
        let host = Profile::RealNameservers.host_resolv_conf();
        let added = "nameserver 203.0.113.54\nnameserver 203.0.113.53\nnameserver 203.0.113.53\n";
        assert!(same_nameservers(added, &host).is_err());
        let kept = "nameserver 203.0.113.54\nnameserver 203.0.113.53\n";
        assert!(same_nameservers(kept, &host).is_ok());
    }
}
