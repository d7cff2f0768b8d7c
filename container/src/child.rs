//! The container's first process, from `clone()` to `exec`.

use crate::confine;
use crate::hooks;
use crate::ipv6;
use crate::protocol;
use crate::rootfs;
use crate::{Container, Hook};
use anyhow::{Context, Result};
use nix::unistd::{execvp, sethostname};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::path::Path;

/// Everything the child needs, prepared by the parent before `clone()`.
pub struct Plan<'a> {
    /// The lab's base root filesystem, whose `bin` the container gets read-only.
    pub base_rootfs: &'a Path,
    pub container: &'a Container,
    pub command: &'a [String],
    pub in_container: Hook,
    /// The lab host's network namespace (`net:[inode]`): a container that joins another's
    /// must have left it once `in_container` is done.
    pub host_netns: String,
    /// Whether the container was cloned into a network namespace of its own (not when it
    /// joins another's, nor when the step asks for none).
    pub own_netns: bool,
    /// Read end: the parent writes its PID-as-seen-by-the-host once `on_host` is done.
    pub go: File,
    /// Write end: the child writes one byte once it is about to exec.
    pub ready: File,
    /// The parent's ends of those pipes, which the child inherits and must close, or it would
    /// never see the parent go away.
    pub parent_ends: [RawFd; 2],
}

/// Runs in the cloned child; never returns.
pub fn main(mut plan: Plan) -> ! {
    for fd in plan.parent_ends {
        let _ = nix::unistd::close(fd);
    }
    // Until the command runs, this process is the runtime's own: killed with the step binary
    // (a hook that hangs must not outlive the runtime stopped for it). If the step binary is
    // already gone, reading `go` below fails and this stops.
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let status = match prepare(&mut plan) {
        Ok(()) => exec(&plan),
        Err(Stop::Quiet) => protocol::EXIT_RUNTIME,
        Err(Stop::Failed(e)) => {
            eprintln!("{}: in the container: {e:#}", protocol::PREFIX);
            protocol::EXIT_RUNTIME
        }
    };
    std::process::exit(i32::from(status))
}

enum Stop {
    /// The parent gave up (its own error is already reported) or a hook reported itself.
    Quiet,
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Failed(e)
    }
}

fn prepare(plan: &mut Plan) -> Result<(), Stop> {
    // Wait for the parent's host-side setup. No message means it failed: stop quietly.
    let mut pid = [0u8; 4];
    if plan.go.read_exact(&mut pid).is_err() {
        return Err(Stop::Quiet);
    }
    let container = Container {
        pid: nix::unistd::Pid::from_raw(i32::from_le_bytes(pid)),
        ..plan.container.clone()
    };
    sethostname(&container.name).context("setting the hostname")?;
    if plan.own_netns {
        ipv6::off_but_loopback().context("turning IPv6 off in the container's namespace")?;
    }
    if hooks::call("inside the container", plan.in_container, &container).is_err() {
        show_network();
        return Err(Stop::Quiet);
    }
    if let Some(joined) = &container.join {
        if crate::start::netns_id("self")? == plan.host_netns {
            return Err(Stop::Failed(anyhow::anyhow!(
                "the container is still in the lab host's network namespace: joining container \
                 {}'s (--net container:{}) must enter its namespace (setns) in the hook that runs \
                 inside the container",
                joined.name,
                joined.name
            )));
        }
    }
    // The container's command outlives a crashed runtime, as with other runtimes.
    nix::sys::prctl::set_pdeathsig(None).context("clearing the parent-death signal")?;
    rootfs::enter(plan.base_rootfs, &container.rootfs)?;
    // From here on the command's confinement: the hook above had every privilege networking
    // needs; what runs next gets Docker's default (see `confine`).
    confine::protect_kernel_files()?;
    confine::lock_down()?;
    plan.ready
        .write_all(b"R")
        .context("telling the parent we are ready")?;
    Ok(())
}

/// What the container's network namespace holds as the hook failed, for the report: the lab's
/// own `ip` (the container's root is not entered yet).
fn show_network() {
    for args in [["addr", "show"], ["route", "show"]] {
        eprintln!("{} container# ip {}", protocol::VIEW, args[0]);
        match std::process::Command::new("ip").args(args).output() {
            Ok(out) => {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    eprintln!("{} {line}", protocol::VIEW);
                }
            }
            Err(e) => eprintln!("{} (cannot run ip: {e})", protocol::VIEW),
        }
    }
}

fn exec(plan: &Plan) -> u8 {
    let Ok(argv) = plan
        .command
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        eprintln!("{}: the command contains a NUL byte", protocol::PREFIX);
        return protocol::EXIT_USAGE;
    };
    set_environment(&plan.container.name);
    let error = match execvp(&argv[0], &argv) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    eprintln!(
        "{}: cannot run '{}' in the container: {error}",
        protocol::PREFIX,
        plan.command[0]
    );
    protocol::EXIT_NOT_FOUND
}

/// A clean environment, as a container runtime gives: nothing of the host leaks in.
fn set_environment(hostname: &str) {
    let term = std::env::var("TERM").ok();
    let keys: Vec<_> = std::env::vars_os().map(|(k, _)| k).collect();
    for key in keys {
        // The child is single-threaded (a copy of a single-threaded parent).
        std::env::remove_var(key);
    }
    let mut vars = vec![
        ("PATH", "/bin:/sbin:/usr/bin:/usr/sbin".to_string()),
        ("HOME", "/root".to_string()),
        ("HOSTNAME", hostname.to_string()),
        ("PS1", format!("{hostname}# ")),
    ];
    if let Some(term) = term {
        vars.push(("TERM", term));
    }
    for (key, value) in vars {
        std::env::set_var(key, value);
    }
}
