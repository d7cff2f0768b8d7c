//! The checker's command line, read by clap (derive). It is started by `cargo xtask`, not by
//! hand, but every mistake still gets one clear line.

use anyhow::{anyhow, bail, Result};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use lab::{LabPaths, Profile};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "checker", disable_version_flag = true)]
#[command(
    about = "The part of the netlab workshop that needs privileges: it puts everything in labs."
)]
#[command(after_help = "Started by `cargo xtask`; see `cargo xtask --help`.")]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

/// Where the lab's root filesystem and state are: every verb takes them.
#[derive(Debug, Args)]
struct Dirs {
    /// The containers' base root filesystem (busybox).
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,
    /// A directory for the labs' state.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Runs the checks of some steps against their binaries.
    Check {
        #[command(flatten)]
        dirs: Dirs,
        /// Prints the results as JSON.
        #[arg(long)]
        json: bool,
        /// Labs at once [default: four per core, at most 8].
        #[arg(long, value_name = "N", value_parser = jobs)]
        jobs: Option<usize>,
        /// Only the checks with these names, comma-separated (in every step given).
        #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
        only: Vec<String>,
        /// Also writes each step's verdict to FILE, one `NN passed` or `NN failed` a line.
        #[arg(long, value_name = "FILE")]
        verdicts: Option<PathBuf>,
        /// Step numbers and the binaries to check.
        #[arg(required = true, value_name = "NN=BINARY", value_parser = target)]
        targets: Vec<(String, PathBuf)>,
    },
    /// Starts a lab and runs one program in it, in the foreground.
    Run {
        #[command(flatten)]
        dirs: Dirs,
        /// The lab host's profile.
        #[arg(long, value_name = "NAME", default_value = "fresh", value_parser = Profile::parse)]
        profile: Profile,
        /// The program and its arguments (everything from BINARY on is the program's).
        #[arg(
            required = true,
            value_name = "BINARY",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        program: Vec<String>,
    },
    /// Internal: one check inside a fresh lab.
    #[command(hide = true)]
    LabTask {
        #[command(flatten)]
        dirs: Dirs,
        #[arg(long, value_name = "NAME")]
        check: String,
        #[arg(long = "bin", value_name = "BINARY")]
        binary: PathBuf,
    },
    /// Builds a lab and tears it down (for benchmarks).
    LabUpDown {
        #[command(flatten)]
        dirs: Dirs,
    },
    /// Tries each kernel feature the workshop needs, in a lab.
    Doctor {
        #[command(flatten)]
        dirs: Dirs,
        /// Prints the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Draws a running lab (one started by `run`), from outside it.
    Show {
        #[command(flatten)]
        dirs: Dirs,
        /// The lab's PID; needed when several labs run.
        #[arg(long, value_name = "PID", value_parser = pid)]
        lab: Option<i32>,
        /// The learner's step, named in `cargo xtask lab NN` when no lab runs.
        #[arg(long, value_name = "NN")]
        step: Option<String>,
    },
    /// Follows one probe through a running lab (one started by `run`), from outside it.
    Trace {
        #[command(flatten)]
        dirs: Dirs,
        /// The lab's PID; needed when several labs run.
        #[arg(long, value_name = "PID", value_parser = pid)]
        lab: Option<i32>,
        /// The learner's step, named in `cargo xtask lab NN` when no lab runs.
        #[arg(long, value_name = "NN")]
        step: Option<String>,
        /// Where the probe is sent from: host, internet or a container.
        #[arg(long, value_name = "WHERE", value_parser = from)]
        from: lab::endpoint::From,
        /// What it is sent to: ADDRESS[:PORT[/udp]] or CONTAINER[:PORT[/udp]] (no port: a ping).
        #[arg(long, value_name = "WHERE", value_parser = to)]
        to: lab::endpoint::To,
    },
}

/// What the checker was asked to do.
#[derive(Debug)]
pub enum Request {
    /// Run the checks of some steps against their binaries.
    Check {
        paths: LabPaths,
        /// `(step number, binary)` pairs.
        targets: Vec<(String, PathBuf)>,
        json: bool,
        jobs: usize,
        /// Only the checks with these names (in every step given); empty: every check.
        only: Vec<String>,
        /// Where to write each step's verdict (`NN passed` or `NN failed`, a line each).
        verdicts: Option<PathBuf>,
    },
    /// Start a lab and run one program in it, in the foreground.
    Run {
        paths: LabPaths,
        profile: Profile,
        program: Vec<String>,
    },
    /// Internal: one check inside a fresh lab.
    LabTask {
        paths: LabPaths,
        check: String,
        binary: PathBuf,
    },
    /// Build a lab and tear it down (for benchmarks).
    LabUpDown { paths: LabPaths },
    /// Try each kernel feature the workshop needs, in a lab.
    Doctor { paths: LabPaths, json: bool },
    /// Draw a running lab (one started by `run`), from outside it.
    Show {
        paths: LabPaths,
        /// The lab's PID; needed when several labs run.
        lab: Option<i32>,
        /// The learner's step, named in `cargo xtask lab NN` when no lab runs.
        step: Option<String>,
    },
    /// Follow one probe through a running lab, from outside it.
    Trace {
        paths: LabPaths,
        lab: Option<i32>,
        step: Option<String>,
        from: lab::endpoint::From,
        to: lab::endpoint::To,
    },
    /// `--help`: the text to print.
    Help(String),
}

/// Reads the checker's arguments (without the program's name).
pub fn parse(args: &[String]) -> Result<Request> {
    let cli = match Cli::try_parse_from(std::iter::once("checker").chain(args.iter().map(|a| &**a)))
    {
        Ok(cli) => cli,
        Err(e) if e.kind() == ErrorKind::DisplayHelp => {
            let text = e.render().to_string();
            return Ok(Request::Help(format!("{}\n", text.trim_end())));
        }
        Err(e) => {
            let message = container::clap_error_line(&e);
            return Err(anyhow!("{message}; see `checker --help`"));
        }
    };
    Ok(match cli.verb {
        Verb::Check {
            dirs,
            json,
            jobs,
            only,
            verdicts,
            targets,
        } => Request::Check {
            paths: dirs.paths(false),
            targets,
            json,
            // As many labs as the tree's slots allow (four per core, at most eight): a step's
            // labs then start together instead of in waves, the last one alone on a core,
            // while other checkers on the same tree still queue for the slots.
            jobs: jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(4, |n| (4 * n.get()).min(8))
            }),
            only,
            verdicts,
        },
        Verb::Run {
            dirs,
            profile,
            program,
        } => Request::Run {
            paths: dirs.paths(true),
            profile,
            program,
        },
        Verb::LabTask {
            dirs,
            check,
            binary,
        } => Request::LabTask {
            paths: dirs.paths(false),
            check,
            binary,
        },
        Verb::LabUpDown { dirs } => Request::LabUpDown {
            paths: dirs.paths(false),
        },
        Verb::Doctor { dirs, json } => Request::Doctor {
            paths: dirs.paths(false),
            json,
        },
        Verb::Show { dirs, lab, step } => Request::Show {
            paths: dirs.paths(true),
            lab,
            step,
        },
        Verb::Trace {
            dirs,
            lab,
            step,
            from,
            to,
        } => Request::Trace {
            paths: dirs.paths(true),
            lab,
            step,
            from,
            to,
        },
    })
}

impl Dirs {
    /// Interactive labs (`run`) announce themselves beside their state directory, where
    /// `show` looks for them: `registered` for those two.
    fn paths(self, registered: bool) -> LabPaths {
        LabPaths {
            registry: registered.then(|| lab::registry::dir_beside(&self.state)),
            // The labs a learner works in (`run`, `lab`) keep their workspace writable.
            workspace: registered.then(workshop::root),
            rootfs: self.rootfs,
            state: self.state,
        }
    }
}

fn target(text: &str) -> Result<(String, PathBuf)> {
    match text.split_once('=') {
        Some((step, binary)) if !step.is_empty() && !binary.is_empty() => {
            Ok((step.to_string(), PathBuf::from(binary)))
        }
        _ => bail!("expected NN=BINARY, got {text}"),
    }
}

fn jobs(text: &str) -> Result<usize> {
    match text.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("--jobs takes a number of labs (1 or more), not '{text}'"),
    }
}

fn from(text: &str) -> Result<lab::endpoint::From> {
    lab::endpoint::parse_from(text).map_err(|why| anyhow!("--from {why}"))
}

fn to(text: &str) -> Result<lab::endpoint::To> {
    lab::endpoint::parse_to(text).map_err(|why| anyhow!("--to {why}"))
}

fn pid(text: &str) -> Result<i32> {
    match text.parse() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => bail!("--lab takes a PID, not '{text}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Request> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    const DIRS: &str = "--rootfs /r --state /s/state";

    #[test]
    fn reads_the_command_lines_xtask_and_the_coordinator_write() {
        let Request::Check {
            paths,
            targets,
            json,
            jobs,
            only,
            verdicts,
        } = parse_str(&format!(
            "check {DIRS} --json --jobs 3 --only own-netns --verdicts /v 01=/b/s1 02=s2"
        ))
        .unwrap()
        else {
            panic!()
        };
        assert_eq!(paths.rootfs, PathBuf::from("/r"));
        assert_eq!(paths.state, PathBuf::from("/s/state"));
        assert_eq!(paths.registry, None);
        assert_eq!(
            targets,
            [
                ("01".to_string(), PathBuf::from("/b/s1")),
                ("02".to_string(), PathBuf::from("s2"))
            ]
        );
        assert_eq!((json, jobs, only), (true, 3, vec!["own-netns".to_string()]));
        assert_eq!(verdicts, Some(PathBuf::from("/v")));

        let Request::Run {
            paths,
            profile,
            program,
        } = parse_str(&format!(
            "run {DIRS} --profile stub-resolver-only /b/step04 run --name c1 -p 8080:80 -- sh -c x"
        ))
        .unwrap()
        else {
            panic!()
        };
        assert_eq!(profile, Profile::StubResolverOnly);
        assert_eq!(
            program,
            [
                "/b/step04",
                "run",
                "--name",
                "c1",
                "-p",
                "8080:80",
                "--",
                "sh",
                "-c",
                "x"
            ]
        );
        assert!(paths.registry.is_some());
        // The program's own options are its own, even those the checker has.
        let Request::Run {
            profile, program, ..
        } = parse_str(&format!("run {DIRS} /bin/sh -c --state")).unwrap()
        else {
            panic!()
        };
        assert_eq!(profile, Profile::Fresh);
        assert_eq!(program, ["/bin/sh", "-c", "--state"]);

        let Request::LabTask { check, binary, .. } =
            parse_str(&format!("lab-task {DIRS} --check 01.lo-up --bin /b/s1")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (check.as_str(), binary),
            ("01.lo-up", PathBuf::from("/b/s1"))
        );
        assert!(matches!(
            parse_str(&format!("lab-up-down {DIRS}")).unwrap(),
            Request::LabUpDown { .. }
        ));
        assert!(matches!(
            parse_str(&format!("doctor {DIRS} --json")).unwrap(),
            Request::Doctor { json: true, .. }
        ));
        let Request::Show { paths, lab, step } =
            parse_str(&format!("show {DIRS} --lab 42 --step 03")).unwrap()
        else {
            panic!()
        };
        assert_eq!(lab, Some(42));
        assert_eq!(step.as_deref(), Some("03"));
        assert_eq!(
            paths.registry,
            Some(lab::registry::dir_beside(&paths.state))
        );
    }

    #[test]
    fn reads_a_trace() {
        let Request::Trace {
            paths,
            lab,
            from,
            to,
            ..
        } = parse_str(&format!(
            "trace {DIRS} --lab 7 --from c1 --to 203.0.113.80:80"
        ))
        .unwrap()
        else {
            panic!()
        };
        assert!(paths.registry.is_some());
        assert_eq!(lab, Some(7));
        assert_eq!(from, lab::endpoint::From::Container("c1".into()));
        assert_eq!(to.to_string(), "203.0.113.80:80");
    }

    #[test]
    fn help_is_text_to_print() {
        for line in ["--help", "help", "check --help", "help run"] {
            let Request::Help(text) = parse_str(line).unwrap() else {
                panic!("{line}")
            };
            assert!(text.contains("Usage: checker"), "{line}: {text}");
        }
    }

    #[test]
    fn rejects_bad_input_with_a_reason_in_one_line() {
        for (line, words) in [
            ("", "missing command"),
            ("frob", "unrecognized subcommand 'frob'"),
            ("check --rootfs /r 01=x", "--state <DIR>"),
            (&format!("check {DIRS}"), "<NN=BINARY>"),
            (&format!("check {DIRS} 01"), "expected NN=BINARY, got 01"),
            (
                &format!("check {DIRS} --jobs x 01=a"),
                "--jobs takes a number",
            ),
            (
                &format!("check {DIRS} --jsn 01=a"),
                "similar argument exists: '--json'",
            ),
            (&format!("run {DIRS}"), "<BINARY>"),
            (
                &format!("run {DIRS} --profile nope a"),
                "unknown lab profile 'nope'",
            ),
            (&format!("show {DIRS} 05"), "unexpected argument '05'"),
            (
                &format!("show {DIRS} --lab me"),
                "--lab takes a PID, not 'me'",
            ),
            (&format!("lab-task {DIRS} --bin b"), "--check <NAME>"),
            (&format!("trace {DIRS} --to c2"), "--from <WHERE>"),
            (
                &format!("trace {DIRS} --from c1 --to 10.0.0:80"),
                "--to takes ADDRESS[:PORT]",
            ),
            (
                &format!("trace {DIRS} --from 1.2.3.4 --to c2"),
                "--from takes host, internet",
            ),
        ] {
            let err = format!("{:#}", parse_str(line).unwrap_err());
            assert!(err.contains(words), "{line:?} gave {err:?}");
            assert_eq!(err.lines().count(), 1, "{line:?} gave {err:?}");
            assert!(err.ends_with("; see `checker --help`"), "{err}");
        }
    }
}
