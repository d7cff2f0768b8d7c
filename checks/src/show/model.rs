//! What a lab diagram is drawn from: each network namespace's links, addresses, routes and NAT
//! rules, as the kernel reports them (`ip -j`, `iptables-save -t nat`, `nft list ruleset`).
//! Parsing is pure, so the renderer can be tested on a made-up lab.

use anyhow::{Context, Result};
use serde_json::Value;

/// A lab, as collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// The first line of the diagram (which lab).
    pub title: String,
    /// Lab host first, then the internet, then the containers by name.
    pub namespaces: Vec<Namespace>,
}

/// What a namespace is, in the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Host,
    Internet,
    Container,
}

/// One network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// `lab host`, `internet`, or the container's name.
    pub name: String,
    pub role: Role,
    /// A PID in it (the container's first process), for the heading.
    pub pid: Option<i32>,
    pub links: Vec<Link>,
    /// Routes of the main table, as `ip route` words.
    pub routes: Vec<String>,
    /// NAT rules (lab host only).
    pub nat: Vec<NatRule>,
    /// What could not be collected.
    pub problems: Vec<String>,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `veth`, `bridge`, `loopback`, ... (`ip -d`'s info_kind).
    pub kind: String,
    pub up: bool,
    /// The bridge it is plugged into.
    pub master: Option<String>,
    /// A bridge port in hairpin mode (frames may leave by the port they came in by).
    pub hairpin: bool,
    /// `10.0.0.2/24`, in the kernel's order.
    pub addrs: Vec<String>,
    /// For a veth: its peer's ifindex (`link_index`).
    pub peer_index: Option<u32>,
    /// For a veth whose peer is in another namespace: that namespace's id, as this namespace
    /// numbers it (`link_netnsid`).
    pub peer_netnsid: Option<i64>,
}

/// One NAT rule: its chain and the rest of the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRule {
    /// `iptables` or `nft TABLE`.
    pub source: String,
    pub chain: String,
    pub rule: String,
}

impl Namespace {
    /// An empty namespace.
    pub fn new(name: &str, role: Role, pid: Option<i32>) -> Namespace {
        Namespace {
            name: name.to_string(),
            role,
            pid,
            links: Vec::new(),
            routes: Vec::new(),
            nat: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Devices the kernel adds to namespaces by itself (tunnel modules loaded): not drawn.
const FALLBACK_DEVICES: [&str; 9] = [
    "sit0", "tunl0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6tnl0", "ip6gre0", "ip6_vti0",
];

fn text(value: &Value, key: &str) -> Option<String> {
    match &value[key] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn array(json: &str, what: &str) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_str(json)
        .with_context(|| format!("{what} gave no JSON: {}", json.trim()))?;
    Ok(value.as_array().cloned().unwrap_or_default())
}

fn is_up(link: &Value) -> bool {
    link["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "UP"))
}

/// Links from `ip -j -d link show` and `ip -j addr show`.
pub fn parse_links(link_json: &str, addr_json: &str) -> Result<Vec<Link>> {
    let addrs = array(addr_json, "ip -j addr show")?;
    let mut links = Vec::new();
    for l in array(link_json, "ip -j -d link show")? {
        let name = text(&l, "ifname").unwrap_or_else(|| "?".into());
        if FALLBACK_DEVICES.contains(&name.as_str()) {
            continue;
        }
        let index = l["ifindex"].as_u64().unwrap_or(0) as u32;
        let kind = l["linkinfo"]["info_kind"]
            .as_str()
            .map(String::from)
            .or_else(|| text(&l, "link_type"))
            .unwrap_or_default();
        let addrs = addrs
            .iter()
            .filter(|a| a["ifindex"].as_u64() == Some(u64::from(index)))
            .flat_map(|a| a["addr_info"].as_array().cloned().unwrap_or_default())
            .filter(|i| i["family"] == "inet")
            .filter_map(|i| Some(format!("{}/{}", text(&i, "local")?, text(&i, "prefixlen")?)))
            .collect();
        links.push(Link {
            index,
            name,
            kind,
            up: is_up(&l),
            master: text(&l, "master"),
            hairpin: l["linkinfo"]["info_slave_data"]["hairpin"].as_bool() == Some(true),
            addrs,
            peer_index: l["link_index"].as_u64().map(|i| i as u32),
            peer_netnsid: l["link_netnsid"].as_i64(),
        });
    }
    Ok(links)
}

/// Routes from `ip -j route show`, as `ip route` prints them, without the obvious words
/// (`proto kernel scope link`).
pub fn parse_routes(json: &str) -> Result<Vec<String>> {
    let mut routes: Vec<String> = array(json, "ip -j route show")?
        .iter()
        .map(|r| {
            let mut words = vec![text(r, "dst").unwrap_or_default()];
            for (key, word) in [("gateway", "via"), ("dev", "dev"), ("prefsrc", "src")] {
                if let Some(value) = text(r, key) {
                    words.push(format!("{word} {value}"));
                }
            }
            if let Some(kind) = text(r, "type").filter(|t| t != "unicast") {
                words.insert(0, kind);
            }
            words.join(" ")
        })
        .collect();
    // The default route first, then by destination: the same table always reads the same.
    routes.sort_by_key(|r| (!r.starts_with("default"), r.clone()));
    Ok(routes)
}

/// The chains of the NAT hooks, in packet order.
const NAT_HOOKS: [&str; 3] = ["PREROUTING", "OUTPUT", "POSTROUTING"];

/// The substance of `iptables-save -t nat`: the rules of PREROUTING, OUTPUT and POSTROUTING,
/// and of the chains they jump (or go) to, however deep.
pub fn parse_iptables_save(text: &str) -> Vec<NatRule> {
    let rules: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("-A "))
        .filter_map(|l| {
            let (chain, rule) = l.split_once(' ')?;
            Some((chain.to_string(), rule.trim().to_string()))
        })
        .collect();
    let mut chains: Vec<String> = NAT_HOOKS.iter().map(|c| c.to_string()).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chains.len() {
        let chain = chains[i].clone();
        for (_, rule) in rules.iter().filter(|(c, _)| *c == chain) {
            let words: Vec<&str> = rule.split_whitespace().collect();
            for pair in words.windows(2) {
                if (pair[0] == "-j" || pair[0] == "-g")
                    && rules.iter().any(|(c, _)| c == pair[1])
                    && !chains.iter().any(|c| c == pair[1])
                {
                    chains.push(pair[1].to_string());
                }
            }
            out.push(NatRule {
                source: "iptables".into(),
                chain: chain.clone(),
                rule: rule.clone(),
            });
        }
        i += 1;
    }
    out
}

/// Tables iptables-nft makes: shown by `iptables-save` already.
const XTABLES: [&str; 5] = ["nat", "filter", "mangle", "raw", "security"];

/// NAT rules written with nft itself (`nft list ruleset`): every rule of a chain of
/// `type nat`, and of the chains those jump to, in tables that are not iptables' own.
pub fn parse_nft_ruleset(text: &str) -> Vec<NatRule> {
    // (table, chain, is a nat base chain, rules)
    let mut chains: Vec<(String, String, bool, Vec<String>)> = Vec::new();
    let mut table: Option<String> = None;
    let mut in_chain = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("table ") {
            let words: Vec<&str> = rest.trim_end_matches('{').split_whitespace().collect();
            let ours = matches!(words.as_slice(), [family, name]
                if !(matches!(*family, "ip" | "ip6") && XTABLES.contains(name)));
            table = ours.then(|| words.join(" "));
            continue;
        }
        let Some(current) = &table else { continue };
        if let Some(rest) = line.strip_prefix("chain ") {
            let name = rest.trim_end_matches('{').trim().to_string();
            chains.push((current.clone(), name, false, Vec::new()));
            in_chain = true;
        } else if line == "}" {
            if in_chain {
                in_chain = false;
            } else {
                table = None;
            }
        } else if in_chain {
            if let Some(chain) = chains.last_mut() {
                if line.starts_with("type ") {
                    chain.2 = line.contains("type nat");
                } else if !line.starts_with("policy ") {
                    chain.3.push(without_counters(line));
                }
            }
        }
    }
    let mut wanted: Vec<(String, String)> = chains
        .iter()
        .filter(|c| c.2)
        .map(|c| (c.0.clone(), c.1.clone()))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < wanted.len() {
        let (table, name) = wanted[i].clone();
        if let Some(chain) = chains.iter().find(|c| c.0 == table && c.1 == name) {
            for rule in &chain.3 {
                let words: Vec<&str> = rule.split_whitespace().collect();
                for pair in words.windows(2) {
                    let target = (table.clone(), pair[1].to_string());
                    if (pair[0] == "jump" || pair[0] == "goto") && !wanted.contains(&target) {
                        wanted.push(target);
                    }
                }
                out.push(NatRule {
                    source: format!("nft {table}"),
                    chain: name.clone(),
                    rule: rule.clone(),
                });
            }
        }
        i += 1;
    }
    out
}

/// `counter packets 3 bytes 180` → `counter`.
fn without_counters(rule: &str) -> String {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if matches!(words[i], "packets" | "bytes") && i + 1 < words.len() {
            i += 2;
            continue;
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_save_keeps_the_hooks_and_the_chains_they_reach() {
        let text = "# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n\
                    :INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                    :NETLAB - [0:0]\n:UNUSED - [0:0]\n\
                    -A PREROUTING -m addrtype --dst-type LOCAL -j NETLAB\n\
                    -A POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE\n\
                    -A NETLAB -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80\n\
                    -A UNUSED -j RETURN\nCOMMIT\n";
        let rules: Vec<String> = parse_iptables_save(text)
            .iter()
            .map(|r| format!("{} {}", r.chain, r.rule))
            .collect();
        assert_eq!(
            rules,
            [
                "PREROUTING -m addrtype --dst-type LOCAL -j NETLAB",
                "POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE",
                "NETLAB -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80",
            ]
        );
    }

    #[test]
    fn nft_keeps_nat_chains_of_its_own_tables_only() {
        let text = "# Warning: table ip nat is managed by iptables-nft, do not touch!\n\
            table ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\
            \t\toifname != \"netlab0\" ip saddr 10.0.0.0/24 counter packets 0 bytes 0 masquerade\n\t}\n}\n\
            table ip netlab {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\
            \t\tfib daddr type local jump publish\n\t}\n\
            \tchain publish {\n\t\ttcp dport 8080 counter packets 2 bytes 120 dnat to 10.0.0.2:80\n\t}\n\
            \tchain fwd {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\taccept\n\t}\n}\n";
        let rules: Vec<String> = parse_nft_ruleset(text)
            .iter()
            .map(|r| format!("{} | {} | {}", r.source, r.chain, r.rule))
            .collect();
        assert_eq!(
            rules,
            [
                "nft ip netlab | pre | fib daddr type local jump publish",
                "nft ip netlab | publish | tcp dport 8080 counter dnat to 10.0.0.2:80",
            ]
        );
    }

    #[test]
    fn routes_read_like_ip_route() {
        let json = r#"[{"dst":"10.0.0.0/24","dev":"netlab0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.1","flags":[]},{"dst":"default","gateway":"198.51.100.1","dev":"eth0","flags":[]}]"#;
        assert_eq!(
            parse_routes(json).expect("parsing"),
            [
                "default via 198.51.100.1 dev eth0",
                "10.0.0.0/24 dev netlab0 src 10.0.0.1"
            ]
        );
    }
}
