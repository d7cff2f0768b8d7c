//! The step binary's command line: `run [--name NAME] [-p PORTS]... [-- CMD ARGS...]`, read by
//! clap (derive), and [`clap_error_line`], which the checker's command line uses too.

use crate::ports::{self, Port};
use anyhow::{anyhow, bail, Result};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str =
    "Step binaries run inside the workshop's lab: start them with `cargo xtask run NN`.";

#[derive(Debug, Parser)]
#[command(about = "A step of the netlab workshop: a small container runtime.")]
#[command(after_help = AFTER_HELP, disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts a container inside the lab and runs CMD in it (default: /bin/sh).
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The container's name and hostname (letters, digits, '-'; at most 30).
    #[arg(long, value_name = "NAME", value_parser = validate_name)]
    name: Option<String>,
    /// Publishes a port of the container on the host (steps 06 and later).
    #[arg(
        short = 'p',
        long = "publish",
        value_name = "HOSTPORT:CONTAINERPORT[/tcp|/udp]",
        value_parser = ports::parse
    )]
    ports: Vec<Port>,
    /// Joins the network namespace of the running container NAME instead of getting one of
    /// its own, as the containers of a pod do (step 07 and later).
    #[arg(long = "net", value_name = "container:NAME", value_parser = parse_net)]
    net: Option<String>,
    /// The container's command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Request),
    /// `--help`: the text to print.
    Help(String),
}

/// A container to start.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// Its name; `None` picks one.
    pub name: Option<String>,
    /// The ports to publish (`-p`), in the order given.
    pub ports: Vec<Port>,
    /// `--net container:NAME`: the name of the running container whose network namespace
    /// this one joins.
    pub join: Option<String>,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// Reads `args` (without the program's name, which is `program`). A mistake is one line.
pub fn parse(program: &str, args: &[String]) -> Result<Parsed> {
    let cli = match Cli::try_parse_from(std::iter::once(program).chain(args.iter().map(|a| &**a))) {
        Ok(cli) => cli,
        Err(e) if e.kind() == ErrorKind::DisplayHelp => {
            let text = e.render().to_string();
            return Ok(Parsed::Help(format!("{}\n", text.trim_end())));
        }
        Err(e) => {
            let message = match e.kind() {
                ErrorKind::MissingSubcommand
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    "missing command: the only command is 'run'".to_string()
                }
                ErrorKind::InvalidSubcommand => format!(
                    "unknown command '{}': the only command is 'run'",
                    context(&e, ContextKind::InvalidSubcommand).unwrap_or_default()
                ),
                ErrorKind::UnknownArgument => match context(&e, ContextKind::InvalidArg) {
                    Some(arg) if !arg.starts_with('-') => format!(
                        "unexpected argument '{arg}' (put the container's command after `--`)"
                    ),
                    _ => clap_error_line(&e),
                },
                _ => clap_error_line(&e),
            };
            return Err(anyhow!("{message}; see `{program} run --help`"));
        }
    };
    let Command::Run(run) = cli.command;
    for (i, port) in run.ports.iter().enumerate() {
        if let Some(same) = run.ports[..i]
            .iter()
            .find(|p| p.host == port.host && p.protocol == port.protocol)
        {
            bail!(
                "host port {} is given twice (-p {same} and -p {port})",
                port.host
            );
        }
    }
    let command = if run.command.is_empty() {
        vec!["/bin/sh".to_string()]
    } else {
        run.command
    };
    Ok(Parsed::Run(Request {
        name: run.name,
        ports: run.ports,
        join: run.net,
        command,
    }))
}

/// A clap error as one line, without clap's `error: `, usage and help hint: its first
/// paragraph, and its tip of a similar name in brackets. For a value that failed its check, the reason
/// alone: our value parsers give whole reasons, naming the option and the value.
pub fn clap_error_line(error: &clap::Error) -> String {
    use std::error::Error as _;
    match error.kind() {
        ErrorKind::ValueValidation => {
            if let Some(reason) = error.source() {
                return reason.to_string();
            }
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            return "missing command".to_string();
        }
        _ => {}
    }
    let text = error.render().to_string();
    let mut paragraphs = text.split("\n\n");
    let first: Vec<&str> = paragraphs
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .collect();
    let first = first.join(" ");
    let mut line = first.strip_prefix("error: ").unwrap_or(&first).to_string();
    let tip = paragraphs.next().and_then(|p| {
        p.lines()
            .map(str::trim)
            .find(|l| l.starts_with("tip: a similar"))
    });
    if let Some(tip) = tip {
        line.push_str(&format!(" ({tip})"));
    }
    line
}

/// The text of one piece of a clap error's context.
fn context(error: &clap::Error, kind: ContextKind) -> Option<String> {
    match error.get(kind)? {
        ContextValue::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// `--net container:NAME`: the name of the container whose network namespace is joined.
fn parse_net(value: &str) -> Result<String> {
    let Some(name) = value.strip_prefix("container:") else {
        bail!(
            "--net {value}: the only network to join is a container's: write --net container:NAME"
        );
    };
    validate_name(name).map_err(|e| anyhow!("--net {value}: {e}"))
}

fn validate_name(name: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= 30
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        bail!(
            "invalid container name '{name}': use letters, digits and '-', at most 30 characters"
        );
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Parsed> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse("step04", &args)
    }

    #[test]
    fn defaults_to_a_shell() {
        let Parsed::Run(r) = parse_str("run").unwrap() else {
            panic!()
        };
        assert_eq!(r.command, ["/bin/sh"]);
        assert_eq!(r.name, None);
        assert_eq!(r.join, None);
        let Parsed::Run(r) = parse_str("run --name a --").unwrap() else {
            panic!()
        };
        assert_eq!(r.command, ["/bin/sh"]);
    }

    #[test]
    fn takes_a_name_and_a_command() {
        let Parsed::Run(r) = parse_str("run --name web-1 -- ping -c1 127.0.0.1").unwrap() else {
            panic!()
        };
        assert_eq!(r.name.as_deref(), Some("web-1"));
        assert_eq!(r.command, ["ping", "-c1", "127.0.0.1"]);
    }

    #[test]
    fn the_command_keeps_its_own_options_and_dashes() {
        let Parsed::Run(r) = parse_str("run -- sh -c --name -- -p 1:2 --help").unwrap() else {
            panic!()
        };
        assert_eq!(
            r.command,
            ["sh", "-c", "--name", "--", "-p", "1:2", "--help"]
        );
        assert_eq!((r.name, r.ports), (None, vec![]));
    }

    #[test]
    fn takes_published_ports() {
        let Parsed::Run(r) = parse_str("run -p 8080:80 --publish 5353:53/udp -- httpd").unwrap()
        else {
            panic!()
        };
        let ports: Vec<String> = r.ports.iter().map(|p| p.to_string()).collect();
        assert_eq!(ports, ["8080:80/tcp", "5353:53/udp"]);
        assert_eq!(r.command, ["httpd"]);
    }

    #[test]
    fn joins_a_containers_network() {
        let Parsed::Run(r) = parse_str("run --name c2 --net container:c1 -- sleep 9").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.join.as_deref(), Some("c1"));
        assert_eq!(r.command, ["sleep", "9"]);
    }

    #[test]
    fn help_is_text_to_print() {
        for line in ["--help", "-h", "help", "run --help", "help run"] {
            let Parsed::Help(text) = parse_str(line).unwrap() else {
                panic!("{line}")
            };
            assert!(text.contains("cargo xtask run NN"), "{line}: {text}");
        }
        let Parsed::Help(text) = parse_str("run -h").unwrap() else {
            panic!()
        };
        assert!(text.contains("--publish <HOSTPORT:CONTAINERPORT[/tcp|/udp]>"));
    }

    #[test]
    fn rejects_bad_input_with_a_reason_in_one_line() {
        for (line, words) in [
            ("", "missing command"),
            ("start", "unknown command 'start'"),
            ("run --name", "a value is required for '--name <NAME>'"),
            ("run --name a/b", "invalid container name 'a/b'"),
            (
                "run ls",
                "unexpected argument 'ls' (put the container's command after `--`)",
            ),
            ("run --frob", "unexpected argument '--frob' found; see"),
            (
                "run --nme x",
                "unexpected argument '--nme' found (tip: a similar argument exists: '--name')",
            ),
            ("run -p", "a value is required for '--publish"),
            (
                "run -p 80",
                "-p 80: write HOSTPORT:CONTAINERPORT, like 8080:80",
            ),
            ("run -p 8080:80 -p 8080:81", "host port 8080 is given twice"),
            (
                "run --net host",
                "--net host: the only network to join is a container's: write --net container:NAME",
            ),
            (
                "run --net container:a/b",
                "--net container:a/b: invalid container name 'a/b'",
            ),
            (
                "run --net container:",
                "--net container:: invalid container name ''",
            ),
        ] {
            let err = format!("{:#}", parse_str(line).unwrap_err());
            assert!(err.contains(words), "{line:?} gave {err:?}");
            assert_eq!(err.lines().count(), 1, "{line:?} gave {err:?}");
            if !words.contains("twice") {
                assert!(err.ends_with("; see `step04 run --help`"), "{err}");
            }
        }
    }
}
