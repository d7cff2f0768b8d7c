//! Where the packet died, in real labs:
//!
//! - `checker trace` (what `cargo xtask trace` runs) follows a probe through a lab opened with
//!   `checker run`: step 03's solution runs c1, and the lab host's FORWARD policy is DROP, as
//!   on a host where Docker runs. The trace names that policy; a ping to the lab host passes;
//!   bad input gets one line; the trace's table is gone afterwards.
//! - A failing check carries the trace of its traffic: step 02's solution without its
//!   MASQUERADE rule (a mutant), whose 02.survivor fails with "no answer within 5 s", now
//!   says the internet has no route back to 10.0.0.2.

mod common;

use common::running::{self, RunningLab};
use common::variant::{self, Edit, Variant};
use common::{paths, run, step, Ran};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    running::scratch("trace-test", name)
}

/// On the lab host: c1 of `$BIN` in the background, the FORWARD policy DROP, `$READY` once
/// done; at `$STOP` (or after 60 s), the lab host's nft tables into `$TABLES`, and the end.
fn script() -> String {
    format!(
        "set -e\n{}\
         iptables -w -P FORWARD DROP\n\
         touch \"$READY\"\n\
         tries=0\n\
         until [ -e \"$STOP\" ] || [ $tries -ge 6000 ]; do tries=$((tries + 1)); sleep 0.01; done\n\
         nft list tables > \"$TABLES\"\n\
         kill $background\nwait $background || true\n",
        common::start_c1("-- sleep 60 >/dev/null 2>&1")
    )
}

fn start_lab(dir: &Path) -> RunningLab {
    let mut command = common::lab_script(&script());
    command
        .env("BIN", paths().bin(&step("03").decl.binary(true)))
        .env("READY", dir.join("ready"))
        .env("STOP", dir.join("stop"))
        .env("TABLES", dir.join("tables"));
    running::start(command, Some(&dir.join("ready")))
}

fn stop_lab(lab: RunningLab, dir: &Path) {
    running::stop(lab, &dir.join("stop"));
}

fn checker_trace(state: &Path, args: &[&str]) -> Ran {
    let p = paths();
    let mut command = Command::new(&p.checker);
    command
        .arg("trace")
        .arg("--rootfs")
        .arg(&p.rootfs)
        .arg("--state")
        .arg(state)
        .args(args);
    run(&mut command, Duration::from_secs(60))
}

#[test]
fn trace_names_the_drop_policy_in_a_running_lab() {
    let dir = scratch("drop");
    let lab = start_lab(&dir);
    let pid = lab.pid.to_string();
    let state = &paths().state;

    let ran = checker_trace(
        state,
        &["--lab", &pid, "--from", "c1", "--to", "203.0.113.80:80"],
    );
    let why = ran.describe();
    assert_eq!(ran.code, 0, "{why}");
    for wanted in [
        "trace: tcp from c1 to 203.0.113.80:80\n",
        "packet 1: tcp 10.0.0.2:",
        "    c1        sent out of eth0\n",
        "dropped in ip filter FORWARD\n",
        "ip filter FORWARD: policy drop\n",
        "=> dropped in filter FORWARD by its policy DROP: no rule accepts 10.0.0.2 -> \
         203.0.113.80 (on the lab host)\n",
    ] {
        assert!(ran.stdout.contains(wanted), "no {wanted:?} in:\n{why}");
    }

    // The lab host's own address is not forwarded: the ping passes.
    let ran = checker_trace(state, &["--lab", &pid, "--from", "c1", "--to", "10.0.0.1"]);
    assert_eq!(ran.code, 0, "{}", ran.describe());
    assert!(
        ran.stdout
            .contains("=> the ping to 10.0.0.1 was answered\n"),
        "{}",
        ran.describe()
    );

    // A container that does not run: one line, and the ones that do.
    let ran = checker_trace(state, &["--lab", &pid, "--from", "c9", "--to", "c1"]);
    assert_eq!(ran.code, 2, "{}", ran.describe());
    assert_eq!(
        ran.stderr,
        "checker: no container 'c9' runs in this lab (running: c1)\n"
    );
    let ran = checker_trace(state, &["--lab", &pid, "--from", "c1", "--to", "c9:80"]);
    assert_eq!(ran.code, 2, "{}", ran.describe());
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.describe());

    stop_lab(lab, &dir);
    let tables = std::fs::read_to_string(dir.join("tables")).expect("the lab host's tables");
    assert!(
        !tables.contains("netlab_trace"),
        "the trace left its table:\n{tables}"
    );
}

#[test]
fn trace_without_a_lab_says_so() {
    // A state directory whose registry is empty: no lab runs there.
    let state = scratch("none").join("state");
    std::fs::create_dir_all(&state).expect("creating the state directory");
    let ran = checker_trace(&state, &["--from", "c1", "--to", "203.0.113.80:80"]);
    assert_eq!(ran.code, 1, "{}", ran.describe());
    assert_eq!(
        ran.stderr,
        "no lab is running: start one with `cargo xtask lab NN` (NN: your step)\n"
    );
    assert_eq!(ran.stdout, "");
}

#[test]
fn a_failing_check_says_where_its_packet_died() {
    let step = step("02");
    let mutant = Variant {
        step,
        kind: "traced",
        name: "no-masquerade".into(),
        edits: vec![Edit {
            file: "src/veth.rs".into(),
            find: "run_cmd!(iptables -w -t nat -A POSTROUTING -s $SUBNET -j MASQUERADE)?;".into(),
            replace: String::new(),
        }],
    };
    let binary = variant::build(&mutant);
    let ran = common::check(&[
        "--only".to_string(),
        "survivor".to_string(),
        format!("02={}", binary.display()),
    ]);
    let why = ran.describe();
    assert_eq!(ran.code, 1, "{why}");
    for wanted in [
        "FAIL  02.survivor",
        "no answer within 5 s",
        "trace: tcp from a to 203.0.113.80:80",
        "internet  in by up0, delivered locally",
        "=> it arrived in the internet (to 203.0.113.80), but the internet has no route back to \
         10.0.0.2",
        "was the source not rewritten by NAT?",
    ] {
        assert!(ran.stdout.contains(wanted), "no {wanted:?} in:\n{why}");
    }
}
