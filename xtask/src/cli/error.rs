//! Bad command lines, each told in one line: clap's own errors span several lines (the error,
//! a tip, the usage), these say what is wrong and where the help is.

use super::help::{self, value_name};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};
use std::ffi::OsString;

/// The one line (without the `xtask: ` prefix) for a usage error of `args` (the words after
/// `cargo xtask`).
pub fn one_line(error: &clap::Error, args: &[OsString]) -> String {
    let command = help::command();
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // The verb is the first word, when it is one (nothing else comes before it).
    let verb = words.first().and_then(|w| command.find_subcommand(w));
    let more = match verb {
        Some(verb) => format!("cargo xtask {} --help", verb.get_name()),
        None => "cargo xtask --help".to_string(),
    };
    let text = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(s)) => s.join(", "),
        _ => String::new(),
    };
    // `--publish <HOSTPORT:CONTAINERPORT>` -> `-p`, as typed.
    let arg = text(ContextKind::InvalidArg);
    let option = as_typed(verb, arg.split(' ').next().unwrap_or_default(), &words);
    let value = text(ContextKind::InvalidValue);
    let line = match error.kind() {
        ErrorKind::InvalidSubcommand => format!(
            "unknown verb '{}': use one of {}",
            text(ContextKind::InvalidSubcommand),
            help::verbs(&command)
                .map(Command::get_name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ErrorKind::UnknownArgument if arg.starts_with('-') && arg.len() > 1 => {
            match error.get(ContextKind::SuggestedArg) {
                Some(ContextValue::String(close)) => {
                    format!("unknown option {arg}: did you mean {close}?")
                }
                _ => format!("unknown option {arg}"),
            }
        }
        ErrorKind::UnknownArgument => match verb {
            Some(verb) => match after_double_dash(verb, &words, &arg) {
                Some(hint) => return format!("unexpected argument '{arg}': {hint}"),
                None if verb.get_arguments().any(is_step) => {
                    format!(
                        "unexpected argument {arg}: {} takes one step",
                        verb.get_name()
                    )
                }
                None if !verb.get_arguments().any(Arg::is_positional) => {
                    format!(
                        "unexpected argument {arg}: {} takes no step",
                        verb.get_name()
                    )
                }
                None => format!("unexpected argument {arg}"),
            },
            None => format!("unexpected argument {arg}"),
        },
        ErrorKind::InvalidValue if value.is_empty() => {
            // `--port <N>` -> `--port needs a number`; `--lab <PID>` -> `--lab needs a value:
            // --lab PID`.
            let value_name = arg
                .split_once(' ')
                .map_or("", |(_, v)| v)
                .replace(['<', '>'], "");
            if value_name == "N" {
                format!("{option} needs a number")
            } else {
                format!("{option} needs a value: {option} {value_name}")
            }
        }
        ErrorKind::InvalidValue => format!(
            "{option} takes {}, not '{value}'",
            either(&text_list(error, ContextKind::ValidValue))
        ),
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(error)
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("does not take '{value}'"));
            format!("{option} {why}")
        }
        ErrorKind::MissingRequiredArgument => match verb {
            Some(verb) if names_a_step(verb, &arg) => workshop::SelectError::Missing.to_string(),
            Some(verb) => missing(verb, &arg),
            None => format!("missing {arg}"),
        },
        ErrorKind::ArgumentConflict => {
            let prior = text(ContextKind::PriorArg);
            let prior = prior.split(' ').next().unwrap_or_default();
            format!("{option} and {prior} do not go together")
        }
        // Anything else: clap's own first line, without its `error: `.
        _ => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        }
    };
    format!("{line} ({more})")
}

/// `missing NN-slug: the new step's folder (for example 07-pod)`, from the argument's help.
fn missing(verb: &Command, missing: &str) -> String {
    let name = missing.replace(['<', '>'], "");
    let help = verb
        .get_arguments()
        .find(|a| value_name(a) == name)
        .and_then(Arg::get_help)
        .map(|help| lowercase_first(&help.to_string()));
    match help {
        Some(help) => format!("missing {name}: {help}"),
        None => format!("missing {name}"),
    }
}

/// Whether the missing `<NN>` (or `<NN|all>`) is the verb's step.
fn names_a_step(verb: &Command, missing: &str) -> bool {
    verb.get_arguments()
        .any(|a| is_step(a) && missing.contains(&value_name(a)))
}

/// The verb's step (`NN`), which every verb calls `step`.
fn is_step(arg: &Arg) -> bool {
    arg.get_id() == "step"
}

/// An option as the learner wrote it: `-p` when that, not `--publish`, is on the line.
fn as_typed(verb: Option<&Command>, option: &str, words: &[String]) -> String {
    let short = verb
        .and_then(|verb| {
            verb.get_arguments().find(|a| {
                a.get_long()
                    .is_some_and(|long| option == format!("--{long}"))
            })
        })
        .and_then(Arg::get_short)
        .map(|short| format!("-{short}"));
    match short {
        Some(short) if !words.iter().any(|w| w == option) && words.contains(&short) => short,
        _ => option.to_string(),
    }
}

/// For a verb whose last argument follows `--` (run's command): where `--` should have gone,
/// as `put the container's command after --: cargo xtask run 02 -- ip addr`. The first place
/// before the unexpected word where a `--` makes the line valid.
fn after_double_dash(verb: &Command, words: &[String], unexpected: &str) -> Option<String> {
    let last = verb.get_arguments().find(|a| a.is_last_set())?;
    let what = last
        .get_help()
        .map(|h| h.to_string())
        .unwrap_or_else(|| value_name(last));
    // "The container's command (default: a busybox shell)" -> "the container's command"
    let what = what.split(" (").next().unwrap_or_default();
    let what = lowercase_first(what);
    (1..words.len())
        .filter(|&at| words[at] == unexpected)
        .map(|at| {
            let mut fixed = words[..at].to_vec();
            fixed.push("--".to_string());
            fixed.extend_from_slice(&words[at..]);
            fixed
        })
        .find(|fixed| {
            help::command()
                .try_get_matches_from(
                    std::iter::once("xtask").chain(fixed.iter().map(String::as_str)),
                )
                .is_ok()
        })
        .map(|fixed| {
            format!(
                "put {what} after --: cargo xtask {}",
                crate::shell::words(&fixed)
            )
        })
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn text_list(error: &clap::Error, kind: ContextKind) -> Vec<String> {
    match error.get(kind) {
        Some(ContextValue::Strings(s)) => s.clone(),
        Some(ContextValue::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn either(values: &[String]) -> String {
    match values {
        [] => "a value".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
