//! Proof against the real world: the checks of steps 05 and 06 pass for the CNI reference
//! plugins (`target/debug/cni05` and `cni06`, adapters/cni-05-bridge and cni-06-dnat), and one
//! container set up by a solution looks like one set up by the plugins, except for the
//! differences listed here with why. For step 06 (`-p 8080:80`) the nat table is compared in
//! substance: what it does to the packets that matter (lab::state follows them through the
//! lab host's hooks, iptables' and nft's rules alike), not rule by rule.
//!
//! The plugins come from the system package containernetworking-plugins (`/usr/lib/cni`);
//! they only ever run inside a lab (the adapters refuse to run anywhere else).

mod common;

use common::{check, entries, lab_script, paths, run, summary, summary_of};
use lab::state::netfilter::{Listings, Packet};
use lab::state::{Netns, Start};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

/// The reference adapter a step's declaration names (`reference = "cni05"`).
fn reference_of(id: &str) -> String {
    common::step(id)
        .decl
        .reference
        .clone()
        .unwrap_or_else(|| panic!("step {id} declares no reference (steps/*/step.toml)"))
}

fn require_plugins() {
    for plugin in ["bridge", "host-local", "firewall", "loopback", "portmap"] {
        let path = Path::new("/usr/lib/cni").join(plugin);
        assert!(
            path.is_file(),
            "{} is missing: install containernetworking-plugins (scripts/install-deps)",
            path.display()
        );
    }
}

#[test]
fn the_cni_reference_plugins_pass_every_check_of_step_05() {
    passes_every_check("05", &reference_of("05"));
}

/// Fails unless `checker check NN=<adapter>` passes every check of step `number`.
fn passes_every_check(number: &str, adapter: &str) {
    require_plugins();
    let step = common::step(number);
    let ran = check(&[paths().target_arg(number, adapter)]);
    assert_eq!(
        summary(&ran.stdout),
        summary_of(step.checks.len(), 0),
        "{}",
        ran.describe()
    );
    assert_eq!(ran.code, 0, "{}", ran.describe());
    let seen = entries(&ran.stdout);
    assert_eq!(seen.len(), step.checks.len(), "{}", ran.describe());
    for entry in seen {
        assert_eq!(entry.tag, "PASS", "{}:\n{}", entry.id, ran.describe());
    }
}

/// Starts one container (`$1 run --name a ARGS...`, the arguments after `$1`) in the lab,
/// prints the state in sections (`== name` then the section's text), stops it, prints what is
/// left. The `h-get-*` sections ask the container's published port 8080 from the lab host, with
/// the container's busybox (its mount namespace, the host's network namespace).
const PICTURE: &str = r#"
set -u
bin=$1; shift
"$bin" run --name a "$@" >/dev/null 2>&1 &
step=$!
pidfile="$NETLAB_STATE/containers/a/pid"
i=0
while [ ! -s "$pidfile" ] && [ $i -lt 800 ]; do sleep 0.01; i=$((i+1)); done
pid=$(cat "$pidfile")
host_get() { nsenter -t "$pid" -m -- /bin/env PATH=/bin timeout 5 wget -qO- "http://$1/" 2>/dev/null; }
# A web server in the container (step 06's picture) gets up to 3 s to answer inside it.
i=0
while ! nsenter -t "$pid" -m -n -- /bin/env PATH=/bin timeout 2 wget -qO- http://127.0.0.1/ >/dev/null 2>&1 && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
section() { echo "== $1"; }
section c-addr;   nsenter -t "$pid" -n ip -j addr show
section c-link;   nsenter -t "$pid" -n ip -j link show
section c-route;  nsenter -t "$pid" -n ip -j route show
section h-link;   ip -j -d link show
section h-addr;   ip -j addr show
section h-route;  ip -j route show
section h-rules;  iptables-save
section h-nft;    nft -j list ruleset
section h-sysctl; cat /proc/sys/net/ipv4/ip_forward
section h-localnet; for i in all default eth0 netlab0; do echo "$i $(cat /proc/sys/net/ipv4/conf/$i/route_localnet)"; done
section h-ipam;   ls "$NETLAB_STATE/ipam"
section h-get-host;      host_get 198.51.100.2:8080
section h-get-localhost; host_get 127.0.0.1:8080
section c-web;    nsenter -t "$pid" -m -u -i -n -p -r -w -- /bin/env PATH=/bin timeout 5 wget -qO- http://203.0.113.80/
section c-ping;   nsenter -t "$pid" -m -u -i -n -p -r -w -- /bin/env PATH=/bin ping -c1 -W2 10.0.0.1 >/dev/null && echo ok
kill -TERM $step; wait $step
i=0
while ip -o link show type veth | grep -qv 'eth0@' && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done
section a-link;   ip -j -d link show
section a-rules;  iptables-save
section a-nft;    nft -j list ruleset
section a-ipam;   ls "$NETLAB_STATE/ipam"
"#;

/// The arguments of step 05's container: no port, a command that waits.
const SLEEPER: &[&str] = &["--", "sleep", "30"];
/// Step 06's container: `-p 8080:80` and a web server serving `page of a`.
const WEB: &[&str] = &[
    "-p",
    "8080:80",
    "--",
    "sh",
    "-c",
    "mkdir -p /tmp/www && echo 'page of a' > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www",
];

/// How the nat table becomes facts.
#[derive(Clone, Copy, PartialEq)]
enum Nat {
    /// Its rules, one fact each (step 05: one rule against a chain per container).
    Rules,
    /// What it does to the packets that matter for published ports ([`nat_cases`]): step 06,
    /// where Docker-style rules and CNI's portmap chains share no spelling.
    Substance,
}

/// Runs [`PICTURE`] with `binary run --name a ARGS...` in a fresh lab and turns its sections
/// into facts.
fn picture(binary: &str, args: &[&str], nat: Nat) -> BTreeSet<String> {
    let bin = paths().bin(binary);
    let mut command = lab_script(PICTURE);
    command.arg("picture").arg(&bin).args(args);
    let ran = run(&mut command, Duration::from_secs(60));
    assert_eq!(ran.code, 0, "picturing {binary}:\n{}", ran.describe());
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in ran.stdout.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            sections.push((name.to_string(), String::new()));
        } else if let Some((_, text)) = sections.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    let mut facts = BTreeSet::new();
    for (name, text) in &sections {
        facts.extend(facts_of(name, text, nat));
    }
    if nat == Nat::Substance {
        for (when, prefix) in [("", "h"), ("after ", "a")] {
            let host = lab_host(&sections, prefix);
            for case in nat_cases() {
                facts.insert(format!(
                    "{when}nat {}: {}",
                    case.name,
                    outcome(&host, &case)
                ));
            }
        }
    }
    facts
}

/// The lab host as the picture saw it: its links, addresses and routes (while the container
/// ran), the sysctls, and the firewall of `prefix` (`h` while it ran, `a` after).
fn lab_host(sections: &[(String, String)], prefix: &str) -> Netns {
    let text = |name: &str| {
        sections
            .iter()
            .find(|(n, _)| n == name)
            .map_or(String::new(), |(_, t)| t.clone())
    };
    let firewall = Listings {
        iptables: Some(text(&format!("{prefix}-rules"))),
        nft_json: Some(text(&format!("{prefix}-nft"))),
        ..Listings::default()
    };
    let mut host = Netns::from_listings(
        &text("h-link"),
        &text("h-addr"),
        &text("h-route"),
        &firewall,
    )
    .expect("reading the lab host's picture");
    assert!(
        host.netfilter.problems.is_empty(),
        "{:?}",
        host.netfilter.problems
    );
    host.sysctls
        .global
        .insert("net.ipv4.ip_forward".into(), text("h-sysctl").trim().into());
    for line in text("h-localnet").lines() {
        if let Some((dev, value)) = line.split_once(' ') {
            host.sysctls
                .conf
                .insert((dev.into(), "route_localnet".into()), value.trim().into());
        }
    }
    host
}

/// What the lab host does to the first packet of `case`: DNAT or not, where it then goes, and
/// whether its source is masqueraded on the way. Every rule on the way must be understood.
fn outcome(host: &Netns, case: &Case) -> String {
    let start = match case.iif {
        Some(iif) => Start::Arrives(iif.to_string()),
        None => Start::Sent,
    };
    let trace = host.trace(start, Packet::tcp(case.src, case.dst, case.dport));
    assert!(
        trace.unsure().is_empty(),
        "{}: rules the walker cannot judge: {:?}",
        case.name,
        trace.unsure()
    );
    if trace.dnat.is_none() {
        return "no DNAT".to_string();
    }
    let (to, port) = (trace.packet.dst, trace.packet.dport);
    let Some(oif) = trace.out_of() else {
        return format!("DNAT to {to}:{port}, then {}", trace.end);
    };
    let source = if trace.snat.is_some() {
        "source masqueraded"
    } else {
        "source kept"
    };
    format!("DNAT to {to}:{port} out of {oif}, {source}")
}

fn json(text: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A host end's name in a fact: `veth<pid>` and `veth<8 hex>` are both `veth*`.
fn link_name(name: &str) -> String {
    if name.starts_with("veth") {
        "veth*".to_string()
    } else {
        name.to_string()
    }
}

fn is_up(link: &Value) -> bool {
    link["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == "UP"))
}

/// The words of one iptables-save line without its comments (`-m comment --comment "..."`,
/// quoted, with escaped quotes inside).
fn without_comments(line: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut parts = line.split_whitespace().peekable();
    while let Some(word) = parts.next() {
        if word == "-m" && parts.peek() == Some(&"comment") {
            parts.next();
            parts.next();
            let mut text = parts.next().unwrap_or("").to_string();
            while !text.ends_with('"') || text.ends_with("\\\"") {
                match parts.next() {
                    Some(more) => text = more.to_string(),
                    None => break,
                }
            }
            continue;
        }
        words.push(word.to_string());
    }
    words
}

/// One iptables-save line with what names one implementation's bookkeeping taken out: the
/// comments (`name: "netlab" id: "a-42"`) and CNI's per-container chain hash.
fn rule(line: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in without_comments(line) {
        let (colon, bare) = word
            .strip_prefix(':')
            .map_or(("", word.as_str()), |w| (":", w));
        if let Some(hash) = bare.strip_prefix("CNI-") {
            if hash.len() == 24 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
                words.push(format!("{colon}CNI-<hash>"));
                continue;
            }
        }
        words.push(word);
    }
    words.join(" ")
}

/// A packet that matters for a published port, as the lab host first sees it.
struct Case {
    name: &'static str,
    /// The interface it arrives by; None: the lab host sends it.
    iif: Option<&'static str>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
}

/// The packets: the clients of step 06's checks, and two that must not be translated.
fn nat_cases() -> Vec<Case> {
    let ip = |s: &str| s.parse::<Ipv4Addr>().expect("an address");
    let case = |name, iif, src: &str, dst: &str, dport| Case {
        name,
        iif,
        src: ip(src),
        dst: ip(dst),
        dport,
    };
    vec![
        case(
            "tcp from the internet to 198.51.100.2:8080",
            Some("eth0"),
            "198.51.100.1",
            "198.51.100.2",
            8080,
        ),
        case(
            "tcp from the lab host to 198.51.100.2:8080",
            None,
            "198.51.100.2",
            "198.51.100.2",
            8080,
        ),
        case(
            "tcp from the lab host to 127.0.0.1:8080",
            None,
            "127.0.0.1",
            "127.0.0.1",
            8080,
        ),
        case(
            "tcp from the lab host to 10.0.0.1:8080",
            None,
            "10.0.0.1",
            "10.0.0.1",
            8080,
        ),
        case(
            "tcp from the container itself to 198.51.100.2:8080",
            Some("netlab0"),
            "10.0.0.2",
            "198.51.100.2",
            8080,
        ),
        case(
            "tcp from another container to 198.51.100.2:8080",
            Some("netlab0"),
            "10.0.0.3",
            "198.51.100.2",
            8080,
        ),
        case(
            "tcp from a container to 203.0.113.80:8080 (not local)",
            Some("netlab0"),
            "10.0.0.3",
            "203.0.113.80",
            8080,
        ),
        case(
            "tcp from the internet to 198.51.100.2:8081 (not published)",
            Some("eth0"),
            "198.51.100.1",
            "198.51.100.2",
            8081,
        ),
    ]
}

fn facts_of(section: &str, text: &str, nat: Nat) -> Vec<String> {
    let mut facts = Vec::new();
    match section {
        "c-addr" | "h-addr" => {
            let side = if section == "c-addr" {
                "container"
            } else {
                "host"
            };
            for link in json(text) {
                for a in link["addr_info"].as_array().into_iter().flatten() {
                    if a["family"] == "inet" {
                        facts.push(format!(
                            "{side} addr {} {}/{}",
                            link_name(&s(&link["ifname"])),
                            s(&a["local"]),
                            s(&a["prefixlen"])
                        ));
                    }
                }
            }
        }
        "c-link" => {
            for link in json(text) {
                facts.push(format!(
                    "container link {} {} mtu {}",
                    s(&link["ifname"]),
                    if is_up(&link) { "UP" } else { "DOWN" },
                    s(&link["mtu"])
                ));
            }
        }
        "c-route" | "h-route" => {
            let side = if section == "c-route" {
                "container"
            } else {
                "host"
            };
            for r in json(text) {
                let mut words = vec![format!("{side} route"), s(&r["dst"])];
                for key in ["gateway", "dev", "protocol", "scope", "prefsrc"] {
                    if !s(&r[key]).is_empty() {
                        words.push(format!("{key} {}", link_name(&s(&r[key]))));
                    }
                }
                facts.push(words.join(" "));
            }
        }
        "h-link" | "a-link" => {
            let when = if section == "h-link" { "" } else { "after " };
            for link in json(text) {
                let name = s(&link["ifname"]);
                let kind = s(&link["linkinfo"]["info_kind"]);
                if kind == "bridge" {
                    facts.push(format!(
                        "{when}host bridge {name} {}",
                        if is_up(&link) { "UP" } else { "DOWN" }
                    ));
                } else if !s(&link["master"]).is_empty() {
                    let slave = &link["linkinfo"]["info_slave_data"];
                    facts.push(format!(
                        "{when}host port {} of {} {} hairpin {}",
                        link_name(&name),
                        s(&link["master"]),
                        if is_up(&link) { "UP" } else { "DOWN" },
                        s(&slave["hairpin"])
                    ));
                }
            }
        }
        "h-rules" | "a-rules" => {
            let when = if section == "h-rules" { "" } else { "after " };
            let mut table = String::new();
            for line in text.lines() {
                if let Some(name) = line.strip_prefix('*') {
                    table = name.to_string();
                } else if nat == Nat::Substance && table == "nat" {
                    continue;
                } else if line.starts_with("-A") || line.starts_with(':') {
                    let shown = if line.starts_with(':') {
                        // `:CHAIN POLICY [counters]`: the chain and its policy only.
                        line.rsplit_once(' ').map_or(line, |(head, _)| head)
                    } else {
                        line
                    };
                    facts.push(format!("{when}{table}: {}", rule(shown)));
                }
            }
        }
        "h-sysctl" => facts.push(format!("host ip_forward {}", text.trim())),
        "h-localnet" => {
            for line in text.lines() {
                facts.push(format!("host route_localnet {line}"));
            }
        }
        "h-get-host" | "h-get-localhost" => {
            let to = if section == "h-get-host" {
                "198.51.100.2:8080"
            } else {
                "127.0.0.1:8080"
            };
            let body = text.trim();
            facts.push(format!(
                "the lab host gets {to}: {}",
                if body.is_empty() { "(nothing)" } else { body }
            ));
        }
        "h-ipam" | "a-ipam" => {
            let when = if section == "h-ipam" { "" } else { "after " };
            for name in text.split_whitespace() {
                facts.push(format!("{when}ipam file {name}"));
            }
        }
        "c-web" => facts.push(format!(
            "web server sees the container as {}",
            lab::web::client_of(text).unwrap_or("(no page)")
        )),
        "c-ping" => facts.push(format!("container pings the gateway: {}", text.trim())),
        _ => {}
    }
    facts
}

/// What may differ between the solution and the CNI plugins, and why. Every other fact must
/// be the same. Step 06's comparison allows these and [`ALLOWED_06`].
#[rustfmt::skip]
const ALLOWED: &[(&str, &str)] = &[
    // Hairpin: the CNI config asks for it (hairpinMode, needed for step 06's hairpin NAT).
    ("host port veth* of netlab0 UP hairpin false", "solution: no hairpin mode (step 05 does not need it)"),
    ("host port veth* of netlab0 UP hairpin true", "CNI: hairpinMode true in the config"),
    // NAT: one subnet-wide rule vs a chain per container, same effect (the web server sees
    // 198.51.100.2, containers see each other's own addresses: checks 05.internet and
    // 05.source-address).
    ("nat: -A POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE", "solution: one shared MASQUERADE rule"),
    ("after nat: -A POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE", "solution: the shared rule stays"),
    ("nat: :CNI-<hash> -", "CNI: a chain per container"),
    ("nat: -A POSTROUTING -s 10.0.0.2/32 -j CNI-<hash>", "CNI: jump to the container's chain"),
    ("nat: -A CNI-<hash> -d 10.0.0.0/24 -j ACCEPT", "CNI: no NAT inside the subnet"),
    ("nat: -A CNI-<hash> ! -d 224.0.0.0/4 -j MASQUERADE", "CNI: NAT for everything but multicast"),
    // FORWARD: two shared ACCEPT rules for the bridge vs the firewall plugin's chains and a
    // pair of rules per container (05.docker-host).
    ("filter: -A FORWARD -i netlab0 -j ACCEPT", "solution: shared FORWARD rule"),
    ("filter: -A FORWARD -o netlab0 -j ACCEPT", "solution: shared FORWARD rule"),
    ("after filter: -A FORWARD -i netlab0 -j ACCEPT", "solution: the shared rule stays"),
    ("after filter: -A FORWARD -o netlab0 -j ACCEPT", "solution: the shared rule stays"),
    ("filter: :CNI-FORWARD -", "CNI firewall plugin: its chain"),
    ("filter: :CNI-ADMIN -", "CNI firewall plugin: the admin's chain"),
    ("filter: -A FORWARD -j CNI-FORWARD", "CNI firewall plugin: jump"),
    ("filter: -A CNI-FORWARD -j CNI-ADMIN", "CNI firewall plugin: admin rules first"),
    ("filter: -A CNI-FORWARD -d 10.0.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "CNI firewall plugin: replies to the container"),
    ("filter: -A CNI-FORWARD -s 10.0.0.2/32 -j ACCEPT", "CNI firewall plugin: from the container"),
    ("after filter: :CNI-FORWARD -", "CNI firewall plugin: its chain stays"),
    ("after filter: :CNI-ADMIN -", "CNI firewall plugin: its chain stays"),
    ("after filter: -A FORWARD -j CNI-FORWARD", "CNI firewall plugin: the jump stays"),
    ("after filter: -A CNI-FORWARD -j CNI-ADMIN", "CNI firewall plugin: the jump stays"),
    // host-local's round-robin cursor.
    ("ipam file last_reserved_ip.0", "CNI host-local: its allocation cursor"),
    ("after ipam file last_reserved_ip.0", "CNI host-local: its allocation cursor stays"),
];

#[test]
fn one_container_by_the_solution_looks_like_one_by_the_cni_plugins() {
    require_plugins();
    let solution = picture("solution05", SLEEPER, Nat::Rules);
    let reference = picture(&reference_of("05"), SLEEPER, Nat::Rules);
    compare(&solution, &reference, &NEEDED, ALLOWED);
}

#[test]
fn the_cni_reference_plugins_pass_every_check_of_step_06() {
    passes_every_check("06", &reference_of("06"));
}

#[test]
fn one_published_container_by_the_solution_looks_like_one_by_the_cni_plugins() {
    require_plugins();
    let solution = picture("solution06", WEB, Nat::Substance);
    let reference = picture(&reference_of("06"), WEB, Nat::Substance);
    let needed: Vec<&str> = NEEDED.iter().chain(NEEDED_06).copied().collect();
    let allowed: Vec<(&str, &str)> = ALLOWED.iter().chain(ALLOWED_06).copied().collect();
    compare(&solution, &reference, &needed, &allowed);
}

/// The facts both must have: the comparison would prove nothing without them.
const NEEDED: [&str; 8] = [
    "container addr eth0 10.0.0.2/24",
    "container route default gateway 10.0.0.1 dev eth0",
    "host addr netlab0 10.0.0.1/24",
    "host bridge netlab0 UP",
    "host ip_forward 1",
    "web server sees the container as 198.51.100.2",
    "container pings the gateway: ok",
    "after host bridge netlab0 UP",
];

/// The facts both must have with `-p 8080:80`.
const NEEDED_06: &[&str] = &[
    "host port veth* of netlab0 UP hairpin true",
    "nat tcp from the internet to 198.51.100.2:8080: DNAT to 10.0.0.2:80 out of netlab0, source kept",
    "nat tcp from the lab host to 127.0.0.1:8080: DNAT to 10.0.0.2:80 out of netlab0, source masqueraded",
    "nat tcp from the container itself to 198.51.100.2:8080: DNAT to 10.0.0.2:80 out of netlab0, source masqueraded",
    "nat tcp from a container to 203.0.113.80:8080 (not local): no DNAT",
    "nat tcp from the internet to 198.51.100.2:8081 (not published): no DNAT",
    "after nat tcp from the internet to 198.51.100.2:8080: no DNAT",
    "host route_localnet netlab0 1",
    "host route_localnet all 0",
    "host route_localnet default 0",
    "host route_localnet eth0 0",
    "the lab host gets 198.51.100.2:8080: page of a",
    "the lab host gets 127.0.0.1:8080: page of a",
];

/// Fails unless both pictures have every `needed` fact and differ only by `allowed` ones.
fn compare(
    solution: &BTreeSet<String>,
    reference: &BTreeSet<String>,
    needed: &[&str],
    allowed: &[(&str, &str)],
) {
    for needed in needed {
        for (who, facts) in [("solution", solution), ("CNI", reference)] {
            assert!(
                facts.contains(*needed),
                "{who} lacks '{needed}':\n{}",
                facts.iter().cloned().collect::<Vec<_>>().join("\n")
            );
        }
    }
    let allowed = |fact: &str| allowed.iter().any(|(a, _)| *a == fact);
    let mut unexplained = Vec::new();
    for fact in solution.difference(reference) {
        if !allowed(fact) {
            unexplained.push(format!("only the solution: {fact}"));
        }
    }
    for fact in reference.difference(solution) {
        if !allowed(fact) {
            unexplained.push(format!("only CNI:          {fact}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "differences not in the allowed lists (checks/tests/reference.rs):\n  {}\n--- solution ---\n{}\n--- CNI ---\n{}",
        unexplained.join("\n  "),
        solution.iter().cloned().collect::<Vec<_>>().join("\n"),
        reference.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

/// What may differ with `-p 8080:80` besides [`ALLOWED`] (the nat table is compared in
/// substance, by the packets of [`nat_cases`], not rule by rule).
#[rustfmt::skip]
const ALLOWED_06: &[(&str, &str)] = &[
    // Which sources are masqueraded towards the container. The solution masquerades what the
    // host sends into the bridge from any local address (`-o netlab0 --src-type LOCAL`) and a
    // container's connection to itself; portmap marks, then masquerades, connections from
    // 127.0.0.1 and from the whole subnet (`-s 10.0.0.0/24`, which also covers the host's
    // 10.0.0.1). Both are needed only where the reply would otherwise not come back through
    // the host: 127.0.0.1 and hairpin, the same in both. 06.from-host and 06.from-container
    // pass either way.
    ("nat tcp from the lab host to 198.51.100.2:8080: DNAT to 10.0.0.2:80 out of netlab0, source masqueraded", "solution: --src-type LOCAL covers every host address"),
    ("nat tcp from the lab host to 198.51.100.2:8080: DNAT to 10.0.0.2:80 out of netlab0, source kept", "CNI: portmap masquerades 127.0.0.1 only, the container answers 198.51.100.2 through its gateway"),
    ("nat tcp from another container to 198.51.100.2:8080: DNAT to 10.0.0.2:80 out of netlab0, source kept", "solution: hairpin masquerading for the publishing container only"),
    ("nat tcp from another container to 198.51.100.2:8080: DNAT to 10.0.0.2:80 out of netlab0, source masqueraded", "CNI: portmap's hairpin rule is -s <subnet>"),
    // FORWARD on a DROP-policy host (06.docker-host): the solution's shared rules of step 05
    // accept everything to the bridge; the firewall plugin accepts only replies, and portmap
    // adds no filter rule (containernetworking/plugins#467), so the adapter adds one rule to
    // CNI-ADMIN, the firewall plugin's chain for the administrator, and keeps it.
    ("filter: -A CNI-ADMIN -o netlab0 -m conntrack --ctstate DNAT -j ACCEPT", "cni06: published (DNATed) connections pass FORWARD"),
    ("after filter: -A CNI-ADMIN -o netlab0 -m conntrack --ctstate DNAT -j ACCEPT", "cni06: the shared rule stays"),
];

/// Step 09's control: the reference `bridge` plugin in the learner's place, in the same list
/// and the same runtime (`cni09`). Every check gives the same verdict as for the solution
/// except these, where the reference plugin (containernetworking-plugins 1.1.1) differs on
/// purpose, each for its reason:
const STEP_09_DIFFERENCES: &[(&str, &str)] = &[
    // Its VERSION lists 0.1.0 to 1.0.0: no spec 1.1.
    ("09.version", "no 1.1.0 in supportedVersions"),
    // It ignores prevResult: loopback's lo is not in its result.
    (
        "09.chained",
        "a result of its own, without prevResult's interfaces",
    ),
    // `ipam` is optional for bridge (an L2-only attachment): no error 7 without it.
    (
        "09.error-codes",
        "a configuration without ipam is valid for bridge",
    ),
    // Without 1.1.0 the runtime sends it no GC, and host-local 1.1.1 has none.
    ("09.gc-reboot", "no GC: the leases stay"),
    // Without 1.1.0 the runtime sends it no STATUS.
    ("09.status", "no STATUS"),
    // It adds no FORWARD accepts (the `firewall` plugin's job, not in this list): on a host
    // whose FORWARD policy is DROP its containers reach nothing.
    (
        "09.docker-host",
        "no FORWARD accepts without the firewall plugin",
    ),
];

#[test]
fn the_cni_reference_bridge_plugin_gives_step_09_the_same_verdicts_but_the_listed_ones() {
    require_plugins();
    let reference = reference_of("09");
    let step = common::step("09");
    let ran = check(&[paths().target_arg("09", &reference)]);
    let seen = entries(&ran.stdout);
    assert_eq!(seen.len(), step.checks.len(), "{}", ran.describe());
    for entry in seen {
        let differs = STEP_09_DIFFERENCES.iter().any(|(id, _)| *id == entry.id);
        let expected = if differs { "FAIL" } else { "PASS" };
        assert_eq!(entry.tag, expected, "{}:\n{}", entry.id, ran.describe());
    }
}
