//! The lock files of the lab's state (`ipam/lock`, `rules.lock`), as the checks use them:
//! held as another allocator would hold them, and watched in `/proc/locks` to see who waits.

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// Takes the flock on `path` (creating the file), waiting for it.
pub fn hold(path: &Path) -> Result<Flock<File>> {
    Flock::lock(open(path)?, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("locking {}", path.display()))
}

/// Takes the flock on `path` if it is free, or comes free within `within`.
pub fn try_hold(path: &Path, within: Duration) -> Result<Option<Flock<File>>> {
    let deadline = Instant::now() + within;
    let mut file = open(path)?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Ok(Some(held)),
            Err((back, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => file = back,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => return Ok(None),
            Err((_, e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The inode of the lock file `path` (created if missing), as /proc/locks names it.
pub fn inode(path: &Path) -> Result<u64> {
    Ok(open(path)?
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .ino())
}

/// The processes waiting for a flock, with the inode of the file, from /proc/locks
/// (`1: -> FLOCK  ADVISORY  WRITE 1234 00:2e:5678 0 EOF`).
pub fn waiters() -> Result<Vec<(u32, u64)>> {
    let text = std::fs::read_to_string("/proc/locks").context("reading /proc/locks")?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.get(1) != Some(&"->") {
                return None;
            }
            let pid = words.get(5)?.parse().ok()?;
            let ino = words.get(6)?.rsplit(':').next()?.parse().ok()?;
            Some((pid, ino))
        })
        .collect())
}

/// Whether a process waits for the flock of the file with inode `ino`.
pub fn waited_for(ino: u64) -> Result<bool> {
    Ok(waiters()?.iter().any(|(_, i)| *i == ino))
}

/// /proc/locks, for reports.
pub fn view() -> String {
    format!(
        "lab# cat /proc/locks\n{}",
        std::fs::read_to_string("/proc/locks").unwrap_or_else(|e| e.to_string())
    )
}

fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}
