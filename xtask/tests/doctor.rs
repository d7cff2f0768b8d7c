//! `cargo xtask doctor`: the text form, and `--json` with every finding named. Run with the
//! checker `cargo xtask test` built (`--no-build`); what the machine lacks only changes the
//! statuses, so the tests look at the shape and at the agreement of both forms.

mod common;

use std::path::PathBuf;
use std::process::Output;

fn target() -> PathBuf {
    common::built_target(&["debug/checker"])
}

fn doctor(args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::cargo::cargo_bin_cmd!("xtask");
    command
        .arg("doctor")
        .args(args)
        .env("CARGO_TARGET_DIR", target());
    command
}

fn run(args: &[&str]) -> Output {
    doctor(args).output().expect("running xtask doctor")
}

const NAMES: [&str; 15] = [
    "iproute2",
    "nsenter",
    "iptables",
    "busybox",
    "runc",
    "go/libcni",
    "cni plugins",
    "user namespaces",
    "kernel module veth",
    "kernel module bridge",
    "kernel module br_netfilter",
    "kernel module nf_nat",
    "platform",
    "lab",
    "iptables backend",
];

#[test]
fn json_names_every_finding_and_agrees_with_the_text() {
    let output = run(&["--json", "--no-build"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    let ready = report["ready"].as_bool().expect("ready is a bool");
    let findings = report["findings"].as_array().expect("findings is an array");
    let names: Vec<&str> = findings.iter().filter_map(|f| f["name"].as_str()).collect();
    for name in NAMES {
        // "iptables backend" comes from inside the lab: only when the lab starts.
        if name == "iptables backend" && !names.contains(&"veth pairs") {
            continue;
        }
        assert!(names.contains(&name), "no {name:?} in {names:?}");
    }
    for f in findings {
        let status = f["status"].as_str().unwrap_or("");
        assert!(["ok", "warn", "fail"].contains(&status), "{f}");
        assert!(f["seen"].is_string() && f["fix"].is_string(), "{f}");
        if status == "fail" {
            assert!(
                !f["fix"].as_str().unwrap_or("").is_empty(),
                "a fail names its fix: {f}"
            );
        }
    }
    let failed = findings.iter().any(|f| f["status"] == "fail");
    assert_eq!(ready, !failed, "{stdout}");
    assert_eq!(output.status.code(), Some(if ready { 0 } else { 1 }));

    let text = run(&["--no-build"]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), output.status.code(), "{out}");
    for name in NAMES.iter().filter(|n| names.contains(n)) {
        assert!(out.contains(name), "no {name:?} in {out}");
    }
    assert!(
        out.contains(if ready {
            "This machine is ready for the workshop."
        } else {
            "Fix the FAIL lines above"
        }),
        "{out}"
    );
}

/// The platform line names where doctor runs. The variables a devcontainer's starter sets
/// (`container`, `REMOTE_CONTAINERS`, `CODESPACES`) are facts it reads, so each case can be
/// run here; the files it also reads (WSL's, Lima's) are covered by the unit tests.
#[test]
fn the_platform_line_names_where_it_runs() {
    let platform = |envs: &[(&str, &str)]| {
        let mut command = doctor(&["--json", "--no-build"]);
        for (name, value) in envs {
            command.env(name, value);
        }
        let output = command.output().expect("running xtask doctor");
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("doctor --json answers JSON");
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        let found = findings
            .into_iter()
            .find(|f| f["name"] == "platform")
            .unwrap_or_else(|| panic!("no platform finding: {report}"));
        found["seen"].as_str().unwrap_or("").to_string()
    };
    let here = platform(&[]);
    assert!(
        [
            "Linux, native",
            "WSL",
            "a Lima VM",
            "a container",
            "a VS Code",
            "a GitHub"
        ]
        .iter()
        .any(|p| here.starts_with(p)),
        "{here}"
    );
    let vscode = platform(&[("container", "podman"), ("REMOTE_CONTAINERS", "true")]);
    assert!(
        vscode.starts_with("a VS Code devcontainer (podman)"),
        "{vscode}"
    );
    let codespace = platform(&[("container", "docker"), ("CODESPACES", "true")]);
    assert!(
        codespace.starts_with("a GitHub Codespace (a container)"),
        "{codespace}"
    );

    // The text form: the same line, its fix under it when it has a trap.
    let text = doctor(&["--no-build"])
        .env("container", "podman")
        .output()
        .expect("running xtask doctor");
    let out = String::from_utf8_lossy(&text.stdout);
    let line = out
        .lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with("platform")))
        .unwrap_or_else(|| panic!("no platform line in {out}"));
    assert!(line.contains("a container (podman)"), "{line}");
}

#[test]
fn bad_arguments_get_one_line() {
    common::refused(
        &mut doctor(&["--frob"]),
        "unknown option --frob (cargo xtask doctor --help)",
    );
    common::refused(
        &mut doctor(&["01"]),
        "unexpected argument 01: doctor takes no step",
    );
}

/// Debian's busybox 1.35 segfaults on `wget -T` (doctor warns of it): no check, lesson, hint
/// or solution may use it. A line that warns of it (says it crashes) is not a use.
#[test]
fn nothing_uses_wget_t() {
    fn files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
                files(&path, out);
            } else if path
                .extension()
                .is_some_and(|e| ["rs", "md", "toml", "sh"].iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
    }
    let root = common::workspace();
    let mut all = Vec::new();
    for dir in [
        "checks",
        "steps",
        "solutions",
        "adapters",
        "book",
        "lab",
        "container",
    ] {
        files(&root.join(dir), &mut all);
    }
    assert!(!all.is_empty());
    for file in all {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let Some(at) = line.find("wget") else {
                continue;
            };
            let uses_t = line[at..]
                .split_whitespace()
                .any(|w| w == "-T" || w.starts_with("-T"));
            assert!(
                !uses_t || line.contains("crash"),
                "{}:{}: wget -T crashes Debian's busybox 1.35: {line}",
                file.display(),
                n + 1
            );
        }
    }
}
