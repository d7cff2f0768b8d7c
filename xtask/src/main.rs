//! `cargo xtask <verb>`: dispatch only. Each verb lives in its own module.

mod bench;
mod book;
mod build;
mod check;
mod doctor;
mod hint;
mod lab;
mod messages;
mod new_step;
mod progress;
mod reset;
mod rootfs;
mod run;
mod runner;
mod show;
mod solution;
mod status;
mod test;
mod watch;
mod workspace;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (verb, rest) = match args.split_first() {
        Some((verb, rest)) => (verb.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match verb {
        "check" => check::main(rest),
        "watch" => watch::main(rest),
        "hint" => hint::main(rest),
        "run" => run::main(rest),
        "lab" => lab::main(rest),
        "doctor" => doctor::main(rest),
        "test" => test::main(rest),
        "bench" => bench::main(rest),
        // Internal: the part of `bench` that runs inside a lab (started by the checker).
        "bench-lab" => bench::in_lab(rest),
        "status" => status::main(rest),
        "reset" => reset::main(rest),
        "solution" => solution::main(rest),
        "book" => book::main(rest),
        "show" => show::main(rest),
        "new-step" => new_step::main(rest),
        "help" | "-h" | "--help" => {
            print!("{}", messages::USAGE);
            Ok(ExitCode::SUCCESS)
        }
        other => Err(anyhow::anyhow!(messages::unknown_verb(other))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::from(2)
        }
    }
}
