//! `nft monitor trace`'s text, as events: one line each, grouped by the packet they follow
//! (`trace id`) and cut at each base chain the packet enters (a `packet:` line).
//!
//! ```text
//! trace id 6e99e5f5 ip filter FORWARD packet: iif "veth19" oif "eth0" ... ip saddr 10.0.0.2 ...
//! trace id 6e99e5f5 ip filter FORWARD rule counter packets 0 bytes 0 jump DOCKER-USER (verdict jump DOCKER-USER)
//! trace id 6e99e5f5 ip filter FORWARD policy accept
//! ```

use std::net::Ipv4Addr;

/// One line of the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub family: String,
    pub table: String,
    pub chain: String,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// The packet as it enters a base chain.
    Packet(Fields),
    /// A rule that matched, and its verdict (`continue`, `accept`, `drop`, `jump X`...).
    Rule { rule: String, verdict: String },
    /// The chain's policy decided.
    Policy(String),
}

/// What a `packet:` line says of the packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub src: Option<Ipv4Addr>,
    pub dst: Option<Ipv4Addr>,
    /// `tcp`, `udp`, `icmp`.
    pub proto: Option<String>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// TCP flags as nft prints them (`syn`, `0x12`, `rst | ack`).
    pub flags: Option<String>,
    /// ICMP type (`echo-request`).
    pub icmp: Option<String>,
    /// ICMP code (`port-unreachable`).
    pub icmp_code: Option<String>,
    /// The IP header's identification: the same packet has the same in every namespace it
    /// crosses (NAT keeps it).
    pub ip_id: Option<u16>,
    /// Its time to live: one less after each router.
    pub ttl: Option<u8>,
    /// The sender's MAC address (to find the bridge port it came in by).
    pub mac: Option<String>,
}

impl Fields {
    /// `tcp 10.0.0.2:49656 > 203.0.113.80:80 [syn]`.
    pub fn summary(&self) -> String {
        let addr = |ip: Option<Ipv4Addr>, port: Option<u16>| match (ip, port) {
            (Some(ip), Some(port)) => format!("{ip}:{port}"),
            (Some(ip), None) => ip.to_string(),
            (None, _) => "?".to_string(),
        };
        let mut text = format!(
            "{} {} > {}",
            self.proto.as_deref().unwrap_or("ip"),
            addr(self.src, self.sport),
            addr(self.dst, self.dport)
        );
        if let Some(flags) = self.tcp_flags() {
            text.push_str(&format!(" [{flags}]"));
        }
        match (&self.icmp, &self.icmp_code) {
            (Some(icmp), Some(code)) if icmp == "destination-unreachable" => {
                text.push_str(&format!(" [{icmp} {code}]"))
            }
            (Some(icmp), _) => text.push_str(&format!(" [{icmp}]")),
            _ => {}
        }
        text
    }

    /// The TCP flags in words (`syn ack`), from nft's names or its hexadecimal.
    pub fn tcp_flags(&self) -> Option<String> {
        let flags = self.flags.as_deref()?;
        let bits = match flags.strip_prefix("0x") {
            Some(hex) => u8::from_str_radix(hex, 16).ok()?,
            None => flags
                .split('|')
                .map(str::trim)
                .map(|name| match name {
                    "fin" => 0x01,
                    "syn" => 0x02,
                    "rst" => 0x04,
                    "psh" => 0x08,
                    "ack" => 0x10,
                    "urg" => 0x20,
                    _ => 0,
                })
                .fold(0, |a, b| a | b),
        };
        let names: Vec<&str> = [
            (0x02, "syn"),
            (0x10, "ack"),
            (0x01, "fin"),
            (0x04, "rst"),
            (0x08, "psh"),
        ]
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect();
        Some(names.join(" "))
    }

    /// A TCP reset: nobody listens (or a REJECT with tcp-reset).
    pub fn is_reset(&self) -> bool {
        self.tcp_flags().is_some_and(|f| f.contains("rst"))
    }
}

/// The word after `key` in `text` (quotes removed).
fn after(text: &str, key: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = text[from..].find(key) {
        let start = from + at;
        // A whole word: `ip saddr` must not match inside `ether saddr`.
        let whole = start == 0 || text.as_bytes()[start - 1] == b' ';
        if whole {
            let rest = &text[start + key.len()..];
            return rest
                .split_whitespace()
                .next()
                .map(|w| w.trim_matches('"').to_string());
        }
        from = start + key.len();
    }
    None
}

/// The `packet:` line's fields.
pub fn fields(text: &str) -> Fields {
    let proto = after(text, "ip protocol ").or_else(|| {
        ["tcp", "udp", "icmp"]
            .into_iter()
            .find(|p| text.contains(&format!(" {p} ")))
            .map(str::to_string)
    });
    let port = |key: &str| after(text, key).and_then(|p| p.parse().ok());
    let (sport, dport) = match proto.as_deref() {
        Some("tcp") => (port("tcp sport "), port("tcp dport ")),
        Some("udp") => (port("udp sport "), port("udp dport ")),
        _ => (None, None),
    };
    let flags = text.split_once("tcp flags == ").map(|(_, rest)| {
        // `syn`, `0x12`, or `rst | ack` up to the next field (`tcp window`).
        rest.split(" tcp ")
            .next()
            .unwrap_or(rest)
            .trim()
            .to_string()
    });
    Fields {
        iif: after(text, "iif "),
        oif: after(text, "oif "),
        src: after(text, "ip saddr ").and_then(|a| a.parse().ok()),
        dst: after(text, "ip daddr ").and_then(|a| a.parse().ok()),
        proto,
        sport,
        dport,
        flags,
        icmp: after(text, "icmp type "),
        icmp_code: after(text, "icmp code "),
        ip_id: after(text, "ip id ").and_then(|a| a.parse().ok()),
        ttl: after(text, "ip ttl ").and_then(|a| a.parse().ok()),
        mac: after(text, "ether saddr "),
    }
}

/// One line of `nft monitor trace`, or `None` for anything else.
pub fn event(line: &str) -> Option<Event> {
    let rest = line.trim().strip_prefix("trace id ")?;
    let mut words = rest.splitn(5, ' ');
    let id = words.next()?.to_string();
    let family = words.next()?.to_string();
    let table = words.next()?.to_string();
    let chain = words.next()?.to_string();
    let body = words.next()?.trim();
    let what = if let Some(packet) = body.strip_prefix("packet:") {
        What::Packet(fields(packet))
    } else if let Some(policy) = body.strip_prefix("policy ") {
        What::Policy(policy.trim().to_string())
    } else if let Some(rule) = body.strip_prefix("rule ") {
        let (rule, verdict) = match rule.rsplit_once(" (verdict ") {
            Some((rule, verdict)) => (rule, verdict.trim_end_matches(')')),
            None => (rule, ""),
        };
        What::Rule {
            rule: tidy_rule(rule),
            verdict: verdict.to_string(),
        }
    } else if let Some(verdict) = body.strip_prefix("verdict ") {
        What::Policy(verdict.trim().to_string())
    } else {
        return None;
    };
    Some(Event {
        id,
        family,
        table,
        chain,
        what,
    })
}

/// A rule without its counters (`counter packets 3 bytes 180`) and comment handles.
fn tidy_rule(rule: &str) -> String {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "counter" && words.get(i + 1) == Some(&"packets") {
            i += 5;
            continue;
        }
        kept.push(words[i]);
        i += 1;
    }
    kept.join(" ")
}

/// A base chain the packet went through: the packet as it entered, and what matched there
/// (in the chains it jumped to too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub family: String,
    pub table: String,
    pub chain: String,
    pub packet: Fields,
    pub events: Vec<Event>,
}

impl Visit {
    /// The event that decided (the last one: a final verdict or the policy), if any.
    pub fn decision(&self) -> Option<&Event> {
        self.events.iter().rev().find(|e| match &e.what {
            What::Policy(_) => true,
            What::Rule { verdict, .. } => is_final(verdict),
            What::Packet(_) => false,
        })
    }

    /// The final verdict (`accept`, `drop`...), `accept` when nothing decided.
    pub fn verdict(&self) -> String {
        match self.decision().map(|e| &e.what) {
            Some(What::Policy(v)) => v.clone(),
            Some(What::Rule { verdict, .. }) => verdict.clone(),
            _ => "accept".to_string(),
        }
    }

    /// `ip filter FORWARD`.
    pub fn name(&self) -> String {
        format!("{} {} {}", self.family, self.table, self.chain)
    }
}

fn is_final(verdict: &str) -> bool {
    !verdict.is_empty()
        && !verdict.starts_with("jump")
        && !verdict.starts_with("goto")
        && verdict != "continue"
        && verdict != "return"
}

/// One packet's way through one namespace: its visits, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketTrace {
    pub id: String,
    /// The line of the monitor's text where it starts (from 0).
    pub line: usize,
    pub visits: Vec<Visit>,
}

/// Whether a `packet:` event is at one of the chains of `table` that mark packets: the first
/// chain every traced packet enters.
fn starts_packet(event: &Event, table: &str) -> bool {
    event.table == table
        && matches!(event.what, What::Packet(_))
        && (event.chain == "prerouting" || event.chain == "output")
}

/// Whether `trace` has ended: delivered (our INPUT chain), sent or forwarded out (our
/// POSTROUTING chain), or dropped.
fn ended(trace: &PacketTrace, table: &str) -> bool {
    trace.visits.iter().any(|v| {
        (v.table == table && (v.chain == "input" || v.chain == "postrouting"))
            || v.verdict() == "drop"
            || v.verdict().starts_with("reject")
    })
}

/// Whether `fields` are the packet `trace` follows (the same IP id, flags, ICMP type).
fn same_packet(trace: &PacketTrace, fields: &Fields) -> bool {
    trace.visits.last().is_some_and(|last| {
        (
            last.packet.ip_id,
            last.packet.tcp_flags(),
            &last.packet.icmp,
        ) == (fields.ip_id, fields.tcp_flags(), &fields.icmp)
    })
}

/// Groups the monitor's lines by packet, in the order each packet first appears.
///
/// A trace id is not a packet: the kernel makes it of the packet buffer's address, so a later
/// packet may have the id of an earlier one, and one packet whose buffer was copied (a bridge
/// does) goes on under a new id. Every traced packet first enters a marking chain of `table`
/// (`prerouting` or `output`, before every other chain): such an entry starts a packet,
/// unless the same packet, not ended yet, meets PREROUTING again (a bridged packet does, in
/// the bridge and then in IP); a new id entering another chain goes on with the packet it is.
pub fn traces(text: &str, table: &str) -> Vec<PacketTrace> {
    let mut traces: Vec<PacketTrace> = Vec::new();
    for (number, event) in text
        .lines()
        .enumerate()
        .filter_map(|(n, l)| event(l).map(|e| (n, e)))
    {
        let by_id = traces.iter().rposition(|t| t.id == event.id);
        let open = match &event.what {
            What::Packet(fields) if starts_packet(&event, table) => {
                by_id.filter(|&at| !ended(&traces[at], table) && same_packet(&traces[at], fields))
            }
            What::Packet(fields) if by_id.is_none() => traces
                .iter()
                .rposition(|t| !ended(t, table) && same_packet(t, fields)),
            _ => by_id,
        };
        let at = match open {
            Some(at) => {
                traces[at].id = event.id.clone();
                at
            }
            None => {
                traces.push(PacketTrace {
                    id: event.id.clone(),
                    line: number,
                    visits: Vec::new(),
                });
                traces.len() - 1
            }
        };
        let trace = &mut traces[at];
        match &event.what {
            What::Packet(fields) => trace.visits.push(Visit {
                family: event.family.clone(),
                table: event.table.clone(),
                chain: event.chain.clone(),
                packet: fields.clone(),
                events: Vec::new(),
            }),
            _ => match trace.visits.last_mut() {
                Some(visit) => visit.events.push(event),
                // A line whose `packet:` line was missed (the monitor started late).
                None => trace.visits.push(Visit {
                    family: event.family.clone(),
                    table: event.table.clone(),
                    chain: event.chain.clone(),
                    packet: Fields::default(),
                    events: vec![event],
                }),
            },
        }
    }
    traces
}

#[cfg(test)]
mod tests {
    use super::*;

    const WGET: &str = include_str!("fixtures/masquerade-host.txt");

    #[test]
    fn reads_a_packet_line() {
        let e = event(
            "trace id 6e99e5f5 ip filter FORWARD packet: iif \"veth19\" oif \"eth0\" ether saddr \
             4e:b1:69:71:b5:c4 ether daddr b2:69:8e:4a:60:28 ip saddr 10.0.0.2 ip daddr \
             203.0.113.80 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 32813 ip length 60 tcp sport \
             49656 tcp dport 80 tcp flags == syn tcp window 64240 ",
        )
        .unwrap();
        assert_eq!((e.family.as_str(), e.table.as_str()), ("ip", "filter"));
        let What::Packet(f) = e.what else { panic!() };
        assert_eq!(f.iif.as_deref(), Some("veth19"));
        assert_eq!(f.oif.as_deref(), Some("eth0"));
        assert_eq!(f.summary(), "tcp 10.0.0.2:49656 > 203.0.113.80:80 [syn]");
    }

    #[test]
    fn reads_rules_policies_and_flags() {
        let e = event(
            "trace id 6e99e5f5 ip nat POSTROUTING rule ip saddr 10.0.0.0/24 counter packets 0 \
             bytes 0 masquerade (verdict accept)",
        )
        .unwrap();
        assert_eq!(
            e.what,
            What::Rule {
                rule: "ip saddr 10.0.0.0/24 masquerade".into(),
                verdict: "accept".into()
            }
        );
        let e = event("trace id 1 ip filter FORWARD policy drop ").unwrap();
        assert_eq!(e.what, What::Policy("drop".into()));
        assert_eq!(event("hello"), None);
        let flags = |text: &str| Fields {
            flags: Some(text.into()),
            ..Fields::default()
        };
        assert_eq!(flags("0x12").tcp_flags().as_deref(), Some("syn ack"));
        assert!(flags("rst | ack").is_reset());
        assert!(flags("0x14").is_reset());
        assert!(!flags("syn").is_reset());
    }

    #[test]
    fn groups_a_real_monitors_lines_by_packet() {
        let all = traces(WGET, "netlab_trace");
        assert!(all.len() > 4, "{}", all.len());
        // The first packet: the SYN, forwarded and masqueraded.
        let syn = &all[0];
        let names: Vec<String> = syn.visits.iter().map(Visit::name).collect();
        assert!(
            names.contains(&"ip filter FORWARD".to_string()),
            "{names:?}"
        );
        let post = syn
            .visits
            .iter()
            .find(|v| v.chain == "POSTROUTING")
            .unwrap();
        assert_eq!(post.verdict(), "accept");
        let Some(What::Rule { rule, .. }) = post.decision().map(|e| &e.what) else {
            panic!()
        };
        assert!(rule.contains("masquerade"), "{rule}");
        // Every event is in some visit.
        let events: usize = all
            .iter()
            .flat_map(|t| &t.visits)
            .map(|v| v.events.len() + 1)
            .sum();
        assert_eq!(events, WGET.lines().filter(|l| event(l).is_some()).count());
    }
}
