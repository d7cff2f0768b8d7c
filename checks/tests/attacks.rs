//! Attacks on a shared machine, tried for real: an ordinary user (an unused UID, with
//! `setpriv`, as the permission test of xtask does) against root's checker.
//! - A fake lab whose mount namespace puts the attacker's programs where `show` finds its
//!   tools, registered where root's `show` looks: root refuses it, and runs none of them.
//! - The checker run as root through sudo (what sudo hands it: root, and `SUDO_UID`) with
//!   free arguments: a shell, another program, foreign directories. Each is refused in one
//!   line, and what checking needs still works.

mod common;

use common::{paths, run, Ran};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The attacker: a UID no account uses.
const ATTACKER: u32 = 64_999;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A folder of this test's own in the target directory, `mode`, owned by `uid`.
fn own_dir(name: &str, mode: u32, uid: u32) -> PathBuf {
    // Not in target/tmp: cargo makes that one for the tests, and may make it 0700.
    let dir = paths()
        .target
        .join(format!("attacks-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(&dir)
        .expect("the test's folder");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).expect("its mode");
    std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).expect("its owner");
    dir
}

/// The attacker's lab: a user, mount, PID and network namespace of its own (its `/proc` shows
/// it as PID 1, as a real lab's does), with a program that leaves `$MARK` bound over each tool
/// root might run there. It says `$DIR/ready`, then waits for `$STOP`.
const FAKE_LAB: &str = r#"
set -e
cat > "$DIR/tool" <<EOF
#!/bin/sh
echo ran > "$MARK"
EOF
chmod 755 "$DIR/tool"
for tool in nsenter nft ip iptables-save iptables-legacy-save iptables-nft-save xtables-nft-multi tc; do
    for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
        [ -f "$dir/$tool" ] && [ ! -L "$dir/$tool" ] && mount --bind "$DIR/tool" "$dir/$tool" || true
    done
done
touch "$DIR/ready"
while [ ! -e "$STOP" ]; do sleep 0.05; done
"#;

#[test]
fn root_never_looks_into_a_lab_another_user_controls() {
    if !is_root() {
        eprintln!("skipped: needs root (to be root, and to make the attacker)");
        return;
    }
    let p = paths();
    // The attacker's tree: theirs to write, root's to read (as root's `show` in a learner's
    // tree).
    let tree = own_dir("tree", 0o755, ATTACKER);
    let labs = tree.join("labs");
    let mark = tree.join("mark");
    let stop = tree.join("stop");
    let mut attacker = Command::new("setpriv")
        .args([
            "--reuid",
            &ATTACKER.to_string(),
            "--regid",
            &ATTACKER.to_string(),
        ])
        .args(["--clear-groups", "--"])
        .args(["unshare", "--user", "--map-root-user", "--mount", "--net"])
        .args(["--pid", "--fork", "--mount-proc"])
        .args(["/bin/sh", "-c", FAKE_LAB])
        .env("DIR", &tree)
        .env("MARK", &mark)
        .env("STOP", &stop)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the attacker's lab");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tree.join("ready").exists() {
        if let Ok(Some(status)) = attacker.try_wait() {
            let output = attacker.wait_with_output().expect("its output");
            panic!(
                "the attacker's lab ended ({status}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "the attacker's lab never registered"
        );
        thread::sleep(Duration::from_millis(20));
    }
    register(attacker.id() as i32, &labs);
    let ran = |verb: &[&str]| {
        let mut command = Command::new(&p.checker);
        command
            .args(verb)
            .arg("--rootfs")
            .arg(&p.rootfs)
            .arg("--state")
            .arg(tree.join("state"));
        run(&mut command, Duration::from_secs(30))
    };
    let shown = ran(&["show"]);
    let traced = ran(&["trace", "--from", "host", "--to", "203.0.113.80:80"]);
    std::fs::write(&stop, "").expect("stopping the attacker");
    let _ = attacker.wait();
    for (verb, ran) in [("show", &shown), ("trace", &traced)] {
        assert_ne!(ran.code, 0, "{verb}:\n{}", ran.describe());
        assert!(
            ran.stderr.contains("is not root's own") && ran.stderr.trim().lines().count() == 1,
            "{verb} must refuse the attacker's lab in one line:\n{}",
            ran.describe()
        );
    }
    assert!(
        !mark.exists(),
        "root ran a program of the attacker's lab (it wrote {})",
        mark.display()
    );
    let _ = std::fs::remove_dir_all(&tree);
    let _ = tree.parent().map(std::fs::remove_dir);
}

/// The entry a real lab would write for the fake one (the first child of `unshare`), as the
/// attacker writes it: a file of theirs in the registry of their tree.
fn register(unshare: i32, labs: &Path) {
    let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .expect("unshare's children");
    let pid: i32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the fake lab's PID");
    let entry = lab::registry::Entry {
        pid,
        start: lab::registry::start_time(pid).expect("its start time"),
        netns: lab::registry::netns_inode(&format!("/proc/{pid}/ns/net")).expect("its netns"),
        state: PathBuf::from("/"),
        profile: "fresh".to_string(),
        since: 0,
    };
    let file = lab::registry::write(labs, &entry).expect("registering the fake lab");
    for path in [labs, file.as_path()] {
        std::os::unix::fs::chown(path, Some(ATTACKER), Some(ATTACKER)).expect("the attacker's");
    }
}

/// The checker as sudo starts it for `caller`: root, with sudo's variables.
fn through_sudo(args: &[String]) -> Ran {
    let p = paths();
    let mut command = Command::new(&p.checker);
    command
        .args(args)
        .env("SUDO_UID", ATTACKER.to_string())
        .env("SUDO_GID", ATTACKER.to_string())
        .env("SUDO_USER", "attacker")
        .env("SUDO_COMMAND", p.checker.display().to_string());
    run(&mut command, common::CHECKER_LIMIT)
}

fn with_dirs(verb: &str, state: &Path, rest: &[&str]) -> Vec<String> {
    let p = paths();
    let mut args = vec![
        verb.to_string(),
        "--rootfs".to_string(),
        p.rootfs.display().to_string(),
        "--state".to_string(),
        state.display().to_string(),
    ];
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

#[test]
fn through_sudo_the_checker_accepts_only_what_checking_needs() {
    if !is_root() {
        eprintln!("skipped: needs root (sudo's part)");
        return;
    }
    let p = paths();
    let scratch = own_dir("sudo", 0o700, 0);
    let mark = scratch.join("mark");
    let shell = format!("echo ran > {}", mark.display());
    let other = format!("01={}", std::env::current_exe().expect("me").display());
    let elsewhere = scratch.join("state");
    std::fs::create_dir_all(&elsewhere).expect("another state folder");
    let refused: Vec<(&str, Vec<String>)> = vec![
        (
            "a shell",
            with_dirs("run", &p.state, &["/bin/sh", "-c", &shell]),
        ),
        (
            "the checker itself",
            with_dirs(
                "run",
                &p.state,
                &[&p.checker.display().to_string(), "check"],
            ),
        ),
        ("another program", with_dirs("check", &p.state, &[&other])),
        (
            "another state folder",
            with_dirs("lab-up-down", &elsewhere, &[]),
        ),
        (
            "a verdicts file elsewhere",
            with_dirs(
                "check",
                &p.state,
                &[
                    "--verdicts",
                    &scratch.join("v").display().to_string(),
                    &p.target_arg("01", &common::step("01").decl.binary(true)),
                ],
            ),
        ),
    ];
    for (what, args) in refused {
        let ran = through_sudo(&args);
        assert!(
            ran.code == 2
                && ran.stderr.starts_with("checker: through sudo")
                && ran.stderr.trim().lines().count() == 1,
            "{what} must be refused in one line:\n{}",
            ran.describe()
        );
    }
    assert!(!mark.exists(), "the shell ran as root");
    // What checking needs still works: one check of step 01's solution.
    let ran = through_sudo(&with_dirs(
        "check",
        &p.state,
        &[
            "--only",
            common::step("01").checks[0].name,
            &p.target_arg("01", &common::step("01").decl.binary(true)),
        ],
    ));
    assert_eq!(ran.code, 0, "a check through sudo:\n{}", ran.describe());
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = scratch.parent().map(std::fs::remove_dir);
}
