//! Proof against the real world: step 05's checks pass for the CNI reference plugins
//! (`target/debug/cni05`, adapters/cni-05-bridge), and one container set up by the solution
//! looks like one set up by the plugins, except for the differences listed here with why.
//!
//! The plugins come from the system package containernetworking-plugins (`/usr/lib/cni`);
//! they only ever run inside a lab (the adapter refuses to run anywhere else).

mod common;

use common::{catalog_step, check, entries, lab_script, paths, run, summary, summary_of};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const ADAPTER: &str = "cni05";

fn require_plugins() {
    for plugin in ["bridge", "host-local", "firewall", "loopback"] {
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
    require_plugins();
    let step = catalog_step("05");
    let ran = check(&[paths().target_arg("05", ADAPTER)]);
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

/// Starts one container (`$1 run --name a -- sleep 30`) in the lab, prints the state in
/// sections (`== name` then the section's text), stops it, prints what is left.
const PICTURE: &str = r#"
set -u
"$1" run --name a -- sleep 30 >/dev/null 2>&1 &
step=$!
pidfile="$NETLAB_STATE/containers/a/pid"
i=0
while [ ! -s "$pidfile" ] && [ $i -lt 800 ]; do sleep 0.01; i=$((i+1)); done
pid=$(cat "$pidfile")
section() { echo "== $1"; }
section c-addr;   nsenter -t "$pid" -n ip -j addr show
section c-link;   nsenter -t "$pid" -n ip -j link show
section c-route;  nsenter -t "$pid" -n ip -j route show
section h-link;   ip -j -d link show
section h-addr;   ip -j addr show
section h-route;  ip -j route show
section h-rules;  iptables-save
section h-sysctl; cat /proc/sys/net/ipv4/ip_forward
section h-ipam;   ls "$NETLAB_STATE/ipam"
section c-web;    nsenter -t "$pid" -m -u -i -n -p -r -w -- /bin/env PATH=/bin timeout 5 wget -qO- http://203.0.113.80/
section c-ping;   nsenter -t "$pid" -m -u -i -n -p -r -w -- /bin/env PATH=/bin ping -c1 -W2 10.0.0.1 >/dev/null && echo ok
kill -TERM $step; wait $step
i=0
while ip -o link show type veth | grep -qv 'eth0@' && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done
section a-link;   ip -j -d link show
section a-rules;  iptables-save
section a-ipam;   ls "$NETLAB_STATE/ipam"
"#;

/// Runs [`PICTURE`] with `binary` in a fresh lab and turns its sections into facts.
fn picture(binary: &str) -> BTreeSet<String> {
    let bin = paths().bin(binary);
    let mut command = lab_script(PICTURE);
    command.arg("picture").arg(&bin);
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
        facts.extend(facts_of(name, text));
    }
    facts
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

/// One iptables-save line with what names one implementation's bookkeeping taken out: the
/// comments (`name: "netlab" id: "a-42"`) and CNI's per-container chain hash.
fn rule(line: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut parts = line.split_whitespace().peekable();
    while let Some(word) = parts.next() {
        if word == "-m" && parts.peek() == Some(&"comment") {
            parts.next();
            // --comment "..." (quoted, with escaped quotes inside).
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
        let (colon, bare) = word.strip_prefix(':').map_or(("", word), |w| (":", w));
        if let Some(hash) = bare.strip_prefix("CNI-") {
            if hash.len() == 24 && hash.chars().all(|c| c.is_ascii_hexdigit()) {
                words.push(format!("{colon}CNI-<hash>"));
                continue;
            }
        }
        words.push(word.to_string());
    }
    words.join(" ")
}

fn facts_of(section: &str, text: &str) -> Vec<String> {
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
/// be the same.
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
    let solution = picture("solution05");
    let reference = picture(ADAPTER);
    // The facts both must have: the comparison would prove nothing without them.
    for needed in [
        "container addr eth0 10.0.0.2/24",
        "container route default gateway 10.0.0.1 dev eth0",
        "host addr netlab0 10.0.0.1/24",
        "host bridge netlab0 UP",
        "host ip_forward 1",
        "web server sees the container as 198.51.100.2",
        "container pings the gateway: ok",
        "after host bridge netlab0 UP",
    ] {
        for (who, facts) in [("solution", &solution), ("CNI", &reference)] {
            assert!(
                facts.contains(needed),
                "{who} lacks '{needed}':\n{}",
                facts.iter().cloned().collect::<Vec<_>>().join("\n")
            );
        }
    }
    let allowed = |fact: &str| ALLOWED.iter().any(|(a, _)| *a == fact);
    let mut unexplained = Vec::new();
    for fact in solution.difference(&reference) {
        if !allowed(fact) {
            unexplained.push(format!("only the solution: {fact}"));
        }
    }
    for fact in reference.difference(&solution) {
        if !allowed(fact) {
            unexplained.push(format!("only CNI:          {fact}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "differences not in ALLOWED (checks/tests/reference.rs):\n  {}\n--- solution ---\n{}\n--- CNI ---\n{}",
        unexplained.join("\n  "),
        solution.iter().cloned().collect::<Vec<_>>().join("\n"),
        reference.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}
