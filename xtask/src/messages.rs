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

Each verb takes --help.
";

pub const VERBS: &str = "check, hint, run, lab, doctor, test, bench";

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
  prints medians and writes target/netlab/bench.txt.
";
