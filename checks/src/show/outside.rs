//! `checker show [--lab PID]`: finds a running lab in the registry, joins its namespaces and
//! draws it. Must run first thing, while the process has one thread (a user namespace can only
//! be joined single-threaded), and instead of creating a user namespace of its own.

use super::{collect, render};
use anyhow::{bail, Context, Result};
use lab::registry::{self, Entry};
use lab::LabPaths;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::process::ExitCode;

/// What to say when no lab runs: the lab of the learner's `step`, when known.
pub fn no_lab(step: Option<&str>) -> String {
    match step {
        Some(step) => format!("no lab is running: start one with `cargo xtask lab {step}`"),
        None => {
            "no lab is running: start one with `cargo xtask lab NN` (NN: your step)".to_string()
        }
    }
}

/// Draws the lab `wanted` (or the only one running) on stdout; `step` is the learner's.
pub fn main(paths: &LabPaths, wanted: Option<i32>, step: Option<&str>) -> Result<ExitCode> {
    let (entry, own_netns) = match enter(paths, wanted, step, "show")? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let model = collect::lab(
        &title(&entry),
        collect::Where::Pid(1),
        &entry.state,
        Some(own_netns),
    );
    print!("{}", render::render(&model));
    Ok(ExitCode::SUCCESS)
}

/// Finds the lab `wanted` (or the only one running) and joins it ([`join`]): the lab's entry
/// and the inode of this process's real network namespace (where nothing may run), or the
/// exit code once the reason was printed (no lab, several, not that one). `verb` is the
/// `cargo xtask` verb that asked, for the `--lab PID` it suggests.
pub fn enter(
    paths: &LabPaths,
    wanted: Option<i32>,
    step: Option<&str>,
    verb: &str,
) -> Result<Result<(Entry, u64), ExitCode>> {
    let dir = paths
        .registry
        .clone()
        .unwrap_or_else(|| registry::dir_beside(&paths.state));
    let labs = registry::live(&dir)?;
    let entry = match (wanted, labs.as_slice()) {
        (_, []) => {
            eprintln!("{}", no_lab(step));
            return Ok(Err(ExitCode::FAILURE));
        }
        (None, [one]) => one.clone(),
        (None, several) => {
            eprintln!(
                "{} labs are running: choose one with `cargo xtask {verb} --lab PID`",
                several.len()
            );
            eprint!("{}", list(several));
            return Ok(Err(ExitCode::FAILURE));
        }
        (Some(pid), all) => match all.iter().find(|e| e.pid == pid) {
            Some(entry) => entry.clone(),
            None => {
                eprintln!("no lab with PID {pid} is running; the running labs are:");
                eprint!("{}", list(all));
                return Ok(Err(ExitCode::FAILURE));
            }
        },
    };
    trust(&entry, &dir)?;
    let own_netns = registry::netns_inode("/proc/self/ns/net")?;
    join(&entry, own_netns)?;
    Ok(Ok((entry, own_netns)))
}

/// `  PID  profile P, up 3m`, one line per lab.
fn list(labs: &[Entry]) -> String {
    labs.iter()
        .map(|e| format!("  {:>7}  profile {}, up {}\n", e.pid, e.profile, uptime(e)))
        .collect()
}

fn title(entry: &Entry) -> String {
    format!(
        "lab {} (profile {}, up {}): `cargo xtask show` sees",
        entry.pid,
        entry.profile,
        uptime(entry)
    )
}

fn uptime(entry: &Entry) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = now.saturating_sub(entry.since);
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs / 60 % 60),
    }
}

/// Whether this process may look into the lab of `entry` (in the registry `dir`): only into
/// one that it could have made itself. Looking in runs programs (nsenter, nft, iptables-save)
/// in the lab's mount namespace, where whoever controls the lab decides what they are; root
/// never runs one found in a namespace that another user controls. So: the entry's file is
/// ours, and for root the lab is in root's own user namespace (a rootless lab has its own,
/// which its user controls).
fn trust(entry: &Entry, dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let pid = entry.pid;
    let me = nix::unistd::geteuid().as_raw();
    let file = registry::file(dir, pid);
    let owner = std::fs::symlink_metadata(&file)
        .with_context(|| format!("reading {}", file.display()))?
        .uid();
    if me != 0 && owner == 0 {
        bail!("lab {pid} was started through sudo: look at it with `cargo xtask show --sudo`");
    }
    let foreign = owner != me
        || (me == 0
            && registry::netns_inode(&format!("/proc/{pid}/ns/user")).ok()
                != registry::netns_inode("/proc/self/ns/user").ok());
    if foreign {
        bail!(
            "lab {pid} is not {whose} (its entry is uid {owner}'s{rootless}): \
             nothing is run inside a lab that someone else controls; its user can look at \
             it with `cargo xtask show`, without --sudo",
            whose = if me == 0 { "root's own" } else { "yours" },
            rootless = if me == 0 {
                ", the lab in a user namespace of its own"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Joins the lab's user namespace (when not root: its owner may), then its mount namespace:
/// from then on `/proc` and the state directory are the lab's. Our network namespace stays
/// the real one, and nothing is run in it.
fn join(entry: &Entry, own_netns: u64) -> Result<()> {
    let pid = entry.pid;
    if entry.netns == own_netns {
        bail!("lab {pid} shares this process's network namespace: it is no lab, refusing");
    }
    let open = |kind: &str| {
        File::open(format!("/proc/{pid}/ns/{kind}")).with_context(|| {
            format!(
                "cannot look into lab {pid} ({kind} namespace): was it started with --sudo? \
                 then use `cargo xtask show --sudo`"
            )
        })
    };
    let user = open("user")?;
    let mnt = open("mnt")?;
    // The files are open: if the PID was reused since the registry was read, stop here.
    if !entry.is_live() {
        bail!("lab {pid} ended meanwhile");
    }
    if !nix::unistd::geteuid().is_root() {
        setns(&user, CloneFlags::CLONE_NEWUSER).with_context(|| {
            format!("joining lab {pid}'s user namespace (is it another user's lab?)")
        })?;
    }
    setns(&mnt, CloneFlags::CLONE_NEWNS)
        .with_context(|| format!("joining lab {pid}'s mount namespace"))?;
    std::env::set_current_dir("/").context("cd /")?;
    // The lab's /proc now: its PID 1 is the lab process, on the lab host.
    let host = registry::netns_inode("/proc/1/ns/net")?;
    if host != entry.netns || host == own_netns {
        bail!("lab {pid}'s /proc does not show its lab host: refusing to look further");
    }
    Ok(())
}
