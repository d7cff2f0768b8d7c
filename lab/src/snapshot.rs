//! A readable picture of a network namespace's state: links, addresses, routes, policy rules,
//! firewall, named namespaces and the sysctls the workshop touches. Taken before and after a
//! run, two pictures must be equal; their difference is what a run changed.
//!
//! Taking a picture only reads: it runs `ip -j ... show` and `nft -s list ruleset`, never
//! `iptables` (whose nft flavour may create tables just by listing them).

use crate::netcmd;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// The sysctls compared (per namespace).
pub const SYSCTLS: [&str; 6] = [
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv4.conf.default.route_localnet",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv6.conf.all.forwarding",
];

/// One namespace's network state, as sorted lines per section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetState {
    pub sections: Vec<(String, Vec<String>)>,
}

impl NetState {
    /// Pictures the calling thread's network namespace.
    pub fn take() -> Result<NetState> {
        let mut sections = vec![
            ("links".to_string(), links()?),
            ("addresses".to_string(), addresses()?),
            (
                "routes".to_string(),
                ip_lines(&["-j", "route", "show", "table", "all"], route_line)?,
            ),
            (
                "rules".to_string(),
                ip_lines(&["-j", "rule", "show"], rule_line)?,
            ),
            ("firewall".to_string(), firewall()),
            ("named namespaces".to_string(), named_namespaces()),
        ];
        let sysctls = SYSCTLS
            .iter()
            .map(|key| {
                format!(
                    "{key} = {}",
                    netcmd::sysctl(key).unwrap_or_else(|_| "-".into())
                )
            })
            .collect();
        sections.push(("sysctls".to_string(), sysctls));
        Ok(NetState { sections })
    }

    /// Lines that differ: `- line` was only before, `+ line` only after, by section.
    pub fn diff(&self, after: &NetState) -> Vec<String> {
        let mut out = Vec::new();
        for ((name, before), (_, now)) in self.sections.iter().zip(&after.sections) {
            for line in before.iter().filter(|l| !now.contains(l)) {
                out.push(format!("{name}: - {line}"));
            }
            for line in now.iter().filter(|l| !before.contains(l)) {
                out.push(format!("{name}: + {line}"));
            }
        }
        out
    }
}

impl fmt::Display for NetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, lines) in &self.sections {
            writeln!(f, "[{name}]")?;
            for line in lines {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

fn ip_json(args: &[&str]) -> Result<Vec<Value>> {
    let text = netcmd::run("ip", args)?;
    let value: Value = serde_json::from_str(&text).context("parsing ip's JSON")?;
    Ok(value.as_array().cloned().unwrap_or_default())
}

fn ip_lines(args: &[&str], line: fn(&Value) -> String) -> Result<Vec<String>> {
    let mut lines: Vec<String> = ip_json(args)?.iter().map(line).collect();
    lines.sort();
    Ok(lines)
}

fn s(value: &Value, key: &str) -> String {
    match &value[key] {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn links() -> Result<Vec<String>> {
    ip_lines(&["-j", "-d", "link", "show"], |l| {
        let flags: Vec<String> = l["flags"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let kind = l["linkinfo"]["info_kind"]
            .as_str()
            .unwrap_or("")
            .to_string();
        format!(
            "{} kind={} flags={} mtu={} master={} mac={}",
            s(l, "ifname"),
            kind,
            flags.join(","),
            s(l, "mtu"),
            s(l, "master"),
            s(l, "address")
        )
    })
}

fn addresses() -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for link in ip_json(&["-j", "addr", "show"])? {
        for addr in link["addr_info"].as_array().into_iter().flatten() {
            lines.push(format!(
                "{} {}/{}",
                s(&link, "ifname"),
                s(addr, "local"),
                s(addr, "prefixlen")
            ));
        }
    }
    lines.sort();
    Ok(lines)
}

fn route_line(r: &Value) -> String {
    let mut words = vec![s(r, "dst")];
    for key in [
        "gateway", "dev", "table", "protocol", "scope", "prefsrc", "type",
    ] {
        let value = s(r, key);
        if !value.is_empty() {
            words.push(format!("{key}={value}"));
        }
    }
    words.join(" ")
}

fn rule_line(r: &Value) -> String {
    format!(
        "{} from={} table={}",
        s(r, "priority"),
        s(r, "src"),
        s(r, "table")
    )
}

fn firewall() -> Vec<String> {
    match netcmd::run("nft", &["-s", "list", "ruleset"]) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        Err(_) => vec!["(nft is not installed: firewall not compared)".to_string()],
    }
}

fn named_namespaces() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
