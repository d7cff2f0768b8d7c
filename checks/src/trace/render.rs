//! A trace as a learner reads it: each packet in the namespace it was seen in, the chains it
//! went through with what decided there, the rewrites NAT made, then conntrack's view and the
//! verdict of the whole, one line ([`super::diagnose`]).

use super::parse::{Fields, PacketTrace, Visit, What};
use super::run::{Found, Seen, TABLE};

/// At most this many packets are shown (the rest are counted).
const SHOWN: usize = 4;

/// Which of our own chains a packet reached: the hooks of its way.
pub fn hooks(trace: &PacketTrace) -> Vec<&str> {
    trace
        .visits
        .iter()
        .filter(|v| v.table == TABLE)
        .map(|v| v.chain.as_str())
        .collect()
}

/// The packet as first seen, and as last seen (after NAT).
pub fn first_last(trace: &PacketTrace) -> (Fields, Fields) {
    let first = trace
        .visits
        .first()
        .map(|v| v.packet.clone())
        .unwrap_or_default();
    let last = trace
        .visits
        .last()
        .map(|v| v.packet.clone())
        .unwrap_or_default();
    (first, last)
}

/// The first visit that dropped or rejected the packet.
pub fn dropped(trace: &PacketTrace) -> Option<&Visit> {
    trace.visits.iter().find(|v| {
        let verdict = v.verdict();
        verdict == "drop" || verdict.starts_with("reject")
    })
}

/// Where the packet went in its namespace, from the hooks it reached; `port`: the bridge
/// port it came in by.
pub fn fate(trace: &PacketTrace, port: Option<&str>) -> String {
    let iif = trace.visits.first().and_then(|v| v.packet.iif.clone());
    let came = match (iif, port) {
        (Some(i), Some(port)) => format!("in by {i} (bridge port {port}), "),
        (Some(i), None) => format!("in by {i}, "),
        _ => String::new(),
    };
    if let Some(visit) = dropped(trace) {
        return format!("{came}dropped in {}", visit.name());
    }
    let hooks = hooks(trace);
    let (_, last) = first_last(trace);
    let oif = || {
        trace
            .visits
            .iter()
            .rev()
            .find_map(|v| v.packet.oif.clone())
            .unwrap_or_else(|| "?".to_string())
    };
    if hooks.contains(&"input") {
        format!("{came}delivered locally")
    } else if hooks.contains(&"forward") && hooks.contains(&"postrouting") {
        format!("{came}forwarded out of {}", oif())
    } else if hooks.contains(&"forward") {
        format!("{came}forwarded, but not out of any interface")
    } else if hooks.contains(&"output") && hooks.contains(&"postrouting") {
        format!("sent out of {}", oif())
    } else if hooks.contains(&"output") {
        "sent, but it never left (lost after OUTPUT)".to_string()
    } else if hooks.contains(&"prerouting") {
        let dst = last.dst.map(|d| d.to_string()).unwrap_or_default();
        format!("{came}lost after PREROUTING: routing did not take it (to {dst})")
    } else {
        "seen".to_string()
    }
}

/// What decided in a visit: `policy accept`, `rule \`...\`: drop`.
fn decision(visit: &Visit) -> String {
    match visit.decision().map(|e| (&e.chain, &e.what)) {
        Some((_, What::Policy(verdict))) => format!("policy {verdict}"),
        Some((chain, What::Rule { rule, verdict })) => {
            let of = if chain != &visit.chain {
                format!(" (in chain {chain})")
            } else {
                String::new()
            };
            format!("rule `{rule}`{of}: {verdict}")
        }
        _ => "accept".to_string(),
    }
}

/// A rewrite between two views of the packet.
fn rewrite(before: &Fields, after: &Fields) -> Option<String> {
    let end = |ip: Option<std::net::Ipv4Addr>, port: Option<u16>| match (ip, port) {
        (Some(ip), Some(port)) => format!("{ip}:{port}"),
        (Some(ip), None) => ip.to_string(),
        _ => "?".to_string(),
    };
    let mut changes = Vec::new();
    if before.dst.is_some() && (before.dst, before.dport) != (after.dst, after.dport) {
        changes.push(format!(
            "destination {} → {}",
            end(before.dst, before.dport),
            end(after.dst, after.dport)
        ));
    }
    if before.src.is_some() && (before.src, before.sport) != (after.src, after.sport) {
        changes.push(format!(
            "source {} → {}",
            end(before.src, before.sport),
            end(after.src, after.sport)
        ));
    }
    (!changes.is_empty()).then(|| format!("NAT rewrote the {}", changes.join(", the ")))
}

/// One packet in one namespace, a few lines (without the packet's summary).
pub fn packet(seen: &Seen) -> Vec<String> {
    let mut lines = vec![format!(
        "{:<9} {}",
        seen.space,
        fate(&seen.trace, seen.port.as_deref())
    )];
    let mut previous: Option<&Fields> = None;
    for visit in &seen.trace.visits {
        if let Some(before) = previous {
            if let Some(change) = rewrite(before, &visit.packet) {
                lines.push(format!("            {change}"));
            }
        }
        if visit.packet.src.is_some() {
            previous = Some(&visit.packet);
        }
        if visit.table == TABLE {
            continue;
        }
        let mut line = format!("            {}: {}", visit.name(), decision(visit));
        let nat = visit.events.iter().find_map(|e| match &e.what {
            What::Rule { rule, verdict } if verdict == "accept" => ["masquerade", "snat", "dnat"]
                .into_iter()
                .find(|w| rule.contains(w)),
            _ => None,
        });
        if let Some(kind) = nat {
            let which = if kind == "dnat" {
                "destination"
            } else {
                "source"
            };
            line.push_str(&format!(" ({which} NAT)"));
        }
        lines.push(line);
    }
    lines
}

/// One packet of the flow in every namespace it crossed: its summary, then each namespace.
fn journey(seen: &[&Seen]) -> Vec<String> {
    let summary = seen
        .first()
        .map(|s| first_last(&s.trace).0.summary())
        .unwrap_or_default();
    let mut lines = vec![summary];
    for one in seen {
        lines.extend(packet(one).into_iter().map(|l| format!("  {l}")));
    }
    lines
}

/// The whole trace, and its verdict `diagnosis`, as text.
pub fn render(found: &Found, diagnosis: &str) -> String {
    let mut out = vec![format!("trace: {}", found.flow)];
    if found.seen.is_empty() {
        out.push("  no packet of the flow was seen in any namespace of the lab".to_string());
    }
    let mut journeys: Vec<Vec<&Seen>> = Vec::new();
    for seen in &found.seen {
        match journeys.last_mut() {
            Some(last) if last[0].journey == seen.journey => last.push(seen),
            _ => journeys.push(vec![seen]),
        }
    }
    let mut shown = 0;
    let mut last: Option<Vec<String>> = None;
    let mut repeats = 0;
    let flush = |out: &mut Vec<String>, repeats: &mut usize| {
        if *repeats > 0 {
            out.push(format!("    (the same again, {} more time(s))", *repeats));
            *repeats = 0;
        }
    };
    for (n, one) in journeys.iter().enumerate() {
        let lines = journey(one);
        // A retransmission looks like the packet before it: counted, not shown.
        let key: Vec<String> = lines.iter().map(|l| without_ports(l)).collect();
        if last.as_ref() == Some(&key) {
            repeats += 1;
            continue;
        }
        flush(&mut out, &mut repeats);
        if shown == SHOWN {
            out.push(format!(
                "  ... {} more packet(s) of the flow, not shown",
                journeys.len() - n
            ));
            break;
        }
        shown += 1;
        out.push(format!("  packet {shown}: {}", lines[0]));
        out.extend(lines[1..].iter().map(|l| format!("  {l}")));
        last = Some(key);
    }
    flush(&mut out, &mut repeats);
    match found.conntrack.as_slice() {
        [] => {}
        entries => {
            out.push("  conntrack on the lab host:".to_string());
            out.extend(entries.iter().take(4).map(|e| format!("    {e}")));
        }
    }
    out.extend(found.notes.iter().map(|n| format!("  note: {n}")));
    out.push(format!("  => {diagnosis}"));
    out.join("\n") + "\n"
}

/// A line without its ports (a retransmission has the same; another packet not).
fn without_ports(line: &str) -> String {
    line.split_whitespace()
        .map(|w| match w.rsplit_once(':') {
            Some((ip, port)) if port.chars().all(|c| c.is_ascii_digit()) && ip.contains('.') => {
                ip.to_string()
            }
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
