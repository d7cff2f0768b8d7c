//! Observations shared by several steps' checks.

use anyhow::{Context, Result};
use serde_json::Value;
use std::process::Output;

/// Devices the kernel itself adds to every new network namespace when tunnel modules are
/// loaded; they are not the learner's doing.
pub use lab::state::link::FALLBACK_DEVICES;

/// One network interface, as `ip -j link` describes it.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub up: bool,
}

/// Parses `ip -j link` output, leaving out the kernel's fallback devices.
pub fn links(output: &Output) -> Result<Vec<Link>> {
    Ok(ip_json(&output.stdout, "ip -j link")?
        .iter()
        .map(|l| Link {
            name: l["ifname"].as_str().unwrap_or("?").to_string(),
            up: is_up(l),
        })
        .filter(|l| !FALLBACK_DEVICES.contains(&l.name.as_str()))
        .collect())
}

/// The objects of an `ip -j ...` answer; `what` names the command for the error.
pub fn ip_json(json: &[u8], what: &str) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_slice(json).with_context(|| {
        format!(
            "{what} gave no JSON: {}",
            String::from_utf8_lossy(json).trim()
        )
    })?;
    Ok(value.as_array().cloned().unwrap_or_default())
}

/// Whether an `ip -j` link object has the UP flag.
pub fn is_up(link: &Value) -> bool {
    link["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "UP"))
}

/// `lo (UP), eth0 (DOWN)` for reports.
pub fn describe(links: &[Link]) -> String {
    if links.is_empty() {
        return "no interfaces at all".to_string();
    }
    links
        .iter()
        .map(|l| format!("{} ({})", l.name, if l.up { "UP" } else { "DOWN" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// stdout and stderr of a command, trimmed, for reports.
pub fn text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text.trim_end().to_string()
}

/// `lab# ip -br <what>` and its output, for reports.
pub fn lab_view(what: &[&str]) -> String {
    let mut args = vec!["-br"];
    args.extend_from_slice(what);
    let shown = lab::netcmd::run("ip", &args).unwrap_or_else(|e| format!("{e:#}"));
    let lines: Vec<&str> = shown.lines().map(str::trim_end).collect();
    format!("lab# ip {}\n{}", args.join(" "), lines.join("\n"))
}

/// Whether a client run under busybox `timeout` was stopped by it (SIGTERM).
pub fn killed_by_timeout(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(15) || status.code() == Some(128 + 15)
}

/// `lab# iptables ARGS` and its output (or the error), for reports.
pub fn iptables_view(args: &[&str]) -> String {
    let mut all = vec!["-w"];
    all.extend_from_slice(args);
    let shown = lab::netcmd::run("iptables", &all).unwrap_or_else(|e| format!("{e:#}"));
    format!("lab# iptables {}\n{}", args.join(" "), shown.trim_end())
}

/// Calls `f` until it gives something, or `limit` has passed.
pub fn poll<T>(limit: std::time::Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The first IPv4 address in `ip -j addr` output, with the prefix length `prefix` when given.
pub fn inet(json: &[u8], prefix: Option<u64>) -> Result<Option<std::net::Ipv4Addr>> {
    Ok(ip_json(json, "ip -j addr")?
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["family"] == "inet")
        .filter(|a| prefix.is_none_or(|p| a["prefixlen"].as_u64() == Some(p)))
        .find_map(|a| a["local"].as_str().and_then(|s| s.parse().ok())))
}
