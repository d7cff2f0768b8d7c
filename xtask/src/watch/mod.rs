//! `cargo xtask watch NN`: checks the step again each time one of its files is saved, shows
//! the verdict and the next hint to read; `h` shows that hint, `q` quits.
//!
//! Two sources feed one channel: the keyboard ([`keys`]: a thread reading stdin, a byte at a
//! time in the terminal's non-canonical mode of [`terminal`], or line by line when stdin is
//! not a terminal) and the files ([`files`]: file events, or polling where they do not
//! arrive); a signal flag ([`signals`]: Ctrl-C, SIGTERM, SIGHUP) is looked at on each tick.
//! This loop only ever waits on that channel, with a timeout, or on a check run, which it can
//! still stop.

mod files;
mod keys;
mod signals;
mod terminal;

use crate::check::{self, Options};
use crate::workspace::{self, Paths, Step};
use crate::{cli, hint, messages};
use anyhow::{bail, Context, Result};
use files::Mode;
use signals::stopped;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

/// A burst of saves is one change: the run starts once the files have been quiet this long...
const QUIET: Duration = Duration::from_millis(300);
/// ...or this long after the first save of the burst, whichever comes first.
const MOST: Duration = Duration::from_secs(2);
/// The main loop's tick: how late a key or a signal may be noticed, at most.
const TICK: Duration = Duration::from_millis(50);

/// What the main loop reacts to.
enum Event {
    /// A file of the step changed.
    Changed(PathBuf),
    /// `h` or `n`: the next hint level.
    Hint,
    /// `q`, Ctrl-C or Ctrl-D (on a terminal).
    Quit,
    /// A key with no meaning.
    Other,
    /// Standard input ended: keys cannot come any more (the files are still watched).
    InputClosed,
}

pub fn main(args: cli::Watch) -> Result<ExitCode> {
    let options = Options {
        solution: args.solution,
        no_build: args.no_build,
        ..Options::default()
    };
    let paths = Paths::new();
    let step = workspace::one(&paths, &args.step)?;
    let dir = step.dir(&paths.root, options.solution);
    if !dir.join("src").is_dir() {
        bail!("{} has no src folder to watch", dir.display());
    }
    let hints = hint::levels(&paths, &step)?;

    let (tx, rx) = mpsc::channel();
    let files = files::watch(&dir, args.poll, tx.clone())?;
    signals::install()?;
    let _terminal = terminal::Terminal::noncanonical()?;
    keys::read(tx.clone());
    let mut watch = Watch {
        paths,
        step,
        dir,
        options,
        hints,
        files,
        runs: 0,
        changed: None,
        keys: true,
        hints_asked: 0,
        rx,
        _tx: tx,
    };
    let code = watch.run();
    // `_terminal` is dropped here, or on the way out of an error or a panic: the terminal
    // is always put back.
    code
}

struct Watch {
    paths: Paths,
    step: Step,
    dir: PathBuf,
    options: Options,
    hints: Vec<(String, String)>,
    /// The files being watched (as long as this lives), and how.
    files: files::Files,
    runs: u32,
    /// The file whose save the next run answers.
    changed: Option<PathBuf>,
    /// Whether keys can still arrive.
    keys: bool,
    /// Hint levels asked for during a run, shown after it.
    hints_asked: usize,
    rx: Receiver<Event>,
    /// Keeps the channel open when the other senders end.
    _tx: Sender<Event>,
}

/// How a check run ended.
enum Run {
    Done,
    Quit,
}

impl Watch {
    fn run(&mut self) -> Result<ExitCode> {
        // The first run starts at once; later ones once a burst of saves has settled.
        let now = Instant::now();
        let mut due = Some((now, now.checked_sub(QUIET).unwrap_or(now)));
        loop {
            if let Some(code) = stopped() {
                return Ok(code);
            }
            if let Some((first, last)) = due {
                if last.elapsed() >= QUIET || first.elapsed() >= MOST {
                    due = None;
                    let mut changed_meanwhile = false;
                    if let Run::Quit = self.check(&mut changed_meanwhile)? {
                        return Ok(stopped().unwrap_or(ExitCode::SUCCESS));
                    }
                    if changed_meanwhile {
                        due = Some((Instant::now(), Instant::now()));
                    }
                    continue;
                }
            }
            match self.rx.recv_timeout(TICK) {
                Ok(Event::Changed(path)) => {
                    self.changed = Some(path);
                    let now = Instant::now();
                    due = Some(due.map_or((now, now), |(first, _)| (first, now)));
                }
                Ok(Event::Hint) => self.show_hint()?,
                Ok(Event::Quit) => return Ok(ExitCode::SUCCESS),
                Ok(Event::Other) => say(messages::WATCH_KEYS),
                Ok(Event::InputClosed) => self.keys = false,
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
            }
        }
    }

    /// One check run: clear the screen, build, check, record, show what is next. Keys and
    /// signals still count while it runs: `q` stops it; saves make another run follow.
    fn check(&mut self, changed_meanwhile: &mut bool) -> Result<Run> {
        self.runs += 1;
        let mut out = std::io::stdout().lock();
        if std::io::stdout().is_terminal() {
            let _ = write!(out, "\x1b[2J\x1b[H");
        } else if self.runs > 1 {
            let _ = writeln!(out);
        }
        let _ = writeln!(
            out,
            "{}",
            messages::watch_header(
                &self.step.id,
                self.runs,
                &clock(),
                &self.relative(&self.dir),
                self.options.solution
            )
        );
        if let Some(path) = self.changed.take() {
            let _ = writeln!(out, "{}", messages::watch_saved(&self.relative(&path)));
        }
        let _ = out.flush();
        drop(out);
        let steps = [self.step.clone()];
        let status = match check::prepare(&self.paths, &steps, self.options) {
            Err(e) => {
                say(&format!("xtask: {e:#}"));
                None
            }
            Ok(mut command) => {
                let child = command.stdin(Stdio::null()).spawn().with_context(|| {
                    format!("starting {}", self.paths.binary("checker").display())
                })?;
                let Some(status) = self.wait(child, changed_meanwhile)? else {
                    return Ok(Run::Quit);
                };
                check::record(&self.paths, &steps, self.options, status)?;
                Some(status)
            }
        };
        let mut lines = Vec::new();
        match status {
            Some(status) if status.success() && self.options.solution => {
                lines.push(messages::WATCH_SOLUTION_PASSED.to_string())
            }
            Some(status) if status.success() => lines.push(messages::watch_passed(&self.step.id)),
            _ => lines.push(self.next_hint_line()?),
        }
        lines.push(messages::watch_footer(&self.relative(&self.dir), self.keys));
        match self.files.mode {
            Mode::Events => {}
            Mode::PollAsked => lines.push(messages::WATCH_POLLING_ASKED.to_string()),
            Mode::PollFallback => lines.push(messages::WATCH_POLLING_FALLBACK.to_string()),
        }
        say(&lines.join("\n"));
        // Keys pressed during the run count now, below its report.
        for _ in 0..std::mem::take(&mut self.hints_asked) {
            self.show_hint()?;
        }
        Ok(Run::Done)
    }

    /// Waits for the checker, still reacting to keys, saves and signals. `None`: quit.
    fn wait(
        &mut self,
        mut child: Child,
        changed_meanwhile: &mut bool,
    ) -> Result<Option<std::process::ExitStatus>> {
        loop {
            if let Some(status) = child.try_wait().context("waiting for the checker")? {
                return Ok(Some(status));
            }
            if stopped().is_some() {
                stop(child);
                return Ok(None);
            }
            match self.rx.recv_timeout(TICK) {
                Ok(Event::Changed(path)) => {
                    self.changed = Some(path);
                    *changed_meanwhile = true;
                }
                Ok(Event::Hint) => self.hints_asked += 1,
                Ok(Event::Quit) => {
                    stop(child);
                    return Ok(None);
                }
                Ok(Event::InputClosed) => self.keys = false,
                Ok(Event::Other) | Err(_) => {}
            }
        }
    }

    /// "next hint: level 2 of 3 (command): press h", or that all were read.
    fn next_hint_line(&self) -> Result<String> {
        let seen = hint::seen(&self.paths, &self.step)?;
        Ok(if seen >= self.hints.len() {
            messages::watch_all_hints_read(&self.step.id, self.hints.len())
        } else {
            let next = hint::next(seen, &self.hints);
            messages::watch_next_hint(next, self.hints.len(), &self.hints[next - 1].0)
        })
    }

    /// Shows the next hint level below the report, and remembers it was read.
    fn show_hint(&mut self) -> Result<()> {
        let seen = hint::seen(&self.paths, &self.step)?;
        let level = hint::next(seen, &self.hints);
        say(&format!(
            "\n{}",
            hint::format(&self.step, &self.hints, level)
        ));
        hint::record(&self.paths, &self.step, level)?;
        say(&self.next_hint_line()?);
        Ok(())
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.paths.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// Writes a line (or several) and flushes; a closed stdout is not a panic.
fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Ends a check run early: the checker's labs die with it (they have a parent-death signal).
fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// `HH:MM:SS`, UTC.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
