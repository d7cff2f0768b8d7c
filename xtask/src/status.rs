//! `cargo xtask status`: every step, its title, its last verdict (passed or not, and when),
//! the hints seen, and the step to do next.

use crate::workspace::{self, Paths, Step};
use crate::{hint, messages, progress};
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
            let passed = match p.verdict() {
                Some((true, when)) => format!("yes {when}"),
                Some((false, when)) => format!("no {when}"),
                None => "-".to_string(),
            };
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
    let next = next(&steps, &progress);
    let _ = match next {
        _ if steps.is_empty() => writeln!(out, "\nno steps found"),
        Next::Step(step) => writeln!(
            out,
            "\nnext: step {} ({}): cargo xtask check {}",
            step.id,
            step.title.clone(),
            step.id
        ),
        Next::Before { last, open } => writeln!(
            out,
            "\n{}",
            messages::status_only_before(
                &last.id,
                &open.iter().map(|s| s.id.as_str()).collect::<Vec<_>>()
            )
        ),
        Next::AllPassed => writeln!(
            out,
            "\nall steps passed ({0} of {0}): well done",
            steps.len()
        ),
    };
    Ok(ExitCode::SUCCESS)
}

/// What `status` names as next.
pub enum Next<'a> {
    /// The step last worked on (the latest verdict), while it has not passed; else the first
    /// step after it not passed (the first step of all when nothing was checked yet).
    Step(&'a Step),
    /// Every step from the one last worked on passed; these, before it, have not.
    Before { last: &'a Step, open: Vec<&'a Step> },
    /// Every step passed.
    AllPassed,
}

pub fn next<'a>(steps: &'a [Step], progress: &progress::Progress) -> Next<'a> {
    let verdict = |s: &Step| progress.steps.get(&s.id).and_then(|p| p.verdict());
    let passed = |s: &&Step| verdict(s).is_some_and(|(passed, _)| passed);
    // The latest verdict; of verdicts given at once (`check all`), the last step's.
    let last = steps
        .iter()
        .enumerate()
        .filter_map(|(at, s)| verdict(s).map(|(_, when)| (when.to_string(), at)))
        .max()
        .map(|(_, at)| at);
    if let Some(step) = steps[last.unwrap_or(0)..].iter().find(|s| !passed(s)) {
        return Next::Step(step);
    }
    let open: Vec<&Step> = steps.iter().filter(|s| !passed(s)).collect();
    match last {
        Some(at) if !open.is_empty() => Next::Before {
            last: &steps[at],
            open,
        },
        _ => Next::AllPassed,
    }
}

/// The step the learner is on: the next one, or the one last worked on when only steps before
/// it are left, or the last step when all passed.
pub fn current<'a>(steps: &'a [Step], progress: &progress::Progress) -> Option<&'a Step> {
    match next(steps, progress) {
        Next::Step(step) | Next::Before { last: step, .. } => Some(step),
        Next::AllPassed => steps.last(),
    }
}

fn hint_levels(paths: &Paths, step: &Step) -> Option<usize> {
    let text = std::fs::read_to_string(step.dir(&paths.root, false).join("hints.md")).ok()?;
    let levels = hint::parse(&text).len();
    (levels > 0).then_some(levels)
}
