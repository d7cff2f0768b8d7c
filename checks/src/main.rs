//! `checker`: the part of the workshop that needs privileges. It becomes root in a user
//! namespace of its own (or runs as root through sudo), and puts everything in labs.

use anyhow::Context;
use checks::cli::{self, Request};
use checks::{catalog, coordinator, doctor, lab_task, report, show, sudo, trace};
use lab::starter::{self, Starter};
use lab::userns;
use lab::Lab;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // xtask names itself first (`--starter PID:START`): when it is gone, so are our labs.
    let starter = match starter::take(&mut args) {
        Ok(starter) => starter,
        Err(e) => {
            eprintln!("checker: {e:#}");
            return ExitCode::from(2);
        }
    };
    let request = match cli::parse(&args) {
        Ok(request) => request,
        Err(e) => {
            eprintln!("checker: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = through_sudo(&request) {
        eprintln!("checker: {e:#}");
        return ExitCode::from(2);
    }
    // Before any thread exists: a user namespace can only be entered single-threaded. `show`
    // joins the user namespace of the lab it draws instead of making one; help needs none.
    if !matches!(
        request,
        Request::LabTask { .. } | Request::Show { .. } | Request::Trace { .. } | Request::Help(_)
    ) {
        if let Err(e) = userns::become_root() {
            eprintln!("checker: {e:#}");
            return ExitCode::from(3);
        }
    }
    if let Some((pid, start)) = starter {
        match Starter::open(pid, start) {
            // One process with threads: a thread ends it. A lab's keeper (this process, for
            // `run` and `doctor`): its own loop does, since entering a lab needs a single
            // thread. `show` and `trace` end by themselves.
            Ok(starter) => match request {
                Request::Check { .. } => starter.watch_in_thread(),
                Request::Run { .. } | Request::LabUpDown { .. } | Request::Doctor { .. } => {
                    starter.watch_in_keeper()
                }
                _ => {}
            },
            Err(e) => {
                eprintln!("checker: {e:#}");
                return ExitCode::from(1);
            }
        }
    }
    match dispatch(request) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("checker: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Run as root through sudo, the checker takes only what checking needs ([`sudo`]), in the
/// workspace it was built in: not one that `NETLAB_ROOT` names.
fn through_sudo(request: &Request) -> anyhow::Result<()> {
    let Some(caller) = sudo::caller() else {
        return Ok(());
    };
    std::env::remove_var("NETLAB_ROOT");
    let exe = std::fs::read_link("/proc/self/exe").context("reading /proc/self/exe")?;
    let target = exe
        .parent()
        .and_then(|debug| debug.parent())
        .context("finding the checker's target directory")?
        .to_path_buf();
    let steps = workshop::steps(&workshop::root())?;
    let binaries: Vec<String> = steps
        .iter()
        .flat_map(|s| [s.binary(false), s.binary(true)])
        .collect();
    sudo::Allowed {
        target,
        binaries: &binaries,
        caller,
    }
    .check(request)
}

fn dispatch(request: Request) -> anyhow::Result<ExitCode> {
    match request {
        Request::Help(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Request::Check {
            paths,
            targets,
            json,
            jobs,
            only,
            verdicts,
        } => {
            let mut plan = Vec::new();
            let root = workshop::root();
            for (id, binary) in targets {
                let step = catalog::step(&root, &id)?;
                if !binary.is_file() {
                    anyhow::bail!(
                        "no step binary at {}: build it with `cargo xtask check {id}`",
                        binary.display()
                    );
                }
                for name in &only {
                    if !step.checks.iter().any(|c| c.name == name) {
                        let names: Vec<_> = step.checks.iter().map(|c| c.name).collect();
                        anyhow::bail!(
                            "step {id} has no check '{name}': its checks are {}",
                            names.join(", ")
                        );
                    }
                }
                for check in step.checks {
                    if only.is_empty() || only.iter().any(|name| name == check.name) {
                        plan.push(coordinator::Job {
                            step: step.clone(),
                            check,
                            binary: binary.clone(),
                        });
                    }
                }
            }
            let results = coordinator::run(&plan, &paths, jobs)?;
            if let Some(file) = &verdicts {
                let mut ids: Vec<&str> = Vec::new();
                for job in &plan {
                    if !ids.contains(&job.step.decl.id.as_str()) {
                        ids.push(&job.step.decl.id);
                    }
                }
                // A new file only, never through a link: through sudo, this runs as root in
                // the user's folder.
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o644)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .open(file)
                    .and_then(|mut out| out.write_all(report::verdicts(&ids, &results).as_bytes()))
                    .with_context(|| format!("writing {} (a new file)", file.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print!("{}", report::render(&results));
            }
            Ok(if report::all_passed(&results) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Request::LabTask {
            paths,
            check,
            binary,
        } => {
            lab_task::run(paths, &check, binary)?;
            Ok(ExitCode::SUCCESS)
        }
        Request::Run {
            paths,
            profile,
            program,
        } => {
            let lab = Lab::enter(paths, profile, std::io::stdin().is_terminal())?;
            let status = lab
                .step_command(std::path::Path::new(&program[0]))
                .args(&program[1..])
                .status()?;
            use std::os::unix::process::ExitStatusExt;
            let code = status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            Ok(ExitCode::from(code as u8))
        }
        Request::LabUpDown { paths } => {
            Lab::enter(paths, lab::Profile::Fresh, false)?;
            Ok(ExitCode::SUCCESS)
        }
        Request::Show { paths, lab, step } => show::outside::main(&paths, lab, step.as_deref()),
        Request::Trace {
            paths,
            lab,
            step,
            from,
            to,
        } => trace::outside(&paths, lab, step.as_deref(), &from, &to),
        Request::Doctor { paths, json } => {
            Lab::enter(paths, lab::Profile::Fresh, false)?;
            Ok(if doctor::run(json) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
