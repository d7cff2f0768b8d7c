//! Where the packet died, in one line: a drop by a chain's policy or a rule, a reset (nobody
//! listens), routing that did not take it (no route, rp_filter, forwarding off), a next hop
//! that does not answer ARP, or a namespace with no way back. Asks the namespace where the
//! packet was last seen (`ip route get`, `ip neigh`, its sysctls) when the trace alone cannot
//! tell.

use super::parse::{Fields, What};
use super::render::{dropped, first_last, hooks};
use super::run::{Found, Outcome, Spaces};
use std::net::Ipv4Addr;

/// Whether a packet goes towards the destination (not back).
fn toward(found: &Found, fields: &Fields) -> bool {
    if found.ports.is_empty() {
        return fields.icmp.as_deref() != Some("echo-reply");
    }
    fields.dport.is_some_and(|p| found.ports.contains(&p))
}

/// The verdict of the trace, one line.
pub fn diagnose(found: &Found, spaces: &Spaces) -> String {
    let mut line = verdict(found, spaces);
    if found.dst.is_loopback() && found.outcome != Outcome::Answered {
        line.push_str(&format!(
            "; {} is a loopback address: it is {}'s own, and nothing sent there leaves {}",
            found.dst,
            the(&found.src_space),
            the(&found.src_space)
        ));
    }
    line
}

fn verdict(found: &Found, spaces: &Spaces) -> String {
    if let Some(line) = from_trace(found) {
        return line;
    }
    match &found.outcome {
        Outcome::Answered => answered(found),
        Outcome::Refused if found.proto == "udp" => format!(
            "no listener: nothing listens at {} (udp: an ICMP port-unreachable came back)",
            target(found)
        ),
        Outcome::Refused => format!(
            "no listener: {} answered with a TCP reset (connection refused)",
            target(found)
        ),
        Outcome::Error(said) if found.seen.is_empty() => {
            let route = spaces
                .get(&found.src_space)
                .map(|s| route_get(s, found.dst, None))
                .unwrap_or_default();
            format!("{} could not send it: {said}{route}", the(&found.src_space))
        }
        Outcome::Error(_) | Outcome::NoAnswer => {
            let mut line = lost(found, spaces);
            // Where it was last seen, rules the trace cannot see may have dropped it.
            if let Some(last) = found.seen.last() {
                let legacy = format!("{}: legacy iptables", the(&last.space));
                if found.notes.iter().any(|n| n.starts_with(&legacy)) {
                    line.push_str(&format!(
                        "; legacy iptables rules {} may have dropped it: `iptables-legacy -S` \
                         shows them",
                        at(&last.space)
                    ));
                }
            }
            line
        }
    }
}

/// `the lab host`, `the internet`, `c1`.
pub fn the(space: &str) -> String {
    match space {
        "lab host" | "internet" => format!("the {space}"),
        name => name.to_string(),
    }
}

/// `on the lab host`, `in the internet`, `in c1`.
pub fn at(space: &str) -> String {
    match space {
        "lab host" => "on the lab host".to_string(),
        name => format!("in {}", the(name)),
    }
}

/// `203.0.113.80:80`.
fn target(found: &Found) -> String {
    match found.ports.first() {
        Some(port) => format!("{}:{port}", found.dst),
        None => found.dst.to_string(),
    }
}

/// What the trace shows by itself: a drop, or a reset.
pub fn from_trace(found: &Found) -> Option<String> {
    for seen in &found.seen {
        if let Some(visit) = dropped(&seen.trace) {
            let (src, dst) = (visit.packet.src, visit.packet.dst);
            let flow = match (src, dst) {
                (Some(s), Some(d)) => format!("{s} -> {d}"),
                _ => "this packet".to_string(),
            };
            let by = match visit.decision().map(|e| (&e.chain, &e.what)) {
                Some((_, What::Policy(policy))) => format!(
                    "by its policy {}: no rule accepts {flow}",
                    policy.to_uppercase()
                ),
                Some((chain, What::Rule { rule, .. })) => {
                    format!("by the rule `{rule}` (chain {chain}), for {flow}")
                }
                _ => String::new(),
            };
            return Some(format!(
                "dropped in {} {} {by} ({})",
                visit.table,
                visit.chain,
                at(&seen.space)
            ));
        }
    }
    let reset = found.seen.iter().find(|s| {
        let (first, _) = first_last(&s.trace);
        first.is_reset() && !toward(found, &first) && hooks(&s.trace).contains(&"output")
    });
    if let Some(s) = reset {
        return Some(format!(
            "no listener: {} answered with a TCP reset (connection refused), sent by {}",
            target(found),
            the(&s.space)
        ));
    }
    let unreachable = found.seen.iter().find_map(|s| {
        let (first, _) = first_last(&s.trace);
        (first.icmp.as_deref() == Some("destination-unreachable")
            && hooks(&s.trace).contains(&"output"))
        .then(|| (s, first.icmp_code.unwrap_or_default()))
    });
    unreachable.map(|(s, code)| match code.as_str() {
        "port-unreachable" => format!(
            "no listener: nothing listens at {} ({}: ICMP port-unreachable, sent by {})",
            target(found),
            found.proto,
            the(&s.space)
        ),
        "host-unreachable" => format!(
            "no ARP answer: {} found no neighbour to pass it to on its way to {} (ICMP \
             host-unreachable, sent by {})",
            the(&s.space),
            found.dst,
            the(&s.space)
        ),
        code => format!(
            "{} refused it: ICMP destination-unreachable ({code})",
            the(&s.space)
        ),
    })
}

fn answered(found: &Found) -> String {
    let nat = found
        .seen
        .iter()
        .flat_map(|s| &s.trace.visits)
        .flat_map(|v| &v.events)
        .find_map(|e| match &e.what {
            What::Rule { rule, verdict } if verdict == "accept" && rule.contains("masquerade") => {
                Some(" (the lab host masqueraded it)")
            }
            What::Rule { rule, verdict } if verdict == "accept" && rule.contains("dnat") => {
                Some(" (the lab host's DNAT sent it on)")
            }
            _ => None,
        })
        .unwrap_or("");
    match found.ports.is_empty() {
        true => format!("the ping to {} was answered{nat}", found.dst),
        false if found.proto == "udp" => {
            format!("the datagram to {} was answered{nat}", target(found))
        }
        false => format!("the connection to {} was made{nat}", target(found)),
    }
}

/// `: ip route get says ...`, for a diagnosis.
fn route_get(space: &super::run::Space, dst: Ipv4Addr, from: Option<(Ipv4Addr, &str)>) -> String {
    let dst = dst.to_string();
    let mut args = vec!["route", "get", dst.as_str()];
    let src;
    if let Some((s, iif)) = from {
        src = s.to_string();
        args.extend(["from", src.as_str(), "iif", iif]);
    }
    match space.ip(&args) {
        Ok(route) => format!(
            " (`ip {}` in {}: {})",
            args.join(" "),
            space.name,
            route.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        Err(e) => format!(
            " (`ip {}` in {}: {})",
            args.join(" "),
            space.name,
            last_words(&format!("{e:#}"))
        ),
    }
}

/// The tool's own message at the end of an error.
fn last_words(error: &str) -> String {
    error
        .rsplit(": ")
        .next()
        .unwrap_or(error)
        .trim()
        .to_string()
}

/// Nothing came back: asks the namespace where the flow was last seen why.
fn lost(found: &Found, spaces: &Spaces) -> String {
    let Some(last) = found.seen.last() else {
        let route = spaces
            .get(&found.src_space)
            .map(|s| route_get(s, found.dst, None))
            .unwrap_or_default();
        return format!(
            "nothing of the flow left {}: no packet was seen anywhere{route}",
            the(&found.src_space)
        );
    };
    let Some(space) = spaces.get(&last.space) else {
        return format!("last seen {}", at(&last.space));
    };
    let (first, now) = first_last(&last.trace);
    let hooks = hooks(&last.trace);
    let (Some(src), Some(dst)) = (now.src, now.dst) else {
        return format!("last seen {}, nothing came back", at(&last.space));
    };
    let way = if toward(found, &first) {
        "on its way"
    } else {
        "on its way back"
    };
    if hooks.contains(&"input") {
        // Delivered, and no reply left: can one go back?
        return match space.ip(&["route", "get", &src.to_string()]) {
            Err(e) => format!(
                "it arrived {} (to {dst}), but {} has no route back to {src} \
                 (`ip route get {src}`: {}): was the source not rewritten by NAT?",
                at(&last.space),
                the(&last.space),
                last_words(&format!("{e:#}"))
            ),
            Ok(_) => format!(
                "it arrived {} (to {dst}) and nothing answered",
                at(&last.space)
            ),
        };
    }
    let out = last
        .trace
        .visits
        .iter()
        .rev()
        .find_map(|v| v.packet.oif.clone());
    if hooks.contains(&"postrouting") {
        let oif = out.unwrap_or_default();
        return next_hop(space, dst, &oif, way, &the(&last.space));
    }
    if hooks.contains(&"prerouting") && !hooks.contains(&"forward") {
        let iif = first.iif.clone().unwrap_or_default();
        if space.sysctl("net.ipv4.ip_forward").as_deref() == Some("0")
            && space
                .ip(&["route", "get", &dst.to_string()])
                .is_ok_and(|r| !r.starts_with("local"))
        {
            return format!(
                "not forwarded {way}: net.ipv4.ip_forward is 0 {} (it came in by {iif} for \
                 {dst}, not one of its own addresses)",
                at(&last.space)
            );
        }
        return match space.ip(&[
            "route",
            "get",
            &dst.to_string(),
            "from",
            &src.to_string(),
            "iif",
            &iif,
        ]) {
            Err(e) => {
                let said = last_words(&format!("{e:#}"));
                // A source that fails the reverse path check is a martian: EINVAL (EXDEV
                // in some kernels).
                let martian = said.contains("cross-device") || said.contains("Invalid argument");
                let all = space
                    .sysctl("net.ipv4.conf.all.rp_filter")
                    .unwrap_or_default();
                let one = space
                    .sysctl(&format!("net.ipv4.conf.{iif}.rp_filter"))
                    .unwrap_or_default();
                let strict = [&all, &one]
                    .iter()
                    .any(|v| v.as_str() != "0" && !v.is_empty());
                if martian && strict {
                    let back = space
                        .ip(&["route", "get", &src.to_string()])
                        .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
                        .unwrap_or_default();
                    format!(
                        "dropped by rp_filter {way} {}: the way back to {src} does not go out \
                         of {iif}, where it came in (rp_filter: all={all}, {iif}={one}; the way \
                         back: {back})",
                        at(&last.space)
                    )
                } else if martian {
                    format!(
                        "dropped by routing {way} {} as a martian: {src} may not come in by \
                         {iif} (`ip route get {dst} from {src} iif {iif}`: {said})",
                        at(&last.space)
                    )
                } else {
                    format!(
                        "no route {way} {} for {src} -> {dst} coming in by {iif} \
                         (`ip route get`: {said})",
                        at(&last.space)
                    )
                }
            }
            Ok(route) => format!(
                "lost {way} {} after PREROUTING, though routing would take it ({})",
                at(&last.space),
                route.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
        };
    }
    format!(
        "last seen {way} {} ({}), nothing came after",
        at(&last.space),
        first.summary()
    )
}

/// The packet left `space` by `oif` towards `dst`: does its next hop answer ARP?
fn next_hop(space: &super::run::Space, dst: Ipv4Addr, oif: &str, way: &str, name: &str) -> String {
    let route = space
        .ip(&["route", "get", &dst.to_string()])
        .unwrap_or_default();
    let words: Vec<&str> = route.split_whitespace().collect();
    let via = words
        .iter()
        .position(|w| *w == "via")
        .and_then(|i| words.get(i + 1))
        .map(|s| s.to_string())
        .unwrap_or_else(|| dst.to_string());
    let neigh = space
        .ip(&["neigh", "show", &via, "dev", oif])
        .unwrap_or_default();
    let neigh = neigh.trim();
    if neigh.contains("FAILED") || neigh.contains("INCOMPLETE") || neigh.is_empty() {
        let state = if neigh.is_empty() { "no entry" } else { neigh };
        return format!(
            "no ARP answer {way}: {name} sent it out of {oif} to {via}, which does not answer \
             (neighbour: {state})"
        );
    }
    format!(
        "{name} sent it {way} out of {oif} (next hop {via}), and it was not seen again: \
         nothing came back"
    )
}
