//! `cargo xtask hint NN`: hints in levels, from `steps/NN-*/hints.md`,
//! whose `## Level N: title` headings split the levels.

use crate::workspace::{self, Paths, Step};
use crate::{cli, progress};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::ExitCode;

pub fn main(args: cli::Hint) -> Result<ExitCode> {
    let (level, all) = (args.level, args.all);
    let paths = Paths::new();
    let step = workspace::one(&paths, &args.step)?;
    let levels = levels(&paths, &step)?;
    let seen = seen(&paths, &step)?;
    let shown: Vec<usize> = if all {
        (1..=levels.len()).collect()
    } else {
        let wanted = level.unwrap_or_else(|| next(seen, &levels));
        if wanted == 0 || wanted > levels.len() {
            bail!("step {} has hint levels 1 to {}", step.id, levels.len());
        }
        vec![wanted]
    };
    // Written without println!, so that a closed pipe (`| head`) is not a panic.
    let mut out = std::io::stdout().lock();
    for n in &shown {
        let _ = writeln!(out, "{}", format(&step, &levels, *n));
    }
    let highest = shown.iter().copied().max().unwrap_or(0).max(seen);
    record(&paths, &step, highest)?;
    if highest < levels.len() && !all {
        let _ = writeln!(out, "(run it again for level {})", highest + 1);
    }
    Ok(ExitCode::SUCCESS)
}

/// The step's hint levels, from its `hints.md`; an error naming the file when it has none.
pub fn levels(paths: &Paths, step: &Step) -> Result<Vec<(String, String)>> {
    let file = step.dir(&paths.root, false).join("hints.md");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let levels = parse(&text);
    if levels.is_empty() {
        bail!("{} has no `## Level N: ...` sections", file.display());
    }
    Ok(levels)
}

/// The highest hint level of the step the learner has seen (0: none).
pub fn seen(paths: &Paths, step: &Step) -> Result<usize> {
    let mut progress = progress::Progress::load(paths)?;
    Ok(usize::from(progress.step(&step.id).hint))
}

/// The level to show next: the first one not seen yet (the last one once all were seen).
pub fn next(seen: usize, levels: &[(String, String)]) -> usize {
    (seen + 1).min(levels.len())
}

/// Level `n` (from 1) as shown: a heading line, a blank line, the text, a blank line.
pub fn format(step: &Step, levels: &[(String, String)], n: usize) -> String {
    let Some((title, body)) = levels.get(n.wrapping_sub(1)) else {
        return String::new();
    };
    format!(
        "step {} · hint {n} of {} · {title}\n\n{}\n",
        step.id,
        levels.len(),
        body.trim()
    )
}

/// Remembers that the learner has seen the levels up to `highest` (never lowers it).
pub fn record(paths: &Paths, step: &Step, highest: usize) -> Result<()> {
    let mut progress = progress::Progress::load(paths)?;
    let entry = progress.step(&step.id);
    let highest = u8::try_from(highest).unwrap_or(u8::MAX);
    entry.hint = entry.hint.max(highest);
    progress.save()
}

pub use workshop::hints::parse;
