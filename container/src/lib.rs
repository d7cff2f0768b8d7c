//! The workshop's container runtime. It is given to learners: they write networking hooks, and
//! this crate calls them at the right moments, the way runc calls OCI hooks or CNI plugins.
//!
//! A container here is a process started with `clone()` in new mount, UTS, PID and IPC
//! namespaces (plus whatever [`Networking::namespaces`] adds), with its own copy of a busybox
//! root filesystem, `/proc` mounted and a hostname. The order of events is:
//!
//! 1. the parent clones the child, which waits;
//! 2. the parent runs [`Networking::on_host`] with the child's PID;
//! 3. the child turns IPv6 off in its own network namespace (the lab is IPv4-only; see
//!    `ipv6`), then runs [`Networking::in_container`] (still seeing the lab's files, so `ip` is
//!    the lab's iproute2, and with every privilege), then pivots into its root filesystem,
//!    confines itself like Docker's default (read-only and masked kernel files, 14
//!    capabilities, `no_new_privs`, a seccomp filter: see `confine`) and execs the command;
//! 4. when the command ends, however it ends, the parent runs [`Networking::after_exit`];
//! 5. the step binary exits with the command's exit status.

mod child;
mod cli;
mod confine;
mod hooks;
mod ipv6;
pub mod ports;
pub mod protocol;
mod rootfs;
mod signals;
mod start;

use std::path::PathBuf;
use std::process::ExitCode;

pub use cli::clap_error_line;
/// The panic report of the step binaries (a `todo!()` as one `not implemented yet` line), for
/// a step binary that is also another program (step 09's CNI plugin).
pub use hooks::install_panic_report;
pub use nix::sched::CloneFlags;
pub use nix::unistd::Pid;
pub use ports::{Port, Protocol};
pub use rootfs::{base_incomplete, remount_read_only, BASE_APPLETS, BASE_MANIFEST};

/// What the learner's hooks are told about the container they set up.
#[derive(Debug, Clone)]
pub struct Container {
    /// The container's name (`--name`); also its hostname. Unique among running containers.
    pub name: String,
    /// The PID of the container's first process, as the host sees it.
    pub pid: Pid,
    /// The container's own root filesystem, seen from the host. Files written under it
    /// (for example `etc/resolv.conf`) are what the container sees.
    pub rootfs: PathBuf,
    /// The ports to publish on the host (`-p HOSTPORT:CONTAINERPORT`); empty for most steps.
    pub ports: Vec<Port>,
    /// `--net container:NAME` (step 07 and later): the running container whose network
    /// namespace this one joins. The runtime then makes no network namespace for it (whatever
    /// [`Networking::namespaces`] says): the container starts in the lab host's, and
    /// [`Networking::in_container`] must enter the other one's (`setns`); the runtime refuses
    /// to run the command while it is still in the lab host's.
    pub join: Option<Joined>,
}

/// The container another one joins (`--net container:NAME`), as the runtime found it running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// Its name.
    pub name: String,
    /// The PID of its first process, as the host sees it, when the runtime looked.
    pub pid: Pid,
}

/// A networking hook: learner code called by the runtime.
pub type Hook = fn(&Container) -> anyhow::Result<()>;

/// The learner's networking code, wired into the runtime by each step's `main.rs`.
#[derive(Clone, Copy)]
pub struct Networking {
    /// Namespaces the container gets on top of mount, UTS, PID and IPC.
    pub namespaces: fn() -> CloneFlags,
    /// Runs on the host after the container's namespaces exist, before the container
    /// configures itself. This is where host-side links and rules are made.
    pub on_host: Hook,
    /// Runs inside the container's namespaces after `on_host` has finished and before the
    /// command starts.
    pub in_container: Hook,
    /// Runs on the host after the container has ended, whether it exited, failed or was killed.
    pub after_exit: Hook,
}

impl Networking {
    /// No networking at all: the container shares the host's network namespace.
    pub const NONE: Networking = Networking {
        namespaces: CloneFlags::empty,
        on_host: nothing,
        in_container: nothing,
        after_exit: nothing,
    };
}

fn nothing(_: &Container) -> anyhow::Result<()> {
    Ok(())
}

/// The step binary's `main`: parses `run [--name NAME] [-p PORTS] [--net container:NAME] [-- CMD ARGS...]`, starts the container
/// with the learner's `networking`, and returns the command's exit status.
pub fn main(networking: Networking) -> ExitCode {
    hooks::install_panic_report();
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    let program = std::path::Path::new(&program)
        .file_name()
        .map_or("step".into(), |name| name.to_string_lossy());
    let args: Vec<String> = args.collect();
    let request = match cli::parse(&program, &args) {
        Ok(cli::Parsed::Run(request)) => request,
        Ok(cli::Parsed::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}: {e:#}", protocol::PREFIX);
            return ExitCode::from(protocol::EXIT_USAGE);
        }
    };
    match start::run(&request, networking) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            if e.downcast_ref::<hooks::Reported>().is_none() {
                eprintln!("{}: {e:#}", protocol::PREFIX);
            }
            ExitCode::from(protocol::EXIT_RUNTIME)
        }
    }
}
