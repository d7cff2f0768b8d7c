//! After a checker killed by a signal (SIGKILL included): its labs ended with it (their
//! parent-death signal), and what is left of them came to xtask, a child subreaper. Reaps it
//! (and kills what still runs after a while), removes the registry entries of labs that are
//! gone, and says so in one line.

use crate::messages;
use crate::workspace::Paths;
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// How long what the checker left may take to end by itself before it is killed.
const GRACE: Duration = Duration::from_secs(5);

pub fn after_killed_checker(paths: &Paths, signal: i32) {
    let killed = reap_all();
    // The sweep removes the entries whose lab is gone; no lab of ours runs any more.
    let registry = lab::registry::dir_beside(&paths.state);
    let _ = lab::registry::live(&registry);
    let name = Signal::try_from(signal)
        .map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string());
    eprintln!("{}", messages::checker_killed(&name, killed));
}

/// Reaps every child left; those still running after [`GRACE`] are killed. Returns how many
/// had to be killed.
fn reap_all() -> usize {
    let deadline = Instant::now() + GRACE;
    let mut killed = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if killed.is_none() && Instant::now() > deadline => {
                let count = children()
                    .into_iter()
                    .filter(|&pid| kill(pid, Signal::SIGKILL).is_ok())
                    .count();
                killed = Some(count);
            }
            Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(20)),
            Ok(_) | Err(Errno::EINTR) => continue,
            // ECHILD: nothing is left.
            Err(_) => return killed.unwrap_or(0),
        }
    }
}

/// Our children, found in `/proc` (their parent is us).
fn children() -> Vec<Pid> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let (_, rest) = s.rsplit_once(") ")?;
                    Some(rest.split_whitespace().nth(1)? == me)
                })
                .unwrap_or(false)
        })
        .map(Pid::from_raw)
        .collect()
}
