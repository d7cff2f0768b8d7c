//! The sysctls that decide what a namespace does with packets: forwarding, and per interface
//! (and `all`, `default`) route_localnet, proxy_arp, rp_filter, forwarding. Read from
//! `/proc/sys/net` by a thread in the namespace (the kernel answers for the reader's
//! namespace).

use super::place::Place;
use anyhow::Result;
use std::collections::BTreeMap;

/// The global sysctls read.
pub const GLOBAL: [&str; 2] = ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"];

/// The `net.ipv4.conf.<scope>.` sysctls read, for `all`, `default` and every interface.
pub const CONF: [&str; 4] = ["forwarding", "route_localnet", "proxy_arp", "rp_filter"];

/// Sysctl values, as the kernel prints them (trimmed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctls {
    /// [`GLOBAL`] by dotted name.
    pub global: BTreeMap<String, String>,
    /// `net.ipv4.conf.<scope>.<name>` by (scope, name): scope `all`, `default` or an interface.
    pub conf: BTreeMap<(String, String), String>,
}

impl Sysctls {
    /// `net.ipv4.ip_forward` is 1.
    pub fn ip_forward(&self) -> bool {
        self.global.get("net.ipv4.ip_forward").map(String::as_str) == Some("1")
    }

    /// A sysctl by dotted name: a global one, or `net.ipv4.conf.SCOPE.NAME`.
    pub fn get(&self, key: &str) -> Option<&str> {
        if let Some(value) = self.global.get(key) {
            return Some(value);
        }
        let rest = key.strip_prefix("net.ipv4.conf.")?;
        let (scope, name) = rest.rsplit_once('.')?;
        self.conf(scope, name)
    }

    /// `net.ipv4.conf.<scope>.<name>`.
    pub fn conf(&self, scope: &str, name: &str) -> Option<&str> {
        self.conf
            .get(&(scope.to_string(), name.to_string()))
            .map(String::as_str)
    }

    fn number(&self, scope: &str, name: &str) -> u32 {
        self.conf(scope, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// What the kernel applies to interface `dev`: `route_localnet` and `proxy_arp` hold when
    /// set on `all` or on `dev`, `rp_filter` is the larger of the two, `forwarding` is the
    /// interface's own.
    pub fn effective(&self, dev: &str, name: &str) -> u32 {
        let (all, own) = (self.number("all", name), self.number(dev, name));
        match name {
            "route_localnet" | "proxy_arp" => u32::from(all != 0 || own != 0),
            "rp_filter" => all.max(own),
            _ => own,
        }
    }

    /// Every value as `key = value` lines, sorted.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .global
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .chain(
                self.conf
                    .iter()
                    .map(|((scope, name), v)| format!("net.ipv4.conf.{scope}.{name} = {v}")),
            )
            .collect();
        lines.sort();
        lines
    }
}

fn read_value(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|v| v.trim().to_string())
}

/// Reads them in `place` for `all`, `default` and the interfaces `devs`.
pub fn read(place: &Place, devs: &[String]) -> Result<Sysctls> {
    place.in_thread("reading sysctls", || {
        let mut sysctls = Sysctls::default();
        for key in GLOBAL {
            if let Some(value) = read_value(&format!("/proc/sys/{}", key.replace('.', "/"))) {
                sysctls.global.insert(key.to_string(), value);
            }
        }
        let scopes = ["all", "default"]
            .into_iter()
            .map(String::from)
            .chain(devs.iter().cloned());
        for scope in scopes {
            for name in CONF {
                if let Some(value) = read_value(&format!("/proc/sys/net/ipv4/conf/{scope}/{name}"))
                {
                    sysctls
                        .conf
                        .insert((scope.clone(), name.to_string()), value);
                }
            }
        }
        sysctls
    })
}
