//! `cargo xtask watch NN [--solution] [--poll] [--no-build]`: checks the step again each time
//! one of its files is saved, shows the verdict and the next hint to read; `h` shows that
//! hint, `q` quits.
//!
//! Three sources feed one channel: the keyboard (a thread reading stdin, a byte at a time in
//! the terminal's non-canonical mode, or line by line when stdin is not a terminal), the
//! files (inotify, or polling their mtimes where file events do not arrive), and a signal
//! flag (Ctrl-C, SIGTERM, SIGHUP). The main loop only ever waits on that channel, with a
//! timeout, or on a check run, which it can still stop.

use crate::check::{self, Options};
use crate::workspace::{self, Paths, Step};
use crate::{hint, messages};
use anyhow::{bail, Context, Result};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::signal::{self, SigHandler, Signal};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

/// Set by [`NO_EVENTS_ENV`]`=1`: inotify events are ignored, as if they never arrived (tests
/// of the fallback to polling; documented in the usage).
pub const NO_EVENTS_ENV: &str = "NETLAB_WATCH_NO_EVENTS";
/// The file `watch` touches in the step's folder at start, to see whether events arrive.
const PROBE: &str = ".netlab-watch-probe";
/// How long the probe's event may take.
const PROBE_WAIT: Duration = Duration::from_secs(1);
/// How often the files are compared when polling.
const POLL_EVERY: Duration = Duration::from_millis(500);
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

/// How the files are watched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Events,
    /// Polling, because `--poll` asked for it.
    PollAsked,
    /// Polling, because file events did not arrive.
    PollFallback,
}

pub fn main(args: &[String]) -> Result<ExitCode> {
    let mut step = None;
    let mut options = Options::default();
    let mut poll = false;
    for arg in args {
        match arg.as_str() {
            "--solution" => options.solution = true,
            "--poll" => poll = true,
            "--no-build" => options.no_build = true,
            "-h" | "--help" => {
                print!("{}", messages::WATCH_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => {
                bail!("unknown option {other} (cargo xtask watch --help)")
            }
            other if step.is_none() => step = Some(other.to_string()),
            other => bail!("unexpected argument {other}: watch takes one step"),
        }
    }
    let paths = Paths::new();
    let step = workspace::one(&paths, step.as_ref())?;
    let dir = step.dir(&paths.root, options.solution);
    if !dir.join("src").is_dir() {
        bail!("{} has no src folder to watch", dir.display());
    }
    let hints = hint::levels(&paths, &step)?;

    let (tx, rx) = mpsc::channel();
    let mode = watch_files(&dir, poll, tx.clone())?;
    install_signal_handlers()?;
    let _terminal = Terminal::noncanonical()?;
    read_keys(tx.clone());
    let mut watch = Watch {
        paths,
        step,
        dir,
        options,
        hints,
        mode,
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
    mode: Mode,
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
        match self.mode {
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

// ---- signals -------------------------------------------------------------------------------

/// The signal that asked us to stop (0: none).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: nix::libc::c_int) {
    STOP.store(signal, Ordering::SeqCst);
}

/// Ctrl-C, SIGTERM and SIGHUP set a flag the loops look at, so that every way out puts the
/// terminal back. (A check run started from a terminal gets Ctrl-C's SIGINT itself too.)
fn install_signal_handlers() -> Result<()> {
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe { signal::signal(signal, SigHandler::Handler(on_signal)) }
            .with_context(|| format!("handling {signal}"))?;
    }
    Ok(())
}

/// The exit code to leave with when a signal asked us to stop.
fn stopped() -> Option<ExitCode> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(ExitCode::from(128u8.saturating_add(signal as u8))),
    }
}

// ---- the keyboard --------------------------------------------------------------------------

/// The terminal in non-canonical mode without echo (keys arrive one at a time, unseen),
/// restored when dropped. Signals stay on: Ctrl-C also stops a check run at once.
struct Terminal {
    original: Option<Termios>,
}

impl Terminal {
    fn noncanonical() -> Result<Terminal> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(Terminal { original: None });
        }
        let original = termios::tcgetattr(stdin.as_fd()).context("reading the terminal mode")?;
        let mut raw = original.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
            .context("setting the terminal mode")?;
        Ok(Terminal {
            original: Some(original),
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(original) = &self.original {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, original);
        }
    }
}

/// A thread turning what is typed into events: single keys on a terminal, lines otherwise
/// (the first character of each counts).
fn read_keys(tx: Sender<Event>) {
    let terminal = std::io::stdin().is_terminal();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let key = if terminal {
                let mut byte = [0u8];
                match stdin.read(&mut byte) {
                    Ok(1) => Some(byte[0]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    _ => None,
                }
            } else {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => match line.trim().bytes().next() {
                        Some(first) => Some(first),
                        None => continue,
                    },
                }
            };
            let event = match key {
                None => Event::InputClosed,
                Some(b'h' | b'H' | b'n' | b'N') => Event::Hint,
                // q, Ctrl-C, Ctrl-D
                Some(b'q' | b'Q' | 3 | 4) => Event::Quit,
                Some(b'\n' | b'\r' | b' ') => continue,
                Some(_) => Event::Other,
            };
            let last = matches!(event, Event::InputClosed);
            if tx.send(event).is_err() || last {
                return;
            }
        }
    });
}

// ---- the files -----------------------------------------------------------------------------

/// Starts watching the step's `src/**` and `Cargo.toml`: with inotify when its events
/// arrive (a probe file tells), by polling otherwise or when asked.
fn watch_files(dir: &Path, poll: bool, tx: Sender<Event>) -> Result<Mode> {
    if poll {
        poll_files(dir.to_path_buf(), tx);
        return Ok(Mode::PollAsked);
    }
    match Watcher::new(dir) {
        Ok(watcher) if watcher.probe() => {
            std::thread::spawn(move || watcher.forward(tx));
            Ok(Mode::Events)
        }
        Ok(_) | Err(_) => {
            poll_files(dir.to_path_buf(), tx);
            Ok(Mode::PollFallback)
        }
    }
}

/// Files whose saves do not count: editors' swap, backup and probe files, our own probe.
fn ignored(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name == "4913"
}

struct Watcher {
    inotify: Inotify,
    /// The step's folder (for Cargo.toml and the probe) and every folder under `src`.
    dirs: HashMap<WatchDescriptor, PathBuf>,
    step_dir: PathBuf,
}

const MASK: AddWatchFlags = AddWatchFlags::IN_CLOSE_WRITE
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_CREATE)
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_ATTRIB);

impl Watcher {
    fn new(step_dir: &Path) -> Result<Watcher> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
            .context("starting inotify")?;
        let mut watcher = Watcher {
            inotify,
            dirs: HashMap::new(),
            step_dir: step_dir.to_path_buf(),
        };
        watcher.add(step_dir)?;
        watcher.add_tree(&step_dir.join("src"))?;
        Ok(watcher)
    }

    fn add(&mut self, dir: &Path) -> Result<()> {
        let wd = self
            .inotify
            .add_watch(dir, MASK)
            .with_context(|| format!("watching {}", dir.display()))?;
        self.dirs.insert(wd, dir.to_path_buf());
        Ok(())
    }

    fn add_tree(&mut self, top: &Path) -> Result<()> {
        let mut todo = vec![top.to_path_buf()];
        while let Some(dir) = todo.pop() {
            self.add(&dir)?;
            for entry in std::fs::read_dir(&dir)
                .with_context(|| format!("reading {}", dir.display()))?
                .flatten()
            {
                if entry.file_type().is_ok_and(|t| t.is_dir()) && !ignored(&entry.file_name()) {
                    todo.push(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Touches a probe file and waits for its event: false when none arrives in time (WSL2
    /// under /mnt, network filesystems) or when [`NO_EVENTS_ENV`] says to pretend so. A
    /// folder we cannot write to proves nothing either way: inotify is trusted then.
    fn probe(&self) -> bool {
        let file = self.step_dir.join(PROBE);
        if std::fs::write(&file, b"netlab watch: is anyone listening?\n").is_err() {
            return true;
        }
        let simulate = std::env::var(NO_EVENTS_ENV).is_ok_and(|v| v == "1");
        let deadline = Instant::now() + PROBE_WAIT;
        let mut arrived = false;
        while !arrived && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.wait_readable(left) {
                break;
            }
            let events = self.inotify.read_events().unwrap_or_default();
            arrived = !simulate
                && events
                    .iter()
                    .any(|e| e.name.as_deref() == Some(OsStr::new(PROBE)));
        }
        let _ = std::fs::remove_file(&file);
        arrived
    }

    /// Whether events can be read within `timeout`.
    fn wait_readable(&self, timeout: Duration) -> bool {
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(
            self.inotify.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        matches!(nix::poll::poll(&mut fds, millis), Ok(n) if n > 0)
    }

    /// Sends a `Changed` event for each save, until the receiver is gone.
    fn forward(mut self, tx: Sender<Event>) {
        let src = self.step_dir.join("src");
        loop {
            if !self.wait_readable(Duration::from_millis(500)) {
                continue;
            }
            let events = match self.inotify.read_events() {
                Ok(events) => events,
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            };
            for event in events {
                let (Some(dir), Some(name)) = (self.dirs.get(&event.wd).cloned(), event.name)
                else {
                    continue;
                };
                if ignored(&name) {
                    continue;
                }
                let path = dir.join(&name);
                let in_src = dir.starts_with(&src);
                if !in_src && name != "Cargo.toml" {
                    continue;
                }
                let new_dir = event.mask.contains(AddWatchFlags::IN_ISDIR)
                    && event
                        .mask
                        .intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO);
                if new_dir {
                    let _ = self.add_tree(&path);
                }
                if tx.send(Event::Changed(path)).is_err() {
                    return;
                }
            }
        }
    }
}

/// A thread comparing the files' modification times and sizes every [`POLL_EVERY`].
fn poll_files(step_dir: PathBuf, tx: Sender<Event>) {
    std::thread::spawn(move || {
        let mut before = snapshot(&step_dir);
        loop {
            std::thread::sleep(POLL_EVERY);
            let now = snapshot(&step_dir);
            if now != before {
                let changed = now
                    .iter()
                    .find(|(path, stamp)| before.get(*path) != Some(stamp))
                    .map_or_else(|| step_dir.join("src"), |(path, _)| path.clone());
                if tx.send(Event::Changed(changed)).is_err() {
                    return;
                }
                before = now;
            }
        }
    });
}

/// Every watched file, with its modification time and size.
fn snapshot(step_dir: &Path) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let mut files = BTreeMap::new();
    let stamp = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    if let Some(s) = stamp(&step_dir.join("Cargo.toml")) {
        files.insert(step_dir.join("Cargo.toml"), s);
    }
    let mut todo = vec![step_dir.join("src")];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if ignored(&entry.file_name()) {
                continue;
            }
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            } else if let Some(s) = stamp(&path) {
                files.insert(path, s);
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    #[test]
    fn editor_files_are_ignored() {
        for name in [".netns.rs.swp", "netns.rs~", "4913", ".netlab-watch-probe"] {
            assert!(super::ignored(OsStr::new(name)), "{name}");
        }
        assert!(!super::ignored(OsStr::new("netns.rs")));
    }

    #[test]
    fn snapshot_sees_a_save() {
        let dir = std::env::temp_dir().join(format!("netlab-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src/sub")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "").unwrap();
        std::fs::write(dir.join("src/sub/a.rs"), "a").unwrap();
        let before = super::snapshot(&dir);
        assert_eq!(before.len(), 2);
        std::fs::write(dir.join("src/sub/a.rs"), "ab").unwrap();
        assert_ne!(before, super::snapshot(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
