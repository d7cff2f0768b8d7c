//! `cargo xtask reset NN [--yes]`: puts the step's learner files (`steps/NN-*/src/`) back to
//! the version committed in git, with its TODOs.

use crate::workspace::{self, Paths};
use crate::{cli, messages};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode};

pub fn main(args: cli::Reset) -> Result<ExitCode> {
    let paths = Paths::new();
    let step = workspace::one(&paths, &args.step)?;
    let src = format!("steps/{}/src", step.folder);
    git_checkout_root(&paths.root)?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            bail!(messages::reset_needs_yes(&step.id));
        }
        eprint!("{}", messages::reset_question(&src));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("reading the answer")?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            println!("nothing changed");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let output = git(&paths.root)
        .args(["checkout", "HEAD", "--", &src])
        .output()
        .map_err(git_missing)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        bail!("git could not restore {src}: {}", why.trim());
    }
    println!("{src} is back to its original TODOs");
    Ok(ExitCode::SUCCESS)
}

fn git(root: &Path) -> Command {
    let mut git = Command::new("git");
    git.arg("-C").arg(root);
    git
}

fn git_missing(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!(messages::RESET_NO_GIT)
    } else {
        anyhow::anyhow!("running git: {e}")
    }
}

/// Fails unless `root` is the top of a git checkout (not merely inside another one).
fn git_checkout_root(root: &Path) -> Result<()> {
    let output = git(root)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .map_err(git_missing)?;
    let top = String::from_utf8_lossy(&output.stdout);
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !output.status.success() || !same(Path::new(top.trim()), root) {
        bail!(messages::reset_not_git(root));
    }
    Ok(())
}
