//! Where a reader runs: the calling thread's network namespace, or the one of a process
//! (`nsenter -t PID -n`), never one that is forbidden (the caller's real namespace).

use crate::netcmd;
use crate::registry::netns_inode;
use anyhow::{bail, Context, Result};
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::process::Command;

/// Which network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// The calling thread's network namespace.
    Here,
    /// The network namespace of this process or thread (`nsenter -t PID -n`).
    Pid(i32),
}

impl Where {
    /// The file of its network namespace in `/proc`.
    pub fn netns_file(self) -> String {
        match self {
            Where::Here => "/proc/thread-self/ns/net".to_string(),
            Where::Pid(pid) => format!("/proc/{pid}/ns/net"),
        }
    }

    /// The inode of its network namespace.
    pub fn netns(self) -> Result<u64> {
        netns_inode(&self.netns_file())
    }
}

/// A namespace to read, and the one namespace nothing may ever run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub at: Where,
    /// The inode of a network namespace nothing is run in (the caller's real one).
    pub forbidden: Option<u64>,
}

/// What a tool that is not installed gives: not an error for the other readers.
#[derive(Debug)]
pub struct Missing(pub String);

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not installed", self.0)
    }
}

impl std::error::Error for Missing {}

impl Place {
    /// The calling thread's namespace, with no guard.
    pub fn here() -> Place {
        Place {
            at: Where::Here,
            forbidden: None,
        }
    }

    /// The namespace of process `pid`, with no guard.
    pub fn pid(pid: i32) -> Place {
        Place {
            at: Where::Pid(pid),
            forbidden: None,
        }
    }

    /// The same place, refusing to read in namespace `inode`.
    pub fn forbidding(self, inode: Option<u64>) -> Place {
        Place {
            forbidden: inode,
            ..self
        }
    }

    /// Fails when the place is the forbidden namespace, or cannot be identified.
    pub fn check(&self, what: &str) -> Result<()> {
        if let Some(real) = self.forbidden {
            match self.at.netns() {
                Ok(inode) if inode != real => {}
                Ok(_) => bail!("refusing to run {what} outside the lab (in the real namespace)"),
                Err(e) => bail!("refusing to run {what} in a namespace it cannot identify: {e:#}"),
            }
        }
        Ok(())
    }

    /// Runs `program args` there; its stdout. A program that is not installed gives a
    /// [`Missing`] error (see [`is_missing`]).
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        self.check(program)?;
        if !installed(program) {
            return Err(Missing(program.to_string()).into());
        }
        let mut command = match self.at {
            Where::Here => Command::new(program),
            Where::Pid(pid) => netcmd::in_netns_of(pid, program),
        };
        command.env("PATH", netcmd::TOOL_PATH);
        netcmd::run_command(command, program, args)
    }

    /// Calls `f` in a thread of this process that has joined the place's network namespace
    /// (or on the calling thread, for [`Where::Here`]): what it reads of `/proc/sys/net` and
    /// `/proc/thread-self/net` is that namespace's.
    pub fn in_thread<T: Send>(&self, what: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
        self.check(what)?;
        let Where::Pid(pid) = self.at else {
            return Ok(f());
        };
        let file = File::open(format!("/proc/{pid}/ns/net"))
            .with_context(|| format!("opening the network namespace of {pid}"))?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<T> {
                    setns(&file, CloneFlags::CLONE_NEWNET)
                        .with_context(|| format!("joining the network namespace of {pid}"))?;
                    Ok(f())
                })
                .join()
                .map_err(|_| anyhow::anyhow!("the thread reading {what} panicked"))?
        })
    }
}

/// Whether `program` is in [`netcmd::TOOL_PATH`].
pub fn installed(program: &str) -> bool {
    netcmd::TOOL_PATH
        .split(':')
        .any(|dir| std::path::Path::new(dir).join(program).is_file())
}

/// Whether `error` says a tool is not installed.
pub fn is_missing(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Missing>().is_some()
}
