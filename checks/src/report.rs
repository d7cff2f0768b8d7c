//! The report a learner reads: one line per check, and for each failure what was expected, what
//! was seen and where to look next; then `N passed, M failed`.

use crate::verdict::{CheckResult, Outcome};
use std::fmt::Write;

/// Renders the results of one step's checks (or several steps', in order).
pub fn render(results: &[CheckResult]) -> String {
    let mut out = String::new();
    let mut step = None;
    for result in results {
        if step != Some(&result.step) {
            step = Some(&result.step);
            let _ = writeln!(out, "\nstep {}: {}", result.step, result.step_title);
        }
        let tag = match result.outcome {
            Outcome::Passed => "PASS",
            Outcome::NotImplemented { .. } => "TODO",
            Outcome::TimedOut { .. } => "HANG",
            Outcome::LabError { .. } => "LAB ",
            _ => "FAIL",
        };
        let _ = writeln!(out, "  {tag}  {:<22} {}", result.id, result.title);
        for line in explain(result) {
            let _ = writeln!(out, "        {line}");
        }
    }
    let passed = results.iter().filter(|r| r.outcome.passed()).count();
    let _ = writeln!(out, "\n{passed} passed, {} failed", results.len() - passed);
    out
}

/// The indented lines under a check that did not pass.
fn explain(result: &CheckResult) -> Vec<String> {
    let step = &result.step;
    let hint = format!("hint:     cargo xtask hint {step} --level {}", result.hint);
    let mut lines = match &result.outcome {
        Outcome::Passed => return Vec::new(),
        Outcome::Failed { expected, observed } => {
            let mut lines = vec![format!("expected: {expected}")];
            lines.extend(labelled("observed: ", observed));
            lines
        }
        Outcome::NotImplemented { place, what } => {
            let what = if what.is_empty() {
                String::new()
            } else {
                format!(" ({what})")
            };
            vec![
                format!("not implemented yet: {place}{what}"),
                "next:     replace that todo!() with your code".to_string(),
            ]
        }
        Outcome::Panicked { place, message } => vec![
            format!("your code panicked at {place}"),
            format!("message:  {message}"),
        ],
        Outcome::HookFailed { message } => labelled("your code returned an error: ", message),
        Outcome::TimedOut { seconds, doing } => {
            let mut lines = vec![format!(
                "no answer within {seconds} s: does your code wait for something that never happens?"
            )];
            lines.extend(labelled("while:    ", doing));
            lines
        }
        Outcome::LabError { message } => {
            let mut lines = labelled("the lab itself failed: ", message);
            lines.push(
                "this is not your code's fault: `cargo xtask doctor` checks the machine"
                    .to_string(),
            );
            return lines;
        }
    };
    lines.push(hint);
    lines
}

/// `label` before the first line of `text`, the rest aligned under it.
fn labelled(label: &str, text: &str) -> Vec<String> {
    let pad = " ".repeat(label.chars().count().min(10));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("{label}{line}")
            } else {
                format!("{pad}{line}")
            }
        })
        .collect()
}

/// Each step's verdict, `NN passed` or `NN failed` a line, for the steps `ids` (in their
/// order): passed when every one of its checks passed.
pub fn verdicts(ids: &[&str], results: &[CheckResult]) -> String {
    ids.iter()
        .map(|id| {
            let own: Vec<&CheckResult> = results.iter().filter(|r| r.step == *id).collect();
            let passed = !own.is_empty() && own.iter().all(|r| r.outcome.passed());
            format!("{id} {}\n", if passed { "passed" } else { "failed" })
        })
        .collect()
}

/// True when every check passed.
pub fn all_passed(results: &[CheckResult]) -> bool {
    !results.is_empty() && results.iter().all(|r| r.outcome.passed())
}
