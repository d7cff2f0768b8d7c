//! Building with cargo, as the user (never through sudo). Every build a verb starts shows
//! cargo's progress (`Compiling ...`, warnings, errors) as it comes; a build with nothing to
//! do prints nothing, not cargo's `Finished` line before every check.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Command, Stdio};

/// `cargo build` of these packages' binaries.
pub fn packages(packages: &[String]) -> Result<()> {
    let mut command = cargo();
    command.args(["build", "--bins"]);
    for package in packages {
        command.args(["--package", package]);
    }
    run(command, &packages.join(", "))
}

/// `cargo build` of every binary in the workspace.
pub fn workspace() -> Result<()> {
    let mut command = cargo();
    command.args(["build", "--workspace", "--bins"]);
    run(command, "the workspace")
}

/// The cargo that runs us (so the same toolchain builds everything).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(mut command: Command, what: &str) -> Result<()> {
    // Cargo's messages come through a pipe: colours only where ours would have them.
    let colour = if std::io::stderr().is_terminal() {
        "always"
    } else {
        "never"
    };
    command.args(["--color", colour]).stderr(Stdio::piped());
    let mut child = command.spawn().context("running cargo")?;
    let mut worked = false;
    if let Some(messages) = child.stderr.take() {
        let mut err = std::io::stderr();
        for line in BufReader::new(messages).split(b'\n') {
            let line = line.context("reading cargo's messages")?;
            // `Finished` alone: nothing was built, nothing to show.
            if is_finished(&line) && !worked {
                continue;
            }
            worked = true;
            let _ = err.write_all(&line);
            let _ = err.write_all(b"\n");
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("building {what} failed (the compiler's messages are above)");
    }
    Ok(())
}

/// Whether cargo's line is its `Finished` line (colours and indent aside).
fn is_finished(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence `ESC [ ... letter`.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.trim_start().starts_with("Finished ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn finished_is_known_with_and_without_colours() {
        assert!(super::is_finished(
            b"    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.20s"
        ));
        assert!(super::is_finished(
            b"\x1b[1m\x1b[92m    Finished\x1b[0m `dev` profile [unoptimized] target(s) in 0.2s"
        ));
        assert!(!super::is_finished(b"   Compiling checks v0.1.0"));
        assert!(!super::is_finished(b"warning: Finished is a word"));
    }
}
