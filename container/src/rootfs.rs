//! Each container's own root filesystem: a small directory tree whose `/etc` is the
//! container's alone, with the lab's busybox `/bin` mounted read-only into it. The command
//! cannot make that mount writable (no `CAP_SYS_ADMIN`, and the seccomp filter refuses every
//! mount call: see [`crate::confine`]), so no container changes what the next one runs.

use anyhow::{bail, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, pivot_root};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Directories every container root has.
const DIRS: [&str; 8] = ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "usr"];
/// Device nodes bound in from the lab's `/dev`.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// The applets the checks and the lessons run in containers: a base root filesystem without
/// one of them is broken, whatever else it has.
pub const BASE_APPLETS: [&str; 8] = ["sh", "ping", "wget", "nc", "ip", "nslookup", "sleep", "cat"];
/// The file, at the base's top, that lists (one a line) every applet it was built with: when
/// present, each of them must be there too.
pub const BASE_MANIFEST: &str = "netlab-applets";

/// What is wrong with the base root filesystem at `base`, if anything: `bin/ping missing`,
/// `bin/busybox is not an executable file`, `it is missing`. Whole: `bin/busybox` is an executable
/// file and every applet of [`BASE_APPLETS`] and of its [`BASE_MANIFEST`] is there.
pub fn base_incomplete(base: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if fs::symlink_metadata(base).is_err() {
        return Some("it is missing".into());
    }
    match fs::metadata(base.join("bin/busybox")) {
        Ok(meta) if meta.is_file() && meta.len() > 0 && meta.permissions().mode() & 0o111 != 0 => {}
        Ok(_) => return Some("bin/busybox is not an executable file".into()),
        Err(_) => return Some("bin/busybox missing".into()),
    }
    let manifest = fs::read_to_string(base.join(BASE_MANIFEST)).unwrap_or_default();
    let listed = manifest.lines().map(str::trim).filter(|a| !a.is_empty());
    for applet in BASE_APPLETS.into_iter().chain(listed) {
        if fs::symlink_metadata(base.join("bin").join(applet)).is_err() {
            return Some(format!("bin/{applet} missing"));
        }
    }
    None
}

/// [`base_incomplete`]'s quick part, for every container start: busybox and the applets the
/// checks run ([`BASE_APPLETS`]), not the whole manifest (the lab reads that once, as it starts).
fn base_broken(base: &Path) -> Option<String> {
    if fs::symlink_metadata(base.join("bin/busybox")).is_err() {
        return Some("bin/busybox missing".into());
    }
    BASE_APPLETS
        .into_iter()
        .find(|applet| fs::symlink_metadata(base.join("bin").join(applet)).is_err())
        .map(|applet| format!("bin/{applet} missing"))
}

/// Parent side: lays out `root` (which must not exist yet) from the base root filesystem.
pub fn prepare(base: &Path, root: &Path) -> Result<()> {
    if let Some(what) = base_broken(base) {
        bail!(
            "the lab's base root filesystem {} is incomplete ({what}): not your code; \
             `cargo xtask check` rebuilds it",
            base.display()
        );
    }
    fs::create_dir(root).with_context(|| format!("creating {}", root.display()))?;
    for dir in DIRS {
        fs::create_dir(root.join(dir)).with_context(|| format!("creating {dir} in the rootfs"))?;
    }
    for (link, target) in [
        ("sbin", "bin"),
        ("usr/bin", "../bin"),
        ("usr/sbin", "../bin"),
    ] {
        symlink(target, root.join(link)).with_context(|| format!("linking {link}"))?;
    }
    copy_dir(&base.join("etc"), &root.join("etc"))?;
    Ok(())
}

/// Copies the files and symbolic links of `from` into `to`: the container may change its own
/// `/etc`, never the base's.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let entries = fs::read_dir(from).with_context(|| format!("reading {}", from.display()))?;
    for entry in entries {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_symlink() {
            let link = fs::read_link(&source)?;
            symlink(&link, &target).with_context(|| format!("linking {}", target.display()))?;
        } else {
            fs::copy(&source, &target).with_context(|| format!("copying {}", source.display()))?;
        }
    }
    Ok(())
}

/// Child side, in the container's new mount namespace: makes `root` the root directory.
pub fn enter(base: &Path, root: &Path) -> Result<()> {
    let none: Option<&str> = None;
    // Nothing mounted from here on may propagate back to the lab.
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .context("making mounts private")?;
    bind(root, root, MsFlags::empty())?;
    bind(&base.join("bin"), &root.join("bin"), MsFlags::empty())?;
    // Read-only already where the lab made the base so (its bind is), and said again here.
    let _ = remount_read_only(&root.join("bin"));
    mount(
        Some("tmpfs"),
        &root.join("dev"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=755"),
    )
    .context("mounting /dev")?;
    for device in DEVICES {
        let node = root.join("dev").join(device);
        fs::write(&node, b"").with_context(|| format!("creating /dev/{device}"))?;
        // A missing device on the lab side is not fatal: the container simply lacks it.
        let _ = bind(&Path::new("/dev").join(device), &node, MsFlags::empty());
    }
    mount(
        Some("tmpfs"),
        &root.join("tmp"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        none,
    )
    .context("mounting /tmp")?;
    // In a user namespace the kernel allows a new procfs or sysfs only while a fully visible
    // one exists, so both are mounted before the lab's root goes away.
    mount(
        Some("proc"),
        &root.join("proc"),
        Some("proc"),
        MsFlags::empty(),
        none,
    )
    .context("mounting /proc")?;
    // sysfs shows the container's own network devices; read-only, and optional.
    let _ = mount(
        Some("sysfs"),
        &root.join("sys"),
        Some("sysfs"),
        MsFlags::MS_RDONLY,
        none,
    );

    // runc's way: pivot the root onto itself, then detach the old root stacked underneath.
    chdir(root).context("chdir into the rootfs")?;
    pivot_root(".", ".").context("pivot_root into the container's root")?;
    umount2(".", MntFlags::MNT_DETACH).context("detaching the old root")?;
    chdir("/").context("chdir /")?;
    Ok(())
}

fn bind(source: &Path, target: &Path, extra: MsFlags) -> Result<()> {
    let none: Option<&str> = None;
    mount(
        Some(source),
        target,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC | extra,
        none,
    )
    .with_context(|| format!("bind-mounting {} on {}", source.display(), target.display()))
}

/// Remounts the bind mount at `target` read-only, keeping the flags the kernel locks in a user
/// namespace (nosuid, nodev, noexec).
pub fn remount_read_only(target: &Path) -> Result<()> {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let none: Option<&str> = None;
    // In a user namespace a remount must keep the flags the mount already has.
    let current = statvfs(target)?.flags();
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    for (have, keep) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if current.contains(have) {
            flags |= keep;
        }
    }
    mount(none, target, none, flags, none)
        .with_context(|| format!("making {} read-only", target.display()))
}
