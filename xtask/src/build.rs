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

/// The Go source of the CNI driver the checks and step 09's runtime drive CNI plugins with
/// (through libcni), relative to the workspace root.
pub const CNI_DRIVER_SOURCE: &str = "checks/cni-driver";

/// Where the CNI driver is built: beside the rootfs (`target/netlab/cni-driver`), where step
/// 09's runtime and checks look for it.
pub fn cni_driver_path(paths: &crate::workspace::Paths) -> std::path::PathBuf {
    paths.target.join("netlab").join("cni-driver")
}

/// Builds the CNI driver (`checks/cni-driver/main.go`, over Debian's libcni) when it is
/// missing or older than its source: offline (GOPATH mode, Debian's Go sources only, no
/// module proxy), its build cache inside `target`. Without Go or libcni, says which package
/// is missing in one line: an error when `required` (step 09 is checked), else a warning.
pub fn cni_driver(paths: &crate::workspace::Paths, required: bool) -> Result<()> {
    let source = paths.root.join(CNI_DRIVER_SOURCE);
    let main = source.join("main.go");
    let output = cni_driver_path(paths);
    let newer = |a: &std::path::Path, b: &std::path::Path| -> bool {
        let time = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        matches!((time(a), time(b)), (Some(a), Some(b)) if a >= b)
    };
    if newer(&output, &main) {
        return Ok(());
    }
    let missing = if which::which("go").is_err() {
        Some("go is missing: install golang-go (scripts/install-deps --dev)")
    } else if !std::path::Path::new(LIBCNI).is_dir() {
        Some("libcni's sources are missing: install golang-github-appc-cni-dev (scripts/install-deps --dev)")
    } else {
        None
    };
    if let Some(why) = missing {
        if required {
            bail!("cannot build the CNI driver that step 09's checks use: {why}");
        }
        eprintln!("netlab: the CNI driver is not built ({why}); step 09 cannot be checked");
        return Ok(());
    }
    let dir = output.parent().context("target/netlab")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let partial = dir.join(format!("cni-driver.partial.{}", std::process::id()));
    let status = Command::new("go")
        .args(["build", "-trimpath", "-o"])
        .arg(&partial)
        .arg(".")
        .current_dir(&source)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOCODE)
        .env("GOCACHE", paths.target.join("netlab").join("gocache"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .stdin(Stdio::null())
        .status()
        .context("running go build for the CNI driver")?;
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!("building the CNI driver ({CNI_DRIVER_SOURCE}) failed ({status}): go's messages are above");
    }
    std::fs::rename(&partial, &output)
        .with_context(|| format!("moving the CNI driver to {}", output.display()))
}

/// Debian's Go sources (golang-github-appc-cni-dev installs libcni there).
const GOCODE: &str = "/usr/share/gocode";
/// libcni in [`GOCODE`].
const LIBCNI: &str = "/usr/share/gocode/src/github.com/containernetworking/cni/libcni";

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
