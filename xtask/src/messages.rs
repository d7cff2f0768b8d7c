//! Texts shown to the user, kept apart from the logic.

/// `step 03's containers take no -p (only step 06's do)`: from the steps' `run-options`.
pub fn run_option_not_taken(step: &str, option: &str, takers: &[&str]) -> String {
    let which = match takers {
        [] => "no step's do".to_string(),
        [one] => format!("only step {one}'s do"),
        [rest @ .., last] => format!("only steps {} and {last}'s do", rest.join(", ")),
    };
    format!("step {step}'s containers take no {option} ({which})")
}

pub const WATCH_KEYS: &str = "keys: h (or n) next hint level, q quit";

pub fn watch_header(step: &str, run: u32, clock: &str, dir: &str, solution: bool) -> String {
    let whose = if solution {
        "the solution"
    } else {
        "your code"
    };
    format!("netlab watch · step {step} · run #{run} at {clock} UTC · {whose} in {dir}")
}

pub fn watch_saved(file: &str) -> String {
    format!("(after a save of {file})")
}

pub fn watch_passed(step: &str) -> String {
    format!("step {step} passed, and that is recorded: `cargo xtask solution {step}` compares yours with the solution; q quits")
}

pub const WATCH_SOLUTION_PASSED: &str =
    "the solution passes (nothing recorded: it is not your code)";

pub fn watch_next_hint(level: usize, levels: usize, title: &str) -> String {
    format!("next hint: level {level} of {levels} ({title}): press h")
}

pub fn watch_all_hints_read(step: &str, levels: usize) -> String {
    format!("all {levels} hint levels read (h shows the last again; `cargo xtask hint {step} --all` shows them all)")
}

pub fn watch_footer(dir: &str, keys: bool) -> String {
    if keys {
        format!("watching {dir}/src and Cargo.toml: save to check again · h: next hint · q: quit")
    } else {
        format!("watching {dir}/src and Cargo.toml: save to check again · Ctrl-C quits (stdin has ended)")
    }
}

pub const WATCH_POLLING_ASKED: &str = "polling the files every 0.5 s (--poll)";

pub const WATCH_POLLING_FALLBACK: &str = "file events do not arrive here (WSL2 under /mnt, or a network filesystem?): polling the files every 0.5 s instead";

pub fn reset_question(src: &str) -> String {
    format!("Reset {src} to its original TODOs? Your changes there are lost. [y/N] ")
}

pub fn reset_needs_yes(step: &str) -> String {
    format!("reset throws your changes away and cannot ask here (stdin is not a terminal): run `cargo xtask reset {step} --yes`")
}

pub const RESET_NO_GIT: &str =
    "reset needs git to restore the original files, and git is not installed";

pub fn reset_not_git(root: &std::path::Path) -> String {
    format!(
        "{} is not a git checkout: reset restores the files from git, so it cannot here",
        root.display()
    )
}

pub fn solution_not_passed(step: &str) -> String {
    format!(
        "step {step} has not passed yet: `cargo xtask check {step}` first, or --force to look anyway"
    )
}

pub const BOOK_TITLE: &str = "netlab: container networking from scratch, in Rust";

pub const BOOK_PORT_WITHOUT_SERVE: &str =
    "--port is for --serve: cargo xtask book --serve --port N";

pub fn mdbook_missing() -> String {
    format!(
        "mdbook is not installed: run `scripts/install-deps --dev` (or `cargo install mdbook \
         --locked --version {} --no-default-features`)",
        crate::book::MDBOOK_VERSION
    )
}

pub fn mdbook_other_version(found: &str) -> String {
    format!(
        "xtask: warning: mdbook {found} found, the book is made with {}: `scripts/install-deps --dev` installs it",
        crate::book::MDBOOK_VERSION
    )
}

pub fn book_built(index: &std::path::Path) -> String {
    format!("the book is in {}", index.display())
}

pub fn book_serving(address: &str) -> String {
    format!("serving the book on http://{address}/ (Ctrl-C stops)")
}

pub fn book_port_in_use(port: u16) -> String {
    format!("port {port} is in use: pick another with --port N (0 takes any free port)")
}

pub fn book_hints_intro(number: &str) -> String {
    format!(
        "Open them one at a time, and only when stuck. In the terminal, `cargo xtask hint {number}` \
         shows the next level each time you run it."
    )
}

/// `lab`'s banner, once c1 runs; `pid` is a shell expression for its PID.
pub fn lab_c1_runs(binary: &str, pid: &str) -> String {
    format!("lab: container c1 of {binary} runs (PID {pid}); enter it with: enter c1 (nsenter into its namespaces, its shell without job control)")
}

pub const LAB_HOST: &str = "lab: this shell is the lab host; exit ends the lab; `cargo xtask show` in another terminal draws it";

/// `lab --sudo`: the lab's shell would be root's, and the checker refuses shells through sudo.
pub const LAB_NO_SUDO: &str = "lab: not through sudo: its shell on the lab host would be a root \
shell, and the checker starts none through sudo (a sudoers rule for it must not grant root); \
allow user namespaces instead (`cargo xtask doctor` says how), or use `cargo xtask run NN --sudo`";

/// c1 ended before it ran (its own lines, as `run` prints them, are above).
pub fn lab_c1_failed(binary: &str) -> String {
    format!("lab: container c1 of {binary} did not start (its messages are above); the lab ends")
}

pub fn lab_c1_slow(binary: &str, secs: u32) -> String {
    format!("lab: container c1 of {binary} did not start within {secs} s (its messages so far are above); the lab ends")
}

/// `status` when every step from the one last worked on passed, and earlier ones did not.
pub fn status_only_before(last: &str, open: &[&str]) -> String {
    let first = open.first().copied().unwrap_or_default();
    format!(
        "every step from {last} (the last checked) on passed; not passed yet: {}: cargo xtask check {first}",
        open.join(", ")
    )
}

/// After the checker was killed by `signal` (`SIGKILL`): what became of its labs.
pub fn checker_killed(signal: &str, killed: usize) -> String {
    let left = match killed {
        0 => "nothing is left".to_string(),
        n => format!("{n} process(es) it left were killed, nothing is left"),
    };
    format!("xtask: the checker was killed ({signal}); its labs ended with it, {left}")
}
