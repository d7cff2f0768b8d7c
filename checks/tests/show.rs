//! `checker show` and `cargo xtask show` draw a running lab from outside it: a lab opened with
//! `checker run` (as `cargo xtask lab 05 --solution` does), with step 05's solution running a
//! container `c1` in the background. The lab announces itself in the registry beside its
//! state directory, and takes its entry away when it ends.

mod common;

use common::running::{self, RunningLab};
use common::{paths, run, step, Ran};
use lab::registry;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// On the lab host: c1 of step 05's solution in the background; its PID into `$READY` once it
/// runs; then wait for `$STOP` (or 60 s), and end cleanly.
fn script() -> String {
    format!(
        "set -e\n{}\
         cat \"$pid_file\" > \"$READY.new\"; mv \"$READY.new\" \"$READY\"\n\
         tries=0\n\
         until [ -e \"$STOP\" ] || [ $tries -ge 6000 ]; do tries=$((tries + 1)); sleep 0.01; done\n\
         kill $background\nwait $background || true\n",
        common::start_c1("-- sleep 60 >/dev/null 2>&1")
    )
}

fn scratch(name: &str) -> PathBuf {
    running::scratch("show-test", name)
}

/// Starts `script` in a lab and waits for its registry entry (and for `ready`, when given).
fn start_lab(script: &str, dir: &Path, ready: Option<&Path>) -> RunningLab {
    let mut command = common::lab_script(script);
    command
        .env("BIN", paths().bin(&step("05").decl.binary(true)))
        .env("READY", dir.join("ready"))
        .env("STOP", dir.join("stop"));
    running::start(command, ready)
}

fn stop_lab(lab: RunningLab, dir: &Path) {
    running::stop(lab, &dir.join("stop"));
}

fn checker_show(state: &Path, args: &[&str]) -> Ran {
    let p = paths();
    let mut command = Command::new(&p.checker);
    command
        .arg("show")
        .arg("--rootfs")
        .arg(&p.rootfs)
        .arg("--state")
        .arg(state)
        .args(args);
    run(&mut command, Duration::from_secs(30))
}

/// What a diagram of the lab must show: the bridge, c1's address on its eth0, c1's host end
/// `veth<pid>` plugged into netlab0 and cabled to c1's eth0, the default routes, MASQUERADE.
fn assert_draws_the_lab(ran: &Ran, container_pid: &str) {
    let text = &ran.stdout;
    let why = ran.describe();
    assert_eq!(ran.code, 0, "{why}");
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100 columns: {line}\n{why}"
        );
    }
    let host_end = format!("veth{container_pid}");
    for wanted in [
        "┌─ lab host ",
        "┌─ internet ",
        "┌─ container c1 ",
        "netlab0    bridge",
        "default via 198.51.100.1 dev eth0",
        "default via 10.0.0.1 dev eth0",
        "-s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE",
        "lab host eth0 198.51.100.2/24 198.51.100.3/24  ════  internet up0 198.51.100.1/24",
    ] {
        assert!(
            text.contains(wanted),
            "no {wanted:?} in the diagram:\n{why}"
        );
    }
    let cable = format!("lab host {host_end} (port of netlab0)  ════  c1 eth0 10.0.0.");
    assert!(text.contains(&cable), "no {cable:?}:\n{why}");
    let port = text
        .lines()
        .find(|l| l.contains(&format!("─ {host_end} ")))
        .unwrap_or_else(|| panic!("{host_end} is not drawn under netlab0:\n{why}"));
    assert!(port.contains("══ c1 eth0"), "{port}\n{why}");
    let eth0 = text
        .lines()
        .find(|l| l.contains(" eth0  veth ") && l.contains("10.0.0."))
        .unwrap_or_else(|| panic!("c1's eth0 with its 10.0.0.x address is not drawn:\n{why}"));
    assert!(
        eth0.contains(&format!("══ lab host {host_end}")),
        "{eth0}\n{why}"
    );
}

#[test]
fn show_draws_a_running_lab_from_outside() {
    let dir = scratch("one");
    let lab = start_lab(&script(), &dir, Some(&dir.join("ready")));
    let container_pid = std::fs::read_to_string(dir.join("ready"))
        .expect("reading c1's PID")
        .trim()
        .to_string();
    let pid = lab.pid.to_string();

    let ran = checker_show(&paths().state, &["--lab", &pid]);
    assert_draws_the_lab(&ran, &container_pid);
    assert!(
        ran.stdout.starts_with(&format!("lab {pid} ")),
        "{}",
        ran.describe()
    );

    let xtask = paths().bin("xtask");
    let mut command = Command::new(xtask);
    command.args(["show", "--no-build", "--lab", &pid]);
    let ran = run(&mut command, Duration::from_secs(30));
    assert_draws_the_lab(&ran, &container_pid);

    // With a second lab running, `show` alone lists them and asks which.
    let other_dir = scratch("other");
    let other = start_lab(
        r#"until [ -e "$STOP" ]; do sleep 0.01; done"#,
        &other_dir,
        None,
    );
    let ran = checker_show(&paths().state, &[]);
    assert_eq!(ran.code, 1, "{}", ran.describe());
    assert!(ran.stdout.is_empty(), "{}", ran.describe());
    assert!(
        ran.stderr
            .contains("labs are running: choose one with `cargo xtask show --lab PID`"),
        "{}",
        ran.describe()
    );
    for lab in [lab.pid, other.pid] {
        assert!(
            ran.stderr.contains(&format!(" {lab}  profile fresh")),
            "lab {lab} is not listed:\n{}",
            ran.describe()
        );
    }
    stop_lab(other, &other_dir);
    stop_lab(lab, &dir);

    // Gone from the registry: asking for it lists what runs instead.
    let ran = checker_show(&paths().state, &["--lab", &pid]);
    assert_ne!(ran.code, 0, "{}", ran.describe());
}

#[test]
fn show_without_a_lab_says_so_in_one_line() {
    let dir = scratch("none");
    let ran = checker_show(&dir.join("state"), &[]);
    assert_eq!(ran.code, 1, "{}", ran.describe());
    assert!(ran.stdout.is_empty(), "{}", ran.describe());
    assert_eq!(
        ran.stderr,
        "no lab is running: start one with `cargo xtask lab NN` (NN: your step)\n",
        "{}",
        ran.describe()
    );
    // With the learner's step (as `cargo xtask show` passes it), that step's lab.
    let ran = checker_show(&dir.join("state"), &["--step", "03"]);
    assert_eq!(ran.code, 1, "{}", ran.describe());
    assert_eq!(
        ran.stderr,
        "no lab is running: start one with `cargo xtask lab 03`\n",
        "{}",
        ran.describe()
    );
}

#[test]
fn stale_registry_entries_are_ignored_and_removed() {
    let dir = scratch("stale");
    let labs = registry::dir_beside(&dir.join("state"));
    std::fs::create_dir_all(&labs).expect("creating the registry");
    // A lab whose process is gone (its keeper was killed with SIGKILL, say).
    let stale = registry::file(&labs, i32::MAX - 7);
    std::fs::write(
        &stale,
        format!(
            "pid={}\nstart=1\nnetns=1\nstate=/nowhere\nprofile=fresh\nsince=0\n",
            i32::MAX - 7
        ),
    )
    .expect("writing a stale entry");
    let ran = checker_show(&dir.join("state"), &[]);
    assert_eq!(ran.code, 1, "{}", ran.describe());
    assert_eq!(
        ran.stderr,
        format!("{}\n", checks::show::outside::no_lab(None)),
        "{}",
        ran.describe()
    );
    assert!(!stale.exists(), "the stale entry was not removed");
}
