//! Links, addresses and routes read straight from the kernel over rtnetlink: one dump each,
//! on a socket opened by a thread in the place's namespace. They give the same model as
//! `ip -j` (a test holds the two readers to that), without a process per question.

use super::link::Link;
use super::netlink::{attrs, u32_at, Socket, DUMP};
use super::place::Place;
use super::route::{Route, Tables};
use anyhow::Result;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const RTM_GETLINK: u16 = 18;
const RTM_GETADDR: u16 = 22;
const RTM_GETROUTE: u16 = 26;

/// Reads the links (with their addresses) and the routes of `tables` in `place`.
pub fn read(place: &Place, tables: Tables) -> Result<(Vec<Link>, Vec<Route>)> {
    place.in_thread("reading links and routes", || -> Result<_> {
        let socket = Socket::open(libc::NETLINK_ROUTE)?;
        let links = links(&socket)?;
        let routes = routes(&socket, tables, &links)?;
        Ok((links, routes))
    })?
}

fn attr(attrs: &[(u16, &'_ [u8])], kind: u16) -> Option<Vec<u8>> {
    attrs
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.to_vec())
}

fn string(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

fn ip(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            value[0], value[1], value[2], value[3],
        ))),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(value);
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

// Links: struct ifinfomsg (16 bytes), then IFLA_* attributes.
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_LINK_NETNSID: u16 = 37;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_SLAVE_KIND: u16 = 4;
const IFLA_INFO_SLAVE_DATA: u16 = 5;
const IFLA_BRPORT_MODE: u16 = 4;
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

/// `ip link`'s flag names, in the order it prints them.
const FLAGS: [(u32, &str); 18] = [
    (0x8, "LOOPBACK"),
    (0x2, "BROADCAST"),
    (0x10, "POINTOPOINT"),
    (0x1000, "MULTICAST"),
    (0x80, "NOARP"),
    (0x200, "ALLMULTI"),
    (0x100, "PROMISC"),
    (0x20, "NOTRAILERS"),
    (0x4, "DEBUG"),
    (0x8000, "DYNAMIC"),
    (0x4000, "AUTOMEDIA"),
    (0x2000, "PORTSEL"),
    (0x400, "MASTER"),
    (0x800, "SLAVE"),
    (0x1, "UP"),
    (0x10000, "LOWER_UP"),
    (0x20000, "DORMANT"),
    (0x40000, "ECHO"),
];
const IFF_UP: u32 = 0x1;
const IFF_RUNNING: u32 = 0x40;

/// `ip link`'s flags of a link: NO-CARRIER for one up without carrier, then the others.
fn flag_names(flags: u32) -> Vec<String> {
    let mut names = Vec::new();
    if flags & IFF_UP != 0 && flags & IFF_RUNNING == 0 {
        names.push("NO-CARRIER".to_string());
    }
    names.extend(
        FLAGS
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, name)| name.to_string()),
    );
    names
}

/// `ip link`'s name of a hardware type (ARPHRD_*), for links without a kind.
fn link_type(kind: u16) -> String {
    match kind {
        1 => "ether".into(),
        32 => "infiniband".into(),
        512 => "ppp".into(),
        768 => "ipip".into(),
        769 => "tunnel6".into(),
        772 => "loopback".into(),
        776 => "sit".into(),
        778 => "gre".into(),
        823 => "gre6".into(),
        824 => "netlink".into(),
        0xfffe => "none".into(),
        0xffff => "void".into(),
        other => format!("[{other}]"),
    }
}

/// A hardware address as `ip` prints it: tunnels' as IP addresses, others as `aa:bb:..`.
fn hardware_address(kind: u16, value: &[u8]) -> String {
    match (kind, value.len()) {
        (768 | 776 | 778, 4) | (769 | 823, 16) => ip(value).map(|a| a.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| {
        value
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    })
}

fn links(socket: &Socket) -> Result<Vec<Link>> {
    let mut body = vec![0u8; 16];
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&IFLA_EXT_MASK.to_ne_bytes());
    body.extend_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    let mut links = Vec::new();
    let mut masters = Vec::new();
    for message in socket.ask(RTM_GETLINK, DUMP, &body)? {
        if message.len() < 16 {
            continue;
        }
        let kind = u16::from_ne_bytes([message[2], message[3]]);
        let index = u32_at(&message, 4);
        let flags = u32_at(&message, 8);
        let attrs = attrs(&message, 16);
        let info = attr(&attrs, IFLA_LINKINFO).unwrap_or_default();
        let info = self::attrs(&info, 0);
        let slave_kind = attr(&info, IFLA_INFO_SLAVE_KIND).map(|k| string(&k));
        let slave_data = attr(&info, IFLA_INFO_SLAVE_DATA).unwrap_or_default();
        let hairpin = slave_kind.as_deref() == Some("bridge")
            && attr(&self::attrs(&slave_data, 0), IFLA_BRPORT_MODE)
                .is_some_and(|mode| mode.first() == Some(&1));
        let peer_netnsid = attr(&attrs, IFLA_LINK_NETNSID)
            .map(|id| i64::from(i32::from_ne_bytes([id[0], id[1], id[2], id[3]])));
        let peer = attr(&attrs, IFLA_LINK).map(|l| u32_at(&l, 0));
        masters.push(attr(&attrs, IFLA_MASTER).map(|m| u32_at(&m, 0)));
        let flags = flag_names(flags);
        links.push(Link {
            index,
            name: attr(&attrs, IFLA_IFNAME).map_or_else(|| "?".into(), |n| string(&n)),
            kind: attr(&info, IFLA_INFO_KIND).map_or_else(|| link_type(kind), |k| string(&k)),
            up: flags.iter().any(|f| f == "UP"),
            flags,
            mtu: attr(&attrs, IFLA_MTU).map_or(0, |m| u32_at(&m, 0)),
            mac: attr(&attrs, IFLA_ADDRESS)
                .map_or_else(String::new, |a| hardware_address(kind, &a)),
            master: None,
            hairpin,
            addrs: Vec::new(),
            addrs6: Vec::new(),
            // `ip` names a peer in this namespace, and numbers one in another.
            peer_index: peer.filter(|p| *p != 0 && peer_netnsid.is_some()),
            peer_netnsid,
        });
    }
    let names: HashMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
    for (link, master) in links.iter_mut().zip(masters) {
        link.master = master.and_then(|m| names.get(&m).cloned());
    }
    addresses(socket, &mut links)?;
    Ok(links)
}

// Addresses: struct ifaddrmsg (8 bytes), then IFA_* attributes.
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

fn addresses(socket: &Socket, links: &mut [Link]) -> Result<()> {
    for message in socket.ask(RTM_GETADDR, DUMP, &[0u8; 8])? {
        if message.len() < 8 {
            continue;
        }
        let len = message[1];
        let index = u32_at(&message, 4);
        let attrs = attrs(&message, 8);
        let Some(addr) = attr(&attrs, IFA_LOCAL)
            .or_else(|| attr(&attrs, IFA_ADDRESS))
            .and_then(|a| ip(&a))
        else {
            continue;
        };
        let Some(link) = links.iter_mut().find(|l| l.index == index) else {
            continue;
        };
        match addr {
            IpAddr::V4(a) => link.addrs.push((a, len)),
            IpAddr::V6(a) => link.addrs6.push((a, len)),
        }
    }
    Ok(())
}

// Routes: struct rtmsg (12 bytes), then RTA_* attributes.
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const RTM_F_CLONED: u32 = 0x200;
const RT_TABLE_MAIN: u32 = 254;

fn routes(socket: &Socket, tables: Tables, links: &[Link]) -> Result<Vec<Route>> {
    let family = match tables {
        Tables::Main => libc::AF_INET as u8,
        Tables::All => libc::AF_UNSPEC as u8,
    };
    let mut body = [0u8; 12];
    body[0] = family;
    let mut routes = Vec::new();
    for message in socket.ask(RTM_GETROUTE, DUMP, &body)? {
        if message.len() < 12 {
            continue;
        }
        let attrs = attrs(&message, 12);
        let table = attr(&attrs, RTA_TABLE).map_or(u32::from(message[4]), |t| u32_at(&t, 0));
        let flags = u32_at(&message, 8);
        if flags & RTM_F_CLONED != 0 || (tables == Tables::Main && table != RT_TABLE_MAIN) {
            continue;
        }
        let v6 = message[0] == libc::AF_INET6 as u8;
        let (dst_len, protocol, scope, kind) = (message[1], message[5], message[6], message[7]);
        let priority = attr(&attrs, RTA_PRIORITY).map(|p| u32_at(&p, 0));
        // `ip` hides IPv6's catch-all "unreachable" routes of metric -1.
        if v6 && dst_len == 0 && kind == 7 && priority == Some(u32::MAX) {
            continue;
        }
        let host_len = if v6 { 128 } else { 32 };
        let dst_text = match attr(&attrs, RTA_DST).and_then(|d| ip(&d)) {
            Some(dst) if dst_len == host_len => dst.to_string(),
            Some(dst) => format!("{dst}/{dst_len}"),
            None if dst_len != 0 => format!("0/{dst_len}"),
            None => "default".to_string(),
        };
        let via = attr(&attrs, RTA_GATEWAY).and_then(|g| ip(&g));
        routes.push(Route {
            v6,
            dst: if v6 { None } else { dst_text.parse().ok() },
            via,
            dev: attr(&attrs, RTA_OIF)
                .map(|o| u32_at(&o, 0))
                .and_then(|o| links.iter().find(|l| l.index == o))
                .map(|l| l.name.clone()),
            src: attr(&attrs, RTA_PREFSRC).and_then(|s| ip(&s)),
            kind: route_type(kind),
            scope: if scope == 0 {
                String::new()
            } else {
                scope_name(scope)
            },
            proto: if protocol == 3 {
                String::new()
            } else {
                protocol_name(protocol)
            },
            table: table_name(table),
            metric: priority,
            dst_text,
        });
    }
    Ok(routes)
}

fn route_type(kind: u8) -> String {
    let names = [
        "none",
        "unicast",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
        "xresolve",
    ];
    names
        .get(usize::from(kind))
        .map_or_else(|| kind.to_string(), |n| n.to_string())
}

fn scope_name(scope: u8) -> String {
    match scope {
        0 => "global".into(),
        200 => "site".into(),
        253 => "link".into(),
        254 => "host".into(),
        255 => "nowhere".into(),
        other => other.to_string(),
    }
}

fn protocol_name(protocol: u8) -> String {
    match protocol {
        0 => "unspec".into(),
        1 => "redirect".into(),
        2 => "kernel".into(),
        3 => "boot".into(),
        4 => "static".into(),
        8 => "gated".into(),
        9 => "ra".into(),
        10 => "mrt".into(),
        11 => "zebra".into(),
        12 => "bird".into(),
        13 => "dnrouted".into(),
        14 => "xorp".into(),
        15 => "ntk".into(),
        16 => "dhcp".into(),
        18 => "keepalived".into(),
        42 => "babel".into(),
        99 => "openr".into(),
        186 => "bgp".into(),
        187 => "isis".into(),
        188 => "ospf".into(),
        189 => "rip".into(),
        192 => "eigrp".into(),
        other => other.to_string(),
    }
}

fn table_name(table: u32) -> String {
    match table {
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        other => other.to_string(),
    }
}
