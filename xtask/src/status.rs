//! `cargo xtask status`: every step, its title, whether and when it passed, the hints seen,
//! and the step to do next.

use crate::workspace::{self, Paths, Step};
use crate::{hint, messages, progress};
use anyhow::{bail, Result};
use std::io::Write;
use std::process::ExitCode;

pub fn main(args: &[String]) -> Result<ExitCode> {
    if let Some(arg) = args.first() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{}", messages::STATUS_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => {
                bail!("unknown option {other} (cargo xtask status --help)")
            }
            other => bail!("unexpected argument {other}: status takes no step"),
        }
    }
    let paths = Paths::new();
    let steps = workspace::steps(&paths)?;
    let progress = progress::Progress::load(&paths)?;
    let rows: Vec<[String; 4]> = steps
        .iter()
        .map(|step| {
            let p = progress
                .steps
                .get(&step.number)
                .cloned()
                .unwrap_or_default();
            let passed = p
                .passed
                .map_or_else(|| "-".to_string(), |w| format!("yes {w}"));
            let hints = match hint_levels(&paths, step) {
                Some(total) => format!("{} of {total}", p.hint),
                None => p.hint.to_string(),
            };
            [step.number.clone(), title(&paths, step), passed, hints]
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
    let next = steps.iter().find(|s| {
        progress
            .steps
            .get(&s.number)
            .is_none_or(|p| p.passed.is_none())
    });
    let _ = match next {
        Some(step) => writeln!(
            out,
            "\nnext: step {} ({}): cargo xtask check {}",
            step.number,
            title(&paths, step),
            step.number
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

/// The first `# ` heading of the step's lesson, without its `Step NN: ` prefix; the slug
/// when there is no lesson.
pub fn title(paths: &Paths, step: &Step) -> String {
    let file = step.dir(paths, false).join("README.md");
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("# "))
                .map(strip_step_prefix)
        })
        .unwrap_or_else(|| step.slug.clone())
}

fn strip_step_prefix(heading: &str) -> String {
    let heading = heading.trim();
    match heading
        .strip_prefix("Step ")
        .and_then(|r| r.split_once(':'))
    {
        Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => rest.trim().to_string(),
        _ => heading.to_string(),
    }
}

fn hint_levels(paths: &Paths, step: &Step) -> Option<usize> {
    let text = std::fs::read_to_string(step.dir(paths, false).join("hints.md")).ok()?;
    let levels = hint::parse(&text).len();
    (levels > 0).then_some(levels)
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_the_step_prefix() {
        assert_eq!(
            super::strip_step_prefix("Step 01: the network namespace"),
            "the network namespace"
        );
        assert_eq!(super::strip_step_prefix("A lesson"), "A lesson");
        assert_eq!(super::strip_step_prefix("Step one: x"), "Step one: x");
    }
}
