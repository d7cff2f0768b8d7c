//! A packet's way through a namespace: its hooks in the kernel's order, with routing between
//! them, and the questions checks ask of it.
//!
//! ```text
//! arrives by IIF ─ PREROUTING ─ route ─┬─ local ─ INPUT ─ delivered
//!                                      └─ FORWARD ─ POSTROUTING ─ forwarded out of OIF
//! sent here ─ route ─ OUTPUT (reroute after DNAT) ─ POSTROUTING ─┬─ out of OIF
//!                                                                 └─ lo: INPUT ─ delivered
//! ```
//!
//! `ip_forward` (when read) decides whether a packet may be forwarded; a packet sent from
//! 127.0.0.0/8 out of an interface without `route_localnet` (when read) is a martian.

use super::netfilter::Host;
use super::netfilter::{Decider, Hook, Kinds, Nat, Outcome, Packet, RuleAt, Verdict};
use super::{Netns, NetnsHost};
use std::fmt;
use std::net::Ipv4Addr;

/// Where a packet starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// It comes in by this interface.
    Arrives(String),
    /// A process of the namespace sends it.
    Sent,
}

/// Where a packet ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// To a local socket.
    Delivered,
    /// Forwarded out of this interface.
    Forwarded(String),
    /// Sent out of this interface.
    Sent(String),
    Dropped {
        hook: Hook,
        by: Decider,
    },
    /// No route to its destination.
    NoRoute,
    /// To be forwarded, but `net.ipv4.ip_forward` is 0.
    NotForwarded,
    /// Dropped by routing: why.
    Martian(String),
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Delivered => write!(f, "delivered locally"),
            End::Forwarded(dev) => write!(f, "forwarded out of {dev}"),
            End::Sent(dev) => write!(f, "sent out of {dev}"),
            End::Dropped { hook, by } => write!(f, "{} (hook {hook})", by.explain(Verdict::Drop)),
            End::NoRoute => write!(f, "no route"),
            End::NotForwarded => write!(f, "not forwarded: net.ipv4.ip_forward is 0"),
            End::Martian(why) => write!(f, "dropped by routing: {why}"),
        }
    }
}

/// A packet's way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// What each hook did, in order.
    pub hops: Vec<(Hook, Outcome)>,
    pub end: End,
    /// The destination translation, and its rule.
    pub dnat: Option<(Nat, RuleAt)>,
    /// The source translation, and its rule.
    pub snat: Option<(Nat, RuleAt)>,
    /// The packet as it ends.
    pub packet: Packet,
}

impl Trace {
    /// Rules that could not be judged on the way (and why).
    pub fn unsure(&self) -> Vec<&(RuleAt, String)> {
        self.hops.iter().flat_map(|(_, o)| &o.unsure).collect()
    }

    /// The interface it leaves by, if it does.
    pub fn out_of(&self) -> Option<&str> {
        match &self.end {
            End::Forwarded(dev) | End::Sent(dev) => Some(dev),
            _ => None,
        }
    }
}

impl Netns {
    /// Follows `packet` through one hook (all chains or only some kinds).
    pub fn walk(&self, hook: Hook, kinds: Kinds, packet: &Packet) -> Outcome {
        self.netfilter
            .walk(hook, kinds, packet, &NetnsHost::new(self))
    }

    /// Follows `packet` from `start` to where it ends.
    pub fn trace(&self, start: Start, packet: Packet) -> Trace {
        let host = NetnsHost::new(self);
        let mut trace = Trace {
            hops: Vec::new(),
            end: End::Delivered,
            dnat: None,
            snat: None,
            packet,
        };
        // Runs a hook; false when the packet was dropped there.
        let hop = |trace: &mut Trace, hook: Hook| -> bool {
            let out = self.netfilter.walk(hook, Kinds::All, &trace.packet, &host);
            trace.packet = out.packet.clone();
            if let Some(nat) = &out.nat {
                let slot = if nat.0.is_source() {
                    &mut trace.snat
                } else {
                    &mut trace.dnat
                };
                *slot = Some(nat.clone());
            }
            let dropped = !out.accepted();
            if dropped {
                trace.end = End::Dropped {
                    hook,
                    by: out.by.clone(),
                };
            }
            trace.hops.push((hook, out));
            !dropped
        };
        match start {
            Start::Arrives(iif) => {
                trace.packet.iif = Some(iif);
                trace.packet.oif = None;
                if !hop(&mut trace, Hook::Prerouting) {
                    return trace;
                }
                let Some(oif) = host.route(trace.packet.dst) else {
                    trace.end = End::NoRoute;
                    return trace;
                };
                if oif == "lo" {
                    if hop(&mut trace, Hook::Input) {
                        trace.end = End::Delivered;
                    }
                    return trace;
                }
                if self.sysctls.get("net.ipv4.ip_forward") == Some("0") {
                    trace.end = End::NotForwarded;
                    return trace;
                }
                trace.packet.oif = Some(oif.clone());
                if hop(&mut trace, Hook::Forward) && hop(&mut trace, Hook::Postrouting) {
                    trace.end = End::Forwarded(oif);
                }
            }
            Start::Sent => {
                trace.packet.iif = None;
                let Some(oif) = host.route(trace.packet.dst) else {
                    trace.end = End::NoRoute;
                    return trace;
                };
                trace.packet.oif = Some(oif);
                if !hop(&mut trace, Hook::Output) {
                    return trace;
                }
                let oif = trace.packet.oif.clone().unwrap_or_default();
                if let Some(why) = self.martian(&trace.packet.src, &oif) {
                    trace.end = End::Martian(why);
                    return trace;
                }
                if !hop(&mut trace, Hook::Postrouting) {
                    return trace;
                }
                if oif == "lo" {
                    trace.packet.iif = Some("lo".into());
                    trace.packet.oif = None;
                    if hop(&mut trace, Hook::Input) {
                        trace.end = End::Delivered;
                    }
                } else {
                    trace.end = End::Sent(oif);
                }
            }
        }
        trace
    }

    /// Why a packet from `src` may not leave by `oif`, when the sysctls say so.
    fn martian(&self, src: &Ipv4Addr, oif: &str) -> Option<String> {
        let known = self.sysctls.conf(oif, "route_localnet").is_some();
        let allowed = self.sysctls.effective(oif, "route_localnet") == 1;
        (src.is_loopback() && oif != "lo" && known && !allowed)
            .then(|| format!("source {src} out of {oif}, whose route_localnet is 0 (nor is all's)"))
    }

    /// Whether a connection from `src` to `dst` leaving by `oif` is source-NATed (MASQUERADE
    /// or SNAT) by the POSTROUTING chains.
    pub fn masquerades(&self, src: Ipv4Addr, dst: Ipv4Addr, oif: &str) -> bool {
        let packet = Packet::tcp(src, dst, 80).oif(oif);
        let out = self.walk(Hook::Postrouting, Kinds::Nat, &packet);
        out.nat.is_some_and(|(nat, _)| nat.is_source())
    }

    /// Where the destination of `packet`, starting at `start`, is translated to (by the
    /// PREROUTING or OUTPUT NAT chains): the address and port it then has.
    pub fn dnat(&self, start: Start, packet: Packet) -> Option<(Ipv4Addr, u16)> {
        let (hook, packet) = match start {
            Start::Arrives(iif) => (Hook::Prerouting, packet.iif(&iif)),
            Start::Sent => {
                let oif = self.oif_for(packet.dst).unwrap_or_default();
                (Hook::Output, packet.oif(&oif))
            }
        };
        let out = self.walk(hook, Kinds::Nat, &packet);
        out.nat
            .filter(|(nat, _)| !nat.is_source())
            .map(|_| (out.packet.dst, out.packet.dport))
    }

    /// What the FORWARD filter chains do to `packet` (its `iif` and `oif` set).
    pub fn forward_verdict(&self, packet: &Packet) -> Outcome {
        self.walk(Hook::Forward, Kinds::Filter, packet)
    }
}
