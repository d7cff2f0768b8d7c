//! The step binary's command line: `run [--name NAME] [-- CMD ARGS...]`.

use anyhow::{bail, Context, Result};

pub const USAGE: &str = "\
usage: run [--name NAME] [-- CMD ARGS...]
  Starts a container inside the lab and runs CMD in it (default: /bin/sh).
  --name NAME   the container's name and hostname (letters, digits, '-'; at most 30)
Step binaries run inside the workshop's lab: start them with `cargo xtask run NN`.
";

/// What the user asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Request),
    Help,
}

/// A container to start.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// Its name; `None` picks one.
    pub name: Option<String>,
    /// The command and its arguments.
    pub command: Vec<String>,
}

pub fn parse(args: &[String]) -> Result<Parsed> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        Some("run") => {}
        Some("-h" | "--help" | "help") => return Ok(Parsed::Help),
        Some(other) => bail!("unknown command '{other}': the only command is 'run'"),
        None => bail!("missing command: the only command is 'run'"),
    }
    let mut request = Request {
        name: None,
        command: Vec::new(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--" => {
                request.command = args.by_ref().cloned().collect();
            }
            "--name" => {
                let name = args.next().context("--name needs a value")?;
                validate_name(name)?;
                request.name = Some(name.clone());
            }
            "-h" | "--help" => return Ok(Parsed::Help),
            other => {
                bail!("unexpected argument '{other}' (put the container's command after `--`)")
            }
        }
    }
    if request.command.is_empty() {
        request.command = vec!["/bin/sh".to_string()];
    }
    Ok(Parsed::Run(request))
}

fn validate_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 30
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        bail!(
            "invalid container name '{name}': use letters, digits and '-', at most 30 characters"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Parsed> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    #[test]
    fn defaults_to_a_shell() {
        let Parsed::Run(r) = parse_str("run").unwrap() else {
            panic!()
        };
        assert_eq!(r.command, ["/bin/sh"]);
        assert_eq!(r.name, None);
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
    fn rejects_bad_input_with_a_reason() {
        for (line, words) in [
            ("", "missing command"),
            ("start", "unknown command 'start'"),
            ("run --name", "--name needs a value"),
            ("run --name a/b", "invalid container name"),
            ("run ls", "after `--`"),
        ] {
            let err = format!("{:#}", parse_str(line).unwrap_err());
            assert!(err.contains(words), "{line:?} gave {err:?}");
        }
    }
}
