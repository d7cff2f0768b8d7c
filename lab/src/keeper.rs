//! The lab's keeper: the process that called [`crate::Lab::enter`]. It waits for the lab's
//! PID 1 and, whatever ends the lab, removes its registry entry and exits as the lab did.
//!
//! It also ends the lab itself, promptly and with one line, when it is asked to: SIGTERM or
//! SIGHUP (and SIGINT, unless the lab is interactive and Ctrl-C belongs to its foreground
//! program), or the end of the process that started the checker ([`crate::starter`]). Killing
//! the lab's PID 1 is enough: the kernel then tears the whole PID namespace down.
//!
//! The signals come through a signalfd, blocked beforehand, so nothing runs in a signal
//! handler: the keeper's one loop polls the signalfd and the starter's pidfd.

use crate::registry;
use crate::starter;
use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::AsFd;
use std::path::Path;

/// The signals the keeper of a lab takes through its signalfd.
pub(crate) fn signals(interactive: bool) -> SigSet {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGCHLD] {
        set.add(signal);
    }
    if !interactive {
        set.add(Signal::SIGINT);
    }
    set
}

/// Blocks `set` (before the fork: none of them may be lost in between); returns the mask
/// before, which the lab's side puts back with [`restore`].
pub(crate) fn block(set: &SigSet) -> Result<SigSet> {
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(set), Some(&mut old))
        .context("blocking the signals the lab's keeper handles")?;
    Ok(old)
}

/// Puts back the signal mask [`block`] returned (in the lab's PID 1, right after the fork).
pub(crate) fn restore(old: &SigSet) {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(old), None);
}

/// The keeper: waits for the lab (or ends it), removes its registry entry, and exits with the
/// lab's status, or 128 + the signal that ended it.
pub(crate) fn keep(lab: Pid, registry: Option<&Path>, signals: &SigSet) -> ! {
    let code = wait(lab, signals);
    if let Some(dir) = registry {
        registry::remove(dir, lab.as_raw());
    }
    std::process::exit(code)
}

fn wait(lab: Pid, signals: &SigSet) -> i32 {
    let flags = SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC;
    let Ok(fd) = SignalFd::with_flags(signals, flags) else {
        // No signalfd: the signals stay blocked, the lab still ends with its keeper.
        return plain_wait(lab);
    };
    let starter = starter::watched();
    loop {
        if let Some(code) = reaped(lab) {
            return code;
        }
        let mut fds = vec![PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        if let Some(starter) = starter {
            fds.push(PollFd::new(starter.fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return plain_wait(lab),
        }
        let starter_gone = fds
            .get(1)
            .and_then(|f| f.revents())
            .is_some_and(|r| !r.is_empty());
        if let (true, Some(starter)) = (starter_gone, starter) {
            eprintln!("checker: {}", starter.gone_message());
            return end(lab, 1);
        }
        while let Ok(Some(info)) = fd.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if signal != Signal::SIGCHLD {
                eprintln!("{}", ended_by(signal));
                return end(lab, 128 + signal as i32);
            }
        }
    }
}

/// `checker: SIGTERM received: the lab is ended`.
pub fn ended_by(signal: Signal) -> String {
    format!("checker: {} received: the lab is ended", signal.as_str())
}

/// The lab's status once it has ended, None while it runs.
fn reaped(lab: Pid) -> Option<i32> {
    loop {
        match waitpid(lab, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Some(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Some(128 + signal as i32),
            Ok(WaitStatus::StillAlive) => return None,
            Ok(_) => return None,
            Err(Errno::EINTR) => continue,
            Err(_) => return Some(1),
        }
    }
}

/// Kills the lab's PID 1 (the whole lab goes with it), waits for it, and returns `code`.
fn end(lab: Pid, code: i32) -> i32 {
    let _ = kill(lab, Signal::SIGKILL);
    plain_wait(lab);
    code
}

fn plain_wait(lab: Pid) -> i32 {
    loop {
        match waitpid(lab, None) {
            Ok(WaitStatus::Exited(_, code)) => break code,
            Ok(WaitStatus::Signaled(_, signal, _)) => break 128 + signal as i32,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => break 1,
        }
    }
}
