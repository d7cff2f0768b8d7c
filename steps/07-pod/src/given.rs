//! Step 07's given pieces: where a pod keeps its records, the lock over them, and small
//! helpers. Not a TODO: read them, use them from `pod.rs`.
//!
//! A pod is named after its first member, the container started without `--net`: its
//! records live in `$NETLAB_STATE/pods/POD/`:
//!
//! ```text
//! pods/lock              the flock every change of a pod's records holds
//! pods/POD/netns         the holder: the pod's network namespace, bind-mounted here
//! pods/POD/host-end      the name of the host end of the pod's veth (veth<first PID>)
//! pods/POD/members/NAME  one file per member, holding its container's PID
//! ```

use anyhow::{bail, Context, Result};
use cmd_lib::run_cmd;
use container::Pid;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// Step 05's names and helpers: `alive`, `host_end`, `lock_ipam`, `lease_file`, `leases`.
pub use solution05_bridge::given::*;

/// `$NETLAB_STATE/pods`, created if missing.
pub fn pods_dir() -> Result<PathBuf> {
    let state = std::env::var_os(container::protocol::env::STATE)
        .context("NETLAB_STATE is not set: step binaries run inside the lab")?;
    let dir = PathBuf::from(state).join("pods");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Takes the pods' lock (`pods/lock`); it is held until the returned value is dropped.
pub fn lock_pods() -> Result<Flock<File>> {
    let file = File::create(pods_dir()?.join("lock")).context("opening the pods' lock file")?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the pods")
}

/// `pods/POD`: the folder of the pod `pod`.
pub fn pod_dir(pod: &str) -> Result<PathBuf> {
    Ok(pods_dir()?.join(pod))
}

/// `pods/POD/netns`: where the pod's network namespace is bind-mounted (as `ip netns add`
/// mounts one on `/run/netns/NAME`). Opening it gives the namespace, whoever still runs in it.
pub fn netns_file(pod: &str) -> Result<PathBuf> {
    Ok(pod_dir(pod)?.join("netns"))
}

/// Records the host end of the pod's veth, `host_end(pid)` of its first member.
pub fn record_host_end(pod: &str, pid: Pid) -> Result<()> {
    let path = pod_dir(pod)?.join("host-end");
    write_new(&path, &format!("{}\n", host_end(pid)))
}

/// The host end of the pod's veth, as [`record_host_end`] recorded it.
pub fn host_end_of(pod: &str) -> Result<String> {
    let path = pod_dir(pod)?.join("host-end");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text.trim().to_string())
}

/// One member of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The container's name.
    pub name: String,
    /// Its first process, as the host sees it.
    pub pid: u32,
}

/// Records the container `name` (its first process `pid`) as a member of `pod`.
pub fn add_member(pod: &str, name: &str, pid: Pid) -> Result<()> {
    let dir = pod_dir(pod)?.join("members");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write_new(&dir.join(name), &format!("{pid}\n"))
}

/// Forgets the member `name` of `pod`; one that is not recorded is no error.
pub fn remove_member(pod: &str, name: &str) -> Result<()> {
    let path = pod_dir(pod)?.join("members").join(name);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The members `pod` records, running or not (see [`running`]).
pub fn members(pod: &str) -> Result<Vec<Member>> {
    let dir = pod_dir(pod)?.join("members");
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let pid = fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        found.push(Member { name, pid });
    }
    Ok(found)
}

/// The pod the container `name` is a member of, if any.
pub fn pod_of(name: &str) -> Result<Option<String>> {
    for entry in fs::read_dir(pods_dir()?)? {
        let path = entry?.path();
        if path.join("members").join(name).exists() {
            let pod = path.file_name().map(|n| n.to_string_lossy().into_owned());
            return Ok(pod);
        }
    }
    Ok(None)
}

/// Whether the process `pid` still runs: it exists and is not a zombie (a process killed
/// whose parent has not collected it yet is in no namespace any more).
pub fn running(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // `PID (COMM) STATE ...`: the state follows the last `)`.
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    pid != 0 && state.is_some_and(|s| !s.starts_with('Z') && !s.starts_with('X'))
}

/// Gives the pod's address (step 05's lease, under the pod's name) to the process `pid`:
/// step 05's allocator takes back a lease whose owner is gone, and the pod's first member may
/// go while others still use the address.
pub fn hand_over_address(pod: &str, pid: u32) -> Result<()> {
    let _lock = lock_ipam()?;
    for lease in leases()?.into_iter().filter(|l| l.name == pod) {
        fs::write(lease_file(lease.address)?, format!("{pod}\n{pid}\n"))
            .context("handing the pod's address over")?;
    }
    Ok(())
}

/// Deletes the lab host's link `name` (a veth's end: its peer goes with it); one that is gone
/// already is no error.
pub fn delete_link(name: &str) -> Result<()> {
    if run_cmd!(ip link del $name 2>/dev/null).is_err()
        && run_cmd!(ip link show dev $name >/dev/null 2>&1).is_ok()
    {
        bail!("cannot delete the link {name}");
    }
    Ok(())
}

/// Creates the file `path` with `text`; it must not exist yet (O_EXCL), nor be a link.
pub fn write_new(path: &std::path::Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
