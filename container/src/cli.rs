//! The step binary's command line: `run [--name NAME] [-- CMD ARGS...]`.

use crate::ports::{self, Port};
use anyhow::{bail, Context, Result};

pub const USAGE: &str = "\
usage: run [--name NAME] [-p HOSTPORT:CONTAINERPORT[/udp]]... [-- CMD ARGS...]
  Starts a container inside the lab and runs CMD in it (default: /bin/sh).
  --name NAME   the container's name and hostname (letters, digits, '-'; at most 30)
  -p, --publish HOSTPORT:CONTAINERPORT[/tcp|/udp]
                publish a port of the container on the host (steps 06 and later)
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
    /// The ports to publish (`-p`), in the order given.
    pub ports: Vec<Port>,
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
        ports: Vec::new(),
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
            "-p" | "--publish" => {
                let text = args.next().context("-p needs a value, like 8080:80")?;
                let port = ports::parse(text)?;
                if let Some(same) = request
                    .ports
                    .iter()
                    .find(|p| p.host == port.host && p.protocol == port.protocol)
                {
                    bail!(
                        "host port {} is given twice (-p {same} and -p {port})",
                        port.host
                    );
                }
                request.ports.push(port);
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
    fn takes_published_ports() {
        let Parsed::Run(r) = parse_str("run -p 8080:80 --publish 5353:53/udp -- httpd").unwrap()
        else {
            panic!()
        };
        let ports: Vec<String> = r.ports.iter().map(|p| p.to_string()).collect();
        assert_eq!(ports, ["8080:80/tcp", "5353:53/udp"]);
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        for (line, words) in [
            ("", "missing command"),
            ("start", "unknown command 'start'"),
            ("run --name", "--name needs a value"),
            ("run --name a/b", "invalid container name"),
            ("run ls", "after `--`"),
            ("run -p", "-p needs a value"),
            ("run -p 80", "HOSTPORT:CONTAINERPORT"),
            ("run -p 8080:80 -p 8080:81", "host port 8080 is given twice"),
        ] {
            let err = format!("{:#}", parse_str(line).unwrap_err());
            assert!(err.contains(words), "{line:?} gave {err:?}");
        }
    }
}
