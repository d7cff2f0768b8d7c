//! The help, made from the declaration: each verb's synopsis (`check NN|all [--solution]
//! ...`), shown at the top of its `--help` and in the overview `cargo xtask` prints.

use super::Cli;
use clap::{Arg, ArgAction, Command, CommandFactory};
use std::io::Write;

/// Where the overview puts a verb's summary (on the next line when its synopsis is longer).
const SUMMARY_COLUMN: usize = 39;
/// How wide the help is at most.
const WIDTH: usize = 100;

/// Each verb's help: its synopsis, what it does (the long text with --help), its arguments.
const VERB_TEMPLATE: &str = "{usage}\n\n{about-with-newline}\n{all-args}{after-help}";

/// The command line as clap parses it, with the help texts made from the declaration.
pub fn command() -> Command {
    let mut command = Cli::command().max_term_width(WIDTH);
    let names: Vec<String> = command
        .get_subcommands()
        .map(|verb| verb.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(&name, |verb| {
            let usage = wrap("cargo xtask", &words(&verb), "cargo xtask ".len() + 4);
            verb.override_usage(usage).help_template(VERB_TEMPLATE)
        });
    }
    let overview = overview(&command);
    command.override_help(overview)
}

/// `cargo xtask` alone, or `--help`: the overview, on stdout.
pub fn print_overview() {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", overview(&command()));
}

/// The verbs a learner may use, in the declaration's order (the internal ones are hidden).
pub fn verbs(command: &Command) -> impl Iterator<Item = &Command> {
    command.get_subcommands().filter(|verb| !verb.is_hide_set())
}

/// Every verb's synopsis and summary, one or two lines each.
fn overview(command: &Command) -> String {
    let mut text = String::from("cargo xtask <verb> [options]: the workshop's commands\n\n");
    for verb in verbs(command) {
        let synopsis = synopsis(verb);
        let summary = verb.get_about().map(|a| a.to_string()).unwrap_or_default();
        let width = SUMMARY_COLUMN - 2;
        if synopsis.chars().count() < width {
            text.push_str(&format!("  {synopsis:<width$}{summary}\n"));
        } else {
            let synopsis = wrap(" ", &words(verb), 6);
            text.push_str(&format!("{synopsis}\n  {:<width$}{summary}\n", ""));
        }
    }
    text.push_str("\nEach verb takes --help: cargo xtask check --help\n");
    text
}

/// `run NN [--solution] [--profile PROFILE] [-p HOSTPORT:CONTAINERPORT]... [-- CMD...]`:
/// the positional arguments, then the options in their declared order, then the command
/// that follows `--`.
pub fn synopsis(verb: &Command) -> String {
    words(verb).join(" ")
}

/// The words of the synopsis, each an argument with its value: `[-p HOSTPORT:CONTAINERPORT]`.
fn words(verb: &Command) -> Vec<String> {
    let mut words = vec![verb.get_name().to_string()];
    let shown = || {
        verb.get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
    };
    for arg in shown().filter(|a| a.is_positional() && !a.is_last_set()) {
        let name = value_name(arg);
        words.push(if arg.is_required_set() {
            name
        } else {
            format!("[{name}]")
        });
    }
    for arg in shown().filter(|a| !a.is_positional()) {
        let takes_value = arg.get_action().takes_values();
        // Options with a value read best by their short name (-p), flags by their long one.
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(short), _) if takes_value => format!("-{short}"),
            (_, Some(long)) => format!("--{long}"),
            (Some(short), None) => format!("-{short}"),
            (None, None) => continue,
        };
        let word = if takes_value {
            format!("[{flag} {}]", value_name(arg))
        } else {
            format!("[{flag}]")
        };
        let repeats = matches!(arg.get_action(), ArgAction::Append);
        words.push(if repeats { format!("{word}...") } else { word });
    }
    for arg in shown().filter(|a| a.is_last_set()) {
        words.push(format!("[-- {}...]", value_name(arg)));
    }
    words
}

/// `prefix` and the words, in lines of at most [`WIDTH`] - 20 characters, the later ones
/// indented by `indent`.
fn wrap(prefix: &str, words: &[String], indent: usize) -> String {
    let mut lines = vec![prefix.to_string()];
    for word in words {
        let current = lines.last_mut().expect("one line at least");
        let used = current.chars().count();
        if used > indent && used + 1 + word.chars().count() > WIDTH - 20 {
            lines.push(format!("{:indent$}{word}", ""));
        } else {
            current.push(' ');
            current.push_str(word);
        }
    }
    lines.join("\n")
}
/// `NN`, `N`, `PID`: an argument's value name.
pub fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|name| name.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verb(name: &str) -> Command {
        let command = command();
        let found = command.find_subcommand(name).cloned();
        found.unwrap_or_else(|| panic!("no verb {name}"))
    }

    #[test]
    fn synopses_follow_the_declaration() {
        assert_eq!(
            synopsis(&verb("check")),
            "check NN|all [--solution] [--sudo] [--no-build] [--json]"
        );
        assert_eq!(synopsis(&verb("book")), "book [--serve] [--port N]");
        assert_eq!(synopsis(&verb("reset")), "reset NN [--yes]");
        assert_eq!(synopsis(&verb("lab")), "lab [NN] [--solution] [--sudo]");
        assert!(
            synopsis(&verb("run")).ends_with("[-p HOSTPORT:CONTAINERPORT[/udp]]... [-- CMD...]")
        );
    }

    #[test]
    fn the_overview_lists_every_visible_verb() {
        let text = overview(&command());
        assert!(text.contains("\n  check NN|all "), "{text}");
        assert!(text.contains("\n  status "), "{text}");
        assert!(!text.contains("bench-lab"), "{text}");
    }
}
