//! Where interactive labs announce themselves, so that `cargo xtask show` (from another
//! terminal, outside every lab) can find them: one small file per running lab,
//! `<dir>/<pid>`, named after the lab's PID as seen from outside it.
//!
//! The directory is beside the labs' state directory (`target/netlab/labs` for
//! `target/netlab/state`): inside the user's tree, the user's alone (0700, owned like the folder
//! around it even when a lab started through sudo made it), reachable both for a rootless lab
//! (whose root is the user) and for one started through sudo. The lab's keeper removes the file when the
//! lab ends; a file whose process is gone (a keeper killed with SIGKILL) is stale, ignored, and
//! removed by the next reader. A file also records the process's start time and network
//! namespace, so a PID reused by an unrelated process is never taken for a lab.

use anyhow::{Context, Result};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One running lab, as its file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The lab's first process (PID 1 inside the lab), as seen from outside.
    pub pid: i32,
    /// Its start time (clock ticks since boot, field 22 of `/proc/<pid>/stat`).
    pub start: u64,
    /// The inode of the lab host's network namespace.
    pub netns: u64,
    /// The lab's state directory (a tmpfs, in the lab's mount namespace).
    pub state: PathBuf,
    /// The lab's profile.
    pub profile: String,
    /// When the lab was set up (seconds since the epoch).
    pub since: u64,
}

/// The registry beside the state directory `state`: `<state>/../labs`.
pub fn dir_beside(state: &Path) -> PathBuf {
    state
        .parent()
        .map_or_else(|| PathBuf::from("labs"), |p| p.join("labs"))
}

/// The file of the lab `pid` in `dir`.
pub fn file(dir: &Path, pid: i32) -> PathBuf {
    dir.join(pid.to_string())
}

impl Entry {
    fn to_text(&self) -> String {
        format!(
            "pid={}\nstart={}\nnetns={}\nstate={}\nprofile={}\nsince={}\n",
            self.pid,
            self.start,
            self.netns,
            self.state.display(),
            self.profile,
            self.since
        )
    }

    fn parse(text: &str) -> Option<Entry> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        };
        Some(Entry {
            pid: get("pid")?.parse().ok()?,
            start: get("start")?.parse().ok()?,
            netns: get("netns")?.parse().ok()?,
            state: PathBuf::from(get("state")?),
            profile: get("profile").unwrap_or("").to_string(),
            since: get("since").and_then(|s| s.parse().ok()).unwrap_or(0),
        })
    }

    /// Whether the process the entry names still runs and is still that lab (same start time,
    /// same network namespace), as seen through the `/proc` of the caller.
    /// Another user's lab (root's, started through sudo) cannot be looked into: its start
    /// time alone decides, and joining it fails later with a clear message.
    pub fn is_live(&self) -> bool {
        if start_time(self.pid).ok() != Some(self.start) {
            return false;
        }
        match fs::metadata(format!("/proc/{}/ns/net", self.pid)) {
            Ok(meta) => meta.ino() == self.netns,
            Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
        }
    }
}

/// Writes `entry` into `dir` ([`own_dir`]). Stale entries are not swept here: a lab writes its
/// entry from inside, where its `/proc` shows none of the other labs.
pub fn write(dir: &Path, entry: &Entry) -> Result<PathBuf> {
    own_dir(dir)?;
    let path = file(dir, entry.pid);
    let temporary = dir.join(format!(".{}.new", entry.pid));
    // A leftover of a killed writer of the same PID: ours to replace.
    let _ = fs::remove_file(&temporary);
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))?;
    out.write_all(entry.to_text().as_bytes())
        .with_context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, &path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path)
}

/// Makes `dir` if missing, writable by its owner alone (0700), and owned like the folder it
/// is in (the user's `target/netlab`): a lab started through sudo makes it as root, and the
/// user's own labs and `show` must still use it. Nobody else may write there: on a shared
/// machine another attendee could plant or replace entries. A directory an older version made
/// world-writable is tightened.
pub fn own_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        if let Some(parent) = dir.parent().and_then(|p| fs::metadata(p).ok()) {
            // Only root may give it away; for anyone else it is theirs already.
            let _ = std::os::unix::fs::chown(dir, Some(parent.uid()), Some(parent.gid()));
        }
    }
    let meta = fs::symlink_metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if meta.mode() & 0o022 != 0 && meta.uid() == nix::unistd::geteuid().as_raw() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} the owner's alone", dir.display()))?;
    }
    Ok(())
}

/// Removes the entry of `pid` (nothing to remove is fine).
pub fn remove(dir: &Path, pid: i32) {
    let _ = fs::remove_file(file(dir, pid));
}

/// The labs of `dir` that still run, by PID; stale entries are removed (when allowed) and left
/// out. A missing directory means no lab. Call from outside every lab: inside one, `/proc`
/// shows only that lab's processes, and every other lab would look stale.
pub fn live(dir: &Path) -> Result<Vec<Entry>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for item in entries.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name.parse::<i32>().is_err() {
            continue;
        }
        let path = item.path();
        let entry = fs::read_to_string(&path)
            .ok()
            .and_then(|t| Entry::parse(&t));
        match entry {
            Some(entry) if entry.pid.to_string() == name && entry.is_live() => found.push(entry),
            _ => {
                let _ = fs::remove_file(&path);
            }
        }
    }
    found.sort_by_key(|e| e.pid);
    Ok(found)
}

/// The start time of process `pid` (field 22 of its stat file).
pub fn start_time(pid: i32) -> Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    let rest = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest)
        .with_context(|| format!("parsing /proc/{pid}/stat"))?;
    rest.split_whitespace()
        .nth(19)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("parsing /proc/{pid}/stat"))
}

/// The inode of a namespace file (`/proc/<pid>/ns/net`).
pub fn netns_inode(path: &str) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("reading {path}"))?
        .ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: i32) -> Entry {
        Entry {
            pid,
            start: start_time(pid).unwrap_or(0),
            netns: netns_inode(&format!("/proc/{pid}/ns/net")).unwrap_or(0),
            state: PathBuf::from("/x/state"),
            profile: "fresh".into(),
            since: 7,
        }
    }

    /// A registry folder to be made, inside a folder of the test's own (0700, in the build's
    /// target directory): never a predictable name in a shared `/tmp`.
    fn scratch(name: &str) -> PathBuf {
        let own = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("registry-{}", std::process::id()));
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&own)
            .expect("the test's own folder");
        let dir = own.join(name);
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_registry_is_its_owners_alone() {
        let mode = |dir: &Path| fs::metadata(dir).map(|m| m.mode() & 0o7777).unwrap_or(0);
        let dir = scratch("mode");
        write(&dir, &entry(std::process::id() as i32)).expect("writing");
        assert_eq!(mode(&dir), 0o700);
        let entry_mode = fs::metadata(file(&dir, std::process::id() as i32))
            .map(|m| m.mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(entry_mode, 0o600);
        // One an older version left writable by others is tightened (shown with a group-writable
        // one, inside the test's own 0700 folder: nobody else can reach it meanwhile).
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).expect("chmod");
        write(&dir, &entry(std::process::id() as i32)).expect("writing");
        assert_eq!(mode(&dir), 0o700);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_planted_link_is_never_written_through() {
        let dir = scratch("link");
        own_dir(&dir).expect("the registry");
        let victim = dir.with_file_name("victim");
        fs::write(&victim, "root's file\n").expect("writing");
        let pid = std::process::id() as i32;
        // Both names a writer uses: its temporary file, and the entry itself.
        std::os::unix::fs::symlink(&victim, dir.join(format!(".{pid}.new"))).expect("link");
        std::os::unix::fs::symlink(&victim, file(&dir, pid)).expect("link");
        write(&dir, &entry(pid)).expect("writing");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "root's file\n");
        assert!(!fs::symlink_metadata(file(&dir, pid)).unwrap().is_symlink());
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_file(&victim);
    }

    #[test]
    fn an_entry_round_trips() {
        let e = entry(std::process::id() as i32);
        assert_eq!(Entry::parse(&e.to_text()), Some(e));
    }

    #[test]
    fn live_keeps_running_labs_and_sweeps_stale_ones() {
        let dir = scratch("live");
        let me = entry(std::process::id() as i32);
        write(&dir, &me).expect("writing");
        // A process that is gone, and one whose PID now belongs to someone else.
        let mut dead = me.clone();
        dead.pid = i32::MAX - 1;
        fs::write(file(&dir, dead.pid), dead.to_text()).expect("writing");
        let mut reused = me.clone();
        reused.pid = 1;
        reused.start = u64::MAX;
        fs::write(file(&dir, 1), reused.to_text()).expect("writing");
        fs::write(dir.join("42"), "garbage").expect("writing");
        assert_eq!(live(&dir).expect("reading"), vec![me.clone()]);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .expect("listing")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![me.pid.to_string()]);
        remove(&dir, me.pid);
        assert!(live(&dir).expect("reading").is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_directory_means_no_lab() {
        assert!(live(&scratch("none")).expect("reading").is_empty());
    }

    #[test]
    fn the_registry_is_beside_the_state() {
        assert_eq!(
            dir_beside(Path::new("/w/target/netlab/state")),
            PathBuf::from("/w/target/netlab/labs")
        );
    }
}
