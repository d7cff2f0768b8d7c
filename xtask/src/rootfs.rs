//! The busybox root filesystem containers are made from, built under `target/` on first use
//! from the system's static busybox (Debian and Ubuntu: the `busybox-static` package).

use crate::workspace::Paths;
use anyhow::{bail, Context, Result};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a static busybox may be.
const CANDIDATES: [&str; 3] = ["/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"];
/// Names the one busybox to use instead of looking in [`CANDIDATES`] (unusual installs, and
/// the tests of a machine without one).
const BUSYBOX_VAR: &str = "NETLAB_BUSYBOX";

/// Makes sure the state directory exists and the rootfs is whole ([`container::base_incomplete`]):
/// built on first use, and rebuilt, saying so in one line, when something of it went missing
/// (a busybox applet deleted, the folder removed while a check ran).
pub fn ensure(paths: &Paths) -> Result<()> {
    fs::create_dir_all(&paths.state)
        .with_context(|| format!("creating {}", paths.state.display()))?;
    let Some(why) = container::base_incomplete(&paths.rootfs) else {
        return Ok(());
    };
    let first_use = fs::symlink_metadata(&paths.rootfs).is_err();
    let busybox = find_static_busybox()?;
    if first_use {
        eprintln!(
            "xtask: building the containers' root filesystem from {} (first use) in {}",
            busybox.display(),
            paths.rootfs.display()
        );
    }
    let partial = paths
        .rootfs
        .with_extension(format!("partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&partial);
    build(&busybox, &partial)?;
    if let Some(lacking) = container::base_incomplete(&partial) {
        let _ = fs::remove_dir_all(&partial);
        bail!(
            "{} cannot make the containers' root filesystem ({lacking}): the checks run the \
             applets {}; install Debian's or Ubuntu's `busybox-static`",
            busybox.display(),
            container::BASE_APPLETS.join(", ")
        );
    }
    let _ = fs::remove_dir_all(&paths.rootfs);
    if let Err(e) = fs::rename(&partial, &paths.rootfs) {
        let _ = fs::remove_dir_all(&partial);
        // Another xtask rebuilding it at the same time got there first.
        if container::base_incomplete(&paths.rootfs).is_some() {
            return Err(e).context("moving the rootfs into place");
        }
    }
    if !first_use {
        eprintln!(
            "xtask: the lab's base root filesystem was incomplete ({why}): rebuilt in {}",
            paths.rootfs.display()
        );
    }
    Ok(())
}

/// The first static busybox found; a clear error when there is none.
pub fn find_static_busybox() -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os(BUSYBOX_VAR) {
        Some(path) => vec![PathBuf::from(path)],
        None => CANDIDATES.iter().map(PathBuf::from).collect(),
    };
    let mut dynamic = None;
    for candidate in candidates {
        if !candidate.is_file() {
            continue;
        }
        if is_static(&candidate)? {
            return Ok(candidate);
        }
        dynamic = Some(candidate);
    }
    match dynamic {
        Some(path) => bail!(
            "{} is not statically linked, so it cannot run inside a container's tiny root: \
             install the static one with `sudo apt-get install busybox-static`",
            path.display()
        ),
        None => bail!("busybox is missing: install it with `sudo apt-get install busybox-static`"),
    }
}

/// An ELF executable with no program interpreter (PT_INTERP) is statically linked.
fn is_static(path: &Path) -> Result<bool> {
    let elf = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let field = |at: usize, len: usize| -> Option<u64> {
        let bytes = elf.get(at..at + len)?;
        Some(
            bytes
                .iter()
                .rev()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    };
    if elf.get(..5) != Some(b"\x7fELF\x02") {
        bail!("{} is not a 64-bit ELF executable", path.display());
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) =
        (field(0x20, 8), field(0x36, 2), field(0x38, 2))
    else {
        bail!("{} is truncated", path.display());
    };
    const PT_INTERP: u64 = 3;
    Ok((0..phnum).all(|i| field((phoff + i * phentsize) as usize, 4) != Some(PT_INTERP)))
}

fn build(busybox: &Path, root: &Path) -> Result<()> {
    let bin = root.join("bin");
    fs::create_dir_all(&bin)?;
    fs::create_dir_all(root.join("etc"))?;
    fs::copy(busybox, bin.join("busybox")).context("copying busybox")?;
    let list = Command::new(busybox)
        .arg("--list")
        .output()
        .context("running busybox --list")?;
    let mut linked = String::new();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if !applet.is_empty() && applet != "busybox" && !applet.contains('/') {
            symlink("busybox", bin.join(applet)).with_context(|| format!("linking {applet}"))?;
            linked.push_str(applet);
            linked.push('\n');
        }
    }
    fs::write(root.join(container::BASE_MANIFEST), linked).context("listing the applets")?;
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")?;
    fs::write(root.join("etc/group"), "root:x:0:\n")?;
    Ok(())
}
