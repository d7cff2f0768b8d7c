//! The two ends of a traced flow (`cargo xtask trace --from c1 --to 203.0.113.80:80`), read
//! from the command line by xtask and by the checker alike: where the probe is sent from (the
//! lab host, the internet, a container), and what it is sent to (an address or a container,
//! with a port for TCP or `/udp`, without one for ping).

use std::fmt;
use std::net::Ipv4Addr;

/// Where a probe is sent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    /// The lab host.
    Host,
    /// The lab's internet (the web server's namespace).
    Internet,
    /// A running container, by its name.
    Container(String),
}

/// What a probe is sent to: a TCP connection when there is a port (a UDP datagram with
/// `/udp`: a DNS query to port 53), a ping otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct To {
    pub host: ToHost,
    pub port: Option<u16>,
    /// UDP instead of TCP (`:53/udp`).
    pub udp: bool,
}

/// An address, or a name the lab resolves (a container, `host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToHost {
    Addr(Ipv4Addr),
    /// The lab host's uplink address.
    Host,
    /// A running container's address (its eth0).
    Container(String),
}

impl To {
    /// A TCP connection to `ip:port`.
    pub fn tcp(ip: Ipv4Addr, port: u16) -> To {
        To {
            host: ToHost::Addr(ip),
            port: Some(port),
            udp: false,
        }
    }

    /// A UDP datagram to `ip:port` (a DNS query to port 53).
    pub fn udp(ip: Ipv4Addr, port: u16) -> To {
        To {
            udp: true,
            ..To::tcp(ip, port)
        }
    }

    /// `tcp`, `udp` or `ping`.
    pub fn protocol(&self) -> &'static str {
        match (self.port, self.udp) {
            (None, _) => "ping",
            (Some(_), true) => "udp",
            (Some(_), false) => "tcp",
        }
    }

    /// A ping to `ip`.
    pub fn ping(ip: Ipv4Addr) -> To {
        To {
            host: ToHost::Addr(ip),
            port: None,
            udp: false,
        }
    }
}

impl fmt::Display for From {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            From::Host => write!(f, "host"),
            From::Internet => write!(f, "internet"),
            From::Container(name) => write!(f, "{name}"),
        }
    }
}

impl fmt::Display for To {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            ToHost::Addr(ip) => write!(f, "{ip}")?,
            ToHost::Host => write!(f, "host")?,
            ToHost::Container(name) => write!(f, "{name}")?,
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        if self.udp {
            write!(f, "/udp")?;
        }
        Ok(())
    }
}

/// A container's name as the runtime accepts it: letters, digits, `-` and `_`.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !text.starts_with('-')
}

/// Parses `--from`: `host`, `internet` or a container's name.
pub fn parse_from(text: &str) -> Result<From, String> {
    match text {
        "host" => Ok(From::Host),
        "internet" => Ok(From::Internet),
        name if is_name(name) && !name.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            Ok(From::Container(name.to_string()))
        }
        _ => Err(format!(
            "takes host, internet or a running container's name (c1), not '{text}'"
        )),
    }
}

/// Parses `--to`: `ADDRESS[:PORT[/udp]]`, `CONTAINER[:PORT[/udp]]` or `host[:PORT[/udp]]`.
pub fn parse_to(text: &str) -> Result<To, String> {
    let wrong = |why: &str| {
        Err(format!(
            "takes ADDRESS[:PORT] or CONTAINER[:PORT] (203.0.113.80:80, c2, \
             203.0.113.53:53/udp), not '{text}': {why}"
        ))
    };
    let (rest, udp) = match text.rsplit_once('/') {
        Some((rest, "udp")) => (rest, true),
        Some((rest, "tcp")) => (rest, false),
        Some(_) => return wrong("the protocol after / is tcp or udp"),
        None => (text, false),
    };
    if udp && !rest.contains(':') {
        return wrong("udp needs a port");
    }
    let text_without_protocol = rest;
    let (host, port) = match text_without_protocol.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(port) if port > 0 => (host, Some(port)),
            _ => return wrong("the port is a number from 1 to 65535"),
        },
        None => (text_without_protocol, None),
    };
    let host = if let Ok(ip) = host.parse::<Ipv4Addr>() {
        ToHost::Addr(ip)
    } else if host.chars().all(|c| c.is_ascii_digit() || c == '.') && !host.is_empty() {
        return wrong("not an IPv4 address");
    } else if host == "host" {
        ToHost::Host
    } else if host == "internet" {
        return wrong("name an address of the internet instead (203.0.113.80)");
    } else if is_name(host) {
        ToHost::Container(host.to_string())
    } else {
        return wrong("neither an IPv4 address nor a container's name");
    };
    Ok(To { host, port, udp })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ends_of_a_flow() {
        assert_eq!(parse_from("host"), Ok(From::Host));
        assert_eq!(parse_from("internet"), Ok(From::Internet));
        assert_eq!(parse_from("c1"), Ok(From::Container("c1".into())));
        let web = parse_to("203.0.113.80:80").unwrap();
        assert_eq!(web.host, ToHost::Addr(Ipv4Addr::new(203, 0, 113, 80)));
        assert_eq!(web.port, Some(80));
        assert_eq!(web.to_string(), "203.0.113.80:80");
        assert_eq!(
            parse_to("c2"),
            Ok(To {
                host: ToHost::Container("c2".into()),
                port: None,
                udp: false
            })
        );
        assert_eq!(parse_to("host:8080").unwrap().host, ToHost::Host);
        let dns = parse_to("203.0.113.53:53/udp").unwrap();
        assert!(dns.udp);
        assert_eq!(dns.to_string(), "203.0.113.53:53/udp");
        assert_eq!(dns.protocol(), "udp");
    }

    #[test]
    fn bad_ends_say_why_in_one_line() {
        for bad in ["", "10.0.0.2", "c 1", "-x", "a/b"] {
            let e = parse_from(bad).unwrap_err();
            assert!(e.contains("takes host, internet"), "{bad}: {e}");
        }
        for (bad, why) in [
            ("203.0.113.80:http", "the port is a number"),
            ("203.0.113.80:0", "the port is a number"),
            ("203.0.113.80:70000", "the port is a number"),
            ("203.0.113:80", "not an IPv4 address"),
            ("internet:80", "name an address"),
            ("a/b:80", "tcp or udp"),
            ("a.b:80", "neither an IPv4 address"),
            (":80", "neither"),
            ("203.0.113.53:53/sctp", "tcp or udp"),
            ("203.0.113.53/udp", "udp needs a port"),
        ] {
            let e = parse_to(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert_eq!(e.lines().count(), 1);
        }
    }
}
