//! The learner's progress, in a small human-readable file at the workspace root
//! (`.netlab-progress`, git-ignored): one line per step, `NN hint=N passed=YYYY-MM-DD HH:MM:SS`
//! (or `failed=...`): the step's last verdict, and when.

use crate::workspace::Paths;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const HEADER: &str =
    "# Your progress through the workshop. Yours alone (git-ignored); delete it to start over.\n";

/// What is known of one step.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepProgress {
    /// The highest hint level shown so far (0: none).
    pub hint: u8,
    /// When the step's checks last all passed, if its last verdict was that.
    pub passed: Option<String>,
    /// When the step's checks last failed, if its last verdict was that.
    pub failed: Option<String>,
}

impl StepProgress {
    /// The step's last verdict: passed or not, and when.
    pub fn verdict(&self) -> Option<(bool, &str)> {
        match (&self.passed, &self.failed) {
            (Some(when), _) => Some((true, when)),
            (None, Some(when)) => Some((false, when)),
            (None, None) => None,
        }
    }

    /// Records a verdict: it replaces the one before.
    pub fn judged(&mut self, passed: bool, when: String) {
        (self.passed, self.failed) = if passed {
            (Some(when), None)
        } else {
            (None, Some(when))
        };
    }
}

/// Every step's progress, by step number.
pub struct Progress {
    file: PathBuf,
    pub steps: BTreeMap<String, StepProgress>,
}

impl Progress {
    /// The progress file; an error naming the file and its bad line when it cannot be read.
    pub fn load(paths: &Paths) -> Result<Progress> {
        let file = file(paths);
        match read(&file) {
            Ok(steps) => Ok(Progress { file, steps }),
            Err(why) => bail!("{} {why}: fix or delete that file", file.display()),
        }
    }

    /// The progress file, or a new empty one when it cannot be read, for recording a verdict
    /// just given: a broken file must not turn the check's report into an error. The unreadable
    /// file is moved aside (to `.netlab-progress.unreadable`) and the returned one-line
    /// warning says so.
    pub fn load_or_restart(paths: &Paths) -> (Progress, Option<String>) {
        let file = file(paths);
        match read(&file) {
            Ok(steps) => (Progress { file, steps }, None),
            Err(why) => {
                let aside = file.with_extension("unreadable");
                let _ = std::fs::remove_dir_all(&aside);
                let kept = match std::fs::rename(&file, &aside) {
                    Ok(()) => format!(", the old one kept as {}", aside.display()),
                    Err(_) => String::new(),
                };
                let warning = format!(
                    "xtask: warning: {} was unreadable ({why}): your progress was started anew{kept}",
                    file.display()
                );
                let steps = BTreeMap::new();
                (Progress { file, steps }, Some(warning))
            }
        }
    }

    pub fn save(&self) -> Result<()> {
        let mut text = HEADER.to_string();
        for (step, p) in &self.steps {
            text.push_str(&format!("{step} hint={}", p.hint));
            if let Some(when) = &p.passed {
                text.push_str(&format!(" passed={when}"));
            } else if let Some(when) = &p.failed {
                text.push_str(&format!(" failed={when}"));
            }
            text.push('\n');
        }
        std::fs::write(&self.file, text).with_context(|| format!("writing {}", self.file.display()))
    }

    pub fn step(&mut self, number: &str) -> &mut StepProgress {
        self.steps.entry(number.to_string()).or_default()
    }
}

/// Where the progress file is.
fn file(paths: &Paths) -> PathBuf {
    paths.root.join(".netlab-progress")
}

/// The steps the progress file records (none when there is no file), or why it cannot be
/// read: `line 3 is not ...`, or the system's error.
fn read(file: &Path) -> std::result::Result<BTreeMap<String, StepProgress>, String> {
    let mut steps = BTreeMap::new();
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let corrupt = || {
            format!(
                "line {} is not `NN hint=N passed=...` (or `failed=...`)",
                n + 1
            )
        };
        let (step, rest) = line.split_once(' ').ok_or_else(corrupt)?;
        let mut progress = StepProgress::default();
        let mut rest = rest.trim();
        if let Some(after) = rest.strip_prefix("hint=") {
            let (level, tail) = after.split_once(' ').unwrap_or((after, ""));
            progress.hint = level.parse().map_err(|_| corrupt())?;
            rest = tail.trim();
        }
        if let Some(when) = rest.strip_prefix("passed=") {
            progress.passed = Some(when.to_string());
        } else if let Some(when) = rest.strip_prefix("failed=") {
            progress.failed = Some(when.to_string());
        } else if !rest.is_empty() {
            return Err(corrupt());
        }
        steps.insert(step.to_string(), progress);
    }
    Ok(steps)
}

/// Now, as `YYYY-MM-DD HH:MM:SS` UTC (which sorts as the time does).
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
