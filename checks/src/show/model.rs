//! What a lab diagram is drawn from: each network namespace's links, addresses, routes and NAT
//! rules, taken from its [`lab::state::Netns`]. Pure, so the renderer can be tested on a
//! made-up lab.

use lab::state::netfilter::{ChainKind, Family, Hook, Netfilter, Source, Table, Target};
use lab::state::{Link, Netns};

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
    /// Its links, but for the kernel's fallback tunnel devices.
    pub links: Vec<Link>,
    /// Routes of the main table, as `ip route` words ([`lab::state::Route::short`]).
    pub routes: Vec<String>,
    /// NAT rules (lab host only).
    pub nat: Vec<NatRule>,
    /// What could not be collected.
    pub problems: Vec<String>,
}

/// One NAT rule: its chain and the rest of the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatRule {
    /// `iptables`, `iptables-legacy` or `nft FAMILY TABLE`.
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

    /// The namespace as `state` has it: NAT rules for the lab host only.
    pub fn from_state(name: &str, role: Role, pid: Option<i32>, state: &Netns) -> Namespace {
        let mut ns = Namespace::new(name, role, pid);
        ns.links = state
            .links
            .iter()
            .filter(|l| !l.is_fallback())
            .cloned()
            .collect();
        ns.routes = routes(state);
        if role == Role::Host {
            ns.nat = nat_rules(&state.netfilter);
        }
        ns.problems = state.all_problems();
        ns
    }
}

/// The main table's routes in `ip route`'s words, without the obvious ones: the default
/// route first, then by destination (the same table always reads the same).
pub fn routes(state: &Netns) -> Vec<String> {
    let mut routes: Vec<String> = state.routes.iter().map(|r| r.short()).collect();
    routes.sort_by_key(|r| (!r.starts_with("default"), r.clone()));
    routes
}

/// The chains of iptables' nat table drawn, in packet order (and those they reach).
const NAT_HOOKS: [&str; 3] = ["PREROUTING", "OUTPUT", "POSTROUTING"];

/// Tables ip6tables-nft makes: IPv6, not drawn.
const XTABLES: [&str; 5] = ["nat", "filter", "mangle", "raw", "security"];

/// The rules of `start` chains of `table` and of the chains they jump (or go) to, however
/// deep, each chain once.
fn reached(table: &Table, start: Vec<String>, source: &str) -> Vec<NatRule> {
    let mut chains = start;
    let mut out = Vec::new();
    let mut i = 0;
    while i < chains.len() {
        if let Some(chain) = table.chain(&chains[i]) {
            for rule in &chain.rules {
                if let Target::Jump(next) | Target::Goto(next) = &rule.target {
                    if table.chain(next).is_some() && !chains.contains(next) {
                        chains.push(next.clone());
                    }
                }
                out.push(NatRule {
                    source: source.to_string(),
                    chain: chain.name.clone(),
                    rule: rule.text.clone(),
                });
            }
        }
        i += 1;
    }
    out
}

/// The NAT rules of a firewall: iptables' nat tables (PREROUTING, OUTPUT, POSTROUTING and
/// what they reach), then every nft table's chains of `type nat` and what they reach.
pub fn nat_rules(netfilter: &Netfilter) -> Vec<NatRule> {
    let mut out = Vec::new();
    for table in &netfilter.tables {
        match table.id.source {
            Source::Iptables { legacy } if table.id.name == "nat" => {
                let source = if legacy {
                    "iptables-legacy"
                } else {
                    "iptables"
                };
                let start = NAT_HOOKS.iter().map(|c| c.to_string()).collect();
                out.extend(reached(table, start, source));
            }
            Source::Nft
                if !(table.id.family == Family::Ip6
                    && XTABLES.contains(&table.id.name.as_str())) =>
            {
                let start = table
                    .chains
                    .iter()
                    .filter(|c| {
                        c.base
                            .is_some_and(|b| b.kind == ChainKind::Nat && b.hook != Hook::Other)
                    })
                    .map(|c| c.name.clone())
                    .collect();
                let source = format!("nft {} {}", table.id.family, table.id.name);
                out.extend(reached(table, start, &source));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab::state::netfilter::Listings;

    fn nat(listings: Listings) -> Vec<String> {
        nat_rules(&listings.parse())
            .iter()
            .map(|r| format!("{} | {} | {}", r.source, r.chain, r.rule))
            .collect()
    }

    #[test]
    fn iptables_save_keeps_the_hooks_and_the_chains_they_reach() {
        let text = "# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n\
                    :INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                    :NETLAB - [0:0]\n:UNUSED - [0:0]\n\
                    -A PREROUTING -m addrtype --dst-type LOCAL -j NETLAB\n\
                    -A POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE\n\
                    -A NETLAB -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80\n\
                    -A UNUSED -j RETURN\nCOMMIT\n";
        let listings = Listings {
            iptables: Some(text.into()),
            ..Listings::default()
        };
        assert_eq!(
            nat(listings),
            [
                "iptables | PREROUTING | -m addrtype --dst-type LOCAL -j NETLAB",
                "iptables | POSTROUTING | -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE",
                "iptables | NETLAB | -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80",
            ]
        );
    }

    #[test]
    fn nft_keeps_the_nat_chains_of_its_own_tables_only() {
        // Captured by lab/src/state/fixtures/capture.sh: iptables-nft's nat table, a native
        // one and a legacy one.
        let listings = Listings {
            iptables: Some(
                include_str!("../../../lab/src/state/fixtures/mixed/iptables-save.txt").into(),
            ),
            legacy: Some(
                include_str!("../../../lab/src/state/fixtures/mixed/iptables-legacy-save.txt")
                    .into(),
            ),
            nft_json: Some(include_str!("../../../lab/src/state/fixtures/mixed/nft.json").into()),
            nft_text: Some(include_str!("../../../lab/src/state/fixtures/mixed/nft.txt").into()),
        };
        assert_eq!(
            nat(listings),
            [
                "iptables | POSTROUTING | -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE",
                "iptables-legacy | POSTROUTING | -s 172.17.0.0/16 -j MASQUERADE",
                "nft ip foreign | post | ip saddr 10.9.0.0/16 snat to 198.51.100.2",
            ]
        );
        let native = Listings {
            nft_json: Some(include_str!("../../../lab/src/state/fixtures/native/nft.json").into()),
            nft_text: Some(include_str!("../../../lab/src/state/fixtures/native/nft.txt").into()),
            ..Listings::default()
        };
        let rules = nat(native);
        assert_eq!(
            rules[0],
            "nft ip netlab | pre | fib daddr type local jump publish"
        );
        assert!(
            rules.contains(
                &"nft ip netlab | publish | tcp dport 8080 counter dnat to 10.0.0.2:80 comment \"netlab:c1:42\""
                    .to_string()
            ),
            "{rules:#?}"
        );
        // The filter chain and table inet other are no NAT.
        assert!(!rules
            .iter()
            .any(|r| r.contains("| forward |") || r.contains("other")));
    }

    #[test]
    fn routes_read_like_ip_route() {
        let json = r#"[{"dst":"10.0.0.0/24","dev":"netlab0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.1","flags":[]},{"dst":"default","gateway":"198.51.100.1","dev":"eth0","flags":[]}]"#;
        let state = Netns {
            routes: lab::state::route::parse_routes(json).expect("parsing"),
            ..Netns::default()
        };
        assert_eq!(
            routes(&state),
            [
                "default via 198.51.100.1 dev eth0",
                "10.0.0.0/24 dev netlab0 src 10.0.0.1"
            ]
        );
    }
}
