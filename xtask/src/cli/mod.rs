//! `cargo xtask`'s command line, declared once: every verb, its arguments and their help. The
//! help texts (`--help`), the overview (`cargo xtask`), the synopses and the one-line errors
//! are all made from this declaration ([`help`], [`error`]).

mod error;
mod help;
mod values;

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

pub use values::Profile;

/// The workshop's commands.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", disable_version_flag = true)]
pub struct Cli {
    #[command(subcommand)]
    pub verb: Option<Verb>,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// run a step's checks in a throwaway lab
    ///
    /// Builds step NN (yours, or its solution with --solution) and runs its checks, each in a
    /// throwaway lab. `all` checks every step. When every check passes on your code, the step
    /// is recorded as passed (`cargo xtask status`).
    Check(Check),
    /// check the step again at each save; h: hint, q: quit
    ///
    /// Checks step NN, then again each time you save one of its files (steps/NN-*/src/**,
    /// Cargo.toml; the solution's with --solution): clears the screen, shows the report and
    /// the next hint to read. Keys: h (or n) shows the next hint level, q quits (so does
    /// Ctrl-C).
    ///
    /// File events are used where they arrive; where they do not (WSL2 under /mnt, network
    /// filesystems) watch notices it at start, says so and polls the files instead.
    /// NETLAB_WATCH_NO_EVENTS=1 pretends events do not arrive (for tests).
    Watch(Watch),
    /// show the next hint for a step
    ///
    /// Shows the next hint level for step NN each time you ask (concept, command, code), and
    /// remembers which levels you have seen.
    Hint(Hint),
    /// start the step's container in a fresh lab
    ///
    /// Starts step NN's container in a fresh lab, with a busybox shell (or CMD). Leave with
    /// `exit`: the lab vanishes with it. `cargo xtask show`, in another terminal, draws the
    /// lab.
    Run(Run),
    /// a shell on a fresh lab host (with NN's container running)
    ///
    /// Opens a shell on the host of a fresh lab (`lab#`), with the step binaries on PATH. With
    /// NN, a container `c1` of that step already runs in the background: `enter c1` opens a
    /// shell inside it (`c1#`). When c1 does not start, the lab prints why and ends with a
    /// failure. `exit` ends the lab.
    /// `cargo xtask show`, in another terminal, draws the lab.
    Lab(Lab),
    /// draw a running lab (from another terminal)
    ///
    /// Draws a running lab, opened with `cargo xtask lab [NN]` or `cargo xtask run NN` in
    /// another terminal, from its real state: the lab host, the internet and each running
    /// container; their links (veth pairs matched by ifindex and link-netnsid, bridge ports
    /// under their bridge), addresses, routes, and the lab host's NAT rules. Only looks:
    /// nothing in the lab changes.
    Show(Show),
    /// follow one packet through a running lab: where it died
    ///
    /// Sends one real probe in a running lab (opened with `cargo xtask lab [NN]` or `cargo
    /// xtask run NN` in another terminal) and follows it with nft's tracing: a TCP connection
    /// when --to has a port, a DNS query with PORT/udp, a ping otherwise. Prints each packet in the namespace it was seen
    /// in (the lab host, the internet, a container), every netfilter chain it went through
    /// with the rule or policy that decided and the NAT rewrites, conntrack's view, and where
    /// it died: a DROP policy or rule, no route, rp_filter, no ARP answer, no listener.
    /// A temporary table `inet netlab_trace` marks the flow and is deleted afterwards; rules
    /// of legacy iptables cannot be seen (trace says so).
    ///
    /// Examples: --from c1 --to 203.0.113.80:80, --from internet --to 198.51.100.2:8080,
    /// --from c1 --to c2, --from host --to 127.0.0.1:8080, --from c1 --to 203.0.113.53:53/udp.
    Trace(Trace),
    /// check this machine for everything the workshop needs
    ///
    /// Checks the tools and kernel features the workshop needs, and prints the fix for each
    /// gap: iproute2, nsenter, iptables and its backend (nf_tables or legacy), a static
    /// busybox, unprivileged user namespaces (incl. Ubuntu's AppArmor restriction), the kernel
    /// modules veth, bridge, br_netfilter and nf_nat, WSL2, running inside a container; then
    /// tries the kernel features for real inside a throwaway lab. Exit status 1 when something
    /// fails.
    Doctor(Doctor),
    /// the workshop's own tests
    ///
    /// Builds every binary and the containers' root filesystem, then runs the workshop's own
    /// tests (cargo test --workspace).
    Test(Test),
    /// timings: lab up and down, checking a step, starting containers
    ///
    /// Measures lab up and down, and checking every step's solution, N times each. Then, in
    /// one lab, for each step whose step.toml has a [bench] table: starting a container with
    /// the step's solution, and with its reference adapter (the same step done by real tools)
    /// where it declares one, against a start without networking; the first such step's
    /// containers 1-10 vs 91-100 of a hundred running at once (the lab filled three times,
    /// each window's starts pooled); and resident memory (the lab, an idle container). Prints a table of medians and writes target/netlab/bench.md.
    Bench(Bench),
    /// Internal: the part of `bench` that runs inside a lab (started by the checker).
    #[command(hide = true)]
    BenchLab(BenchLab),
    /// every step: passed or not, hints seen, what is next
    ///
    /// Lists every step: its title, whether and when its checks passed, the hint levels you
    /// have seen; and names the step to do next.
    Status,
    /// put a step's source file(s) back to their original TODOs
    ///
    /// Puts the files under steps/NN-*/src back to the version in git, with their TODOs. Your
    /// changes there are lost. Asks first, unless --yes (needed when stdin is not a terminal).
    Reset(Reset),
    /// the step's solution and its diff from yours (once passed)
    ///
    /// Shows the solution's version of the step's file(s) and a unified diff from yours to it.
    /// Only once the step has passed (`cargo xtask check NN`), unless --force.
    Solution(Solution),
    /// the lessons as a book (target/book), served on 127.0.0.1
    ///
    /// Builds the lessons (steps/NN-*/README.md, with their hints folded), book/index.md and
    /// book/troubleshooting.md into an mdBook in target/book. Needs mdbook:
    /// scripts/install-deps --dev.
    Book(Book),
    /// one archive to work offline: the source and every crate
    ///
    /// Writes one archive (target/netlab/netlab-kit.tar.gz, or --output) holding the
    /// workshop's source, as git tracks it, and every crate it needs (cargo vendor), with the
    /// cargo configuration that uses them. Unpacked on a machine with no network and an empty
    /// CARGO_HOME, the README's first command builds offline. For a room on bad Wi-Fi: hand
    /// it out on a USB stick.
    Kit(Kit),
    /// a new step from the templates (for contributors)
    ///
    /// Writes a new step from xtask/templates/ (its lesson, hints, stub, solution, mutants and
    /// checks) and registers its checks with one line in checks/src/steps/mod.rs. The new step
    /// passes the workshop's tests as written; CONTRIBUTING.md says what to do next.
    NewStep(NewStep),
}

#[derive(Debug, Args)]
pub struct Check {
    /// The step: its number (01), or all of them
    #[arg(value_name = "NN|all")]
    pub step: String,
    /// Check the solution instead of your code (nothing is recorded)
    #[arg(long)]
    pub solution: bool,
    /// Run only the check runner through sudo (when user namespaces are not allowed)
    #[arg(long)]
    pub sudo: bool,
    /// Use the binaries already built (facilitators preparing many machines)
    #[arg(long)]
    pub no_build: bool,
    /// Machine-readable results
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Watch {
    /// The step: its number (01)
    #[arg(value_name = "NN")]
    pub step: String,
    /// Watch and check the solution instead of your code
    #[arg(long)]
    pub solution: bool,
    /// Compare the files (modification times and contents) every 0.5 s instead of waiting for
    /// file events
    ///
    /// Chosen by itself when events do not arrive (WSL2 under /mnt, network filesystems).
    #[arg(long)]
    pub poll: bool,
    /// Use the binaries already built (no cargo build before each run)
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, Args)]
pub struct Hint {
    /// The step: its number (01)
    #[arg(value_name = "NN")]
    pub step: String,
    /// Show this level (from 1) instead of the next one
    #[arg(long, value_name = "N", value_parser = values::number::<usize>)]
    pub level: Option<usize>,
    /// Show every level
    #[arg(long, conflicts_with = "level")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct Run {
    /// The step: its number (01)
    #[arg(value_name = "NN")]
    pub step: String,
    /// Start the solution's container instead of yours
    #[arg(long)]
    pub solution: bool,
    /// Run only the check runner through sudo (when user namespaces are not allowed)
    #[arg(long)]
    pub sudo: bool,
    /// The state the lab host starts in
    #[arg(long, value_name = "PROFILE", default_value = "fresh")]
    pub profile: Profile,
    /// The container's name
    #[arg(long, value_name = "NAME", default_value = "c1")]
    pub name: String,
    /// Publish a port of the container on the lab host (for the steps whose step.toml lists
    /// -p in run-options)
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "HOSTPORT:CONTAINERPORT[/udp]"
    )]
    pub publish: Vec<String>,
    /// The container's command (default: a busybox shell)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Lab {
    /// A step whose container c1 runs in the lab: its number (01)
    #[arg(value_name = "NN")]
    pub step: Option<String>,
    /// Start the solution's container c1 instead of yours
    #[arg(long)]
    pub solution: bool,
    /// Not offered: through sudo, the lab's shell would be a root shell
    #[arg(long)]
    pub sudo: bool,
}

#[derive(Debug, Args)]
pub struct Show {
    /// Which lab, when several run (show lists them)
    #[arg(long, value_name = "PID", value_parser = values::pid)]
    pub lab: Option<u32>,
    /// For a lab started with --sudo
    #[arg(long)]
    pub sudo: bool,
    /// Use the checker already built
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, Args)]
pub struct Trace {
    /// Where the probe is sent from: host, internet, or a running container (c1)
    #[arg(long, value_name = "WHERE", value_parser = values::from)]
    pub from: lab::endpoint::From,
    /// Where it goes: ADDRESS[:PORT[/udp]] or CONTAINER[:PORT[/udp]]; no port: a ping
    #[arg(long, value_name = "WHERE", value_parser = values::to)]
    pub to: lab::endpoint::To,
    /// Which lab, when several run (trace lists them)
    #[arg(long, value_name = "PID", value_parser = values::pid)]
    pub lab: Option<u32>,
    /// For a lab started with --sudo
    #[arg(long)]
    pub sudo: bool,
    /// Use the checker already built
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, Args)]
pub struct Doctor {
    /// One JSON object instead of the text
    ///
    /// {"ready": bool, "findings": [{"name", "status" (ok, warn or fail), "seen", "fix"}]},
    /// with the same exit status.
    #[arg(long)]
    pub json: bool,
    /// Use the check runner already built
    #[arg(long)]
    pub no_build: bool,
}

#[derive(Debug, Args)]
pub struct Test {
    /// Cargo test's own arguments (a test name, -p PACKAGE, -- --nocapture)
    #[arg(last = true, value_name = "CARGO TEST ARGS")]
    pub cargo_args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct Bench {
    /// How many times each measurement runs
    #[arg(long, value_name = "N", default_value = "20", value_parser = values::number::<usize>)]
    pub runs: usize,
    /// Measure this step alone (its number, 05): its checks, and its containers if its
    /// step.toml has a [bench] table
    ///
    /// Lab up and down is still measured; the other steps' rows are left out, and so is the
    /// container part when the step has no [bench] table.
    #[arg(long, value_name = "NN")]
    pub step: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchLab {
    /// How many times each measurement runs
    #[arg(long, value_name = "N", default_value = "20", value_parser = values::number::<usize>)]
    pub runs: usize,
    /// Only this step's containers
    #[arg(long, value_name = "NN")]
    pub step: Option<String>,
    /// The folder of the built binaries
    #[arg(value_name = "BIN_DIR")]
    pub bin_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct Kit {
    /// Where to write the archive
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the archive if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct Reset {
    /// The step: its number (01)
    #[arg(value_name = "NN")]
    pub step: String,
    /// Do not ask first
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct Solution {
    /// The step: its number (01)
    #[arg(value_name = "NN")]
    pub step: String,
    /// Show it even though the step has not passed yet
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct Book {
    /// Then serve it on http://127.0.0.1:3000/ only (Ctrl-C stops)
    #[arg(long)]
    pub serve: bool,
    /// With --serve: listen on port N instead (0: any free port)
    #[arg(long, value_name = "N", value_parser = values::port)]
    pub port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct NewStep {
    /// The new step's folder (for example 07-pod)
    #[arg(value_name = "NN-slug")]
    pub folder: String,
    /// Its title, as its lesson's heading (default: the slug)
    #[arg(long, value_name = "TITLE")]
    pub title: Option<String>,
}

/// What the command line asks for: a verb, or `Err` with the exit code once the help was
/// printed (0) or a usage error was (2, one line on stderr).
pub fn parse() -> Result<Verb, ExitCode> {
    parse_from(std::env::args_os().skip(1).collect())
}

fn parse_from(args: Vec<OsString>) -> Result<Verb, ExitCode> {
    use clap::FromArgMatches;
    let matches = help::command()
        .try_get_matches_from(std::iter::once(OsString::from("xtask")).chain(args.clone()));
    let parsed = matches.and_then(|m| Cli::from_arg_matches(&m));
    match parsed {
        Ok(Cli { verb: Some(verb) }) => Ok(verb),
        Ok(Cli { verb: None }) => {
            help::print_overview();
            Err(ExitCode::SUCCESS)
        }
        Err(e) if !e.use_stderr() => {
            // --help and `help VERB`: clap's own text, on stdout.
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("xtask: {}", error::one_line(&e, &args));
            Err(ExitCode::from(2))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_declaration_is_consistent() {
        super::help::command().debug_assert();
    }
}
