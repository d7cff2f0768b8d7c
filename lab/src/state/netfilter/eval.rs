//! Following one packet through one hook: every base chain of every table that IPv4 packets
//! meet (iptables' and nft's alike), in priority order, with jumps, gotos, returns, marks,
//! NAT and policies, as the kernel does it.
//!
//! At equal priority iptables' tables run before nft's (the kernel runs the older one first,
//! which cannot be read back; iptables' tables are usually made first). NAT chains run only
//! for a connection's first packet (`ct` New), and only until one of them translates it.

use super::packet::{Host, Packet};
use super::rule::{AddrType, CtState, Match, Rule, Target};
use super::{Base, Chain, ChainKind, Hook, Netfilter, Policy, RuleAt, Table, TableId};
use std::fmt;
use std::net::Ipv4Addr;

/// Which base chains to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kinds {
    /// Every chain of the hook, as the kernel runs them.
    All,
    /// Filter (and route) chains only.
    Filter,
    /// NAT chains only.
    Nat,
}

impl Kinds {
    fn admits(self, kind: ChainKind) -> bool {
        match self {
            Kinds::All => true,
            Kinds::Filter => kind != ChainKind::Nat,
            Kinds::Nat => kind == ChainKind::Nat,
        }
    }
}

/// A translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// To `addr`, `port` (None: the packet's own).
    Dnat {
        addr: Ipv4Addr,
        port: Option<u16>,
    },
    Snat {
        addr: Ipv4Addr,
        port: Option<u16>,
    },
    /// To the outgoing interface's address.
    Masquerade,
}

impl Nat {
    /// A source translation (SNAT or MASQUERADE).
    pub fn is_source(&self) -> bool {
        !matches!(self, Nat::Dnat { .. })
    }
}

impl fmt::Display for Nat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = |p: &Option<u16>| p.map(|p| format!(":{p}")).unwrap_or_default();
        match self {
            Nat::Dnat { addr, port: p } => write!(f, "DNAT to {addr}{}", port(p)),
            Nat::Snat { addr, port: p } => write!(f, "SNAT to {addr}{}", port(p)),
            Nat::Masquerade => write!(f, "MASQUERADE"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Dropped (or rejected).
    Drop,
}

/// What decided a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    Rule(RuleAt),
    /// The base chain's policy.
    Policy {
        table: TableId,
        chain: String,
        policy: Policy,
    },
    /// No chain was on the hook: the packet passes.
    NoChain,
}

impl Decider {
    /// `dropped in filter FORWARD by its policy DROP` (for `verdict`).
    pub fn explain(&self, verdict: Verdict) -> String {
        let verdict = match verdict {
            Verdict::Accept => "accepted",
            Verdict::Drop => "dropped",
        };
        match self {
            Decider::Rule(at) => format!("{verdict} by {at}"),
            Decider::Policy {
                table,
                chain,
                policy,
            } => format!("{verdict} in {table} {chain} by its policy {policy}"),
            Decider::NoChain => format!("{verdict}: no chain on this hook"),
        }
    }
}

/// What one hook did to a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// What decided it: for a drop the dropping rule or policy, for an accept the decision of
    /// the last base chain.
    pub by: Decider,
    /// The translation that a NAT chain set up, and its rule.
    pub nat: Option<(Nat, RuleAt)>,
    /// Every rule whose matches held, in the order met.
    pub matched: Vec<RuleAt>,
    /// Rules that could not be judged (an unknown match or target), and why: they were
    /// taken as not matching.
    pub unsure: Vec<(RuleAt, String)>,
    /// The packet after the hook (marks set, translation applied, rerouted).
    pub packet: Packet,
}

impl Outcome {
    pub fn accepted(&self) -> bool {
        self.verdict == Verdict::Accept
    }

    /// `dropped in filter FORWARD by its policy DROP`, `accepted by filter FORWARD rule 1
    /// (-i netlab0 -j ACCEPT)`, and the translation and the rules not judged.
    pub fn explain(&self) -> String {
        let mut text = self.by.explain(self.verdict);
        if let Some((nat, at)) = &self.nat {
            text.push_str(&format!("; {nat} by {at}"));
        }
        for (at, why) in &self.unsure {
            text.push_str(&format!("; could not judge {at}: {why}"));
        }
        text
    }
}

/// How a chain ended.
enum Flow {
    Accept(RuleAt),
    Drop(RuleAt),
    Nat(Nat, RuleAt),
    /// RETURN, or the end of the chain.
    Return,
}

/// One walk's state.
struct Walk<'a> {
    host: &'a dyn Host,
    kind: ChainKind,
    out: Outcome,
}

/// Whether a rule's matches hold: `Err` says why it cannot be told.
fn holds(rule: &Rule, p: &Packet, host: &dyn Host) -> Result<bool, String> {
    let mut unsure = None;
    for m in &rule.matches {
        let yes = |negated: bool, held: bool| held != negated;
        let held = match m {
            Match::Src { nets, negated } => yes(*negated, nets.iter().any(|n| n.contains(p.src))),
            Match::Dst { nets, negated } => yes(*negated, nets.iter().any(|n| n.contains(p.dst))),
            Match::Iif { name, negated } => {
                yes(*negated, name.matches(p.iif.as_deref().unwrap_or("")))
            }
            Match::Oif { name, negated } => {
                yes(*negated, name.matches(p.oif.as_deref().unwrap_or("")))
            }
            Match::Proto { proto, negated } => yes(*negated, *proto == p.proto),
            Match::Sport { ports, negated } => {
                p.proto.has_ports() && yes(*negated, in_ranges(ports, p.sport))
            }
            Match::Dport { ports, negated } => {
                p.proto.has_ports() && yes(*negated, in_ranges(ports, p.dport))
            }
            Match::SrcType { kind, negated } | Match::DstType { kind, negated } => {
                let addr = if matches!(m, Match::SrcType { .. }) {
                    p.src
                } else {
                    p.dst
                };
                if let AddrType::Other(name) = kind {
                    unsure.get_or_insert(format!("address type {name}"));
                    continue;
                }
                yes(*negated, host.addr_type(addr) == *kind)
            }
            Match::Mark {
                value,
                mask,
                negated,
            } => yes(*negated, p.mark & mask == *value),
            Match::CtState { states, negated } => {
                let has = |s: &CtState| match s {
                    CtState::Snat => p.snatted,
                    CtState::Dnat => p.dnatted,
                    state => *state == p.ct,
                };
                yes(*negated, states.iter().any(has))
            }
            Match::Ip6Only(_) => false,
            Match::Unknown(text) => {
                unsure.get_or_insert(format!("unknown match {text}"));
                continue;
            }
        };
        if !held {
            return Ok(false);
        }
    }
    unsure.map_or(Ok(true), Err)
}

fn in_ranges(ranges: &[(u16, u16)], port: u16) -> bool {
    ranges.iter().any(|(a, b)| (*a..=*b).contains(&port))
}

fn set_mark(packet: &mut Packet, value: u32, mask: u32) {
    packet.mark = (packet.mark & !mask) ^ value;
}

impl Walk<'_> {
    fn chain(&mut self, table: &Table, chain: &Chain, depth: usize) -> Flow {
        for (index, rule) in chain.rules.iter().enumerate() {
            let at = RuleAt {
                table: table.id.clone(),
                chain: chain.name.clone(),
                index,
                text: rule.text.clone(),
            };
            match holds(rule, &self.out.packet, self.host) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(why) => {
                    self.out.unsure.push((at, why));
                    continue;
                }
            }
            self.out.matched.push(at.clone());
            for effect in &rule.also {
                if let Target::SetMark { value, mask } = effect {
                    set_mark(&mut self.out.packet, *value, *mask);
                }
            }
            let nat = match &rule.target {
                Target::Accept => return Flow::Accept(at),
                Target::Drop | Target::Reject => return Flow::Drop(at),
                Target::Return => return Flow::Return,
                Target::Jump(name) | Target::Goto(name) => {
                    let goto = matches!(rule.target, Target::Goto(_));
                    let Some(next) = table.chain(name).filter(|_| depth < 32) else {
                        let why = format!("no chain {name} to go to (or chains loop)");
                        self.out.unsure.push((at, why));
                        continue;
                    };
                    match self.chain(table, next, depth + 1) {
                        Flow::Return if goto => return Flow::Return,
                        Flow::Return => continue,
                        flow => return flow,
                    }
                }
                Target::SetMark { value, mask } => {
                    set_mark(&mut self.out.packet, *value, *mask);
                    continue;
                }
                Target::Log | Target::Continue => continue,
                Target::Other(text) => {
                    self.out.unsure.push((at, format!("unknown target {text}")));
                    continue;
                }
                Target::Masquerade => Nat::Masquerade,
                Target::Snat { addr, port } => Nat::Snat {
                    addr: *addr,
                    port: *port,
                },
                Target::Dnat { addr, port } => Nat::Dnat {
                    addr: *addr,
                    port: *port,
                },
            };
            if self.kind != ChainKind::Nat {
                let why = format!("{nat} outside a nat chain");
                self.out.unsure.push((at, why));
                continue;
            }
            return Flow::Nat(nat, at);
        }
        Flow::Return
    }

    /// Applies a translation to the packet.
    fn translate(&mut self, hook: Hook, nat: Nat) {
        let packet = &mut self.out.packet;
        match nat {
            Nat::Dnat { addr, port } => {
                packet.dst = addr;
                packet.dport = port.unwrap_or(packet.dport);
                packet.dnatted = true;
                if hook == Hook::Output {
                    packet.oif = self.host.route(addr).or(packet.oif.take());
                }
            }
            Nat::Snat { addr, port } => {
                packet.src = addr;
                packet.sport = port.unwrap_or(packet.sport);
                packet.snatted = true;
            }
            Nat::Masquerade => {
                let dev = packet.oif.clone().unwrap_or_default();
                if let Some(addr) = self.host.masquerade_addr(&dev) {
                    packet.src = addr;
                }
                packet.snatted = true;
            }
        }
    }
}

impl Netfilter {
    /// The base chains on `hook` that an IPv4 packet meets, in the order they run.
    pub fn base_chains(&self, hook: Hook, kinds: Kinds) -> Vec<(&Table, &Chain, Base)> {
        let mut chains: Vec<(&Table, &Chain, Base)> = self
            .tables
            .iter()
            .filter(|t| t.id.family.sees_ipv4())
            .flat_map(|t| {
                t.chains.iter().filter_map(move |c| {
                    let base = c.base?;
                    (base.hook == hook && kinds.admits(base.kind)).then_some((t, c, base))
                })
            })
            .collect();
        chains.sort_by_key(|(_, _, base)| base.priority);
        chains
    }

    /// Follows `packet` through the chains of `kinds` on `hook`.
    pub fn walk(&self, hook: Hook, kinds: Kinds, packet: &Packet, host: &dyn Host) -> Outcome {
        let mut walk = Walk {
            host,
            kind: ChainKind::Filter,
            out: Outcome {
                verdict: Verdict::Accept,
                by: Decider::NoChain,
                nat: None,
                matched: Vec::new(),
                unsure: Vec::new(),
                packet: packet.clone(),
            },
        };
        for (table, chain, base) in self.base_chains(hook, kinds) {
            let first = walk.out.packet.ct == CtState::New;
            if base.kind == ChainKind::Nat && (walk.out.nat.is_some() || !first) {
                continue;
            }
            walk.kind = base.kind;
            walk.out.by = match walk.chain(table, chain, 0) {
                Flow::Accept(at) => Decider::Rule(at),
                Flow::Drop(at) => {
                    walk.out.verdict = Verdict::Drop;
                    walk.out.by = Decider::Rule(at);
                    return walk.out;
                }
                Flow::Nat(nat, at) => {
                    walk.translate(hook, nat);
                    walk.out.nat = Some((nat, at.clone()));
                    Decider::Rule(at)
                }
                Flow::Return => {
                    let by = Decider::Policy {
                        table: table.id.clone(),
                        chain: chain.name.clone(),
                        policy: base.policy,
                    };
                    if base.policy == Policy::Drop {
                        walk.out.verdict = Verdict::Drop;
                        walk.out.by = by;
                        return walk.out;
                    }
                    by
                }
            };
        }
        walk.out
    }
}
