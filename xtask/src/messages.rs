//! Texts shown to the user, kept apart from the logic.

pub const USAGE: &str = "\
cargo xtask <verb> [options]

  check NN|all [--solution] [--sudo]   run a step's checks in a throwaway lab
  hint NN [--level N | --all]          show the next hint for a step
  run NN [--solution] [--profile P] [-- CMD...]
                                       start the step's container in a fresh lab
  lab [NN] [--solution]                a shell on a fresh lab host (with NN's container running)
  doctor                               check this machine for everything the workshop needs
  test                                 the workshop's own tests
  bench                                timings: lab up and down, checking a step
  status                               every step: passed or not, hints seen, what is next
  reset NN [--yes]                     put a step's source file(s) back to their original TODOs
  solution NN [--force]                the step's solution and its diff from yours (once passed)

Each verb takes --help.
";

pub const VERBS: &str = "check, hint, run, lab, doctor, test, bench, status, reset, solution";

pub fn unknown_verb(verb: &str) -> String {
    format!("unknown verb '{verb}': use one of {VERBS} (cargo xtask --help)")
}

pub fn unknown_step(step: &str, known: &str) -> String {
    format!("unknown step '{step}': the steps are {known}")
}

pub const CHECK_USAGE: &str = "\
cargo xtask check NN|all [--solution] [--sudo] [--no-build] [--json]
  Builds step NN (yours, or its solution with --solution) and runs its checks, each in a
  throwaway lab. `all` checks every step.
  --sudo       run only the check runner through sudo (when user namespaces are not allowed)
  --no-build   use the binaries already built (facilitators preparing many machines)
  --json       machine-readable results
";

pub const HINT_USAGE: &str = "\
cargo xtask hint NN [--level N | --all]
  Shows the next hint level for step NN each time you ask (concept, command, code).
";

pub const RUN_USAGE: &str = "\
cargo xtask run NN [--solution] [--profile fresh|docker-host] [--name NAME] [-- CMD ARGS...]
  Starts step NN's container in a fresh lab, with a busybox shell (or CMD). Leave with `exit`:
  the lab vanishes with it.
";

pub const LAB_USAGE: &str = "\
cargo xtask lab [NN] [--solution]
  Opens a shell on the host of a fresh lab (`lab#`), with the step binaries on PATH. With NN,
  a container `c1` of that step already runs in the background. `exit` ends the lab.
";

pub const DOCTOR_USAGE: &str = "\
cargo xtask doctor
  Checks the tools and kernel features the workshop needs, and prints the fix for each gap.
";

pub const TEST_USAGE: &str = "\
cargo xtask test [-- CARGO TEST ARGS...]
  Builds everything and runs the workshop's own tests (cargo test --workspace).
";

pub const BENCH_USAGE: &str = "\
cargo xtask bench [--runs N]
  Measures lab up and down, and checking step 01's solution, N times each (default 20);
  in one lab: attaching a container to the bridge (solution05 vs the CNI bridge plugin),
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
