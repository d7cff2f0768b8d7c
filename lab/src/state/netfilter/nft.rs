//! `nft -j list ruleset` read into tables, with each rule's text taken from
//! `nft -a -s list ruleset` (matched by handle) for display.

use super::rule::{AddrType, CtState, IfName, Match, Proto, Rule, Target};
use super::{Base, Chain, ChainKind, Family, Hook, Policy, Source, Table, TableId};
use crate::state::net::Net;
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// (family, table, handle) -> the rule's line in `nft -a list ruleset`.
type Texts = BTreeMap<(String, String, u64), String>;

/// A table's named sets: name -> elements.
pub type Sets = BTreeMap<String, Value>;

/// Rule lines of `nft -a -s list ruleset`, by table and handle.
pub fn rule_texts(text: &str) -> Texts {
    let mut texts = Texts::new();
    let mut table: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        let (body, handle) = match line.rsplit_once(" # handle ") {
            Some((body, handle)) => (body.trim(), handle.trim().parse::<u64>().ok()),
            None => (line, None),
        };
        if let Some(rest) = body.strip_prefix("table ") {
            let words: Vec<&str> = rest.trim_end_matches('{').split_whitespace().collect();
            if let [family, name] = words.as_slice() {
                table = Some((family.to_string(), name.to_string()));
            }
        } else if body.starts_with("chain ") || body.starts_with("set ") || body.ends_with('{') {
            continue;
        } else if let (Some((family, name)), Some(handle)) = (&table, handle) {
            texts.insert((family.clone(), name.clone(), handle), body.to_string());
        }
    }
    texts
}

/// A native rule as `nft -j` lists it, enough to know its text again: family, table, handle,
/// and its expressions and comment as JSON (a handle reused for another rule is another key).
pub type RuleKey = (String, String, u64, String);

/// The rules of `nft -j list ruleset` whose text the model shows: those of every table but
/// `skip`'s (iptables-nft's, whose text iptables-nft-save gives).
pub fn native_rules(json: &str, skip: &[(Family, String)]) -> Result<Vec<RuleKey>> {
    let value: Value = serde_json::from_str(json)
        .with_context(|| format!("nft -j gave no JSON: {}", json.trim()))?;
    let items = value["nftables"].as_array().cloned().unwrap_or_default();
    let skipped = |family: &str, name: &str| {
        Family::parse(family).is_none_or(|f| skip.iter().any(|(sf, sn)| *sf == f && sn == name))
    };
    Ok(items
        .iter()
        .filter_map(|item| item.get("rule"))
        .filter(|r| !skipped(&s(&r["family"]), &s(&r["table"])))
        .map(|r| {
            (
                s(&r["family"]),
                s(&r["table"]),
                r["handle"].as_u64().unwrap_or(0),
                format!("{} {}", r["expr"], r["comment"]),
            )
        })
        .collect())
}

/// The tables of `nft -j list ruleset`, but for `skip` (family, name): those iptables-nft
/// listed already. `text` is `nft -a -s list ruleset`, for the rules' text.
pub fn parse(json: &str, text: Option<&str>, skip: &[(Family, String)]) -> Result<Vec<Table>> {
    let value: Value = serde_json::from_str(json)
        .with_context(|| format!("nft -j gave no JSON: {}", json.trim()))?;
    let texts = text.map(rule_texts).unwrap_or_default();
    let items = value["nftables"].as_array().cloned().unwrap_or_default();
    let mut sets: BTreeMap<(String, String), Sets> = BTreeMap::new();
    for set in items
        .iter()
        .filter_map(|i| i.get("set").or_else(|| i.get("map")))
    {
        let table = (s(&set["family"]), s(&set["table"]));
        sets.entry(table)
            .or_default()
            .insert(s(&set["name"]), set["elem"].clone());
    }
    let no_sets = Sets::new();
    let mut tables: Vec<Table> = Vec::new();
    let find = |tables: &mut Vec<Table>, family: &str, name: &str| -> Option<usize> {
        let family = Family::parse(family)?;
        tables
            .iter()
            .position(|t| t.id.family == family && t.id.name == name)
    };
    for item in &items {
        if let Some(t) = item.get("table") {
            let Some(family) = Family::parse(&s(&t["family"])) else {
                continue;
            };
            let name = s(&t["name"]);
            if skip.iter().any(|(f, n)| *f == family && *n == name) {
                continue;
            }
            tables.push(Table {
                id: TableId {
                    family,
                    name,
                    source: Source::Nft,
                },
                chains: Vec::new(),
                sets: Vec::new(),
            });
        } else if let Some(set) = item.get("set").or_else(|| item.get("map")) {
            let Some(at) = find(&mut tables, &s(&set["family"]), &s(&set["table"])) else {
                continue;
            };
            let elements = set["elem"].as_array().into_iter().flatten();
            let elements = elements.map(|e| e.to_string()).collect();
            tables[at].sets.push((s(&set["name"]), elements));
        } else if let Some(c) = item.get("chain") {
            let Some(at) = find(&mut tables, &s(&c["family"]), &s(&c["table"])) else {
                continue;
            };
            tables[at].chains.push(Chain {
                name: s(&c["name"]),
                base: base(c),
                rules: Vec::new(),
            });
        } else if let Some(r) = item.get("rule") {
            let (family, table) = (s(&r["family"]), s(&r["table"]));
            let Some(at) = find(&mut tables, &family, &table) else {
                continue;
            };
            let table_sets = sets
                .get(&(family.clone(), table.clone()))
                .unwrap_or(&no_sets);
            let mut rule = parse_rule(&r["expr"], table_sets);
            rule.comment = r["comment"].as_str().map(String::from);
            let handle = r["handle"].as_u64().unwrap_or(0);
            rule.text = texts
                .get(&(family.clone(), table.clone(), handle))
                .cloned()
                .unwrap_or_else(|| rule.meaning());
            let chain = s(&r["chain"]);
            let chains = &mut tables[at].chains;
            match chains.iter_mut().find(|c| c.name == chain) {
                Some(c) => c.rules.push(rule),
                None => chains.push(Chain {
                    name: chain,
                    base: None,
                    rules: vec![rule],
                }),
            }
        }
    }
    Ok(tables)
}

fn s(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn base(chain: &Value) -> Option<Base> {
    let kind = match chain["type"].as_str()? {
        "filter" => ChainKind::Filter,
        "nat" => ChainKind::Nat,
        "route" => ChainKind::Route,
        _ => return None,
    };
    Some(Base {
        kind,
        hook: Hook::parse(chain["hook"].as_str()?),
        priority: chain["prio"].as_i64().unwrap_or(0) as i32,
        policy: match chain["policy"].as_str() {
            Some("drop") => Policy::Drop,
            _ => Policy::Accept,
        },
    })
}

/// A rule from its `expr` list; `sets` finds a named set's elements.
pub fn parse_rule(exprs: &Value, sets: &Sets) -> Rule {
    let mut matches = Vec::new();
    let mut statements = Vec::new();
    for expr in exprs.as_array().into_iter().flatten() {
        if let Some(m) = expr.get("match") {
            matches.extend(parse_match(m, sets));
        } else if expr.get("counter").is_some() {
        } else if let Some(key) = ["limit", "quota", "meter", "xt"]
            .iter()
            .find(|k| expr.get(**k).is_some())
        {
            if *key == "xt" && expr["xt"]["type"] == "target" {
                statements.push(Target::Other(format!("xt {}", s(&expr["xt"]["name"]))));
            } else {
                matches.push(Match::Unknown(expr.to_string()));
            }
        } else {
            statements.push(statement(expr));
        }
    }
    let (target, also) = match statements.iter().position(|t| !t.goes_on()) {
        Some(at) => (statements[at].clone(), statements[..at].to_vec()),
        None => match statements.split_last() {
            Some((last, before)) => (last.clone(), before.to_vec()),
            None => (Target::Continue, Vec::new()),
        },
    };
    let mut rule = Rule {
        matches,
        target,
        also,
        comment: None,
        text: String::new(),
    };
    rule.matches.dedup();
    rule
}

fn statement(expr: &Value) -> Target {
    let Some((key, value)) = expr.as_object().and_then(|o| o.iter().next()) else {
        return Target::Other(expr.to_string());
    };
    let nat_to = |value: &Value| -> Option<(Ipv4Addr, Option<u16>)> {
        let addr = value["addr"].as_str()?.parse().ok()?;
        let port = match &value["port"] {
            Value::Null => None,
            port => Some(port.as_u64()? as u16),
        };
        Some((addr, port))
    };
    match key.as_str() {
        "accept" => Target::Accept,
        "drop" => Target::Drop,
        "reject" => Target::Reject,
        "return" => Target::Return,
        "jump" => Target::Jump(s(&value["target"])),
        "goto" => Target::Goto(s(&value["target"])),
        "masquerade" => Target::Masquerade,
        "log" => Target::Log,
        "dnat" => match nat_to(value) {
            Some((addr, port)) => Target::Dnat { addr, port },
            None => Target::Other(expr.to_string()),
        },
        "snat" => match nat_to(value) {
            Some((addr, port)) => Target::Snat { addr, port },
            None => Target::Other(expr.to_string()),
        },
        "mangle" if value["key"]["meta"]["key"] == "mark" => match set_mark(&value["value"]) {
            Some((value, mask)) => Target::SetMark { value, mask },
            None => Target::Other(expr.to_string()),
        },
        _ => Target::Other(expr.to_string()),
    }
}

fn is_mark(value: &Value) -> bool {
    value["meta"]["key"] == "mark"
}

fn number(value: &Value) -> Option<u32> {
    value.as_u64().map(|n| n as u32)
}

/// `meta mark set EXPR` as iptables' `--set-xmark value/mask`: (mark & !mask) ^ value.
fn set_mark(value: &Value) -> Option<(u32, u32)> {
    if let Some(c) = number(value) {
        return Some((c, u32::MAX));
    }
    let (op, args) = value.as_object()?.iter().next()?;
    let [left, right] = args.as_array()?.as_slice() else {
        return None;
    };
    let v = number(right)?;
    if is_mark(left) {
        return match op.as_str() {
            "|" => Some((v, v)),
            "&" => Some((0, !v)),
            "^" => Some((v, 0)),
            _ => None,
        };
    }
    // (mark & m) | v  or  (mark & m) ^ v
    let [inner, m] = left.get("&")?.as_array()?.as_slice() else {
        return None;
    };
    let m = number(m).filter(|_| is_mark(inner))?;
    match op.as_str() {
        "|" => Some((v, !m | v)),
        "^" => Some((v, !m)),
        _ => None,
    }
}

/// The strings or numbers of a right-hand side (a value, a list, an anonymous or named set).
fn elements<'a>(right: &'a Value, sets: &'a Sets) -> Vec<&'a Value> {
    match right {
        Value::Array(items) => items.iter().collect(),
        Value::Object(o) if o.contains_key("set") => match &right["set"] {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        },
        Value::String(name) if name.starts_with('@') => sets
            .get(&name[1..])
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_else(|| vec![right]),
        one => vec![one],
    }
}

fn net(value: &Value) -> Option<Net> {
    match value {
        Value::String(addr) => addr.parse().ok(),
        _ => {
            let p = value.get("prefix")?;
            Some(Net::new(
                p["addr"].as_str()?.parse().ok()?,
                p["len"].as_u64()? as u8,
            ))
        }
    }
}

fn port_range(value: &Value) -> Option<(u16, u16)> {
    match value.get("range") {
        Some(r) => Some((r[0].as_u64()? as u16, r[1].as_u64()? as u16)),
        None => value.as_u64().map(|p| (p as u16, p as u16)),
    }
}

/// The matches of one `match` expression (a port match brings its protocol along).
fn parse_match(m: &Value, sets: &Sets) -> Vec<Match> {
    let unknown = || vec![Match::Unknown(m.to_string())];
    let negated = match m["op"].as_str() {
        Some("==") | Some("in") => false,
        Some("!=") => true,
        _ => return unknown(),
    };
    let (left, right) = (&m["left"], &m["right"]);
    let items = elements(right, sets);
    let one = || match items.as_slice() {
        [one] => one.as_str().map(String::from),
        _ => None,
    };
    let found: Option<Vec<Match>> = (|| {
        if let Some(key) = left["meta"]["key"].as_str() {
            return match key {
                "iifname" | "iif" => Some(vec![Match::Iif {
                    name: IfName::parse(&one()?),
                    negated,
                }]),
                "oifname" | "oif" => Some(vec![Match::Oif {
                    name: IfName::parse(&one()?),
                    negated,
                }]),
                "l4proto" => Some(vec![Match::Proto {
                    proto: Proto::from_name(&s(items.first()?)),
                    negated,
                }])
                .filter(|_| items.len() == 1),
                "mark" => Some(vec![Match::Mark {
                    value: number(right)?,
                    mask: u32::MAX,
                    negated,
                }]),
                "nfproto" => match (one()?.as_str(), negated) {
                    ("ipv4", false) | ("ipv6", true) => Some(Vec::new()),
                    _ => Some(vec![Match::Ip6Only(m.to_string())]),
                },
                _ => None,
            };
        }
        if let Some([inner, mask]) = left.get("&").and_then(Value::as_array).map(Vec::as_slice) {
            if is_mark(inner) {
                return Some(vec![Match::Mark {
                    value: number(right)?,
                    mask: number(mask)?,
                    negated,
                }]);
            }
            return None;
        }
        if let Some(p) = left.get("payload") {
            let (protocol, field) = (s(&p["protocol"]), s(&p["field"]));
            return match (protocol.as_str(), field.as_str()) {
                ("ip", "saddr") | ("ip", "daddr") => {
                    let nets: Option<Vec<Net>> = items.iter().map(|v| net(v)).collect();
                    let nets = nets?;
                    Some(vec![if field == "saddr" {
                        Match::Src { nets, negated }
                    } else {
                        Match::Dst { nets, negated }
                    }])
                }
                ("ip", "protocol") if items.len() == 1 => Some(vec![Match::Proto {
                    proto: Proto::from_name(&s(items[0])),
                    negated,
                }]),
                ("ip6", _) => Some(vec![Match::Ip6Only(m.to_string())]),
                (proto @ ("tcp" | "udp" | "th"), "sport" | "dport") => {
                    let ports: Option<Vec<(u16, u16)>> =
                        items.iter().map(|v| port_range(v)).collect();
                    let ports = ports?;
                    let mut out = Vec::new();
                    if proto != "th" {
                        out.push(Match::Proto {
                            proto: Proto::from_name(proto),
                            negated: false,
                        });
                    }
                    out.push(if field == "sport" {
                        Match::Sport { ports, negated }
                    } else {
                        Match::Dport { ports, negated }
                    });
                    Some(out)
                }
                _ => None,
            };
        }
        if let Some(fib) = left.get("fib") {
            let flags: Vec<String> = fib["flags"].as_array()?.iter().map(s).collect();
            if fib["result"] != "type" || flags.len() != 1 {
                return None;
            }
            let kind = AddrType::parse(&one()?);
            return match flags[0].as_str() {
                "saddr" => Some(vec![Match::SrcType { kind, negated }]),
                "daddr" => Some(vec![Match::DstType { kind, negated }]),
                _ => None,
            };
        }
        if let Some(key) = left["ct"]["key"].as_str() {
            if key != "state" && key != "status" {
                return None;
            }
            let states: Option<Vec<CtState>> = items
                .iter()
                .map(|v| {
                    let state = CtState::parse(v.as_str()?)?;
                    let is_status = matches!(state, CtState::Snat | CtState::Dnat);
                    (is_status == (key == "status")).then_some(state)
                })
                .collect();
            return Some(vec![Match::CtState {
                states: states?,
                negated,
            }]);
        }
        None
    })();
    found.unwrap_or_else(unknown)
}
