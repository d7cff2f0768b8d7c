//! The report a learner reads: one line per check, and for each failure what was expected, what
//! was seen and where to look next; then `N passed, M failed`.

use crate::verdict::{CheckResult, Outcome};
use std::fmt::Write;

/// Renders the results of one step's checks (or several steps', in order).
pub fn render(results: &[CheckResult]) -> String {
    let mut out = String::new();
    let mut step = None;
    // The lab's diagram, once: the first failing check's, after the failures.
    let mut diagram: Option<(String, Vec<String>)> = None;
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
        let (mut lines, drawn) = without_diagram(explain(result));
        if let Some(drawn) = drawn {
            let shown = diagram.get_or_insert_with(|| (result.id.clone(), drawn));
            let pointer = format!(
                "diagram:  below, after the failures (the lab of {})",
                shown.0
            );
            // Before the hint, the last line.
            let at = lines.len().saturating_sub(1);
            lines.insert(at, pointer);
        }
        for line in lines {
            let _ = writeln!(out, "        {line}");
        }
    }
    if let Some((id, lines)) = diagram {
        let _ = writeln!(out, "\nthe lab of {id}, as the check saw it:");
        for line in lines {
            let _ = writeln!(out, "  {line}");
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

/// A failure's lines without the lab's diagram (from its title to its end line, see
/// [`crate::show::diagram`]), and the diagram's own lines (its title left out), unindented.
fn without_diagram(lines: Vec<String>) -> (Vec<String>, Option<Vec<String>>) {
    use crate::show::{DIAGRAM_END, DIAGRAM_TITLE};
    let start = lines.iter().position(|l| l.contains(DIAGRAM_TITLE));
    let end = lines
        .iter()
        .rposition(|l| l.trim_end().ends_with(DIAGRAM_END));
    let (Some(start), Some(end)) = (start, end) else {
        return (lines, None);
    };
    if end <= start {
        return (lines, None);
    }
    let mut kept = lines;
    let block: Vec<String> = kept.drain(start..=end).collect();
    let inner = &block[1..block.len() - 1];
    let indent = inner
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let drawn = inner
        .iter()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_string())
        .collect();
    (kept, Some(drawn))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::{DIAGRAM_END, DIAGRAM_TITLE};

    fn failed(id: &str) -> CheckResult {
        CheckResult {
            step: "05".into(),
            step_title: "many containers, one bridge".into(),
            id: id.into(),
            title: "a check".into(),
            hint: 1,
            outcome: Outcome::failed(
                "something",
                format!(
                    "what was seen\n{DIAGRAM_TITLE}\n  lab host\n    eth0\n{DIAGRAM_END}\nafter it"
                ),
            ),
        }
    }

    #[test]
    fn the_diagram_is_shown_once_after_the_failures() {
        let report = render(&[failed("05.a"), failed("05.b")]);
        assert_eq!(report.matches("lab host").count(), 1, "{report}");
        assert!(
            !report.contains(DIAGRAM_TITLE) && !report.contains(DIAGRAM_END),
            "{report}"
        );
        assert_eq!(
            report
                .matches("below, after the failures (the lab of 05.a)")
                .count(),
            2,
            "{report}"
        );
        assert!(report.contains("after it"), "{report}");
        let (_, tail) = report
            .split_once("the lab of 05.a, as the check saw it:")
            .unwrap_or_default();
        assert!(
            tail.contains("  lab host\n    eth0\n") && tail.contains("0 passed, 2 failed"),
            "{report}"
        );
    }
}
