//! The parent side: prepares the container, clones it, runs the host hooks around it, and
//! waits for it.

use crate::child::{self, Plan};
use crate::cli::Request;
use crate::hooks;
use crate::protocol::{self, env, layout};
use crate::rootfs;
use crate::signals;
use crate::{Container, Joined, Networking};
use anyhow::{bail, Context, Result};
use nix::errno::Errno;
use nix::sched::{clone, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe, Pid};
use std::fs::{self, File};
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Namespaces every container gets, whatever the step.
const BASE_NAMESPACES: CloneFlags = CloneFlags::CLONE_NEWNS
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWIPC);

const CHILD_STACK: usize = 1024 * 1024;

/// Starts the container, waits for it, and returns its exit status.
pub fn run(request: &Request, networking: Networking) -> Result<u8> {
    let base = lab_dir(env::ROOTFS)?;
    let state = lab_dir(env::STATE)?;
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| format!("c{}", std::process::id()));
    let join = match &request.join {
        Some(other) => Some(joined(&state, other)?),
        None => None,
    };
    let dir = layout::container_dir(&state, &name);
    fs::create_dir_all(dir.parent().context("container dir has a parent")?)?;
    if let Err(e) = fs::create_dir(&dir) {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            bail!("a container named '{name}' is already running in this lab");
        }
        return Err(e).with_context(|| format!("creating {}", dir.display()));
    }
    let container = Container {
        name,
        pid: Pid::from_raw(0),
        rootfs: dir.join("rootfs"),
        ports: request.ports.clone(),
        join,
    };
    let pid_file = layout::pid_file(&state, &container.name);
    let result = rootfs::prepare(&base, &container.rootfs)
        .and_then(|()| supervise(container, &base, &pid_file, request, networking));
    let _ = fs::remove_dir_all(&dir);
    result
}

/// The running container `name` (`--net container:NAME`): its PID file names a process that
/// still runs. Anything else is one line naming it.
fn joined(state: &Path, name: &str) -> Result<Joined> {
    let pid_file = layout::pid_file(state, name);
    let text = match fs::read_to_string(&pid_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("--net container:{name}: no container named '{name}' runs in this lab")
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("--net container:{name}: reading {}", pid_file.display()))
        }
    };
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|pid| *pid > 0)
        .with_context(|| {
            format!(
                "--net container:{name}: {} holds no PID",
                pid_file.display()
            )
        })?;
    if !runs(pid) {
        bail!(
            "--net container:{name}: container '{name}' is not running (its process {pid} is gone)"
        );
    }
    Ok(Joined {
        name: name.to_string(),
        pid: Pid::from_raw(pid),
    })
}

/// Whether process `pid` runs: it exists and is not a zombie (killed, not collected yet by
/// its parent, and in no namespace any more).
fn runs(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // `PID (COMM) STATE ...`: the state follows the last `)`.
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    state.is_some_and(|s| !s.starts_with('Z') && !s.starts_with('X'))
}

fn lab_dir(var: &str) -> Result<PathBuf> {
    match std::env::var_os(var) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => bail!(
            "{var} is not set: step binaries run inside the workshop's lab, never on your real \
             network. Start one with `cargo xtask run NN`"
        ),
    }
}

fn supervise(
    mut container: Container,
    base: &Path,
    pid_file: &Path,
    request: &Request,
    networking: Networking,
) -> Result<u8> {
    let mut extra = hooks::guarded("choosing the namespaces", || Ok((networking.namespaces)()))?;
    // A container that joins another's network namespace gets none of its own.
    if container.join.is_some() {
        extra.remove(CloneFlags::CLONE_NEWNET);
    }
    let host_netns = netns_id("self")?;
    let (go_read, go_write) = pipe().context("pipe")?;
    let (ready_read, ready_write) = pipe().context("pipe")?;
    let mut stack = vec![0u8; CHILD_STACK];
    let mut plan = Some(Plan {
        container: &container,
        base_rootfs: base,
        command: &request.command,
        in_container: networking.in_container,
        host_netns,
        own_netns: extra.contains(CloneFlags::CLONE_NEWNET),
        go: File::from(go_read),
        ready: File::from(ready_write),
        parent_ends: [go_write.as_raw_fd(), ready_read.as_raw_fd()],
    });
    let child_main = Box::new(move || match plan.take() {
        Some(plan) => child::main(plan),
        None => 1,
    });
    // SAFETY: the step binary is single-threaded here, so the child (a copy of this process,
    // without CLONE_VM) may allocate and run arbitrary code before it execs.
    let pid = unsafe {
        clone(
            child_main,
            &mut stack,
            BASE_NAMESPACES | extra,
            Some(Signal::SIGCHLD as i32),
        )
    }
    .context("clone() of the container")?;
    container.pid = pid;
    let mut go = File::from(go_write);
    let mut ready = File::from(ready_read);

    let started = hooks::call("on the host", networking.on_host, &container)
        .and_then(|()| {
            go.write_all(&pid.as_raw().to_le_bytes())
                .context("releasing the container")
        })
        .and_then(|()| {
            drop(go);
            let mut byte = [0u8; 1];
            match ready.read(&mut byte) {
                Ok(1) => Ok(()),
                _ => bail!("the container did not start (see above)"),
            }
        });

    let status = match started {
        Ok(()) => {
            // Handlers first: whoever reads the PID file may stop the container at once, and
            // a SIGTERM before them would end the step binary without its cleanup.
            signals::install(std::io::stdin().is_terminal(), pid);
            let _ = fs::write(pid_file, format!("{}\n", pid.as_raw()));
            let status = wait(pid);
            signals::forget();
            let _ = fs::remove_file(pid_file);
            Ok(status)
        }
        Err(e) => {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = wait(pid);
            Err(e)
        }
    };
    let cleaned = hooks::call(
        "after the container ended",
        networking.after_exit,
        &container,
    );
    let status = status?;
    cleaned?;
    Ok(status)
}

/// The network namespace of process `pid` (`self`), as `net:[inode]`.
pub fn netns_id(pid: &str) -> Result<String> {
    let link = format!("/proc/{pid}/ns/net");
    let target = fs::read_link(&link).with_context(|| format!("reading {link}"))?;
    Ok(target.to_string_lossy().into_owned())
}

/// Waits for the container (a stop signal to the step binary kills it: see `signals`).
fn wait(pid: Pid) -> u8 {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return code as u8,
            Ok(WaitStatus::Signaled(_, signal, _)) => return 128 + signal as u8,
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(_) => return protocol::EXIT_RUNTIME,
        }
    }
}
