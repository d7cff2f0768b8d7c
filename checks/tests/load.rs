//! Load: eight `cargo xtask check all` runs at the same time all pass (five rounds in a row
//! in an ignored test: `cargo xtask test -- --ignored five_rounds`); a hundred
//! containers on one bridge in one lab each get an address of their own, reach the gateway,
//! and leave nothing behind. No timing is asserted (a loaded 2-core machine is slow, not
//! wrong); the time limits are generous.

mod common;

use common::residue::xtask_target;
use common::{lab_script, paths, run, summary, summary_of, CHECKER_LIMIT};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

/// The two tests of this file load the machine: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How many `cargo xtask check all` run at once: as many attendees on one shared 2-core
/// server, each in a tree of their own (their own labs' slots: nothing queues them together).
const ATTENDEES: usize = 8;

/// One round: [`ATTENDEES`] runs of `check all --solution` at once; the failures, each with
/// its run's whole output. A check missed because the machine is busy must not be blamed
/// on the code: every check of every run passes.
fn check_alls_at_once(round: usize) -> Vec<String> {
    let p = paths();
    let count: usize = common::steps().iter().map(|s| s.checks.len()).sum();
    let runs: Vec<_> = (0..ATTENDEES)
        .map(|n| {
            let (target, _) = xtask_target(&format!("load-{round}-{n}"));
            let mut command = Command::new(p.bin("xtask"));
            command
                .args(["check", "all", "--solution", "--no-build"])
                .env("CARGO_TARGET_DIR", &target)
                .env("NETLAB_ROOT", &p.root);
            (
                target,
                thread::spawn(move || run(&mut command, CHECKER_LIMIT * 5)),
            )
        })
        .collect();
    let mut failures = Vec::new();
    for (n, (target, handle)) in runs.into_iter().enumerate() {
        let ran = handle.join().expect("a run's thread");
        if ran.code != 0 || summary(&ran.stdout) != summary_of(count, 0) {
            failures.push(format!(
                "round {round}, run {n} of {ATTENDEES} at once:\n{}",
                ran.describe()
            ));
        }
        let _ = std::fs::remove_dir_all(target);
    }
    failures
}

#[test]
fn eight_check_alls_at_once_all_pass() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let failures = check_alls_at_once(1);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The whole proof, five rounds in a row (about five minutes on 2 cores: not in every run of
/// the suite): `cargo xtask test -- --ignored five_rounds`.
#[test]
#[ignore]
fn eight_check_alls_at_once_five_rounds_in_a_row() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for round in 1..=5 {
        let failures = check_alls_at_once(round);
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        eprintln!("round {round} of 5: {ATTENDEES} runs of check all passed");
    }
}

/// How many containers, and how many start at once.
const CONTAINERS: usize = 100;
const BATCH: usize = 10;

/// Starts the containers in batches (`$1 run --name cN -- sleep 600`), waits for each batch,
/// prints each one's address and whether it pings the gateway, stops them all, and prints
/// what remains.
const HUNDRED: &str = r#"
set -u
bin=$1; n=$2; batch=$3
echo "== before-rules"
iptables-save | grep -e '^-A' || true
steps=""
i=1
while [ $i -le $n ]; do
  first=$i
  j=0
  while [ $j -lt $batch ] && [ $i -le $n ]; do
    "$bin" run --name c$i -- sleep 600 >/dev/null 2>&1 &
    steps="$steps $!"
    i=$((i+1)); j=$((j+1))
  done
  k=$first
  while [ $k -lt $i ]; do
    t=0
    while [ ! -s "$NETLAB_STATE/containers/c$k/pid" ] && [ $t -lt 6000 ]; do sleep 0.01; t=$((t+1)); done
    k=$((k+1))
  done
done
in_c() { nsenter -t "$1" -m -u -i -n -p -r -w -- /bin/env PATH=/bin "$@"; }
echo "== addresses"
k=1
while [ $k -le $n ]; do
  pid=$(cat "$NETLAB_STATE/containers/c$k/pid" 2>/dev/null || echo 0)
  echo "c$k $(nsenter -t "$pid" -n ip -o -4 addr show dev eth0 2>/dev/null | awk '{print $4}')"
  k=$((k+1))
done
echo "== pings"
k=1
while [ $k -le $n ]; do
  pid=$(cat "$NETLAB_STATE/containers/c$k/pid" 2>/dev/null || echo 0)
  if nsenter -t "$pid" -m -u -i -n -p -r -w -- /bin/env PATH=/bin ping -c1 -W5 10.0.0.1 >/dev/null 2>&1; then
    echo "c$k ok"
  else
    echo "c$k fail"
  fi
  k=$((k+1))
done
echo "== ports"
ip -o link show master netlab0 | wc -l
kill -TERM $steps
wait
t=0
while [ "$(ip -o link show type veth | grep -vc ' eth0@')" != 0 ] && [ $t -lt 1000 ]; do sleep 0.01; t=$((t+1)); done
echo "== after-veths"
ip -o link show type veth | grep -v ' eth0@' || true
echo "== after-ports"
ip -o link show master netlab0 || true
echo "== after-ipam"
ls "$NETLAB_STATE/ipam"
echo "== after-rules"
iptables-save | grep -e '^-A' || true
echo "== after-containers"
ls "$NETLAB_STATE/containers"
"#;

#[test]
fn a_hundred_containers_on_one_bridge() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = lab_script(HUNDRED);
    command
        .arg("hundred")
        .arg(paths().bin("solution05"))
        .arg(CONTAINERS.to_string())
        .arg(BATCH.to_string());
    let ran = run(&mut command, Duration::from_secs(600));
    assert_eq!(ran.code, 0, "{}", ran.describe());
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in ran.stdout.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            sections.push((name.to_string(), Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line.trim().to_string());
        }
    }
    let section = |name: &str| -> Vec<String> {
        sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| panic!("no section {name}:\n{}", ran.describe()))
    };

    let addresses = section("addresses");
    assert_eq!(addresses.len(), CONTAINERS, "{}", ran.describe());
    let mut seen = BTreeSet::new();
    for line in &addresses {
        let (name, cidr) = line.split_once(' ').unwrap_or((line, ""));
        let address: Option<Ipv4Addr> = cidr.strip_suffix("/24").and_then(|a| a.parse().ok());
        let Some(address) = address else {
            panic!(
                "{name} has no address of 10.0.0.0/24: '{line}'\n{}",
                ran.describe()
            );
        };
        let [a, b, c, host] = address.octets();
        assert!(
            (a, b, c) == (10, 0, 0) && host > 1 && host < 255,
            "{name} has {address}"
        );
        assert!(
            seen.insert(address),
            "{address} twice:\n{}",
            addresses.join("\n")
        );
    }
    let failed: Vec<String> = section("pings")
        .into_iter()
        .filter(|l| !l.ends_with(" ok"))
        .collect();
    assert!(
        failed.is_empty(),
        "containers that could not ping 10.0.0.1: {failed:?}"
    );
    assert_eq!(section("ports"), [CONTAINERS.to_string()], "bridge ports");

    for (name, what) in [
        ("after-veths", "veths"),
        ("after-ports", "bridge ports"),
        ("after-containers", "container directories"),
    ] {
        let left = section(name);
        assert!(
            left.iter().all(|l| l.is_empty()),
            "{what} left after every container ended:\n{}",
            left.join("\n")
        );
    }
    let ipam = section("after-ipam");
    assert!(
        ipam.iter().all(|l| l.is_empty() || l == "lock"),
        "allocations left after every container ended: {ipam:?}"
    );
    // The lab host carries other tools' rules (Docker's, libvirt's); they were there before
    // and must be there after, untouched.
    let before = section("before-rules");
    let rules = section("after-rules");
    let shared = [
        "-A POSTROUTING -s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE",
        "-A FORWARD -i netlab0 -j ACCEPT",
        "-A FORWARD -o netlab0 -j ACCEPT",
    ];
    let mut rules: Vec<&str> = rules
        .iter()
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .collect();
    rules.sort_unstable();
    let mut expected: Vec<&str> = before
        .iter()
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .chain(shared)
        .collect();
    expected.sort_unstable();
    // Exactly the shared rules, each once: ten containers starting at once must not add
    // them twice (iptables -C then -A is a race without a lock, cni#215).
    assert_eq!(
        rules, expected,
        "after every container ended, the rules from before plus the shared rules once each"
    );
}
