//! `cargo xtask`'s command line: every verb answers --help with its flags; bad input gets one
//! clear line and exit status 2, never a panic. These run the xtask binary against a scratch
//! copy of the workshop (`NETLAB_ROOT`), so the real progress file is never touched.

mod common;

use common::{one_line, refused, scratch, workspace, xtask};
use predicates::prelude::*;
use std::path::Path;
use std::process::{Command, Stdio};

/// Every verb and the options it takes: a verb or a flag that goes missing fails here.
const VERBS: &[(&str, &[&str])] = &[
    ("check", &["--solution", "--sudo", "--no-build", "--json"]),
    ("watch", &["--solution", "--poll", "--no-build"]),
    ("hint", &["--level", "--all"]),
    (
        "run",
        &[
            "--solution",
            "--sudo",
            "--profile",
            "--name",
            "-p",
            "--publish",
        ],
    ),
    ("lab", &["--solution", "--sudo"]),
    ("show", &["--lab", "--sudo", "--no-build"]),
    (
        "trace",
        &["--from", "--to", "--lab", "--sudo", "--no-build"],
    ),
    ("doctor", &["--json", "--no-build"]),
    ("test", &["CARGO TEST ARGS"]),
    ("bench", &["--runs", "--step"]),
    ("status", &[]),
    ("reset", &["--yes", "-y"]),
    ("solution", &["--force"]),
    ("book", &["--serve", "--port"]),
    ("kit", &["--output", "--force"]),
    ("new-step", &["--title"]),
];

fn stdout(command: &mut assert_cmd::Command) -> String {
    let output = command.assert().success().get_output().stdout.clone();
    String::from_utf8(output).expect("UTF-8")
}

/// The verbs, as the unknown-verb message lists them.
fn listed_verbs(root: &Path) -> Vec<String> {
    let output = xtask(root).arg("frobnicate").assert().code(2);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    let list = stderr
        .split("use one of ")
        .nth(1)
        .and_then(|rest| rest.split(" (").next())
        .unwrap_or_else(|| panic!("no verb list in {stderr:?}"));
    list.split(", ").map(str::to_string).collect()
}

#[test]
fn unknown_verb_lists_the_verbs() {
    let root = scratch("verb");
    refused(
        xtask(&root).arg("frobnicate"),
        "xtask: unknown verb 'frobnicate': use one of check, watch, hint, run, lab, show, \
         trace, doctor, test, bench, status, reset, solution, book, kit, new-step (cargo xtask --help)",
    );
    let names: Vec<&str> = VERBS.iter().map(|(verb, _)| *verb).collect();
    assert_eq!(listed_verbs(&root), names);
    // The internal verb is not offered.
    assert!(!stdout(&mut xtask(&root)).contains("bench-lab"));
}

#[test]
fn every_verb_answers_help_with_its_flags() {
    let root = scratch("help");
    let usage = stdout(xtask(&root).arg("--help"));
    for (verb, flags) in VERBS {
        for help in ["--help", "-h"] {
            let out = stdout(xtask(&root).args([verb, help]));
            assert!(
                out.starts_with(&format!("cargo xtask {verb}")),
                "{verb} {help}: {out}"
            );
            for flag in *flags {
                assert!(
                    out.contains(flag),
                    "{verb} {help} does not name {flag}: {out}"
                );
            }
        }
        let long = stdout(xtask(&root).args([verb, "--help"]));
        let short = stdout(xtask(&root).args([verb, "-h"]));
        assert!(
            long.len() > short.len(),
            "{verb}: --help explains more than -h"
        );
        assert_eq!(
            stdout(xtask(&root).args(["help", verb])),
            long,
            "help {verb}"
        );
        assert!(
            usage.contains(&format!("\n  {verb} ")) || usage.contains(&format!("\n  {verb}\n")),
            "{verb} is not in the usage: {usage}"
        );
    }
    for synopsis in [
        "status",
        "reset NN [--yes]",
        "solution NN [--force]",
        "watch NN",
        "doctor [--json]",
        "show [--lab PID]",
        "book [--serve] [--port N]",
    ] {
        assert!(usage.contains(synopsis), "{usage}");
    }
    // `cargo xtask` alone prints the help, as does `help`.
    assert_eq!(stdout(&mut xtask(&root)), usage);
    assert_eq!(stdout(xtask(&root).arg("help")), usage);
    assert_eq!(stdout(xtask(&root).arg("-h")), usage);
}

/// README.md's Commands section names real verbs and options.
#[test]
fn the_readme_commands_are_true() {
    let root = scratch("readme");
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let section = readme
        .split("## Commands")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("a Commands section with a text block");
    let mut verbs = Vec::new();
    for line in section.lines() {
        let synopsis = line.split("   ").next().unwrap_or_default();
        let mut words = synopsis.split_whitespace();
        assert_eq!(words.next(), Some("cargo"), "{line}");
        assert_eq!(words.next(), Some("xtask"), "{line}");
        let verb = words.next().expect("a verb");
        let help = stdout(xtask(&root).args([verb, "--help"]));
        for option in words.map(|w| w.trim_matches(['[', ']', '.'])) {
            if option.starts_with('-') && option != "--" {
                assert!(help.contains(option), "{verb} has no {option}: {help}");
            }
        }
        verbs.push(verb);
    }
    let names: Vec<&str> = VERBS.iter().map(|(verb, _)| *verb).collect();
    assert_eq!(verbs, names, "README.md lists every verb, in order");
}

#[test]
fn bad_input_to_every_verb_is_one_line() {
    let root = scratch("bad-input");
    for (verb, flags) in VERBS {
        // An option close to --frob is offered instead.
        let close = if flags.contains(&"--from") {
            ": did you mean --from?"
        } else {
            ""
        };
        refused(
            xtask(&root).args([verb, "--frob"]),
            &format!("xtask: unknown option --frob{close} (cargo xtask {verb} --help)"),
        );
    }
    let cases: &[(&[&str], &str)] = &[
        (&["check"], "which step? give its number, for example 01"),
        (
            &["check", "01", "02"],
            "unexpected argument 02: check takes one step",
        ),
        (&["check", "01", "--solutoin"], "did you mean --solution?"),
        (&["watch", "01", "02"], "watch takes one step"),
        (
            &["hint", "01", "--level", "x"],
            "--level takes a number, not 'x'",
        ),
        (&["hint", "01", "--level"], "--level needs a number"),
        (
            &["hint", "01", "--level", "1", "--all"],
            "do not go together",
        ),
        (&["run"], "which step?"),
        (
            &["run", "01", "--name"],
            "--name needs a value: --name NAME",
        ),
        (
            &["run", "01", "-p"],
            "-p needs a value: -p HOSTPORT:CONTAINERPORT",
        ),
        (&["lab", "01", "02"], "lab takes one step"),
        (&["lab", "05", "--sudo"], "lab: not through sudo"),
        (
            &["show", "--lab", "me"],
            "--lab takes the PID of a lab, not 'me'",
        ),
        (
            &["show", "05"],
            "unexpected argument 05: show takes no step",
        ),
        (
            &["trace", "--to", "c2"],
            "xtask: missing --from WHERE (cargo xtask trace --help)",
        ),
        (&["trace", "--from", "c1"], "missing --to WHERE"),
        (
            &["trace", "--from", "10.0.0.2", "--to", "c2"],
            "--from takes host, internet or a running container's name (c1), not '10.0.0.2'",
        ),
        (
            &["trace", "--from", "c1", "--to", "203.0.113.80:http"],
            "--to takes ADDRESS[:PORT] or CONTAINER[:PORT] (203.0.113.80:80, c2, \
             203.0.113.53:53/udp), not '203.0.113.80:http': the port is a number from 1 to 65535",
        ),
        (
            &["trace", "--from", "c1", "--to", "10.0.0:80"],
            "not an IPv4 address",
        ),
        (
            &["trace", "--from", "c1", "--to", "c2", "05"],
            "unexpected argument 05",
        ),
        (
            &["doctor", "01"],
            "unexpected argument 01: doctor takes no step",
        ),
        (&["test", "foo"], "cargo xtask test -- foo"),
        (
            &["bench", "--runs", "many"],
            "--runs takes a number, not 'many'",
        ),
        // Refused before anything is built.
        (&["bench", "--step", "42"], "unknown step '42'"),
        (
            &["status", "01"],
            "unexpected argument 01: status takes no step",
        ),
        (&["reset", "01", "02"], "reset takes one step"),
        (&["solution"], "which step?"),
        (
            &["book", "--port", "x"],
            "--port takes a port number from 0 to 65535, not x",
        ),
        (&["book", "--port", "3000"], "--port is for --serve"),
        (&["help", "frob"], "unknown verb 'frob'"),
        (
            &["new-step"],
            "missing NN-slug: the new step's folder (for example 07-pod)",
        ),
        (&["new-step", "07-a", "07-b"], "unexpected argument 07-b"),
    ];
    for (args, words) in cases {
        refused(xtask(&root).args(*args), words);
    }
}

#[test]
fn unknown_step_lists_the_steps() {
    let root = scratch("step");
    refused(
        xtask(&root).args(["check", "42"]),
        "unknown step '42': the steps are 01, all",
    );
    refused(xtask(&root).args(["hint", "07"]), "unknown step '07'");
    refused(
        xtask(&root).args(["run", "01-nope"]),
        "unknown step '01-nope'",
    );
    // A variant's id is a step id like any other: none is declared here.
    refused(
        xtask(&root).args(["check", "02-nft"]),
        "xtask: unknown step '02-nft': the steps are 01, all",
    );
}

#[test]
fn run_takes_only_the_options_the_step_declares() {
    let steps = workshop::steps(&workspace()).expect("the workshop's steps");
    let takes_p = |id: &str| {
        steps
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no step {id}"))
            .run_options
            .iter()
            .any(|o| o == "-p")
    };
    assert!(!takes_p("03"), "step 03's step.toml declares -p");
    let takers: Vec<&str> = steps
        .iter()
        .filter(|s| takes_p(&s.id))
        .map(|s| s.id.as_str())
        .collect();
    let only = match takers.as_slice() {
        [] => panic!("no step takes -p"),
        [one] => format!("only step {one}'s do"),
        [rest @ .., last] => format!("only steps {} and {last}'s do", rest.join(", ")),
    };
    // Refused before anything is built: there is no cargo to build with.
    assert_cmd::cargo::cargo_bin_cmd!("xtask")
        .args(["run", "03", "-p", "8080:80"])
        .env("CARGO", "/nonexistent/cargo")
        .assert()
        .code(2)
        .stderr(format!("xtask: step 03's containers take no -p ({only})\n"));
}

#[test]
fn a_command_without_double_dash_says_where_it_goes() {
    assert_cmd::cargo::cargo_bin_cmd!("xtask")
        .args(["run", "02", "ip", "addr"])
        .env("CARGO", "/nonexistent/cargo")
        .assert()
        .code(2)
        .stderr(
            "xtask: unexpected argument 'ip': put the container's command after --: \
             cargo xtask run 02 -- ip addr\n",
        );
    let root = scratch("double-dash");
    refused(
        xtask(&root).args(["run", "01", "--solution", "sh", "-c", "echo it's"]),
        "cargo xtask run 01 --solution -- sh -c 'echo it'\\''s'",
    );
}

#[test]
fn an_unknown_profile_is_refused_before_anything_is_built() {
    let root = scratch("profile");
    let target = root.join("target");
    refused(
        xtask(&root)
            .args(["run", "01", "--profile", "nonsense"])
            .env("CARGO", "/nonexistent/cargo")
            .env("CARGO_TARGET_DIR", &target),
        "--profile takes fresh, docker-host, stub-resolver-only, dnsmasq-host, \
         real-nameservers or no-default-route, not 'nonsense' (cargo xtask run --help)",
    );
    assert!(!target.exists(), "nothing was built or prepared");
}

#[test]
fn missing_or_unknown_arguments() {
    let root = scratch("args");
    refused(
        xtask(&root).args(["hint", "01", "--level", "9"]),
        "hint levels 1 to 3",
    );
}

#[test]
fn hints_come_one_level_at_a_time_and_are_remembered() {
    let root = scratch("hints");
    for (level, title) in [(1, "concept"), (2, "command"), (3, "code"), (3, "code")] {
        xtask(&root)
            .args(["hint", "01"])
            .assert()
            .success()
            .stdout(predicate::str::starts_with(format!(
                "step 01 · hint {level} of 3 · {title}"
            )));
    }
    let progress = std::fs::read_to_string(root.join(".netlab-progress")).unwrap();
    assert!(progress.contains("01 hint=3"), "{progress}");
}

#[test]
fn a_corrupt_progress_file_is_named() {
    let root = scratch("corrupt");
    std::fs::write(root.join(".netlab-progress"), "this is not progress\n").unwrap();
    refused(xtask(&root).args(["hint", "01"]), ".netlab-progress line 1");
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn status_lists_the_steps_and_what_is_next() {
    let root = scratch("status");
    let out = stdout(xtask(&root).arg("status"));
    assert!(out.contains("01    the network namespace"), "{out}");
    assert!(!out.contains("Step 01:"), "{out}");
    assert!(out.contains("0 of 3"), "{out}");
    assert!(out.contains("next: step 01"), "{out}");

    std::fs::write(
        root.join(".netlab-progress"),
        "# mine\n01 hint=2 passed=2026-01-02 03:04\n",
    )
    .unwrap();
    let out = stdout(xtask(&root).arg("status"));
    assert!(out.contains("yes 2026-01-02 03:04"), "{out}");
    assert!(out.contains("2 of 3"), "{out}");
    assert!(out.contains("all steps passed (1 of 1)"), "{out}");
    assert!(!out.contains("next:"), "{out}");

    std::fs::write(root.join(".netlab-progress"), "this is not progress\n").unwrap();
    refused(xtask(&root).arg("status"), ".netlab-progress line 1");
}

/// A scratch workshop with every step's declaration (the real ones), beside step 01's files.
fn scratch_all_steps(name: &str) -> std::path::PathBuf {
    let root = scratch(name);
    for entry in std::fs::read_dir(workspace().join("steps")).unwrap() {
        let dir = entry.unwrap().path();
        let declaration = dir.join("step.toml");
        if declaration.is_file() {
            let to = root.join("steps").join(dir.file_name().unwrap());
            std::fs::create_dir_all(&to).unwrap();
            std::fs::copy(&declaration, to.join("step.toml")).unwrap();
        }
    }
    root
}

#[test]
fn status_follows_the_last_verdict() {
    let root = scratch_all_steps("status-verdicts");
    let status = |progress: &str| {
        std::fs::write(root.join(".netlab-progress"), progress).unwrap();
        stdout(xtask(&root).arg("status"))
    };
    // 03 passed, then failed: it is not passed, and it is next.
    let out = status(
        "01 hint=0 passed=2026-01-02 03:00:00\n02 hint=0 passed=2026-01-02 03:10:00\n\
         03 hint=1 failed=2026-01-02 03:30:00\n",
    );
    assert!(out.contains("no 2026-01-02 03:30:00"), "{out}");
    assert!(!out.contains("yes 2026-01-02 03:3"), "{out}");
    assert!(out.contains("next: step 03 "), "{out}");
    // 04 passed last: next is 05, not 01 (which has no verdict).
    let out = status("04 hint=0 passed=2026-01-02 04:00:00\n");
    assert!(out.contains("next: step 05 "), "{out}");
    // 04 to the last step passed, the last one last: what is left comes before; it is
    // named, not called next.
    let last: u32 = std::fs::read_dir(workspace().join("steps"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.get(..2)?.parse().ok())
        .max()
        .unwrap();
    let progress: String = (4..=last)
        .map(|n| format!("{n:02} hint=0 passed=2026-01-02 {n:02}:00:00\n"))
        .collect();
    let out = status(&progress);
    assert!(!out.contains("next: step 01"), "{out}");
    assert!(
        out.contains(&format!(
            "every step from {last:02} (the last checked) on passed; not passed yet: 01, 02, \
             03: cargo xtask check 01"
        )),
        "{out}"
    );
    // Several verdicts at once (`check all`): the last step's counts as last.
    let out =
        status("01 hint=0 passed=2026-01-02 04:00:00\n02 hint=0 failed=2026-01-02 04:00:00\n");
    assert!(out.contains("next: step 02 "), "{out}");
    // A failed= and an unknown word are told apart.
    refused(
        xtask(&root).arg("status").env("NETLAB_ROOT", {
            std::fs::write(root.join(".netlab-progress"), "01 hint=0 flunked=now\n").unwrap();
            &root
        }),
        ".netlab-progress line 1",
    );
}

#[test]
fn reset_restores_the_committed_file() {
    let root = scratch("reset");
    let file = root.join("steps/01-netns/src/netns.rs");
    let original = std::fs::read_to_string(&file).unwrap();
    refused(
        xtask(&root).args(["reset", "01", "--yes"]),
        "not a git checkout",
    );

    git(&root, &["init", "-q"]);
    git(&root, &["add", "."]);
    git(&root, &["commit", "-q", "-m", "workshop"]);
    std::fs::write(&file, "my attempt\n").unwrap();

    refused(xtask(&root).args(["reset", "42"]), "unknown step '42'");
    refused(xtask(&root).args(["reset", "all"]), "one step, not all");
    refused(xtask(&root).arg("reset"), "which step?");
    // Its stdin is a pipe (assert_cmd's), not a terminal: it cannot ask.
    refused(xtask(&root).args(["reset", "01"]), "--yes");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "my attempt\n");

    xtask(&root)
        .args(["reset", "01", "-y"])
        .assert()
        .success()
        .stdout(predicate::str::contains("steps/01-netns/src"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

#[test]
fn solution_only_once_passed() {
    let root = scratch("solution");
    refused(
        xtask(&root).args(["solution", "01"]),
        "step 01 has not passed yet: `cargo xtask check 01` first, or --force to look anyway",
    );
    refused(xtask(&root).args(["solution", "42"]), "unknown step '42'");
    refused(xtask(&root).args(["solution", "all"]), "one step, not all");

    std::fs::write(
        root.join(".netlab-progress"),
        "01 hint=0 passed=2026-01-02 03:04\n",
    )
    .unwrap();
    let out = stdout(xtask(&root).args(["solution", "01"]));
    assert!(
        out.contains("==> solutions/01-netns/src/netns.rs <=="),
        "{out}"
    );
    assert!(out.contains("CLONE_NEWNET"), "{out}");
    assert!(!out.contains("src/main.rs"), "{out}");
    assert!(out.contains("+++ "), "a diff: {out}");
    assert!(out.contains("-    todo!"), "a diff from the TODOs: {out}");

    std::fs::write(root.join(".netlab-progress"), "").unwrap();
    let forced = stdout(xtask(&root).args(["solution", "01", "--force"]));
    assert!(forced.contains("CLONE_NEWNET"), "{forced}");
}

#[test]
fn trace_without_a_lab_says_so_in_one_line() {
    let root = scratch("trace");
    let built = Path::new(env!("CARGO_BIN_EXE_xtask")).with_file_name("checker");
    assert!(
        built.exists(),
        "{} is missing: run `cargo xtask test`, which builds it first",
        built.display()
    );
    let target = root.join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::os::unix::fs::symlink(&built, target.join("debug/checker")).unwrap();
    xtask(&root)
        .args([
            "trace",
            "--from",
            "c1",
            "--to",
            "203.0.113.80:80",
            "--no-build",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .assert()
        .code(1)
        .stdout("")
        .stderr("no lab is running: start one with `cargo xtask lab 01`\n");
}

#[test]
fn show_without_a_lab_says_so_in_one_line() {
    let root = scratch("show");
    // The checker as built for the workspace, in the scratch copy's target directory: the
    // registry `show` reads (target/netlab/labs) is the scratch copy's, empty.
    let built = Path::new(env!("CARGO_BIN_EXE_xtask")).with_file_name("checker");
    assert!(
        built.exists(),
        "{} is missing: run `cargo xtask test`, which builds it first",
        built.display()
    );
    let target = root.join("target");
    std::fs::create_dir_all(target.join("debug")).unwrap();
    std::os::unix::fs::symlink(&built, target.join("debug/checker")).unwrap();
    xtask(&root)
        .args(["show", "--no-build"])
        .env("CARGO_TARGET_DIR", &target)
        .assert()
        .code(1)
        .stdout("")
        .stderr("no lab is running: start one with `cargo xtask lab 01`\n")
        .stderr(one_line("no lab is running"));
    // The lab it suggests is the learner's step's, as `status` names it.
    let root = scratch_all_steps("show-step");
    for (progress, step) in [
        ("04 hint=0 passed=2026-01-02 04:00:00\n", "05"),
        (
            "04 hint=0 passed=2026-01-02 04:00:00\n03 hint=0 failed=2026-01-02 05:00:00\n",
            "03",
        ),
    ] {
        std::fs::write(root.join(".netlab-progress"), progress).unwrap();
        xtask(&root)
            .args(["show", "--no-build"])
            .env("CARGO_TARGET_DIR", &target)
            .assert()
            .code(1)
            .stderr(format!(
                "no lab is running: start one with `cargo xtask lab {step}`\n"
            ));
    }
    std::fs::write(root.join(".netlab-progress"), "garbage\n").unwrap();
    refused(
        xtask(&root)
            .args(["show", "--no-build"])
            .env("CARGO_TARGET_DIR", &target),
        ".netlab-progress line 1",
    );
}
