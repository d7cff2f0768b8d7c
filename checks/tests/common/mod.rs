//! Shared by the integration tests: where the workspace, the binaries and the lab's files are,
//! the steps as declared, running the checker with a time limit, and reading its report.
//!
//! The binaries and the rootfs are prepared by `cargo xtask test` before it runs
//! `cargo test --workspace`; when something is missing, every test fails with one message
//! saying so.

// Each test file uses its own part of this module.
#![allow(dead_code)]

pub mod residue;
pub mod running;
pub mod variant;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// What to do when something the tests need is missing.
pub const PREPARE: &str = "run `cargo xtask test`: it builds the step binaries and the lab's \
                           rootfs, then runs these tests";

/// Every step, as its declaration (`steps/*/step.toml`) says, with the checks that judge it.
/// The tests iterate these; there is no table of steps of their own.
pub fn steps() -> &'static [checks::catalog::Step] {
    static STEPS: OnceLock<Vec<checks::catalog::Step>> = OnceLock::new();
    STEPS.get_or_init(|| {
        checks::catalog::steps(&root()).unwrap_or_else(|e| panic!("the steps' declarations: {e:#}"))
    })
}

/// Runs `one` for every declared step, two at a time (a check run is mostly waiting), and
/// fails with every step's failure at once.
pub fn for_every_step(one: fn(&'static checks::catalog::Step)) {
    let all = steps();
    assert!(!all.is_empty(), "no step is declared");
    let mut failures = Vec::new();
    for pair in all.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .map(|step| (step, thread::spawn(move || one(step))))
            .collect();
        for (step, handle) in handles {
            if let Err(panic) = handle.join() {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("step {}: {text}", step.decl.id));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The step with this id (`01`, `02-nft`).
pub fn step(id: &str) -> &'static checks::catalog::Step {
    steps()
        .iter()
        .find(|s| s.decl.id == id)
        .unwrap_or_else(|| panic!("no step {id} is declared (steps/*/step.toml)"))
}

/// The workspace root (nothing needs to be built for it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("checks/ has a parent")
        .to_path_buf()
}

/// Where things are.
pub struct Paths {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// Where cargo put the binaries (`target/debug`).
    pub bin_dir: PathBuf,
    /// The checker, as built for these tests.
    pub checker: PathBuf,
    /// The lab's busybox root filesystem.
    pub rootfs: PathBuf,
    /// The (empty) directory labs mount their private state on.
    pub state: PathBuf,
}

impl Paths {
    /// A binary in `target/debug`; panics with [`PREPARE`] when it has not been built.
    pub fn bin(&self, name: &str) -> PathBuf {
        let path = self.bin_dir.join(name);
        require(&path, "a binary the tests need");
        path
    }

    /// `NN=/abs/path/to/binary`, a checker target.
    pub fn target_arg(&self, step: &str, binary: &str) -> String {
        format!("{step}={}", self.bin(binary).display())
    }
}

fn require(path: &Path, what: &str) {
    if !path.exists() {
        panic!("{} ({what}) is missing: {PREPARE}", path.display());
    }
}

/// The paths, checked once: panics with [`PREPARE`] when the lab's files are missing.
pub fn paths() -> &'static Paths {
    static PATHS: OnceLock<Paths> = OnceLock::new();
    PATHS.get_or_init(|| {
        let root = root();
        // Cargo builds the checker for its own integration tests, into `<target>/debug`:
        // that also finds the target directory when CARGO_TARGET_DIR moves it.
        let checker = PathBuf::from(env!("CARGO_BIN_EXE_checker"));
        let bin_dir = checker
            .parent()
            .expect("the checker is in a directory")
            .to_path_buf();
        let target = bin_dir
            .parent()
            .map_or_else(|| root.join("target"), Path::to_path_buf);
        let netlab = target.join("netlab");
        let paths = Paths {
            rootfs: netlab.join("rootfs"),
            state: netlab.join("state"),
            root,
            target,
            bin_dir,
            checker,
        };
        require(&paths.checker, "the checker");
        require(&paths.rootfs.join("bin"), "the lab's busybox rootfs");
        require(&paths.state, "the labs' state directory");
        paths
    })
}

/// How a program ended, and what it printed.
#[derive(Debug)]
pub struct Ran {
    /// The exit status; 128 + the signal when killed.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Everything, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "exit status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Generous: a whole step's checks take well under a second, a hang 8 s.
pub const CHECKER_LIMIT: Duration = Duration::from_secs(120);

/// `checker run --rootfs R --state S /bin/sh -c SCRIPT`: a shell script on the host of a
/// fresh lab, not started.
pub fn lab_script(script: &str) -> Command {
    let p = paths();
    let mut command = Command::new(&p.checker);
    command
        .arg("run")
        .arg("--rootfs")
        .arg(&p.rootfs)
        .arg("--state")
        .arg(&p.state)
        .args(["/bin/sh", "-c", script]);
    command
}

/// `checker check --rootfs R --state S ARGS...`.
pub fn check(args: &[String]) -> Ran {
    check_in(&paths().state, args)
}

/// `checker check`, with its labs' state on `state`.
pub fn check_in(state: &Path, args: &[String]) -> Ran {
    let mut command = check_command(state, args);
    run(&mut command, CHECKER_LIMIT)
}

/// The command line of `checker check`, not started.
pub fn check_command(state: &Path, args: &[String]) -> Command {
    let p = paths();
    let mut command = Command::new(&p.checker);
    command
        .arg("check")
        .arg("--rootfs")
        .arg(&p.rootfs)
        .arg("--state")
        .arg(state)
        .args(args);
    command
}

/// Runs `command` (stdin closed) to its end; past `limit` it is killed and the test fails.
pub fn run(command: &mut Command, limit: Duration) -> Ran {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let ran = Ran {
        code: status.map_or(-1, code),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    if status.is_none() {
        panic!(
            "{shown} did not end within {limit:?}; it was killed\n{}",
            ran.describe()
        );
    }
    ran
}

/// An exit status as a shell shows it.
pub fn code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// One check's part of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `PASS`, `FAIL`, `TODO`, `HANG` or `LAB`.
    pub tag: String,
    /// `01.own-netns`.
    pub id: String,
    /// The indented lines under it.
    pub details: Vec<String>,
}

/// The checks of a text report, in order.
pub fn entries(report: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    // Checks are listed under a `step NN: title` line; another unindented line (the lab's
    // diagram after the failures, the summary) ends the list.
    let mut listing = false;
    for line in report.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            listing = line.starts_with("step ");
            continue;
        }
        if !listing {
            continue;
        }
        if let Some(detail) = line.strip_prefix("        ") {
            if let Some(entry) = entries.last_mut() {
                entry.details.push(detail.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("  ") {
            // `  TAG   ID  title`: the tag is four characters wide (`LAB ` included).
            let at = rest.char_indices().nth(4).map_or(rest.len(), |(i, _)| i);
            let (tag, rest) = rest.split_at(at);
            entries.push(Entry {
                tag: tag.trim().to_string(),
                id: rest.split_whitespace().next().unwrap_or("").to_string(),
                details: Vec::new(),
            });
        }
    }
    entries
}

/// The report's last line (`N passed, M failed`).
pub fn summary(report: &str) -> &str {
    report
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// The summary line a report of `passed` passes and `failed` failures ends with.
pub fn summary_of(passed: usize, failed: usize) -> String {
    format!("{passed} passed, {failed} failed")
}

/// Shell lines for a lab host: start container `c1` of the step binary `$BIN` in the background
/// with `run --name c1 RUN`, and wait until it runs. Then `$background` is the step binary and
/// `$pid_file` holds the container's PID.
pub fn start_c1(run: &str) -> String {
    format!(
        r#""$BIN" run --name c1 {run} &
background=$!
pid_file="$NETLAB_STATE/containers/c1/pid"
tries=0
until [ -s "$pid_file" ]; do
  if ! kill -0 $background 2>/dev/null || [ $tries -ge 800 ]; then
    echo 'the container c1 did not start' >&2; exit 1
  fi
  tries=$((tries + 1)); sleep 0.01
done
"#
    )
}

/// Asserts that the report `ran` of step `step` passes every one of its checks, in order;
/// `what` names what was checked (`the solution of step 02`).
pub fn assert_passes(step: &checks::catalog::Step, ran: &Ran, what: &str) {
    let count = step.checks.len();
    assert!(count > 0, "step {} has no checks", step.decl.id);
    assert_eq!(ran.code, 0, "{what} fails:\n{}", ran.describe());
    assert_eq!(
        summary(&ran.stdout),
        summary_of(count, 0),
        "{what}:\n{}",
        ran.describe()
    );
    let seen = entries(&ran.stdout);
    let ids: Vec<String> = step.checks.iter().map(|c| step.id(c)).collect();
    assert_eq!(
        seen.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        ids,
        "{what}:\n{}",
        ran.describe()
    );
    for entry in &seen {
        assert_eq!(
            entry.tag,
            "PASS",
            "{what}: {} did not pass:\n{}",
            entry.id,
            ran.describe()
        );
    }
}
