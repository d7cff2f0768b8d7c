//! `cargo xtask solution NN [--force]`: once step NN has passed, shows the solution's version
//! of each learner file and a unified diff from the learner's file to it.

use crate::workspace::{self, Paths};
use crate::{cli, messages, progress};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode};

pub fn main(args: cli::Solution) -> Result<ExitCode> {
    let paths = Paths::new();
    let step = workspace::one(&paths, &args.step)?;
    let progress = progress::Progress::load(&paths)?;
    let passed = progress
        .steps
        .get(&step.id)
        .is_some_and(|p| p.passed.is_some());
    if !passed && !args.force {
        bail!(messages::solution_not_passed(&step.id));
    }
    let theirs_dir = step.dir(&paths.root, true).join("src");
    // The learner's files that the solution has too: not main.rs (the wiring), not given.rs
    // (given code, which the solution compiles from the step's own folder).
    let files: Vec<_> = workspace::learner_files(&paths, &step)?
        .into_iter()
        .filter(|f| f != Path::new("main.rs") && theirs_dir.join(f).is_file())
        .collect();
    if files.is_empty() {
        bail!(
            "steps/{}/src has no learner file besides main.rs",
            step.folder
        );
    }
    let mine_dir = step.dir(&paths.root, false).join("src");
    let mut shown = Vec::new();
    for file in &files {
        let theirs = theirs_dir.join(file);
        let text = std::fs::read_to_string(&theirs)
            .with_context(|| format!("reading {}", theirs.display()))?;
        shown.push((file, text));
    }
    // Written without println!, so that a closed pipe (`| head`) is not a panic.
    let mut out = std::io::stdout().lock();
    for (file, text) in shown {
        let name = format!("solutions/{}/src/{}", step.folder, file.display());
        let mine_name = format!("steps/{}/src/{}", step.folder, file.display());
        let _ = writeln!(out, "==> {name} <==\n{}", text.trim_end());
        let _ = match diff(&paths.root, &mine_name, &name) {
            Some(d) if d.trim().is_empty() => {
                writeln!(
                    out,
                    "\n==> your {mine_name} is the same as the solution <==\n"
                )
            }
            Some(d) => writeln!(
                out,
                "\n==> diff: your {mine_name} -> the solution <==\n{}\n",
                d.trim_end()
            ),
            None if !mine_dir.join(file).exists() => {
                writeln!(out, "\n(no {mine_name} to compare with)\n")
            }
            None => writeln!(
                out,
                "\n(no diff shown: neither diff nor git is installed)\n"
            ),
        };
    }
    Ok(ExitCode::SUCCESS)
}

/// A unified diff of two files (paths relative to `root`), by `diff -u` or else
/// `git diff --no-index`; `None` when neither could run.
fn diff(root: &Path, a: &str, b: &str) -> Option<String> {
    if !root.join(a).exists() {
        return None;
    }
    let tools: [&[&str]; 2] = [
        &["diff", "-u"],
        &["git", "--no-pager", "diff", "--no-index", "--no-color"],
    ];
    for tool in tools {
        let Ok(output) = Command::new(tool[0])
            .args(&tool[1..])
            .args([a, b])
            .current_dir(root)
            .output()
        else {
            continue;
        };
        // Both exit 0 (same), 1 (different); anything else is trouble.
        if matches!(output.status.code(), Some(0 | 1)) {
            return Some(String::from_utf8_lossy(&output.stdout).into_owned());
        }
    }
    None
}
