//! Entering a lab: the process that calls [`Lab::enter`] becomes the lab's keeper, and the call
//! returns in a new process that is PID 1 of the lab's PID namespace, on the lab host.

use crate::addresses::*;
use crate::internet::{self, Internet};
use crate::keeper;
use crate::netcmd;
use crate::profile::Profile;
use crate::readonly;
use crate::registry;
use crate::userns;
use anyhow::{Context, Result};
use container::protocol::env as container_protocol;
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::prctl;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::{fork, getpid, ForkResult, Pid};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the lab finds and keeps its files.
#[derive(Debug, Clone)]
pub struct LabPaths {
    /// The busybox root filesystem containers are made from (read-only to the lab).
    pub rootfs: PathBuf,
    /// An existing directory; the lab mounts its own private tmpfs on it.
    pub state: PathBuf,
    /// Where the lab announces itself once set up (see [`crate::registry`]), for
    /// `cargo xtask show`; `None` for labs nobody looks into from outside (the checks').
    pub registry: Option<PathBuf>,
    /// The learner's workspace, left writable in a lab they work in (`run`, `lab`); `None` for
    /// the checks' labs, where the machine's files are all read-only.
    pub workspace: Option<PathBuf>,
}

/// A lab, seen from inside (its PID 1).
pub struct Lab {
    paths: LabPaths,
    internet: Internet,
    profile: Profile,
}

impl Lab {
    /// Creates a lab and moves into it. Call while the process is single-threaded, after
    /// [`userns::become_root`]. In the calling process this never returns: it waits for the lab
    /// and exits with its status. When `interactive`, Ctrl-C is left to the lab's foreground
    /// program instead of ending the lab.
    pub fn enter(paths: LabPaths, profile: Profile, interactive: bool) -> Result<Lab> {
        unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS).map_err(|e| {
            anyhow::anyhow!(
                "creating the lab host's namespaces: {}",
                userns::explain(Some(e))
            )
        })?;
        let none: Option<&str> = None;
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
            .context("making the lab's mounts private")?;
        unshare(CloneFlags::CLONE_NEWPID).context("creating the lab's PID namespace")?;
        if interactive {
            keep_going_on_ctrl_c();
        }
        // Blocked from before the fork: the keeper takes them through a signalfd, the lab's
        // side puts its mask back at once.
        let signals = keeper::signals(interactive);
        let mask = keeper::block(&signals)?;
        // The keeper holds the write end of this pipe until it dies: the lab can tell whether
        // it is already gone (its PID is not visible from the lab's PID namespace).
        let (alive_read, alive_write) = nix::unistd::pipe().context("pipe")?;
        // SAFETY: single-threaded here (the caller's contract).
        match unsafe { fork() }.context("fork")? {
            ForkResult::Parent { child } => {
                drop(alive_read);
                keeper::keep(child, paths.registry.as_deref(), &signals)
            }
            ForkResult::Child => {
                keeper::restore(&mask);
                drop(alive_write)
            }
        }
        // Our PID as seen from outside, read before the lab's own /proc covers the outer one.
        let outer_pid = outer_pid();
        // The lab must not outlive its keeper, however the keeper ends.
        prctl::set_pdeathsig(Signal::SIGKILL).context("PR_SET_PDEATHSIG")?;
        if keeper_gone(&alive_read) {
            std::process::exit(1);
        }
        drop(alive_read);
        let lab = Self::build(paths, profile).context("building the lab")?;
        if let (Some(dir), Some(pid)) = (&lab.paths.registry, outer_pid) {
            // Not fatal: the lab works without, only `cargo xtask show` cannot find it.
            if let Err(e) = register(dir, pid, &lab) {
                eprintln!("lab: warning: `cargo xtask show` will not find this lab: {e:#}");
            }
        }
        Ok(lab)
    }

    fn build(paths: LabPaths, profile: Profile) -> Result<Lab> {
        let none: Option<&str> = None;
        mount(Some("proc"), "/proc", Some("proc"), MsFlags::empty(), none)
            .context("mounting the lab's /proc")?;
        mount(Some("sysfs"), "/sys", Some("sysfs"), MsFlags::empty(), none)
            .context("mounting the lab's /sys")?;
        fs::create_dir_all(&paths.state)
            .with_context(|| format!("creating {}", paths.state.display()))?;
        mount(
            Some("tmpfs"),
            &paths.state,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=755"),
        )
        .context("mounting the lab's state directory")?;
        // Where /etc's files really are, found before the lab's own /run covers the machine's.
        let etc = etc_targets()?;
        let exe = std::env::current_exe().context("finding the lab's own program")?;
        let cwd = std::env::current_dir().context("finding the current folder")?;
        let mut needed = vec![paths.rootfs.as_path(), paths.state.as_path(), &exe, &cwd];
        needed.extend(paths.registry.as_deref());
        needed.extend(paths.workspace.as_deref());
        readonly::private_dirs(&needed)?;
        install_etc_files(&paths.state, &profile.host_resolv_conf(), &etc)?;
        if let Some(what) = container::base_incomplete(&paths.rootfs) {
            anyhow::bail!("{}", base_incomplete_message(&paths.rootfs, &what));
        }
        read_only(&paths.rootfs)?;
        // The rest of the machine's files: read-only but what the lab owns (and, for a lab a
        // learner works in, their workspace).
        // The lab's own /etc files too: a learner's code that writes them changes the lab's.
        let mut writable = vec![paths.state.clone()];
        writable.extend(etc.iter().cloned());
        if let Some(dir) = &paths.registry {
            crate::registry::own_dir(dir)?;
            writable.push(dir.clone());
        }
        writable.extend(paths.workspace.clone());
        readonly::machine_read_only(&writable)?;
        // The machine's tools first; busybox's applets (ping, wget, nc, nslookup...) fill in
        // what the machine lacks, as on the seed tutorials' hosts.
        std::env::set_var(
            "PATH",
            format!(
                "{}:{}",
                netcmd::TOOL_PATH,
                paths.rootfs.join("bin").display()
            ),
        );

        ipv4_only()?;
        let internet = internet::start(getpid())?;
        // lo and the uplink (which the internet made) in one `ip`, with the foreign state's
        // second address.
        let mut wiring = vec![
            "link set lo up".to_string(),
            format!("addr add {HOST_ADDR}/{UPLINK_PREFIX} dev {HOST_UPLINK}"),
            format!("link set {HOST_UPLINK} up"),
            format!("route add default via {ROUTER_ADDR}"),
        ];
        wiring.extend(crate::foreign::uplink_commands());
        netcmd::ip_batch(&wiring).context("wiring the lab host's uplink")?;
        wait_for_carrier(HOST_UPLINK)?;
        profile.apply().context("applying the lab profile")?;
        Ok(Lab {
            paths,
            internet,
            profile,
        })
    }

    /// The lab's paths.
    pub fn paths(&self) -> &LabPaths {
        &self.paths
    }

    /// The profile the lab host started in.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The thread owning the internet namespace (for `nsenter -t`).
    pub fn internet_tid(&self) -> Pid {
        self.internet.tid
    }

    /// A step binary, ready to be run in this lab.
    pub fn step_command(&self, binary: &Path) -> Command {
        let mut command = Command::new(binary);
        command
            .env(container_protocol::ROOTFS, &self.paths.rootfs)
            .env(container_protocol::STATE, &self.paths.state);
        command
    }

    /// A program run in the lab's internet namespace.
    pub fn in_internet(&self, program: &str) -> Command {
        netcmd::in_netns_of(self.internet.tid.as_raw(), program)
    }
}

/// The lab is IPv4-only: no link-local addresses appearing a moment after a link comes up,
/// so the lab host's state is settled before a check looks at it.
pub(crate) fn ipv4_only() -> Result<()> {
    for scope in ["all", "default"] {
        netcmd::set_sysctl(&format!("net.ipv6.conf.{scope}.disable_ipv6"), "1")?;
    }
    Ok(())
}

/// Waits (briefly) until `link` reports a carrier: both ends of the uplink are up.
fn wait_for_carrier(link: &str) -> Result<()> {
    let path = format!("/sys/class/net/{link}/carrier");
    for _ in 0..1000 {
        if fs::read_to_string(&path).is_ok_and(|c| c.trim() == "1") {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    anyhow::bail!("{link} has no carrier after 1 s")
}

/// The real files of `/etc/resolv.conf` and `/etc/hosts` (where their links lead); each must
/// exist, for the lab to cover it with its own.
fn etc_targets() -> Result<[PathBuf; 2]> {
    let target = |name: &str| -> Result<PathBuf> {
        let real = Path::new("/etc").join(name);
        let target = fs::canonicalize(&real).unwrap_or(real);
        if !target.exists() {
            anyhow::bail!(
                "/etc/{name} points to {}, which does not exist: the lab needs a file there to \
                 cover with its own",
                target.display()
            );
        }
        Ok(target)
    };
    Ok([target("resolv.conf")?, target("hosts")?])
}

/// The lab host's `/etc/resolv.conf` and `/etc/hosts` are files of the lab's, mounted over the
/// real ones in the lab's mount namespace only: learner code that writes them (by design or by
/// a path mistake) changes the lab's copy, never the machine's.
fn install_etc_files(state: &Path, resolv_conf: &str, targets: &[PathBuf; 2]) -> Result<()> {
    let dir = state.join("lab");
    fs::create_dir_all(&dir)?;
    let hosts = format!("127.0.0.1 localhost\n::1 localhost\n{HOST_ADDR} host.{DOMAIN} host\n");
    for ((name, text), target) in [("resolv.conf", resolv_conf), ("hosts", hosts.as_str())]
        .into_iter()
        .zip(targets)
    {
        let ours = dir.join(name);
        fs::write(&ours, text)?;
        // A file of the machine's /run (systemd-resolved's stub file) is now in the lab's own
        // empty /run: made there, to be covered like the others.
        if readonly::PRIVATE.iter().any(|(d, _)| target.starts_with(d)) {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(target, "")?;
        }
        let none: Option<&str> = None;
        mount(Some(&ours), target.as_path(), none, MsFlags::MS_BIND, none)
            .with_context(|| format!("mounting the lab's /etc/{name}"))?;
    }
    Ok(())
}

/// Makes `dir` read-only inside the lab (the shared base root filesystem of containers).
fn read_only(dir: &Path) -> Result<()> {
    let none: Option<&str> = None;
    mount(
        Some(dir),
        dir,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )
    .with_context(|| format!("bind-mounting {}", dir.display()))?;
    container::remount_read_only(dir)
}

/// Says that the lab's base root filesystem `rootfs` lacks `what`, and that this is no fault of
/// the code under test.
pub fn base_incomplete_message(rootfs: &Path, what: &str) -> String {
    format!(
        "the lab's base root filesystem {} is incomplete ({what}): containers cannot start as \
         they should, and that is not your code; `cargo xtask check` rebuilds it",
        rootfs.display()
    )
}

/// True when the other end of the pipe has been closed, that is, the keeper has died.
fn keeper_gone(alive: &std::os::fd::OwnedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(alive.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(0) => false,
        _ => fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLIN)),
    }
}

/// The calling process's PID in the outermost PID namespace its `/proc` shows.
fn outer_pid() -> Option<i32> {
    fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse().ok()))
}

/// Announces the lab (PID `pid` outside) in the registry `dir`. Runs in the lab, once set up.
fn register(dir: &Path, pid: i32, lab: &Lab) -> Result<()> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let entry = registry::Entry {
        pid,
        // The lab's /proc now: we are its PID 1.
        start: registry::start_time(1)?,
        netns: registry::netns_inode("/proc/self/ns/net")?,
        // Absolute: `show` reads it from elsewhere.
        state: std::path::absolute(&lab.paths.state).context("the state directory's path")?,
        profile: lab.profile.name().to_string(),
        since,
    };
    registry::write(dir, &entry)?;
    Ok(())
}

extern "C" fn ignore_signal(_: i32) {}

/// A handler that does nothing (unlike SIG_IGN, it is reset by exec, so the lab's programs
/// still get Ctrl-C).
pub fn keep_going_on_ctrl_c() {
    let action = SigAction::new(
        SigHandler::Handler(ignore_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
}
