//! Following a step binary's system calls (ptrace) to stop it the moment it releases a flock
//! of one file: `flock(fd, LOCK_UN)`, or `close(fd)` of the descriptor that holds it. Only
//! the step binary's own thread is followed, not the programs it runs: a lock taken by one
//! of those (CNI's host-local) is never seen released, which is no failure.
//!
//! The tracee stays the check's child in every other respect: its exit is never reaped here
//! (`waitid` asks for stops only), so the probe sees it end as usual once detached.

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::unix::fs::MetadataExt;
use std::thread;
use std::time::{Duration, Instant};

/// `flock`'s and `close`'s numbers, and `LOCK_UN` (x86_64).
const SYS_CLOSE: u64 = nix::libc::SYS_close as u64;
const SYS_FLOCK: u64 = nix::libc::SYS_flock as u64;
const LOCK_UN: u64 = nix::libc::LOCK_UN as u64;
/// What the kernel puts in the return register at a syscall's entry.
const AT_ENTRY: i64 = -(Errno::ENOSYS as i64);

/// What the tracee did since the last look.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// It runs, or waits in a system call; nothing to report.
    Running,
    /// It is stopped right after a call that released the lock file (as far as its own
    /// descriptor goes): [`Traced::resume`] lets it go on.
    Released,
    /// It has ended.
    Ended,
}

/// A step binary under ptrace; detached when dropped.
pub(super) struct Traced {
    pid: Pid,
    /// The lock file: (device, inode).
    lock: (u64, u64),
    /// The call it is in is a release of the lock file.
    releasing: bool,
    /// Stopped, waiting for [`Traced::resume`].
    stopped: bool,
    ended: bool,
    /// When it last stopped.
    last_stop: Instant,
    /// A signal on its way to it when it was stopped by [`Traced::interrupt`]: delivered
    /// when it goes on.
    pending: Option<Signal>,
}

impl Traced {
    /// Seizes the step binary `pid` (the check's child) and follows its system calls; `lock`
    /// is the file whose releases [`Traced::poll`] reports.
    pub(super) fn seize(pid: i32, lock: &std::path::Path) -> Result<Traced> {
        let meta = std::fs::metadata(lock).with_context(|| format!("{}", lock.display()))?;
        let pid = Pid::from_raw(pid);
        ptrace::seize(
            pid,
            Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_EXITKILL,
        )
        .context("PTRACE_SEIZE of the step binary")?;
        let mut traced = Traced {
            pid,
            lock: (meta.dev(), meta.ino()),
            releasing: false,
            stopped: false,
            ended: false,
            last_stop: Instant::now(),
            pending: None,
        };
        ptrace::interrupt(pid).context("PTRACE_INTERRUPT of the step binary")?;
        // The interrupt's stop (or a signal's), then every system call's entry and exit.
        match traced.wait_stop()? {
            Some(WaitStatus::PtraceEvent(_, signal, 0)) => traced.go(Some(signal))?,
            Some(_) => traced.go(None)?,
            None => {}
        }
        Ok(traced)
    }

    /// Looks at the tracee, without waiting: handles the stops it has made (letting it go
    /// on) until it runs or waits in a system call, stops after a release, or ends.
    pub(super) fn poll(&mut self) -> Result<Event> {
        loop {
            if self.ended {
                return Ok(Event::Ended);
            }
            if self.stopped {
                return Ok(Event::Released);
            }
            let status = match waitid(Id::Pid(self.pid), stops()) {
                Ok(status) => status,
                Err(Errno::ECHILD) => WaitStatus::StillAlive,
                Err(e) => return Err(e).context("waitid on the step binary"),
            };
            match status {
                WaitStatus::PtraceSyscall(_) => self.at_syscall()?,
                WaitStatus::PtraceEvent(_, signal, 0) | WaitStatus::Stopped(_, signal) => {
                    // A signal on its way to it (SIGTERM, SIGCHLD): delivered.
                    self.go(Some(signal))?
                }
                WaitStatus::PtraceEvent(..) => self.go(None)?,
                _ if self.has_ended() => self.ended = true,
                _ => return Ok(Event::Running),
            }
            self.last_stop = Instant::now();
        }
    }

    /// Between two [`Traced::poll`]s: a tracee that has just stopped is likely to stop again
    /// within microseconds (it runs from one system call to the next), so yield; one quiet
    /// for a while waits in a call (flock, wait4), so sleep.
    pub(super) fn pause(&self) {
        if self.last_stop.elapsed() < Duration::from_millis(5) {
            thread::yield_now();
        } else {
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Lets a tracee stopped at [`Event::Released`] or by [`Traced::interrupt`] go on; one
    /// that goes on already is left alone.
    pub(super) fn resume(&mut self) -> Result<()> {
        if !self.stopped {
            return Ok(());
        }
        let signal = self.pending.take();
        self.go(signal)
    }

    /// Stops the tracee wherever it is until [`Traced::resume`]. A tracee waiting in a
    /// system call (flock) leaves the wait, to restart the call when it goes on: while
    /// stopped, it waits for no lock.
    pub(super) fn interrupt(&mut self) -> Result<()> {
        if self.stopped || self.ended {
            return Ok(());
        }
        match ptrace::interrupt(self.pid) {
            Err(Errno::ESRCH) => {
                self.ended = true;
                return Ok(());
            }
            other => other.context("PTRACE_INTERRUPT of the step binary")?,
        }
        match self.wait_stop()? {
            None => {}
            Some(WaitStatus::PtraceSyscall(_)) => {
                // Stopped at a system call before the interrupt's own stop, which comes
                // (and is let go) later: stay here, noting what the call is.
                self.note_syscall()?;
            }
            Some(WaitStatus::PtraceEvent(_, signal, 0) | WaitStatus::Stopped(_, signal)) => {
                self.pending = Some(signal);
            }
            Some(_) => {}
        }
        self.stopped = !self.ended;
        self.last_stop = Instant::now();
        Ok(())
    }

    fn go(&mut self, signal: Option<Signal>) -> Result<()> {
        self.stopped = false;
        match ptrace::syscall(self.pid, signal) {
            Err(Errno::ESRCH) => {
                self.ended = true;
                Ok(())
            }
            other => other.context("PTRACE_SYSCALL of the step binary"),
        }
    }

    /// At a system call's entry, notes whether it releases the lock; at its exit, stops
    /// there if it did.
    fn at_syscall(&mut self) -> Result<()> {
        if self.note_syscall()? {
            self.stopped = true;
            return Ok(());
        }
        self.go(None)
    }

    /// At a system call's stop: notes at its entry whether it releases the lock; true at the
    /// exit of one that did.
    fn note_syscall(&mut self) -> Result<bool> {
        let regs = match ptrace::getregs(self.pid) {
            Ok(regs) => regs,
            Err(Errno::ESRCH) => {
                self.ended = true;
                return Ok(false);
            }
            Err(e) => return Err(e).context("PTRACE_GETREGS of the step binary"),
        };
        if regs.rax as i64 == AT_ENTRY {
            let fd = regs.rdi;
            self.releasing = match regs.orig_rax {
                SYS_FLOCK => regs.rsi & LOCK_UN != 0 && self.is_lock(fd),
                SYS_CLOSE => self.is_lock(fd) && self.holds_lock(fd),
                _ => false,
            };
            return Ok(false);
        }
        Ok(std::mem::take(&mut self.releasing))
    }

    /// Whether the tracee's descriptor `fd` is the lock file.
    fn is_lock(&self, fd: u64) -> bool {
        std::fs::metadata(format!("/proc/{}/fd/{fd}", self.pid))
            .is_ok_and(|m| (m.dev(), m.ino()) == self.lock)
    }

    /// Whether the tracee's descriptor `fd` holds a lock (`lock:` in its fdinfo).
    fn holds_lock(&self, fd: u64) -> bool {
        std::fs::read_to_string(format!("/proc/{}/fdinfo/{fd}", self.pid))
            .is_ok_and(|info| info.lines().any(|l| l.starts_with("lock:")))
    }

    fn has_ended(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid));
        // `pid (comm) S ...`: the state follows the last ')'.
        stat.map_or(true, |s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
    }

    /// Waits (briefly) for the tracee's next stop; `None` if it ended first.
    fn wait_stop(&mut self) -> Result<Option<WaitStatus>> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match waitid(Id::Pid(self.pid), stops()) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => {}
                Ok(status) => return Ok(Some(status)),
                Err(e) => return Err(e).context("waitid on the step binary"),
            }
            if self.has_ended() || Instant::now() > deadline {
                self.ended = true;
                return Ok(None);
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Stops following it: it runs on as if never traced (a signal it was about to get
    /// included).
    pub(super) fn detach(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        let mut signal = self.pending.take();
        if !self.stopped {
            if ptrace::interrupt(self.pid).is_err() {
                return;
            }
            match self.wait_stop() {
                Ok(Some(WaitStatus::PtraceEvent(_, s, 0))) => signal = Some(s),
                Ok(Some(_)) => {}
                _ => return,
            }
        }
        let _ = ptrace::detach(self.pid, signal);
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        self.release();
    }
}

/// Stops of the tracee only (never its exit, which its parent reaps), without waiting.
fn stops() -> WaitPidFlag {
    WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::__WALL
}
