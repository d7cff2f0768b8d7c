//! Step 06's given pieces: the chain's name, the tags that say which container a rule belongs
//! to, and reading and removing tagged rules. Not a TODO: read them, use them from `dnat.rs`.

use anyhow::{Context, Result};
use cmd_lib::{run_cmd, run_fun};
use container::Protocol;

pub use solution05_bridge::given::*;

/// The nat chain holding one DNAT rule per published port (Docker's is `DOCKER`, CNI's
/// portmap uses `CNI-HOSTPORT-DNAT`).
pub const CHAIN: &str = "NETLAB-PORTS";

/// The comment that marks the rules of container `name` started by this step binary:
/// `netlab:NAME:PID`. The PID says whether the rule's owner still runs.
pub fn tag(name: &str) -> String {
    format!("netlab:{name}:{}", std::process::id())
}

/// A port published by a DNAT rule of [`CHAIN`], as `iptables -S` shows the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub host_port: u16,
    pub protocol: Protocol,
    /// The container's name, from the rule's tag.
    pub name: String,
    /// The step binary that added the rule, from the rule's tag.
    pub owner: u32,
}

/// Every port published in [`CHAIN`] (none when the chain does not exist yet).
pub fn published() -> Result<Vec<Published>> {
    Ok(rules("nat", CHAIN)?
        .iter()
        .filter_map(|rule| parse(rule))
        .collect())
}

fn parse(rule: &str) -> Option<Published> {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let after = |flag: &str| {
        let at = words.iter().position(|w| *w == flag)?;
        words.get(at + 1).copied()
    };
    let protocol = match after("-p")? {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    };
    let mut tag = after("--comment")?.trim_matches('"').split(':');
    if tag.next()? != "netlab" {
        return None;
    }
    Some(Published {
        host_port: after("--dport")?.parse().ok()?,
        protocol,
        name: tag.next()?.to_string(),
        owner: tag.next()?.parse().ok()?,
    })
}

/// The rules of one chain, written as `iptables -S` writes them (`-A CHAIN ...`).
pub fn rules(table: &str, chain: &str) -> Result<Vec<String>> {
    let Ok(listing) = run_fun!(iptables -w -t $table -S $chain 2>/dev/null) else {
        return Ok(Vec::new());
    };
    Ok(listing
        .lines()
        .filter(|line| line.starts_with("-A "))
        .map(String::from)
        .collect())
}

/// Removes the rules carrying the comment `tag` from [`CHAIN`] and from nat POSTROUTING.
pub fn remove_tagged(tag: &str) -> Result<()> {
    for chain in [CHAIN, "POSTROUTING"] {
        for rule in rules("nat", chain)? {
            if !rule.split_whitespace().any(|w| w.trim_matches('"') == tag) {
                continue;
            }
            // `-A CHAIN spec...` becomes `-D CHAIN spec...`.
            // `iptables -S` quotes the comment; the quotes are not part of it.
            let words: Vec<&str> = rule
                .split_whitespace()
                .skip(1)
                .map(|w| w.trim_matches('"'))
                .collect();
            let words = &words;
            run_cmd!(iptables -w -t nat -D $[words])
                .with_context(|| format!("removing the rule {rule}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_published_port_from_its_rule() {
        let rule = "-A NETLAB-PORTS -p tcp -m tcp --dport 8080 -m comment --comment \
                    netlab:web:4242 -j DNAT --to-destination 10.0.0.2:80";
        let published = parse(rule).unwrap();
        assert_eq!(published.host_port, 8080);
        assert_eq!(published.protocol, Protocol::Tcp);
        assert_eq!((published.name.as_str(), published.owner), ("web", 4242));
        assert_eq!(parse("-A NETLAB-PORTS -p tcp --dport 1 -j DNAT"), None);
    }
}
