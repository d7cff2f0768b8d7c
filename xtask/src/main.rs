//! `cargo xtask <verb>`: dispatch only. The command line is declared in [`cli`]; each verb
//! lives in its own module.

mod bench;
mod book;
mod build;
mod check;
mod cli;
mod doctor;
mod hint;
mod kit;
mod lab;
mod messages;
mod new_step;
mod orphans;
mod progress;
mod reset;
mod rootfs;
mod run;
mod runner;
mod shell;
mod show;
mod solution;
mod status;
mod test;
mod trace;
mod watch;
mod workspace;

use cli::Verb;
use std::process::ExitCode;

fn main() -> ExitCode {
    let verb = match cli::parse() {
        Ok(verb) => verb,
        Err(code) => return code,
    };
    let result = match verb {
        Verb::Check(args) => check::main(args),
        Verb::Watch(args) => watch::main(args),
        Verb::Hint(args) => hint::main(args),
        Verb::Run(args) => run::main(args),
        Verb::Lab(args) => lab::main(args),
        Verb::Show(args) => show::main(args),
        Verb::Trace(args) => trace::main(args),
        Verb::Doctor(args) => doctor::main(args),
        Verb::Test(args) => test::main(args),
        Verb::Bench(args) => bench::main(args),
        Verb::BenchLab(args) => bench::in_lab(args),
        Verb::Status => status::main(),
        Verb::Reset(args) => reset::main(args),
        Verb::Solution(args) => solution::main(args),
        Verb::Book(args) => book::main(args),
        Verb::Kit(args) => kit::main(args),
        Verb::NewStep(args) => new_step::main(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::from(2)
        }
    }
}
