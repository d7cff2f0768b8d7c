//! Texts shown to the user, kept apart from the logic.

pub const USAGE: &str = "\
cargo xtask <verb> [options]

  check NN|all [--solution] [--sudo]   run a step's checks in a throwaway lab
  watch NN [--solution] [--poll]       check the step again at each save; h: hint, q: quit
  hint NN [--level N | --all]          show the next hint for a step
  run NN [--solution] [--profile P] [-p H:C] [-- CMD...]
                                       start the step's container in a fresh lab
  lab [NN] [--solution]                a shell on a fresh lab host (with NN's container running)
  show [--lab PID]                     draw a running lab (from another terminal)
  doctor [--json]                      check this machine for everything the workshop needs
  test                                 the workshop's own tests
  bench                                timings: lab up and down, checking a step
  status                               every step: passed or not, hints seen, what is next
  reset NN [--yes]                     put a step's source file(s) back to their original TODOs
  solution NN [--force]                the step's solution and its diff from yours (once passed)
  book [--serve] [--port N]            the lessons as a book (target/book), served on 127.0.0.1

Each verb takes --help.
";

pub const VERBS: &str =
    "check, watch, hint, run, lab, show, doctor, test, bench, status, reset, solution, book";

pub fn unknown_verb(verb: &str) -> String {
    format!("unknown verb '{verb}': use one of {VERBS} (cargo xtask --help)")
}

pub const CHECK_USAGE: &str = "\
cargo xtask check NN|all [--solution] [--sudo] [--no-build] [--json]
  Builds step NN (yours, or its solution with --solution) and runs its checks, each in a
  throwaway lab. `all` checks every step.
  --sudo       run only the check runner through sudo (when user namespaces are not allowed)
  --no-build   use the binaries already built (facilitators preparing many machines)
  --json       machine-readable results
";

pub const WATCH_USAGE: &str = "\
cargo xtask watch NN [--solution] [--poll] [--no-build]
  Checks step NN, then again each time you save one of its files (steps/NN-*/src/**,
  Cargo.toml; the solution's with --solution): clears the screen, shows the report and the
  next hint to read. Keys: h (or n) shows the next hint level, q quits (so does Ctrl-C).
  --poll       compare the files' modification times every 0.5 s instead of waiting for file
               events; chosen by itself when events do not arrive (WSL2 under /mnt, network
               filesystems). NETLAB_WATCH_NO_EVENTS=1 pretends they do not (for tests).
  --no-build   use the binaries already built (no cargo build before each run)
";

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

pub const HINT_USAGE: &str = "\
cargo xtask hint NN [--level N | --all]
  Shows the next hint level for step NN each time you ask (concept, command, code).
";

pub const RUN_USAGE: &str = "\
cargo xtask run NN [--solution] [--profile fresh|docker-host] [--name NAME]
                   [-p HOSTPORT:CONTAINERPORT[/udp]]... [-- CMD ARGS...]
  Starts step NN's container in a fresh lab, with a busybox shell (or CMD). Leave with `exit`:
  the lab vanishes with it. -p publishes a port of the container (step 06 and later).
  `cargo xtask show`, in another terminal, draws the lab.
";

pub const LAB_USAGE: &str = "\
cargo xtask lab [NN] [--solution]
  Opens a shell on the host of a fresh lab (`lab#`), with the step binaries on PATH. With NN,
  a container `c1` of that step already runs in the background. `exit` ends the lab.
  `cargo xtask show`, in another terminal, draws the lab.
";

pub const SHOW_USAGE: &str = "\
cargo xtask show [--lab PID] [--sudo] [--no-build]
  Draws a running lab, opened with `cargo xtask lab [NN]` or `cargo xtask run NN` in another
  terminal, from its real state: the lab host, the internet and each running container; their
  links (veth pairs matched by ifindex and link-netnsid, bridge ports under their bridge),
  addresses, routes, and the lab host's NAT rules. Only looks: nothing in the lab changes.
  --lab PID    which lab, when several run (show lists them)
  --sudo       for a lab started with --sudo
  --no-build   use the checker already built
";

pub const DOCTOR_USAGE: &str = "\
cargo xtask doctor [--json] [--no-build]
  Checks the tools and kernel features the workshop needs, and prints the fix for each gap:
  iproute2, nsenter, iptables and its backend (nf_tables or legacy), a static busybox,
  unprivileged user namespaces (incl. Ubuntu's AppArmor restriction), the kernel modules
  veth, bridge, br_netfilter and nf_nat, WSL2, running inside a container; then tries the
  kernel features for real inside a throwaway lab. Exit status 1 when something fails.
  --json       one JSON object: {\"ready\": bool, \"findings\": [{\"name\", \"status\"
               (ok, warn or fail), \"seen\", \"fix\"}]}
  --no-build   use the check runner already built
";

pub const TEST_USAGE: &str = "\
cargo xtask test [-- CARGO TEST ARGS...]
  Builds everything and runs the workshop's own tests (cargo test --workspace).
";

pub const BENCH_USAGE: &str = "\
cargo xtask bench [--runs N]
  Measures lab up and down, and checking every step's solution, N times each (default 20);
  in one lab: attaching a container to the bridge (solution05 vs the CNI bridge plugin),
  attaching it and publishing one port (solution06 vs the CNI bridge and portmap plugins),
  containers 1-10 vs 91-100 on one bridge, and resident memory (lab, idle container);
  prints a table of medians and writes target/netlab/bench.md.
";

pub const STATUS_USAGE: &str = "\
cargo xtask status
  Lists every step: its title, whether and when its checks passed, the hint levels you have
  seen; and names the step to do next.
";

pub const RESET_USAGE: &str = "\
cargo xtask reset NN [--yes]
  Puts the files under steps/NN-*/src back to the version in git, with their TODOs. Your
  changes there are lost. Asks first, unless --yes (needed when stdin is not a terminal).
";

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

pub const SOLUTION_USAGE: &str = "\
cargo xtask solution NN [--force]
  Shows the solution's version of the step's file(s) and a unified diff from yours to it.
  Only once the step has passed (`cargo xtask check NN`), unless --force.
";

pub fn solution_not_passed(step: &str) -> String {
    format!(
        "step {step} has not passed yet: `cargo xtask check {step}` first, or --force to look anyway"
    )
}

pub const BOOK_USAGE: &str = "\
cargo xtask book [--serve] [--port N]
  Builds the lessons (steps/NN-*/README.md, with their hints folded), book/index.md and
  book/troubleshooting.md into an mdBook in target/book. Needs mdbook: scripts/install-deps --dev.
  --serve    then serves it on http://127.0.0.1:3000/ only (Ctrl-C stops)
  --port N   with --serve: listen on port N instead (0: any free port)
";

pub const BOOK_TITLE: &str = "netlab: container networking from scratch, in Rust";

pub const BOOK_PORT_MISSING: &str = "--port needs a number, for example --port 3000";

pub const BOOK_PORT_WITHOUT_SERVE: &str =
    "--port is for --serve: cargo xtask book --serve --port N";

pub fn book_bad_port(value: &str) -> String {
    format!("--port takes a port number from 0 to 65535, not {value}")
}

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
