//! Inside the lab, the machine's own files are read-only. Learner code runs as root in the lab
//! (as root on a real host would), so the lab gives it what a host's own would be, its own
//! `/tmp` and `/run` (where `ip netns add` writes), its state folder, and makes every other
//! mount read-only: no file it writes outlives the lab, as no link or rule does.

use anyhow::{Context, Result};
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The lab's own `/tmp` and `/run`: empty, private to its mount namespace.
pub const PRIVATE: [(&str, &str); 2] = [("/tmp", "mode=1777"), ("/run", "mode=755")];

/// Mounts of the kernel's own file systems, left as they are (the lab's `/proc` and `/sys`,
/// and the devices).
const KERNEL: [&str; 3] = ["/proc", "/sys", "/dev"];

/// Mounts an empty tmpfs on each of [`PRIVATE`]. What of `needed` lies below one (the
/// workspace cloned into `/tmp`, a state folder under `/run/user`) is bound back into it from
/// the machine's, by its top folder there (`/tmp/netlab`), so the lab still has its own `/tmp`
/// and `/run` for the rest. Only when the folder itself is needed does it stay the machine's.
pub fn private_dirs(needed: &[&Path]) -> Result<()> {
    let needed: Vec<PathBuf> = needed
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
        .collect();
    for (dir, mode) in PRIVATE {
        let dir = Path::new(dir);
        if needed.iter().any(|p| p == dir) {
            continue;
        }
        // The machine's entries to keep, opened before the tmpfs covers them.
        let mut kept: Vec<(PathBuf, std::os::fd::OwnedFd)> = Vec::new();
        for path in &needed {
            let Ok(rest) = path.strip_prefix(dir) else {
                continue;
            };
            let Some(top) = rest.components().next() else {
                continue;
            };
            let top = dir.join(top);
            if kept.iter().any(|(p, _)| *p == top) {
                continue;
            }
            let fd = nix::fcntl::open(
                &top,
                OFlag::O_PATH | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )
            .with_context(|| format!("opening {}", top.display()))?;
            kept.push((top, fd));
        }
        mount(
            Some("tmpfs"),
            dir,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(mode),
        )
        .with_context(|| format!("mounting the lab's own {}", dir.display()))?;
        for (top, fd) in kept {
            let source = format!("/proc/self/fd/{}", fd.as_raw_fd());
            if Path::new(&source).is_dir() {
                std::fs::create_dir(&top)
            } else {
                std::fs::File::create(&top).map(drop)
            }
            .with_context(|| {
                format!(
                    "making {} in the lab's own {}",
                    top.display(),
                    dir.display()
                )
            })?;
            mount(
                Some(source.as_str()),
                &top,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .with_context(|| format!("keeping the machine's {} in the lab", top.display()))?;
        }
    }
    Ok(())
}

/// Makes every mount of the lab's mount namespace read-only but the kernel's, [`PRIVATE`]'s
/// and `writable` (each bound on itself first, so that it stays as it is), with what lies
/// below them.
pub fn machine_read_only(writable: &[PathBuf]) -> Result<()> {
    let none: Option<&str> = None;
    // As the mount table names them: absolute, links resolved.
    let writable: Vec<PathBuf> = writable
        .iter()
        .map(|dir| std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone()))
        .collect();
    for dir in &writable {
        mount(
            Some(dir.as_path()),
            dir.as_path(),
            none,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            none,
        )
        .with_context(|| format!("keeping {} writable", dir.display()))?;
    }
    let mut kept = writable;
    kept.extend(KERNEL.iter().map(PathBuf::from));
    let mountinfo =
        std::fs::read_to_string("/proc/self/mountinfo").context("reading the lab's mounts")?;
    let mut done: Vec<PathBuf> = Vec::new();
    for point in mount_points(&mountinfo) {
        // The lab's own /tmp and /run are kept, not what the machine's has bound into them.
        let private = PRIVATE.iter().any(|(d, _)| point == Path::new(d));
        if private || done.contains(&point) || kept.iter().any(|k| point.starts_with(k)) {
            continue;
        }
        // Shorter paths come first: a mount hidden below another is no longer reachable.
        if point.is_dir() || point.is_file() {
            container::remount_read_only(&point)?;
        }
        done.push(point);
    }
    Ok(())
}

/// The mount points of a `/proc/self/mountinfo` text, in its order (octal escapes undone).
fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .collect()
}

/// `\040` and its kind (the kernel escapes space, tab, newline and backslash) as the byte.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `path` may be written from inside the lab, judged by its mount (for tests and
/// `doctor`).
pub fn is_read_only(path: &Path) -> bool {
    use nix::sys::statvfs::{statvfs, FsFlags};
    statvfs(path).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_read_with_their_escapes_undone() {
        let info = "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n\
                    40 22 0:35 / /work/my\\040tree rw - virtiofs work rw\n\
                    41 22 0:5 / /proc rw - proc proc rw\n";
        assert_eq!(
            mount_points(info),
            [
                PathBuf::from("/"),
                PathBuf::from("/work/my tree"),
                PathBuf::from("/proc")
            ]
        );
    }
}
