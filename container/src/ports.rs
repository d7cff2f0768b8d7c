//! Published ports: `-p HOSTPORT:CONTAINERPORT[/tcp|/udp]`, as `docker run -p` writes them.

use anyhow::{bail, Context, Result};
use std::fmt;

/// The transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// The name iptables knows it by (`-p tcp`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One published port: traffic to the host's `host` port goes to the container's `container`
/// port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The port on the host's addresses.
    pub host: u16,
    /// The port the container's program listens on.
    pub container: u16,
    pub protocol: Protocol,
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{}",
            self.host,
            self.container,
            self.protocol.name()
        )
    }
}

/// Parses `8080:80`, `8080:80/tcp` or `5353:53/udp`.
pub fn parse(text: &str) -> Result<Port> {
    let (ports, protocol) = match text.split_once('/') {
        None => (text, Protocol::Tcp),
        Some((ports, "tcp")) => (ports, Protocol::Tcp),
        Some((ports, "udp")) => (ports, Protocol::Udp),
        Some((_, other)) => bail!("unknown protocol '{other}' in -p {text}: use tcp or udp"),
    };
    let (host, container) = ports
        .split_once(':')
        .with_context(|| format!("-p {text}: write HOSTPORT:CONTAINERPORT, like 8080:80"))?;
    Ok(Port {
        host: number(host, text)?,
        container: number(container, text)?,
        protocol,
    })
}

fn number(word: &str, text: &str) -> Result<u16> {
    match word.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => bail!("-p {text}: '{word}' is not a port (1 to 65535)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_syntax() {
        let port = parse("8080:80").unwrap();
        assert_eq!(
            (port.host, port.container, port.protocol),
            (8080, 80, Protocol::Tcp)
        );
        assert_eq!(parse("5353:53/udp").unwrap().protocol, Protocol::Udp);
        assert_eq!(parse("8080:80/tcp").unwrap().to_string(), "8080:80/tcp");
    }

    #[test]
    fn rejects_bad_ports_with_a_reason() {
        for (text, words) in [
            ("8080", "HOSTPORT:CONTAINERPORT"),
            ("0:80", "'0' is not a port"),
            ("8080:70000", "'70000' is not a port"),
            ("8080:80/sctp", "unknown protocol 'sctp'"),
            ("a:80", "'a' is not a port"),
        ] {
            let err = format!("{:#}", parse(text).unwrap_err());
            assert!(err.contains(words), "{text:?} gave {err:?}");
        }
    }
}
