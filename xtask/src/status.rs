//! `cargo xtask status`: every step, its title, whether and when it passed, the hints seen,
//! and the step to do next.

use crate::workspace::{self, Paths, Step};
use crate::{hint, progress};
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

pub fn main() -> Result<ExitCode> {
    let paths = Paths::new();
    let steps = workspace::steps(&paths)?;
    let progress = progress::Progress::load(&paths)?;
    let rows: Vec<[String; 4]> = steps
        .iter()
        .map(|step| {
            let p = progress.steps.get(&step.id).cloned().unwrap_or_default();
            let passed = p
                .passed
                .map_or_else(|| "-".to_string(), |w| format!("yes {w}"));
            let hints = match hint_levels(&paths, step) {
                Some(total) => format!("{} of {total}", p.hint),
                None => p.hint.to_string(),
            };
            [step.id.clone(), step.title.clone(), passed, hints]
        })
        .collect();
    let header = ["step", "title", "passed", "hints"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // Written without println!, so that a closed pipe (`| head`) is not a panic.
    let mut out = std::io::stdout().lock();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    let next = steps
        .iter()
        .find(|s| progress.steps.get(&s.id).is_none_or(|p| p.passed.is_none()));
    let _ = match next {
        Some(step) => writeln!(
            out,
            "\nnext: step {} ({}): cargo xtask check {}",
            step.id,
            step.title.clone(),
            step.id
        ),
        None if steps.is_empty() => writeln!(out, "\nno steps found"),
        None => writeln!(
            out,
            "\nall steps passed ({0} of {0}): well done",
            steps.len()
        ),
    };
    Ok(ExitCode::SUCCESS)
}

fn hint_levels(paths: &Paths, step: &Step) -> Option<usize> {
    let text = std::fs::read_to_string(step.dir(&paths.root, false).join("hints.md")).ok()?;
    let levels = hint::parse(&text).len();
    (levels > 0).then_some(levels)
}
