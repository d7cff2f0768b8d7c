//! Routes (`ip -j route show`, the main table unless asked for all) and policy rules
//! (`ip -j rule show`).

use super::link::{ip_json, text};
use super::net::Net;
use super::place::Place;
use anyhow::Result;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;

/// Which routing tables to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    /// The main table, IPv4 (`ip route show`): what a check asks about.
    Main,
    /// Every table, as `ip route show table all` lists it (local and broadcast routes, some
    /// IPv6 ones too): what a picture of the machine compares.
    All,
}

/// One route.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// An IPv6 route (only [`Tables::All`] has some); its `dst` is None, see `dst_text`.
    pub v6: bool,
    /// The IPv4 destination; None for the default route (and IPv6 routes).
    pub dst: Option<Net>,
    /// The destination as `ip` prints it: `default`, `10.0.0.0/24`, `10.0.0.1`, `::1`.
    pub dst_text: String,
    /// The gateway (`via`).
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// The preferred source address (`src`).
    pub src: Option<IpAddr>,
    /// `unicast`, `local`, `broadcast`, `unreachable`, `blackhole`, `prohibit`, ...
    pub kind: String,
    /// `link`, `host`, `global` (`ip` leaves out global: empty then).
    pub scope: String,
    /// `kernel`, `boot`, `static`, `dhcp`, ... (empty when `ip` gives none).
    pub proto: String,
    /// `main` unless the route is in another table.
    pub table: String,
    pub metric: Option<u32>,
}

impl Route {
    /// The default route (of its family).
    pub fn is_default(&self) -> bool {
        self.dst_text == "default"
    }

    /// Whether an IPv4 packet to `addr` may take this route (longest prefix not considered).
    pub fn covers(&self, addr: std::net::Ipv4Addr) -> bool {
        !self.v6 && (self.is_default() || self.dst.is_some_and(|d| d.contains(addr)))
    }

    /// The prefix length it matches with (0 for the default route).
    pub fn prefix_len(&self) -> u8 {
        self.dst.map_or(0, |d| d.len)
    }

    /// `10.0.0.0/24 dev netlab0 src 10.0.0.1` as `ip route` says it, without the obvious
    /// words (`proto kernel scope link`, `unicast`, `table main`).
    pub fn short(&self) -> String {
        let mut words = vec![self.dst_text.clone()];
        if self.kind != "unicast" {
            words.insert(0, self.kind.clone());
        }
        if let Some(via) = self.via {
            words.push(format!("via {via}"));
        }
        if let Some(dev) = &self.dev {
            words.push(format!("dev {dev}"));
        }
        if let Some(src) = self.src {
            words.push(format!("src {src}"));
        }
        words.join(" ")
    }
}

impl fmt::Display for Route {
    /// Every word: `10.0.0.0/24 dev=netlab0 table=main protocol=kernel scope=link ...` (the
    /// type when not unicast).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dst_text)?;
        let via = self.via.map(|a| a.to_string());
        let src = self.src.map(|a| a.to_string());
        let metric = self.metric.map(|m| m.to_string());
        for (key, value) in [
            ("gateway", via.as_deref()),
            ("dev", self.dev.as_deref()),
            ("table", Some(self.table.as_str())),
            ("protocol", Some(self.proto.as_str())),
            ("scope", Some(self.scope.as_str())),
            ("prefsrc", src.as_deref()),
            ("type", Some(self.kind.as_str()).filter(|k| *k != "unicast")),
            ("metric", metric.as_deref()),
        ] {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                write!(f, " {key}={value}")?;
            }
        }
        Ok(())
    }
}

fn route(r: &Value) -> Route {
    let dst_text = text(r, "dst").unwrap_or_default();
    let v6 = dst_text.contains(':') || text(r, "gateway").is_some_and(|g| g.contains(':'));
    Route {
        v6,
        dst: if v6 { None } else { dst_text.parse().ok() },
        via: text(r, "gateway").and_then(|a| a.parse().ok()),
        dev: text(r, "dev"),
        src: text(r, "prefsrc").and_then(|a| a.parse().ok()),
        kind: text(r, "type").unwrap_or_else(|| "unicast".into()),
        scope: text(r, "scope").unwrap_or_default(),
        proto: text(r, "protocol").unwrap_or_default(),
        table: text(r, "table").unwrap_or_else(|| "main".into()),
        metric: r["metric"].as_u64().map(|m| m as u32),
        dst_text,
    }
}

/// Routes from `ip -j route show` (any table).
pub fn parse_routes(json: &str) -> Result<Vec<Route>> {
    Ok(ip_json(json, "ip -j route show")?
        .iter()
        .map(route)
        .collect())
}

/// Reads the routes of `place`.
pub fn read(place: &Place, tables: Tables) -> Result<Vec<Route>> {
    let args: &[&str] = match tables {
        Tables::Main => &["-j", "route", "show"],
        Tables::All => &["-j", "route", "show", "table", "all"],
    };
    parse_routes(&place.run("ip", args)?)
}

/// One policy routing rule (`ip rule`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyRule {
    pub priority: u32,
    /// `all` or a network.
    pub from: String,
    pub table: String,
}

impl fmt::Display for PolicyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} from={} table={}",
            self.priority, self.from, self.table
        )
    }
}

/// Policy rules from `ip -j rule show`.
pub fn parse_rules(json: &str) -> Result<Vec<PolicyRule>> {
    Ok(ip_json(json, "ip -j rule show")?
        .iter()
        .map(|r| PolicyRule {
            priority: r["priority"].as_u64().unwrap_or(0) as u32,
            from: text(r, "src").unwrap_or_default(),
            table: text(r, "table").unwrap_or_default(),
        })
        .collect())
}

/// Reads the policy rules of `place`.
pub fn read_rules(place: &Place) -> Result<Vec<PolicyRule>> {
    parse_rules(&place.run("ip", &["-j", "rule", "show"])?)
}
