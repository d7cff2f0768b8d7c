//! Links and their addresses: `ip -j -d link show` and `ip -j addr show`.

use super::place::Place;
use anyhow::{Context, Result};
use serde_json::Value;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Devices the kernel itself adds to every new network namespace when tunnel modules are
/// loaded; nobody's doing.
pub const FALLBACK_DEVICES: [&str; 9] = [
    "sit0", "tunl0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6tnl0", "ip6gre0", "ip6_vti0",
];

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `veth`, `bridge`, ... (`ip -d`'s info_kind), else the link type (`loopback`, `ether`).
    pub kind: String,
    /// Administratively up (the `UP` flag).
    pub up: bool,
    /// All of `ip link`'s flags (`BROADCAST`, `UP`, `LOWER_UP`, ...) but its guess `M-DOWN`.
    pub flags: Vec<String>,
    pub mtu: u32,
    /// The hardware address, `aa:bb:...`.
    pub mac: String,
    /// The bridge (or bond, VRF) it is plugged into.
    pub master: Option<String>,
    /// A bridge port in hairpin mode (frames may leave by the port they came in by).
    pub hairpin: bool,
    /// IPv4 addresses and prefix lengths, in the kernel's order.
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses and prefix lengths, in the kernel's order.
    pub addrs6: Vec<(Ipv6Addr, u8)>,
    /// For a veth: its peer's ifindex (`link_index`).
    pub peer_index: Option<u32>,
    /// For a veth whose peer is in another namespace: that namespace's id, as this namespace
    /// numbers it (`link_netnsid`).
    pub peer_netnsid: Option<i64>,
}

impl Link {
    /// One of the kernel's own tunnel fallback devices ([`FALLBACK_DEVICES`]).
    pub fn is_fallback(&self) -> bool {
        FALLBACK_DEVICES.contains(&self.name.as_str())
    }

    /// A loopback device (all of its prefixes are local).
    pub fn is_loopback(&self) -> bool {
        self.flags.iter().any(|f| f == "LOOPBACK") || self.kind == "loopback"
    }

    /// `10.0.0.2/24 10.0.0.3/24`.
    pub fn addrs_text(&self) -> String {
        self.addrs
            .iter()
            .map(|(a, len)| format!("{a}/{len}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for Link {
    /// `eth0 kind=veth flags=BROADCAST,UP mtu=1500 master= mac=..`, the picture's line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} kind={} flags={} mtu={} master={} mac={}",
            self.name,
            self.kind,
            self.flags.join(","),
            self.mtu,
            self.master.as_deref().unwrap_or(""),
            self.mac
        )?;
        if self.hairpin {
            write!(f, " hairpin")?;
        }
        Ok(())
    }
}

/// The objects of an `ip -j ...` answer; `what` names the command for the error.
pub fn ip_json(json: &str, what: &str) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_str(json)
        .with_context(|| format!("{what} gave no JSON: {}", json.trim()))?;
    Ok(value.as_array().cloned().unwrap_or_default())
}

/// A string or number field as text.
pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    match &value[key] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Links from `ip -j -d link show` and `ip -j addr show` (the addresses are matched by
/// ifindex). Nothing is left out, not even [`FALLBACK_DEVICES`].
pub fn parse_links(link_json: &str, addr_json: &str) -> Result<Vec<Link>> {
    let addrs = ip_json(addr_json, "ip -j addr show")?;
    let mut links = Vec::new();
    for l in ip_json(link_json, "ip -j -d link show")? {
        let index = l["ifindex"].as_u64().unwrap_or(0) as u32;
        let flags: Vec<String> = l["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(String::from))
            // Whether a veth's peer is down, as `ip` guesses it (wrongly across namespaces).
            .filter(|f| f != "M-DOWN")
            .collect();
        let infos: Vec<Value> = addrs
            .iter()
            .filter(|a| a["ifindex"].as_u64() == Some(u64::from(index)))
            .flat_map(|a| a["addr_info"].as_array().cloned().unwrap_or_default())
            .collect();
        let family = |family: &str| -> Vec<(String, u8)> {
            infos
                .iter()
                .filter(|i| i["family"] == family)
                .filter_map(|i| Some((text(i, "local")?, i["prefixlen"].as_u64()? as u8)))
                .collect()
        };
        links.push(Link {
            index,
            name: text(&l, "ifname").unwrap_or_else(|| "?".into()),
            kind: l["linkinfo"]["info_kind"]
                .as_str()
                .map(String::from)
                .or_else(|| text(&l, "link_type"))
                .unwrap_or_default(),
            up: flags.iter().any(|f| f == "UP"),
            flags,
            mtu: l["mtu"].as_u64().unwrap_or(0) as u32,
            mac: text(&l, "address").unwrap_or_default(),
            master: text(&l, "master"),
            hairpin: l["linkinfo"]["info_slave_data"]["hairpin"].as_bool() == Some(true),
            addrs: family("inet")
                .into_iter()
                .filter_map(|(a, len)| Some((a.parse().ok()?, len)))
                .collect(),
            addrs6: family("inet6")
                .into_iter()
                .filter_map(|(a, len)| Some((a.parse().ok()?, len)))
                .collect(),
            peer_index: l["link_index"].as_u64().map(|i| i as u32),
            peer_netnsid: l["link_netnsid"].as_i64(),
        });
    }
    Ok(links)
}

/// Reads the links of `place` (two `ip` commands).
pub fn read(place: &Place) -> Result<Vec<Link>> {
    let links = place.run("ip", &["-j", "-d", "link", "show"])?;
    let addrs = place.run("ip", &["-j", "addr", "show"])?;
    parse_links(&links, &addrs)
}
