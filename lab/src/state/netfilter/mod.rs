//! The firewall of a namespace, typed: every table of every source (iptables-nft, legacy
//! iptables, native nftables), its chains and their rules, so that questions are asked of
//! what the rules do, not of how they are spelt.
//!
//! Sources, and who owns which table (see [`read`]):
//! - `iptables-nft-save` (or `iptables-save` when it is the nft flavour) gives the `ip`
//!   family tables iptables-nft made (`*nat`, `*filter`, ...), with iptables' spelling;
//! - `iptables-legacy-save`, only when the namespace has legacy tables
//!   (`/proc/net/ip_tables_names` is not empty);
//! - `nft -j list ruleset` gives every other table (native nftables, any family). The `ip`
//!   family tables that `iptables-nft-save` listed are skipped there: nft reads them only in
//!   part (iptables' extensions are opaque `xt` expressions in its JSON), and by name alone a
//!   native table `ip filter` would be mistaken for iptables'. IPv6 tables of ip6tables-nft
//!   are kept as nft tables (their `xt` expressions read as unknown): no IPv4 packet meets
//!   them.

pub mod diff;
pub mod eval;
pub mod iptables;
pub mod nft;
pub mod packet;
pub mod read;
pub mod rule;

pub use diff::Changes;
pub use eval::{Decider, Kinds, Nat, Outcome, Verdict};
pub use packet::{Host, Locals, Packet};
pub use read::{read, Listings};
pub use rule::{AddrType, CtState, IfName, Match, Proto, Rule, Target};

use std::fmt;

/// A table's address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ip,
    Ip6,
    Inet,
    Arp,
    Bridge,
    Netdev,
}

impl Family {
    pub fn parse(name: &str) -> Option<Family> {
        Some(match name {
            "ip" => Family::Ip,
            "ip6" => Family::Ip6,
            "inet" => Family::Inet,
            "arp" => Family::Arp,
            "bridge" => Family::Bridge,
            "netdev" => Family::Netdev,
            _ => return None,
        })
    }

    /// Whether IPv4 packets meet its chains (on the IP hooks).
    pub fn sees_ipv4(self) -> bool {
        matches!(self, Family::Ip | Family::Inet)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = format!("{self:?}").to_ascii_lowercase();
        write!(f, "{name}")
    }
}

/// Which tool a table was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// `iptables-save`: iptables-nft's tables, or (legacy) x_tables'.
    Iptables { legacy: bool },
    /// `nft -j list ruleset`: a table written with nft itself.
    Nft,
}

/// A netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
    /// `ingress`, `egress` (netdev, inet) and arp's hooks: never on an IPv4 packet's path.
    Other,
}

impl Hook {
    /// `prerouting`, `PREROUTING`, ...
    pub fn parse(name: &str) -> Hook {
        match name.to_ascii_lowercase().as_str() {
            "prerouting" => Hook::Prerouting,
            "input" => Hook::Input,
            "forward" => Hook::Forward,
            "output" => Hook::Output,
            "postrouting" => Hook::Postrouting,
            _ => Hook::Other,
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = format!("{self:?}").to_ascii_uppercase();
        write!(f, "{name}")
    }
}

/// What a base chain is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChainKind {
    Filter,
    Nat,
    /// Mangle's OUTPUT (may reroute); filters like [`ChainKind::Filter`].
    Route,
}

/// A base chain's default verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Policy {
    Accept,
    Drop,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Accept => write!(f, "ACCEPT"),
            Policy::Drop => write!(f, "DROP"),
        }
    }
}

/// What makes a chain a base chain: where it hooks, in what order, and its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Base {
    pub kind: ChainKind,
    pub hook: Hook,
    /// Lower runs first (iptables' nat PREROUTING is -100, filter 0, nat POSTROUTING 100).
    pub priority: i32,
    pub policy: Policy,
}

/// A chain and its rules, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// None for a chain that is only jumped (or gone) to.
    pub base: Option<Base>,
    pub rules: Vec<Rule>,
}

/// What names a table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId {
    pub family: Family,
    pub name: String,
    pub source: Source,
}

impl fmt::Display for TableId {
    /// `nat` (iptables-nft), `nat (legacy)`, `nft inet filter`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Source::Iptables { legacy: false } => write!(f, "{}", self.name),
            Source::Iptables { legacy: true } => write!(f, "{} (legacy)", self.name),
            Source::Nft => write!(f, "nft {} {}", self.family, self.name),
        }
    }
}

/// Where a rule is: its table, chain and place in the chain (0 is the first), and its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleAt {
    pub table: TableId,
    pub chain: String,
    pub index: usize,
    pub text: String,
}

impl fmt::Display for RuleAt {
    /// `filter FORWARD rule 2 (-o netlab0 -j ACCEPT)`, counting from 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} rule {} ({})",
            self.table,
            self.chain,
            self.index + 1,
            self.text
        )
    }
}

/// A table and its chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub id: TableId,
    pub chains: Vec<Chain>,
    /// nft's named sets and maps: (name, its elements as nft's JSON gives them).
    pub sets: Vec<(String, Vec<String>)>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// A namespace's whole firewall.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netfilter {
    /// iptables' tables first (nft flavour, then legacy), then nft's, each in its tool's order.
    pub tables: Vec<Table>,
    /// What could not be read (a tool missing, a listing that failed).
    pub problems: Vec<String>,
}

impl Netfilter {
    /// A table by family, name and source.
    pub fn table(&self, family: Family, name: &str, source: Source) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.id.family == family && t.id.name == name && t.id.source == source)
    }

    /// iptables-nft's table `name` (`nat`, `filter`).
    pub fn iptables(&self, name: &str) -> Option<&Table> {
        self.table(Family::Ip, name, Source::Iptables { legacy: false })
    }

    /// Every rule, with where it is.
    pub fn rules(&self) -> impl Iterator<Item = (RuleAt, &Rule)> {
        self.tables.iter().flat_map(|t| {
            t.chains.iter().flat_map(move |c| {
                c.rules.iter().enumerate().map(move |(i, r)| {
                    (
                        RuleAt {
                            table: t.id.clone(),
                            chain: c.name.clone(),
                            index: i,
                            text: r.text.clone(),
                        },
                        r,
                    )
                })
            })
        })
    }

    /// Whether no table has a rule, and no base chain drops by default.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|t| {
            t.chains
                .iter()
                .all(|c| c.rules.is_empty() && c.base.is_none_or(|b| b.policy == Policy::Accept))
        })
    }
}
