//! The checks catch real mistakes: each mutant is a step's solution with one thing broken,
//! and the checks named in its row must fail against it.
//!
//! A mutant is a copy of the solution under `target/mutants/<step>-<name>/`, made a standalone
//! package (its own `[workspace]`, the workspace's dependencies spelled out, path ones
//! absolute), built offline into `target/mutants-target` (shared, so the dependencies build
//! once).

mod common;

use common::{entries, paths, run, step_bins, Ran};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

struct Mutant {
    /// The step whose solution is broken.
    step: &'static str,
    name: &'static str,
    /// The file to edit, relative to the solution's folder.
    file: &'static str,
    /// Text that must occur exactly once in that file...
    find: &'static str,
    /// ...and what it becomes.
    replace: &'static str,
    /// Checks that must fail against the mutant.
    must_fail: &'static [&'static str],
}

const MUTANTS: &[Mutant] = &[
    Mutant {
        step: "01",
        name: "no-netns",
        file: "src/netns.rs",
        find: "CloneFlags::CLONE_NEWNET",
        replace: "CloneFlags::empty()",
        must_fail: &["01.own-netns", "01.isolated"],
    },
    Mutant {
        step: "01",
        name: "no-lo",
        file: "src/netns.rs",
        find: "cmd_lib::run_cmd!(ip link set lo up)?;",
        replace: "",
        must_fail: &["01.lo-up", "01.ping-loopback"],
    },
    Mutant {
        step: "02",
        name: "no-masquerade",
        file: "src/veth.rs",
        find: "run_cmd!(iptables -w -t nat -A POSTROUTING -s $SUBNET -j MASQUERADE)?;",
        replace: "",
        must_fail: &["02.one-masquerade"],
    },
    Mutant {
        step: "02",
        name: "no-masquerade-guard",
        file: "src/veth.rs",
        find: "MASQUERADE 2>/dev/null).is_err() {",
        replace: "MASQUERADE 2>/dev/null).is_err() || true {",
        must_fail: &["02.one-masquerade"],
    },
    Mutant {
        step: "02",
        name: "no-forward",
        file: "src/veth.rs",
        find: "std::fs::write(\"/proc/sys/net/ipv4/ip_forward\", \"1\").context(\"turning on ip_forward\")?;",
        replace: "",
        must_fail: &["02.ip-forward"],
    },
    Mutant {
        step: "02",
        name: "no-rule-cleanup",
        file: "src/veth.rs",
        find: "run_cmd!(iptables -w -t nat -D POSTROUTING -s $SUBNET -j MASQUERADE)?;",
        replace: "break;",
        must_fail: &["02.cleanup"],
    },
    Mutant {
        step: "02",
        name: "no-host-up",
        file: "src/veth.rs",
        find: "run_cmd!(ip link set $host up)?;",
        replace: "",
        must_fail: &["02.host-end"],
    },
    Mutant {
        step: "02",
        name: "strict-cleanup",
        file: "src/veth.rs",
        find: ".is_err() && link_exists(name)",
        replace: ".is_err()",
        must_fail: &["02.cleanup-twice"],
    },
    Mutant {
        step: "03",
        name: "no-eth0-up",
        file: "src/container_net.rs",
        find: "ip link set eth0 up;",
        replace: "",
        must_fail: &[
            "03.eth0-up",
            "03.ping-gateway",
            "03.ping-internet",
            "03.http-nat",
        ],
    },
    Mutant {
        step: "03",
        name: "no-lo",
        file: "src/container_net.rs",
        find: "ip link set lo up;",
        replace: "",
        must_fail: &["03.eth0-up"],
    },
    Mutant {
        step: "03",
        name: "no-default-route",
        file: "src/container_net.rs",
        find: "ip route add default via $GATEWAY;",
        replace: "",
        must_fail: &["03.ping-internet", "03.http-nat", "03.routes"],
    },
    Mutant {
        step: "04",
        name: "no-loopback-filter",
        file: "src/dns.rs",
        find: ".is_ok_and(|ip| ip.is_loopback())",
        replace: ".is_ok_and(|_| false)",
        must_fail: &["04.resolv-conf", "04.fallback"],
    },
    Mutant {
        step: "04",
        name: "no-fallback",
        file: "src/dns.rs",
        find: "text.push_str(&format!(\"nameserver {FALLBACK_NAMESERVER}\\n\"));",
        replace: "",
        must_fail: &["04.fallback"],
    },
    Mutant {
        step: "04",
        name: "no-hosts",
        file: "src/dns.rs",
        find: "fs::write(etc.join(\"hosts\"), hosts).context(\"writing the container's /etc/hosts\")?;",
        replace: "",
        must_fail: &["04.hostname", "04.host-untouched"],
    },
    Mutant {
        step: "05",
        name: "masquerade-between-containers",
        file: "src/bridge.rs",
        find: "POSTROUTING -s {SUBNET} ! -o {BRIDGE} -j MASQUERADE",
        replace: "POSTROUTING -s {SUBNET} -j MASQUERADE",
        must_fail: &["05.source-address"],
    },
    Mutant {
        step: "05",
        name: "no-forward-rules",
        file: "src/bridge.rs",
        find: "ensure_rule(\"filter\", &format!(\"FORWARD -i {BRIDGE} -j ACCEPT\"))?;\n    \
               ensure_rule(\"filter\", &format!(\"FORWARD -o {BRIDGE} -j ACCEPT\"))?;",
        replace: "",
        must_fail: &["05.docker-host"],
    },
    Mutant {
        step: "05",
        name: "no-lock",
        file: "src/bridge.rs",
        find: "let _lock = lock_ipam()?;\n    let mut taken",
        replace: "let mut taken",
        must_fail: &["05.lock"],
    },
    Mutant {
        step: "05",
        name: "no-reclaim",
        file: "src/bridge.rs",
        find: "if !alive(lease.owner) || lease.name == name {",
        replace: "if lease.name == name {",
        must_fail: &["05.crash"],
    },
    Mutant {
        step: "05",
        name: "no-rule-check",
        file: "src/given.rs",
        find: "if run_cmd!(iptables -w -t $table -C $[rule] 2>/dev/null).is_err() {",
        replace: "if true {",
        must_fail: &["05.cleanup", "05.concurrent"],
    },
    Mutant {
        step: "05",
        name: "no-release",
        file: "src/bridge.rs",
        find: "fs::remove_file(lease_file(lease.address)?).context(\"releasing the address\")?;",
        replace: "let _ = lease;",
        must_fail: &["05.stop-one", "05.cleanup"],
    },
    Mutant {
        step: "06",
        name: "no-prerouting",
        file: "src/dnat.rs",
        find: "&format!(\"PREROUTING -m addrtype --dst-type LOCAL -j {CHAIN}\"),",
        replace: "&format!(\"INPUT -m addrtype --dst-type LOCAL -j {CHAIN}\"),",
        must_fail: &["06.from-internet", "06.from-container", "06.two-ports"],
    },
    Mutant {
        step: "06",
        name: "no-output-dnat",
        file: "src/dnat.rs",
        find: "&format!(\"OUTPUT -m addrtype --dst-type LOCAL -j {CHAIN}\"),",
        replace: "&format!(\"INPUT -m addrtype --dst-type LOCAL -j {CHAIN}\"),",
        must_fail: &["06.from-host", "06.localhost"],
    },
    Mutant {
        step: "06",
        name: "no-route-localnet",
        file: "src/dnat.rs",
        find: "format!(\"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet\"),\n        \"1\",",
        replace: "format!(\"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet\"),\n        \"0\",",
        must_fail: &["06.localhost"],
    },
    Mutant {
        step: "06",
        name: "route-localnet-on-all",
        file: "src/dnat.rs",
        find: "format!(\"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet\"),",
        replace: "format!(\"/proc/sys/net/ipv4/conf/all/route_localnet\"),",
        must_fail: &["06.localnet-scope", "06.cleanup"],
    },
    Mutant {
        step: "06",
        name: "no-localhost-masquerade",
        file: "src/dnat.rs",
        find: "&format!(\"POSTROUTING -o {BRIDGE} -m addrtype --src-type LOCAL -j MASQUERADE\"),",
        replace: "&format!(\"POSTROUTING -o {BRIDGE} -m addrtype --src-type LOCAL -j ACCEPT\"),",
        must_fail: &["06.localhost"],
    },
    Mutant {
        step: "06",
        name: "no-hairpin",
        file: "src/dnat.rs",
        find: "run_cmd!(bridge link set dev $host hairpin on)?;",
        replace: "let _ = host;",
        must_fail: &["06.hairpin"],
    },
    Mutant {
        step: "06",
        name: "no-hairpin-masquerade",
        file: "src/dnat.rs",
        find: "iptables -w -t nat -A POSTROUTING -s $address -d $address -p $proto\n                \
               --dport $container_port -m comment --comment $tag -j MASQUERADE;",
        replace: "",
        must_fail: &["06.hairpin"],
    },
    Mutant {
        step: "06",
        name: "no-conflict-check",
        file: "src/dnat.rs",
        find: ".find(|p| p.host_port == port.host && p.protocol == port.protocol)",
        replace: ".find(|p| p.host_port == 0 && p.protocol == port.protocol)",
        must_fail: &["06.conflict"],
    },
    Mutant {
        step: "06",
        name: "no-stale-sweep",
        file: "src/dnat.rs",
        find: "filter(|p| !alive(p.owner))",
        replace: "filter(|p| p.owner == 0)",
        must_fail: &["06.stale"],
    },
    Mutant {
        step: "06",
        name: "no-unpublish",
        file: "src/dnat.rs",
        find: "    let _lock = lock_ipam()?;\n    remove_tagged(&tag(name))",
        replace: "    let _ = name;\n    Ok(())",
        must_fail: &["06.cleanup"],
    },
];

macro_rules! mutant_test {
    ($test:ident, $step:literal, $name:literal) => {
        #[test]
        fn $test() {
            check_mutant($step, $name);
        }
    };
}

mutant_test!(s01_no_netns, "01", "no-netns");
mutant_test!(s01_no_lo, "01", "no-lo");
mutant_test!(s02_no_masquerade, "02", "no-masquerade");
mutant_test!(s02_no_masquerade_guard, "02", "no-masquerade-guard");
mutant_test!(s02_no_forward, "02", "no-forward");
mutant_test!(s02_no_rule_cleanup, "02", "no-rule-cleanup");
mutant_test!(s02_no_host_up, "02", "no-host-up");
mutant_test!(s02_strict_cleanup, "02", "strict-cleanup");
mutant_test!(s03_no_eth0_up, "03", "no-eth0-up");
mutant_test!(s03_no_lo, "03", "no-lo");
mutant_test!(s03_no_default_route, "03", "no-default-route");
mutant_test!(s04_no_loopback_filter, "04", "no-loopback-filter");
mutant_test!(s04_no_fallback, "04", "no-fallback");
mutant_test!(s04_no_hosts, "04", "no-hosts");
mutant_test!(
    s05_masquerade_between_containers,
    "05",
    "masquerade-between-containers"
);
mutant_test!(s05_no_forward_rules, "05", "no-forward-rules");
mutant_test!(s05_no_lock, "05", "no-lock");
mutant_test!(s05_no_reclaim, "05", "no-reclaim");
mutant_test!(s05_no_rule_check, "05", "no-rule-check");
mutant_test!(s05_no_release, "05", "no-release");
mutant_test!(s06_no_prerouting, "06", "no-prerouting");
mutant_test!(s06_no_output_dnat, "06", "no-output-dnat");
mutant_test!(s06_no_route_localnet, "06", "no-route-localnet");
mutant_test!(s06_route_localnet_on_all, "06", "route-localnet-on-all");
mutant_test!(s06_no_localhost_masquerade, "06", "no-localhost-masquerade");
mutant_test!(s06_no_hairpin, "06", "no-hairpin");
mutant_test!(s06_no_hairpin_masquerade, "06", "no-hairpin-masquerade");
mutant_test!(s06_no_conflict_check, "06", "no-conflict-check");
mutant_test!(s06_no_stale_sweep, "06", "no-stale-sweep");
mutant_test!(s06_no_unpublish, "06", "no-unpublish");

#[test]
fn every_mutant_has_a_test() {
    // Keep the macro lines above in step with the table.
    let tested = [
        "01/no-netns",
        "01/no-lo",
        "02/no-masquerade",
        "02/no-masquerade-guard",
        "02/no-forward",
        "02/no-rule-cleanup",
        "02/no-host-up",
        "02/strict-cleanup",
        "03/no-eth0-up",
        "03/no-lo",
        "03/no-default-route",
        "04/no-loopback-filter",
        "04/no-fallback",
        "04/no-hosts",
        "05/masquerade-between-containers",
        "05/no-forward-rules",
        "05/no-lock",
        "05/no-reclaim",
        "05/no-rule-check",
        "05/no-release",
        "06/no-prerouting",
        "06/no-output-dnat",
        "06/no-route-localnet",
        "06/route-localnet-on-all",
        "06/no-localhost-masquerade",
        "06/no-hairpin",
        "06/no-hairpin-masquerade",
        "06/no-conflict-check",
        "06/no-stale-sweep",
        "06/no-unpublish",
    ];
    for mutant in MUTANTS {
        let id = format!("{}/{}", mutant.step, mutant.name);
        assert!(
            tested.contains(&id.as_str()),
            "mutant {id} has no mutant_test! line"
        );
    }
}

/// A Cargo building is slow enough; building the mutants one at a time also keeps one
/// mutant's binary from replacing another's in the shared target directory before it is
/// copied away.
static BUILD: Mutex<()> = Mutex::new(());

/// Generous: the first build compiles the dependencies.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

fn check_mutant(step: &str, name: &str) {
    let mutant = MUTANTS
        .iter()
        .find(|m| m.step == step && m.name == name)
        .unwrap_or_else(|| panic!("no mutant {step}/{name} in MUTANTS"));
    let binary = build(mutant);
    let ran = common::check(&[format!("{}={}", mutant.step, binary.display())]);
    let seen = entries(&ran.stdout);
    for id in mutant.must_fail {
        let entry = seen
            .iter()
            .find(|e| e.id == *id)
            .unwrap_or_else(|| panic!("mutant {name}: no {id} in the report:\n{}", ran.describe()));
        assert_eq!(
            entry.tag,
            "FAIL",
            "mutant {step}-{name} must make {id} fail:\n{}",
            ran.describe()
        );
    }
    assert_eq!(
        ran.code,
        1,
        "mutant {step}-{name}: the checker's status:\n{}",
        ran.describe()
    );
}

/// Makes the mutant's package, builds it and returns its binary (copied out of the shared
/// target directory).
fn build(mutant: &Mutant) -> PathBuf {
    let p = paths();
    let step = common::catalog_step(mutant.step);
    let solution = p.root.join("solutions").join(step.slug);
    let dir = p
        .target
        .join("mutants")
        .join(format!("{}-{}", mutant.step, mutant.name));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&solution, &dir);

    let file = dir.join(mutant.file);
    let source = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    let found = source.matches(mutant.find).count();
    assert_eq!(
        found, 1,
        "mutant {}-{}: {:?} occurs {found} times in solutions/{}/{} (expected once): update the \
         mutant",
        mutant.step, mutant.name, mutant.find, step.slug, mutant.file
    );
    std::fs::write(&file, source.replace(mutant.find, mutant.replace)).expect("writing the mutant");

    let manifest = dir.join("Cargo.toml");
    let original = std::fs::read_to_string(&manifest).expect("reading the solution's Cargo.toml");
    let text = standalone(&original, &p.root, &format!("mutant-{}", mutant.name));
    std::fs::write(&manifest, text).expect("writing the mutant's Cargo.toml");
    // The workspace's lock file pins the versions already downloaded (the build is offline).
    std::fs::copy(p.root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copying Cargo.lock");

    let target_dir = p.target.join("mutants-target");
    let bin_name = step_bins(mutant.step).solution;
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline", "-q", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir);
    let built: Ran = run(&mut command, BUILD_LIMIT);
    assert_eq!(
        built.code,
        0,
        "building mutant {}-{} failed:\n{}",
        mutant.step,
        mutant.name,
        built.describe()
    );
    let binary = dir.join(bin_name);
    std::fs::copy(target_dir.join("debug").join(bin_name), &binary)
        .expect("copying the mutant's binary");
    binary
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()))
    {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name))
                .unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
        }
    }
}

/// `name = value` lines of one table of a TOML file (single-line values only: enough for the
/// workspace's own Cargo.toml, and anything else is refused loudly).
fn table(toml: &str, name: &str) -> HashMap<String, String> {
    let header = format!("[{name}]");
    let mut inside = false;
    let mut values = HashMap::new();
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("cannot read this line of [{name}]: {line}"));
        let value = value.trim();
        let closed = !value.starts_with(['{', '[']) || value.ends_with(['}', ']']);
        assert!(
            closed,
            "[{name}] has a value over several lines, which this test cannot read: {line}"
        );
        values.insert(key.trim().to_string(), value.to_string());
    }
    values
}

/// The solution's manifest as a standalone package: every `x.workspace = true` replaced by
/// the workspace's value, `path = "..."` dependencies made absolute, and an empty
/// `[workspace]` so that Cargo does not take it for a member of the workspace around it.
///
/// The package is renamed `<name>-<suffix>` (its library keeps its crate name): Cargo names
/// the artifacts of a workspace's own package after its name, version and place *in its
/// workspace*, which is the same for every mutant, so same-named mutants would share them in
/// the shared target directory.
fn standalone(manifest: &str, root: &Path, suffix: &str) -> String {
    let workspace = std::fs::read_to_string(root.join("Cargo.toml"))
        .expect("reading the workspace's Cargo.toml");
    let package = table(&workspace, "workspace.package");
    let dependencies: HashMap<String, String> = table(&workspace, "workspace.dependencies")
        .into_iter()
        .map(|(name, value)| (name, absolute_paths(&value, root)))
        .collect();
    let mut section = String::new();
    let mut out = String::new();
    let mut crate_name = None;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        let named = trimmed
            .strip_prefix("name")
            .and_then(|rest| rest.trim_start().strip_prefix('='))
            .map(|value| value.trim().trim_matches('"'));
        if let (Some(name), "[package]") = (named, section.as_str()) {
            crate_name = Some(name.replace('-', "_"));
            out.push_str(&format!("name = \"{name}-{suffix}\"\n"));
            continue;
        }
        assert!(
            !(section == "[lib]" && named.is_some()),
            "the library has a name of its own: the mutant cannot keep it"
        );
        if trimmed == "[lib]" {
            let name = crate_name.as_ref().expect("[package] comes before [lib]");
            out.push_str(&format!("{line}\nname = \"{name}\"\n"));
            continue;
        }
        let inherited = trimmed
            .split_once('=')
            .filter(|(_, value)| value.trim() == "true")
            .and_then(|(key, _)| key.trim().strip_suffix(".workspace"));
        let line = match inherited {
            Some(key) if section == "[package]" => {
                let value = package
                    .get(key)
                    .unwrap_or_else(|| panic!("the workspace has no package.{key}"));
                format!("{key} = {value}")
            }
            Some(key) if section.ends_with("dependencies]") => {
                let value = dependencies
                    .get(key)
                    .unwrap_or_else(|| panic!("the workspace has no dependency {key}"));
                format!("{key} = {value}")
            }
            Some(_) => panic!("cannot make this line standalone (in {section}): {trimmed}"),
            None => {
                assert!(
                    !trimmed.contains("workspace = true"),
                    "cannot make this line standalone (in {section}): {trimmed}"
                );
                line.to_string()
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\n# A mutant: standalone, outside the workshop's workspace.\n[workspace]\n");
    out
}

/// `{ path = "container" }` → `{ path = "/work/main/container" }`.
fn absolute_paths(value: &str, root: &Path) -> String {
    let Some((head, rest)) = value.split_once("path = \"") else {
        return value.to_string();
    };
    let (path, tail) = rest.split_once('"').expect("a closing quote");
    let path = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        root.join(path)
    };
    format!("{head}path = \"{}\"{tail}", path.display())
}

#[test]
fn standalone_manifests_inherit_nothing() {
    let root = Path::new("/w");
    let manifest = "[package]\nname = \"s-x\"\nedition.workspace = true\n\n[lib]\n\
                    path = \"src/x.rs\"\n\n[dependencies]\nanyhow.workspace = true\n\
                    container.workspace = true\n";
    let text = standalone(manifest, &paths().root, "m");
    assert!(text.contains("[package]\nname = \"s-x-m\"\n"), "{text}");
    assert!(
        text.contains("[lib]\nname = \"s_x\"\npath = \"src/x.rs\""),
        "{text}"
    );
    assert!(!text.contains(".workspace"), "{text}");
    assert!(text.contains("edition = \"2021\""), "{text}");
    assert!(text.contains("anyhow = \"1.0\""), "{text}");
    let container = format!(
        "container = {{ path = \"{}\" }}",
        paths().root.join("container").display()
    );
    assert!(text.contains(&container), "{text}");
    assert!(text.trim_end().ends_with("[workspace]"), "{text}");
    assert_eq!(
        absolute_paths("{ path = \"lab\" }", root),
        "{ path = \"/w/lab\" }"
    );
    assert_eq!(absolute_paths("\"1.0\"", root), "\"1.0\"");
}
