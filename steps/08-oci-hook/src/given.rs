//! Step 08's given pieces: the OCI state a hook reads, the bundle (`config.json`) handed to
//! runc, the step binary's two faces (`run`, which starts runc, and `hook`, which runc starts),
//! and small helpers. Not a TODO: read them, use them from `oci_hook.rs`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use container::protocol::{self, layout};
use nix::sys::signal::{SigSet, Signal};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use solution05_bridge::{
    alive, ensure_bridge, host_end, ipam_dir, lease_file, leases, lock_ipam, release_address,
    BRIDGE, GATEWAY, PREFIX, SUBNET,
};
use solution05_bridge::{FIRST, LAST};

/// What runc writes on a hook's stdin: the container's state, as the OCI runtime spec
/// defines it (`ociVersion`, `id`, `status`, `pid`, `bundle`, `annotations`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct State {
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// The container's id: the name given to `runc run`.
    pub id: String,
    /// `creating` in createRuntime and prestart, `stopped` in poststop.
    pub status: String,
    /// The container's first process, as the runtime's namespaces see it; 0 when absent
    /// (poststop: the process is gone).
    #[serde(default)]
    pub pid: i32,
    /// The bundle's folder (where `config.json` is).
    pub bundle: PathBuf,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The learner's three functions, wired in by `main.rs`.
#[derive(Clone, Copy)]
pub struct Hooks {
    /// Reads the state runc wrote on stdin.
    pub read_state: fn(&mut dyn Read) -> Result<State>,
    /// The network hook (the stage [`crate::NETWORK_HOOK`] names): attach and configure.
    pub create_runtime: fn(&State) -> Result<()>,
    /// After the container is gone: release what the network hook took.
    pub poststop: fn(&State) -> Result<()>,
}

/// The two hooks this binary is, as `hook create-runtime|poststop` on its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// The network hook (createRuntime, or prestart: see `NETWORK_HOOK`).
    CreateRuntime,
    Poststop,
}

#[derive(Debug, Parser)]
#[command(about = "Step 08 of the netlab workshop: a container under runc, networked by hooks.")]
#[command(disable_version_flag = true)]
struct Cli {
    #[command(subcommand)]
    command: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Starts a container under runc inside the lab and runs CMD in it (default: /bin/sh).
    Run {
        /// The container's id and hostname (letters, digits, '-'; at most 30).
        #[arg(long, value_name = "NAME", value_parser = validate_name)]
        name: Option<String>,
        /// No hooks in the bundle: runc alone, no network (what `cargo xtask bench` compares).
        #[arg(long, hide = true)]
        no_hooks: bool,
        /// The container's command and its arguments, after `--`.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// What runc runs at a hook's moment (config.json's `hooks`): reads the state on stdin.
    #[command(hide = true)]
    Hook {
        stage: Stage,
        /// Where the hook's stderr goes (runc keeps a hook's output to itself).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
}

fn validate_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 30
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!(
            "'{name}' is not a container name (letters, digits, '-'; at most 30)"
        ))
    }
}

/// The step binary's `main`: `run` starts runc, `hook` is what runc runs.
pub fn main(hooks: Hooks) -> ExitCode {
    install_panic_report();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}: {}", protocol::PREFIX, container::clap_error_line(&e));
            return ExitCode::from(protocol::EXIT_USAGE);
        }
    };
    match cli.command {
        Verb::Run {
            name,
            no_hooks,
            command,
        } => {
            let name = name.unwrap_or_else(|| format!("c{}", std::process::id()));
            match run(&name, &command, !no_hooks) {
                Ok(status) => ExitCode::from(status),
                Err(e) => {
                    eprintln!("{}: {e:#}", protocol::PREFIX);
                    ExitCode::from(protocol::EXIT_RUNTIME)
                }
            }
        }
        Verb::Hook { stage, report } => hook(stage, report.as_deref(), hooks),
    }
}

/// One hook: its stderr into `report` (which `run` prints), the state read from stdin, the
/// learner's function called. Failing makes runc fail.
fn hook(stage: Stage, report: Option<&Path>, hooks: Hooks) -> ExitCode {
    if let Some(report) = report {
        if let Err(e) = stderr_to(report) {
            eprintln!("{} {stage:?}: {e:#}", protocol::HOOK_FAILED);
            return ExitCode::FAILURE;
        }
    }
    let result = (hooks.read_state)(&mut std::io::stdin().lock())
        .context("reading the OCI state on stdin")
        .and_then(|state| match stage {
            Stage::CreateRuntime => (hooks.create_runtime)(&state),
            Stage::Poststop => (hooks.poststop)(&state),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let what = match stage {
                Stage::CreateRuntime => crate::NETWORK_HOOK,
                Stage::Poststop => "poststop",
            };
            eprintln!("{} {what} hook: {e:#}", protocol::HOOK_FAILED);
            ExitCode::FAILURE
        }
    }
}

/// Points fd 2 at `path` (appended to, never through a symlink, private to its owner).
fn stderr_to(path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: dup2 on two open descriptors; fd 2 is replaced atomically.
    if unsafe { nix::libc::dup2(file.as_raw_fd(), 2) } < 0 {
        bail!("redirecting stderr: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// A `todo!()` or a panic as one line the checks understand (as the workshop's runtime does).
fn install_panic_report() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "<unknown place>".to_string());
        match message.strip_prefix("not yet implemented") {
            Some(rest) => eprintln!(
                "{} {place} {}",
                protocol::NOT_IMPLEMENTED,
                rest.trim_start_matches(':').trim()
            ),
            None => eprintln!("{} {place}: {message}", protocol::PANICKED),
        }
    }));
}

/// An environment variable the lab exports to step binaries.
fn lab_env(key: &str) -> Result<PathBuf> {
    std::env::var_os(key)
        .map(PathBuf::from)
        .with_context(|| format!("{key} is not set: step binaries run inside the lab"))
}

/// `$NETLAB_STATE/runc`: runc's own state (`--root`), private to the lab.
pub fn runc_root() -> Result<PathBuf> {
    Ok(lab_env(protocol::env::STATE)?.join("runc"))
}

/// `run`: writes the bundle, runs `runc run` to its end, stops the container at SIGTERM or
/// SIGHUP (`runc kill ID KILL`: runc then runs poststop), and returns the command's status.
fn run(name: &str, command: &[String], hooks: bool) -> Result<u8> {
    // Absolute: runc reads a relative root from the bundle, and the hooks run elsewhere.
    let absolute = |key: &str| -> Result<PathBuf> {
        let path = lab_env(key)?;
        fs::canonicalize(&path).with_context(|| format!("{key}: {}", path.display()))
    };
    let state = absolute(protocol::env::STATE)?;
    let rootfs = absolute(protocol::env::ROOTFS)?;
    let dir = layout::container_dir(&state, name);
    fs::create_dir_all(dir.parent().unwrap_or(&state)).context("creating containers/")?;
    fs::create_dir(&dir)
        .with_context(|| format!("a container named {name} runs already ({})", dir.display()))?;
    let result = run_in(name, command, hooks, &state, &rootfs, &dir);
    let _ = Command::new("runc")
        .arg("--root")
        .arg(state.join("runc"))
        .args(["delete", "--force", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = fs::remove_dir_all(&dir);
    result
}

fn run_in(
    name: &str,
    command: &[String],
    hooks: bool,
    state: &Path,
    rootfs: &Path,
    dir: &Path,
) -> Result<u8> {
    let bundle = dir.join("bundle");
    fs::create_dir(&bundle).context("creating the bundle's folder")?;
    let root = make_root(rootfs, &bundle, name)?;
    let hook = std::env::current_exe().context("finding the step binary")?;
    let reports = [dir.join("hook.err"), dir.join("poststop.err")];
    let config = config(&Spec {
        name,
        command,
        rootfs: &root,
        base: rootfs,
        hook: &hook,
        state,
        reports: [&reports[0], &reports[1]],
        rootless: rootless(),
        hooks,
    });
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(bundle.join("config.json"))
        .context("creating config.json")?;
    file.write_all(serde_json::to_string_pretty(&config)?.as_bytes())
        .context("writing config.json")?;
    drop(file);

    // Stop signals are waited for by a thread of ours (the child gets an empty mask back).
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGHUP);
    if !nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        signals.add(Signal::SIGINT);
    }
    signals.thread_block().context("blocking stop signals")?;
    let mut runc = Command::new("runc");
    runc.arg("--root")
        .arg(state.join("runc"))
        // No cgroup limits are asked for: runc then makes no cgroups (it cannot everywhere).
        .args(["--rootless", "true", "run", "--bundle"])
        .arg(&bundle)
        .arg("--pid-file")
        .arg(layout::pid_file(state, name))
        .arg(name);
    // SAFETY: between fork and exec, only syscalls (unshare, mount): async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut runc, || {
            without_cgroups().map_err(std::io::Error::from)
        });
    }
    let mut runc = runc
        .spawn()
        .context("starting runc (install it: scripts/install-deps)")?;
    let ended = Arc::new(AtomicBool::new(false));
    {
        let (ended, root, name) = (ended.clone(), state.join("runc"), name.to_string());
        std::thread::spawn(move || {
            if signals.wait().is_err() {
                return;
            }
            // Until runc has created the container there is nothing to kill yet: try again.
            while !ended.load(Ordering::SeqCst) {
                let killed = Command::new("runc")
                    .arg("--root")
                    .arg(&root)
                    .args(["kill", &name, "KILL"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if killed {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
    let status = runc.wait().context("waiting for runc")?;
    ended.store(true, Ordering::SeqCst);
    for report in &reports {
        if let Ok(text) = fs::read_to_string(report) {
            eprint!("{text}");
        }
    }
    let started = layout::pid_file(state, name).exists();
    match status.code() {
        Some(code) if started => Ok(u8::try_from(code).unwrap_or(1)),
        _ => bail!("runc run failed ({status}): the container did not start"),
    }
}

/// runc's own mount namespace, where `/sys/fs/cgroup` is an empty read-only tmpfs: the lab
/// asks for no cgroup limits, and runc, run `--rootless`, then skips the cgroups it cannot
/// make (a lab's `/sys` is its own sysfs, with no cgroup hierarchy mounted under it). The
/// container's mount namespace is made from this one; the lab host's is untouched.
fn without_cgroups() -> nix::Result<()> {
    use nix::mount::{mount, MsFlags};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        "/sys/fs/cgroup",
        Some("tmpfs"),
        flags,
        Some("size=16k,mode=755"),
    )?;
    // Each hierarchy's folder, empty, so that making a cgroup in it fails read-only (which
    // runc skips), not as missing (which it does not).
    for controller in CGROUP_FOLDERS {
        let path = format!("/sys/fs/cgroup/{controller}");
        nix::unistd::mkdir(
            path.as_str(),
            nix::sys::stat::Mode::from_bits_truncate(0o755),
        )?;
    }
    mount(
        None::<&str>,
        "/sys/fs/cgroup",
        None::<&str>,
        flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None::<&str>,
    )
}

/// The folders cgroup v1 hierarchies are mounted on (Debian's, systemd's and others' names).
const CGROUP_FOLDERS: [&str; 17] = [
    "blkio",
    "cpu",
    "cpuacct",
    "cpu,cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "net_cls,net_prio",
    "perf_event",
    "pids",
    "rdma",
    "systemd",
];

/// `<bundle>/rootfs`: the mount points (the base is read-only, so runc cannot make them
/// there), and an `/etc` of its own: the base's files, the lab host's `resolv.conf`, and
/// `hosts` and `hostname` for `name`. The root is mounted read-only.
fn make_root(base: &Path, bundle: &Path, name: &str) -> Result<PathBuf> {
    let root = bundle.join("rootfs");
    for dir in ["", "bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        fs::create_dir(root.join(dir)).with_context(|| format!("creating rootfs/{dir}"))?;
    }
    for entry in fs::read_dir(base.join("etc")).context("reading the base's /etc")? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), root.join("etc").join(entry.file_name()))
                .context("copying the base's /etc")?;
        }
    }
    // The lab host's, without loopback nameservers (unreachable from the container's own
    // loopback: step 04), the lab's resolver when none is left.
    let host = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut resolv: String = host
        .lines()
        .filter(|l| !l.trim_start().starts_with("nameserver 127."))
        .map(|l| format!("{l}\n"))
        .collect();
    if !resolv
        .lines()
        .any(|l| l.trim_start().starts_with("nameserver"))
    {
        resolv.push_str(&format!("nameserver {}\n", addresses::DNS_ADDR));
    }
    fs::write(root.join("etc/resolv.conf"), resolv).context("writing etc/resolv.conf")?;
    fs::write(
        root.join("etc/hosts"),
        format!("127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n"),
    )
    .context("writing etc/hosts")?;
    fs::write(root.join("etc/hostname"), format!("{name}\n")).context("writing etc/hostname")?;
    Ok(root)
}

/// What [`config`] is made of.
pub struct Spec<'a> {
    pub name: &'a str,
    pub command: &'a [String],
    /// The bundle's root: mount points, and `/etc` (see [`make_root`]).
    pub rootfs: &'a Path,
    /// The lab's base root filesystem (busybox), whose `/bin` is bound read-only.
    pub base: &'a Path,
    /// This binary: the hooks run it as `hook create-runtime|poststop`.
    pub hook: &'a Path,
    pub state: &'a Path,
    pub reports: [&'a Path; 2],
    /// In a rootless lab: the uid and gid that are root inside the lab's user namespace.
    pub rootless: Option<(u32, u32)>,
    /// Whether the bundle names the hooks (without: runc alone, for the benchmark).
    pub hooks: bool,
}

/// Whether this lab runs in a user namespace of its own (as an ordinary user does): then
/// the uid and gid it maps (`/proc/self/uid_map` is not the whole range).
pub fn rootless() -> Option<(u32, u32)> {
    let map = fs::read_to_string("/proc/self/uid_map").ok()?;
    let whole = map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    (!whole).then(|| {
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    })
}

/// The bundle's `config.json` (OCI runtime spec 1.0): busybox's root read-only, new mount,
/// UTS, PID, IPC and network namespaces (and a user namespace in a rootless lab), the
/// capabilities of runc's default plus CAP_NET_RAW for ping, and the hooks.
pub fn config(spec: &Spec) -> Value {
    let command: Vec<String> = if spec.command.is_empty() {
        vec!["/bin/sh".into()]
    } else {
        spec.command.to_vec()
    };
    let caps = json!([
        "CAP_AUDIT_WRITE",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW"
    ]);
    let hook = |stage: &str, report: &Path| {
        json!({
            "path": spec.hook,
            "args": [spec.hook, "hook", stage, "--report", report],
            "env": [
                format!("{}={}", protocol::env::STATE, spec.state.display()),
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ],
        })
    };
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "network"}),
    ];
    // /sys: a fresh sysfs (of the container's network namespace) where the lab may mount one;
    // in a user namespace, the lab host's, bound read-only (as `runc spec --rootless` does).
    let sys = match spec.rootless {
        None => json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                       "options": ["nosuid", "noexec", "nodev", "ro"]}),
        Some(_) => json!({"destination": "/sys", "type": "none", "source": "/sys",
                          "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}),
    };
    let mut linux = json!({
        "namespaces": [],
        "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"],
    });
    if let Some((uid, gid)) = spec.rootless {
        namespaces.push(json!({"type": "user"}));
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    }
    linux["namespaces"] = Value::Array(namespaces);
    let stage = match crate::NETWORK_HOOK {
        "prestart" => "prestart",
        _ => "createRuntime",
    };
    let mut hooks = serde_json::Map::new();
    if spec.hooks {
        hooks.insert(
            stage.into(),
            json!([hook("create-runtime", spec.reports[0])]),
        );
        hooks.insert(
            "poststop".into(),
            json!([hook("poststop", spec.reports[1])]),
        );
    }
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": command,
            "env": ["PATH=/bin:/sbin:/usr/bin:/usr/sbin", format!("HOSTNAME={}", spec.name)],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": true,
        },
        "root": {"path": spec.rootfs, "readonly": true},
        "hostname": spec.name,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=16m"]},
            sys,
            {"destination": "/bin", "type": "none", "source": spec.base.join("bin"),
             "options": ["rbind", "ro", "nosuid", "nodev"]},
        ],
        "hooks": hooks,
        "linux": linux,
    })
}

/// `$NETLAB_STATE/oci/<id>`: a record a hook keeps for a later one (poststop has no pid).
pub fn record_file(id: &str) -> Result<PathBuf> {
    validate_name(id).map_err(anyhow::Error::msg)?;
    let dir = lab_env(protocol::env::STATE)?.join("oci");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(id))
}

/// Keeps `text` for the container `id` (replacing what was kept).
pub fn remember(id: &str, text: &str) -> Result<()> {
    let path = record_file(id)?;
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// What was kept for `id`, if anything.
pub fn recall(id: &str) -> Result<Option<String>> {
    match fs::read_to_string(record_file(id)?) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context("reading the record"),
    }
}

/// Forgets what was kept for `id`; nothing kept is no error.
pub fn forget(id: &str) -> Result<()> {
    match fs::remove_file(record_file(id)?) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).context("removing the record"),
        _ => Ok(()),
    }
}

/// Step 05's allocator, with one difference: the lease's owner is `owner`, the container's
/// first process, since the hook that allocates exits a moment later (a lease whose owner is
/// dead is taken back by the next allocation).
pub fn allocate_address(id: &str, owner: i32) -> Result<Ipv4Addr> {
    let _lock = lock_ipam()?;
    let mut taken = Vec::new();
    for lease in leases()? {
        if !alive(lease.owner) || lease.name == id {
            let _ = fs::remove_file(lease_file(lease.address)?);
        } else {
            taken.push(lease.address);
        }
    }
    let free = (u32::from(FIRST)..=u32::from(LAST))
        .map(Ipv4Addr::from)
        .find(|a| !taken.contains(a))
        .with_context(|| format!("no free address left in {SUBNET}"))?;
    fs::write(lease_file(free)?, format!("{id}\n{owner}\n")).context("recording the lease")?;
    Ok(free)
}
