//! One rule, typed: what it matches and what it does, the same whether iptables or nft wrote
//! it (`-s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE` and
//! `ip saddr 10.0.0.0/24 oifname != "netlab0" masquerade` are one rule).

use crate::state::net::Net;
use std::fmt;
use std::net::Ipv4Addr;

/// A rule of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Every condition; all must hold.
    pub matches: Vec<Match>,
    /// What it does when they hold.
    pub target: Target,
    /// Statements before the target that do not end it (nft's `meta mark set ... accept`).
    pub also: Vec<Target>,
    /// Its comment (`-m comment --comment`, nft's `comment`): for display; nothing may depend
    /// on it for correctness.
    pub comment: Option<String>,
    /// The rule as its tool prints it (`-s 10.0.0.0/24 -j MASQUERADE`, or nft's line without
    /// counters): for display only.
    pub text: String,
}

/// A transport protocol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    /// Any other, by name or number as written.
    Other(String),
}

impl Proto {
    /// `tcp`, `6`, `TCP`...
    pub fn from_name(name: &str) -> Proto {
        match name.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Proto::Tcp,
            "udp" | "17" => Proto::Udp,
            "icmp" | "1" => Proto::Icmp,
            other => Proto::Other(other.to_string()),
        }
    }

    /// Whether it has ports.
    pub fn has_ports(&self) -> bool {
        matches!(self, Proto::Tcp | Proto::Udp)
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proto::Tcp => write!(f, "tcp"),
            Proto::Udp => write!(f, "udp"),
            Proto::Icmp => write!(f, "icmp"),
            Proto::Other(name) => write!(f, "{name}"),
        }
    }
}

/// An interface name, or a prefix (`veth+`, nft's `veth*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName {
    pub name: String,
    pub wildcard: bool,
}

impl IfName {
    /// `veth+` or `veth*` is a prefix.
    pub fn parse(text: &str) -> IfName {
        match text.strip_suffix('+').or_else(|| text.strip_suffix('*')) {
            Some(prefix) => IfName {
                name: prefix.to_string(),
                wildcard: true,
            },
            None => IfName {
                name: text.to_string(),
                wildcard: false,
            },
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        if self.wildcard {
            name.starts_with(&self.name)
        } else {
            name == self.name
        }
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, if self.wildcard { "+" } else { "" })
    }
}

/// An address type (`-m addrtype`, nft's `fib ... type`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddrType {
    /// One of the namespace's own addresses.
    Local,
    Unicast,
    Broadcast,
    Multicast,
    /// Any other (`BLACKHOLE`, `UNREACHABLE`, ...), upper case.
    Other(String),
}

impl AddrType {
    pub fn parse(text: &str) -> AddrType {
        match text.to_ascii_uppercase().as_str() {
            "LOCAL" => AddrType::Local,
            "UNICAST" => AddrType::Unicast,
            "BROADCAST" => AddrType::Broadcast,
            "MULTICAST" => AddrType::Multicast,
            other => AddrType::Other(other.to_string()),
        }
    }
}

impl fmt::Display for AddrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrType::Local => write!(f, "LOCAL"),
            AddrType::Unicast => write!(f, "UNICAST"),
            AddrType::Broadcast => write!(f, "BROADCAST"),
            AddrType::Multicast => write!(f, "MULTICAST"),
            AddrType::Other(name) => write!(f, "{name}"),
        }
    }
}

/// A connection tracking state (`-m conntrack --ctstate`, nft's `ct state` and, for SNAT and
/// DNAT, `ct status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
    /// The connection's source was translated.
    Snat,
    /// The connection's destination was translated.
    Dnat,
}

impl CtState {
    pub fn parse(text: &str) -> Option<CtState> {
        Some(match text.to_ascii_uppercase().as_str() {
            "NEW" => CtState::New,
            "ESTABLISHED" => CtState::Established,
            "RELATED" => CtState::Related,
            "INVALID" => CtState::Invalid,
            "UNTRACKED" => CtState::Untracked,
            "SNAT" => CtState::Snat,
            "DNAT" => CtState::Dnat,
            _ => return None,
        })
    }
}

impl fmt::Display for CtState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = format!("{self:?}").to_ascii_uppercase();
        write!(f, "{name}")
    }
}

/// A condition of a rule. `negated` is iptables' `!` (nft's `!=`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Match {
    /// The source address is in one of `nets`.
    Src {
        nets: Vec<Net>,
        negated: bool,
    },
    Dst {
        nets: Vec<Net>,
        negated: bool,
    },
    /// The input interface.
    Iif {
        name: IfName,
        negated: bool,
    },
    Oif {
        name: IfName,
        negated: bool,
    },
    Proto {
        proto: Proto,
        negated: bool,
    },
    /// The source port is in one of the inclusive ranges.
    Sport {
        ports: Vec<(u16, u16)>,
        negated: bool,
    },
    Dport {
        ports: Vec<(u16, u16)>,
        negated: bool,
    },
    /// The source address's type (`--src-type`, `fib saddr type`).
    SrcType {
        kind: AddrType,
        negated: bool,
    },
    DstType {
        kind: AddrType,
        negated: bool,
    },
    /// `mark & mask == value`.
    Mark {
        value: u32,
        mask: u32,
        negated: bool,
    },
    /// The connection is in one of `states`.
    CtState {
        states: Vec<CtState>,
        negated: bool,
    },
    /// An IPv6-only condition (`ip6 saddr ::1`): never true of an IPv4 packet.
    Ip6Only(String),
    /// Anything else, as written: an evaluation that meets one says it could not judge.
    Unknown(String),
}

fn bang(negated: bool) -> &'static str {
    if negated {
        "! "
    } else {
        ""
    }
}

/// `80`, `1000:2000`, `80,443`.
pub fn ports_text(ports: &[(u16, u16)]) -> String {
    ports
        .iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Match {
    /// One neutral spelling for both tools: `src 10.0.0.0/24`, `! oif netlab0`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets = |nets: &[Net]| {
            nets.iter()
                .map(Net::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Match::Src { nets: n, negated } => write!(f, "{}src {}", bang(*negated), nets(n)),
            Match::Dst { nets: n, negated } => write!(f, "{}dst {}", bang(*negated), nets(n)),
            Match::Iif { name, negated } => write!(f, "{}iif {name}", bang(*negated)),
            Match::Oif { name, negated } => write!(f, "{}oif {name}", bang(*negated)),
            Match::Proto { proto, negated } => write!(f, "{}proto {proto}", bang(*negated)),
            Match::Sport { ports, negated } => {
                write!(f, "{}sport {}", bang(*negated), ports_text(ports))
            }
            Match::Dport { ports, negated } => {
                write!(f, "{}dport {}", bang(*negated), ports_text(ports))
            }
            Match::SrcType { kind, negated } => write!(f, "{}src-type {kind}", bang(*negated)),
            Match::DstType { kind, negated } => write!(f, "{}dst-type {kind}", bang(*negated)),
            Match::Mark {
                value,
                mask,
                negated,
            } => write!(f, "{}mark {value:#x}/{mask:#x}", bang(*negated)),
            Match::CtState { states, negated } => {
                let mut names: Vec<String> = states.iter().map(CtState::to_string).collect();
                names.sort();
                write!(f, "{}ctstate {}", bang(*negated), names.join(","))
            }
            Match::Ip6Only(text) => write!(f, "ip6 only: {text}"),
            Match::Unknown(text) => write!(f, "unknown: {text}"),
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Accept,
    Drop,
    /// Dropped, with an answer to the sender.
    Reject,
    /// Back to the calling chain (the base chain's policy, in a base chain).
    Return,
    Jump(String),
    Goto(String),
    /// Source NAT to the outgoing interface's address.
    Masquerade,
    Snat {
        addr: Ipv4Addr,
        port: Option<u16>,
    },
    /// Destination NAT; `port` None keeps the packet's port.
    Dnat {
        addr: Ipv4Addr,
        port: Option<u16>,
    },
    /// `mark = (mark & !mask) ^ value` (iptables' `--set-xmark value/mask`).
    SetMark {
        value: u32,
        mask: u32,
    },
    /// Logging: nothing happens to the packet.
    Log,
    /// No target (a rule that only counts): on to the next rule.
    Continue,
    /// Anything else, as written: an evaluation that meets one says it could not judge.
    Other(String),
}

impl Target {
    /// Whether the packet goes on to the next rule after it.
    pub fn goes_on(&self) -> bool {
        matches!(
            self,
            Target::SetMark { .. } | Target::Log | Target::Continue
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = |p: &Option<u16>| p.map(|p| format!(":{p}")).unwrap_or_default();
        match self {
            Target::Accept => write!(f, "ACCEPT"),
            Target::Drop => write!(f, "DROP"),
            Target::Reject => write!(f, "REJECT"),
            Target::Return => write!(f, "RETURN"),
            Target::Jump(chain) => write!(f, "jump {chain}"),
            Target::Goto(chain) => write!(f, "goto {chain}"),
            Target::Masquerade => write!(f, "MASQUERADE"),
            Target::Snat { addr, port: p } => write!(f, "SNAT to {addr}{}", port(p)),
            Target::Dnat { addr, port: p } => write!(f, "DNAT to {addr}{}", port(p)),
            Target::SetMark { value, mask } => write!(f, "MARK set {value:#x}/{mask:#x}"),
            Target::Log => write!(f, "LOG"),
            Target::Continue => write!(f, "(no target)"),
            Target::Other(text) => write!(f, "other: {text}"),
        }
    }
}

impl Rule {
    /// Its meaning in one neutral line: the sorted matches then the target (no comment, no
    /// counters, not the tool's spelling). Two rules that do the same read the same.
    pub fn meaning(&self) -> String {
        let mut words: Vec<String> = self.matches.iter().map(Match::to_string).collect();
        words.sort();
        words.dedup();
        words.extend(self.also.iter().map(Target::to_string));
        words.push(self.target.to_string());
        words.join(" ")
    }
}
