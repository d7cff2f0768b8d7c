//! The process that started the checker (`cargo xtask`): when it is gone, however it ended
//! (SIGKILL included), the checker ends its labs instead of running on unseen.
//!
//! xtask names itself on the checker's command line, first: `--starter PID:START`, with its
//! start time (field 22 of `/proc/PID/stat`) so that a PID reused by another process is never
//! taken for it. Through sudo, sudo sits between them (a parent-death signal would point at
//! sudo), so the checker watches xtask itself, through a pidfd. The option names a number
//! pair, nothing else, and only one of the checker's own ancestors: it widens nothing that
//! the checker restricts through sudo.

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// The option, first on the checker's command line.
pub const OPTION: &str = "--starter";

/// The option's value for the process `pid` started at `start`.
pub fn value(pid: u32, start: u64) -> String {
    format!("{pid}:{start}")
}

/// The starter, open as a pidfd: readable once it has ended.
#[derive(Debug)]
pub struct Starter {
    pid: i32,
    fd: OwnedFd,
}

/// Takes `--starter PID:START` off the front of `args`, when it is there: the starter's PID and
/// start time.
pub fn take(args: &mut Vec<String>) -> Result<Option<(i32, u64)>> {
    if args.first().map(String::as_str) != Some(OPTION) {
        return Ok(None);
    }
    let text = args.get(1).cloned().unwrap_or_default();
    let parsed = text
        .split_once(':')
        .and_then(|(pid, start)| Some((pid.parse::<i32>().ok()?, start.parse::<u64>().ok()?)))
        .filter(|(pid, _)| *pid > 1);
    let Some(found) = parsed else {
        bail!("{OPTION} takes PID:START (the starter's PID and start time), not '{text}'");
    };
    args.drain(..2);
    Ok(Some(found))
}

impl Starter {
    /// Opens the starter `pid`, which must be one of this process's ancestors and still the
    /// process that started at `start`; fails with one line otherwise (it is gone already).
    pub fn open(pid: i32, start: u64) -> Result<Starter> {
        if !is_ancestor(pid) {
            bail!("{OPTION} {pid}: not a process this checker was started from");
        }
        // SAFETY: a plain system call; the fd it returns is ours alone.
        let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("watching the process {pid} that started the checker"));
        }
        // SAFETY: pidfd_open returned a new descriptor (close-on-exec).
        let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
        let starter = Starter { pid, fd };
        // Opened first, compared after: the PID cannot be reused in between.
        if crate::registry::start_time(pid).ok() != Some(start) || starter.is_gone() {
            bail!("{}", starter.gone_message());
        }
        Ok(starter)
    }

    /// The pidfd (readable once the starter has ended).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether the starter has ended.
    pub fn is_gone(&self) -> bool {
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
    }

    /// `xtask (pid N) is gone: ending its labs` (after `checker: `).
    pub fn gone_message(&self) -> String {
        format!("xtask (pid {}) is gone: ending its labs", self.pid)
    }

    /// The keepers of the labs this process enters ([`crate::Lab::enter`]) end them when the
    /// starter ends. Call once, before entering a lab.
    pub fn watch_in_keeper(self) {
        let _ = WATCHED.set(self);
    }

    /// A thread that ends this whole process when the starter ends (its labs' processes die
    /// with it: their parent-death signal). Start it only once the process may have threads
    /// (after [`crate::userns::become_root`]).
    pub fn watch_in_thread(self) {
        std::thread::spawn(move || loop {
            let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(n) if n > 0 => {
                    eprintln!("checker: {}", self.gone_message());
                    std::process::exit(1);
                }
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
        });
    }
}

static WATCHED: OnceLock<Starter> = OnceLock::new();

/// The starter the keepers watch, if one was given.
pub(crate) fn watched() -> Option<&'static Starter> {
    WATCHED.get()
}

/// Whether `pid` is this process's parent, or its parent's, and so on.
fn is_ancestor(pid: i32) -> bool {
    let mut at = nix::unistd::getppid().as_raw();
    for _ in 0..64 {
        if at == pid {
            return true;
        }
        if at <= 1 {
            return false;
        }
        match parent_of(at) {
            Some(parent) => at = parent,
            None => return false,
        }
    }
    false
}

/// The parent of `pid` (field 4 of its stat file).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_option_comes_off_the_front_only() {
        let mut given = args("--starter 42:7 run --rootfs r");
        assert_eq!(take(&mut given).unwrap(), Some((42, 7)));
        assert_eq!(given, args("run --rootfs r"));
        let mut none = args("run --starter 42:7");
        assert_eq!(take(&mut none).unwrap(), None);
        assert_eq!(none.len(), 3);
        for bad in [
            "--starter",
            "--starter 42",
            "--starter x:1",
            "--starter 1:1",
        ] {
            let error = take(&mut args(bad)).unwrap_err().to_string();
            assert!(error.starts_with("--starter takes PID:START"), "{error}");
        }
    }

    #[test]
    fn only_an_ancestor_still_running_is_accepted() {
        let parent = nix::unistd::getppid().as_raw();
        let start = crate::registry::start_time(parent).unwrap();
        let starter = Starter::open(parent, start).unwrap();
        assert!(!starter.is_gone());
        // Ourselves: no ancestor. Our parent with another start time: a reused PID.
        let me = std::process::id() as i32;
        let error = Starter::open(me, 0).unwrap_err().to_string();
        assert!(
            error.contains("not a process this checker was started from"),
            "{error}"
        );
        let error = Starter::open(parent, start + 1).unwrap_err().to_string();
        assert!(error.contains("is gone"), "{error}");
    }
}
