//! The step's files: `src/**` and `Cargo.toml`, watched with the notify crate. File events
//! (inotify) where they arrive, which a probe file tells at start; where they do not (WSL2
//! under /mnt, network filesystems), or with `--poll`, notify's polling watcher compares the
//! files every [`POLL_EVERY`].

use super::Event;
use anyhow::{Context, Result};
use notify::event::{AccessKind, AccessMode};
use notify::{Config, EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// Set by [`NO_EVENTS_ENV`]`=1`: file events are ignored, as if they never arrived (tests of
/// the fallback to polling; documented in the help).
pub const NO_EVENTS_ENV: &str = "NETLAB_WATCH_NO_EVENTS";
/// The file `watch` touches in the step's folder at start, to see whether events arrive.
const PROBE: &str = ".netlab-watch-probe";
/// How long the probe's event may take.
const PROBE_WAIT: Duration = Duration::from_secs(1);
/// How often the files are compared when polling.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// How the files are watched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Events,
    /// Polling, because `--poll` asked for it.
    PollAsked,
    /// Polling, because file events did not arrive.
    PollFallback,
}

/// The files being watched: a `Changed` event for each save, as long as this lives.
pub struct Files {
    pub mode: Mode,
    _watcher: Box<dyn Watcher>,
}

/// Starts watching the step's files in `dir`: with file events when they arrive, by polling
/// otherwise or when `poll` asks.
pub fn watch(dir: &Path, poll: bool, tx: Sender<Event>) -> Result<Files> {
    if poll {
        return polling(dir, tx, Mode::PollAsked);
    }
    let (probe_tx, probe_rx) = mpsc::channel();
    let events = events(dir, tx.clone(), probe_tx);
    match events {
        Ok(watcher) if probe(dir, &probe_rx) => Ok(Files {
            mode: Mode::Events,
            _watcher: Box::new(watcher),
        }),
        _ => polling(dir, tx, Mode::PollFallback),
    }
}

/// The file-event watcher; the probe's event goes to `probe`, the saves to `tx`.
fn events(dir: &Path, tx: Sender<Event>, probe: Sender<()>) -> Result<RecommendedWatcher> {
    let step_dir = dir.to_path_buf();
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event
            .paths
            .iter()
            .any(|p| p.parent() == Some(&step_dir) && p.file_name() == Some(OsStr::new(PROBE)))
        {
            let _ = probe.send(());
        }
        if let Some(path) = saved(&step_dir, &event) {
            let _ = tx.send(Event::Changed(path));
        }
    };
    let mut watcher = RecommendedWatcher::new(handler, Config::default())
        .context("starting to watch the files")?;
    add(&mut watcher, dir)?;
    Ok(watcher)
}

/// The polling watcher. It compares contents too: modification times it sees in seconds.
fn polling(dir: &Path, tx: Sender<Event>, mode: Mode) -> Result<Files> {
    let step_dir = dir.to_path_buf();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Some(path) = event.ok().and_then(|e| saved(&step_dir, &e)) {
            let _ = tx.send(Event::Changed(path));
        }
    };
    let config = Config::default()
        .with_poll_interval(POLL_EVERY)
        .with_compare_contents(true);
    let mut watcher = PollWatcher::new(handler, config).context("starting to poll the files")?;
    add(&mut watcher, dir)?;
    Ok(Files {
        mode,
        _watcher: Box::new(watcher),
    })
}

/// The step's folder itself (for Cargo.toml and the probe) and everything under `src`.
fn add(watcher: &mut dyn Watcher, dir: &Path) -> Result<()> {
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    let src = dir.join("src");
    watcher
        .watch(&src, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", src.display()))
}

/// Touches a probe file and waits for its event: false when none arrives in time (WSL2
/// under /mnt, network filesystems) or when [`NO_EVENTS_ENV`] says to pretend so. A folder
/// we cannot write to proves nothing either way: events are trusted then.
fn probe(dir: &Path, events: &Receiver<()>) -> bool {
    let file = dir.join(PROBE);
    if std::fs::write(&file, b"netlab watch: is anyone listening?\n").is_err() {
        return true;
    }
    let arrived = events.recv_timeout(PROBE_WAIT).is_ok();
    let _ = std::fs::remove_file(&file);
    let simulate = std::env::var(NO_EVENTS_ENV).is_ok_and(|v| v == "1");
    arrived && !simulate
}

/// The file whose save `event` is, when it is one of the step's files (not a mere read, not
/// an editor's swap or backup file).
fn saved(dir: &Path, event: &notify::Event) -> Option<PathBuf> {
    let counts = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    if !counts {
        return None;
    }
    let src = dir.join("src");
    let cargo_toml = dir.join("Cargo.toml");
    event
        .paths
        .iter()
        .find(|path| {
            if **path == cargo_toml {
                return true;
            }
            path.strip_prefix(&src).is_ok_and(|rel| {
                rel.components().next().is_some()
                    && !rel.components().any(|c| ignored(c.as_os_str()))
            })
        })
        .cloned()
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

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};

    #[test]
    fn editor_files_are_ignored() {
        for name in [".netns.rs.swp", "netns.rs~", "4913", ".netlab-watch-probe"] {
            assert!(ignored(OsStr::new(name)), "{name}");
        }
        assert!(!ignored(OsStr::new("netns.rs")));
    }

    #[test]
    fn only_saves_of_the_steps_files_count() {
        let dir = Path::new("/w/steps/01-netns");
        let event = |kind, path: &str| notify::Event::new(kind).add_path(dir.join(path));
        let modify = EventKind::Modify(ModifyKind::Any);
        assert_eq!(
            saved(dir, &event(modify, "src/sub/netns.rs")),
            Some(dir.join("src/sub/netns.rs"))
        );
        assert!(saved(dir, &event(modify, "Cargo.toml")).is_some());
        assert!(saved(
            dir,
            &event(EventKind::Create(CreateKind::File), "README.md")
        )
        .is_none());
        assert!(saved(dir, &event(modify, "src/.netns.rs.swp")).is_none());
        assert!(saved(dir, &event(modify, "src")).is_none());
        let read = EventKind::Access(AccessKind::Close(AccessMode::Read));
        assert!(saved(dir, &event(read, "src/netns.rs")).is_none());
    }
}
