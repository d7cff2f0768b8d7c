//! The checker's command line. It is started by `cargo xtask`, not by hand, but every mistake
//! still gets one clear line.

use anyhow::{bail, Context, Result};
use lab::{LabPaths, Profile};
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: checker check --rootfs DIR --state DIR [--json] [--jobs N] [--only NAME] NN=BINARY...
       checker run --rootfs DIR --state DIR [--profile NAME] BINARY [ARGS...]
       checker lab-up-down --rootfs DIR --state DIR
       checker doctor --rootfs DIR --state DIR [--json]
       checker show --rootfs DIR --state DIR [--lab PID]
(started by `cargo xtask`; see `cargo xtask --help`)
";

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
        /// Only the check with this name (in every step given).
        only: Option<String>,
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
    },
}

pub fn parse(args: &[String]) -> Result<Request> {
    let Some(verb) = args.first() else {
        bail!("missing command")
    };
    let mut rootfs = None;
    let mut state = None;
    let mut json = false;
    // Checks mostly wait (for containers, replies, a lock held on purpose): two labs per core,
    // at most eight at once.
    let mut jobs = std::thread::available_parallelism().map_or(2, |n| (2 * n.get()).min(8));
    let mut only = None;
    let mut profile = Profile::Fresh;
    let mut check = None;
    let mut binary = None;
    let mut lab = None;
    let mut rest = Vec::new();
    let mut args = args[1..].iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--rootfs" => rootfs = Some(PathBuf::from(value("--rootfs")?)),
            "--state" => state = Some(PathBuf::from(value("--state")?)),
            "--json" => json = true,
            "--jobs" => jobs = value("--jobs")?.parse().context("--jobs takes a number")?,
            "--only" => only = Some(value("--only")?),
            "--profile" => profile = Profile::parse(&value("--profile")?)?,
            "--check" => check = Some(value("--check")?),
            "--bin" => binary = Some(PathBuf::from(value("--bin")?)),
            "--lab" if verb == "show" => {
                let pid = value("--lab")?;
                lab = Some(
                    pid.parse()
                        .with_context(|| format!("--lab takes a PID, not '{pid}'"))?,
                );
            }
            _ if verb == "run" => {
                rest.push(arg.clone());
                rest.extend(args.by_ref().cloned());
            }
            _ if arg.starts_with("--") => bail!("unknown option {arg}"),
            _ => rest.push(arg.clone()),
        }
    }
    let state: PathBuf = state.context("--state is required")?;
    // Interactive labs (`run`) announce themselves beside their state directory, where `show`
    // looks for them.
    let registry =
        matches!(verb.as_str(), "run" | "show").then(|| lab::registry::dir_beside(&state));
    let paths = LabPaths {
        rootfs: rootfs.context("--rootfs is required")?,
        state,
        registry,
    };
    Ok(match verb.as_str() {
        "check" => {
            let targets = rest
                .iter()
                .map(|t| {
                    let (step, bin) = t
                        .split_once('=')
                        .with_context(|| format!("expected NN=BINARY, got {t}"))?;
                    Ok((step.to_string(), PathBuf::from(bin)))
                })
                .collect::<Result<Vec<_>>>()?;
            if targets.is_empty() {
                bail!("check needs at least one NN=BINARY");
            }
            Request::Check {
                paths,
                targets,
                json,
                jobs,
                only,
            }
        }
        "run" => {
            if rest.is_empty() {
                bail!("run needs a program");
            }
            Request::Run {
                paths,
                profile,
                program: rest,
            }
        }
        "lab-task" => Request::LabTask {
            paths,
            check: check.context("--check is required")?,
            binary: binary.context("--bin is required")?,
        },
        "lab-up-down" => Request::LabUpDown { paths },
        "doctor" => Request::Doctor { paths, json },
        "show" => {
            if let Some(extra) = rest.first() {
                bail!("show takes no argument '{extra}' (use --lab PID)");
            }
            Request::Show { paths, lab }
        }
        other => bail!("unknown command '{other}'"),
    })
}
