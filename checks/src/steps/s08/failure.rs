//! Step 08's checks of the hook's failures and of the pool's leases: a failing network hook
//! makes `runc run` fail and leaves nothing behind; leases whose owner has died are reused.
//! The pool is filled the way the given allocator records leases (`ipam/<address>`: the
//! container's id, then its owner's PID), under its lock.

use super::{address_of, text, SLEEP};
use crate::probe::Probe;
use crate::steps::flocks;
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::containers::{BRIDGE, FIRST, LAST};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The allocator's folder in the lab's state.
fn ipam(probe: &Probe) -> PathBuf {
    probe.lab.paths().state.join("ipam")
}

/// Leases planted by a check, to be taken away again.
struct Planted(Vec<(PathBuf, String)>);

impl Planted {
    /// Every free address of the pool leased to `prefix-N`, owned by `owner`.
    fn fill(dir: &Path, prefix: &str, owner: i32) -> Result<Planted> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let _lock = flocks::hold(&dir.join("lock"))?;
        let mut planted = Vec::new();
        for (n, address) in (u32::from(FIRST)..=u32::from(LAST))
            .map(Ipv4Addr::from)
            .enumerate()
        {
            let path = dir.join(address.to_string());
            if path.exists() {
                continue;
            }
            let record = format!("{prefix}-{n}\n{owner}\n");
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&path)
                .with_context(|| format!("planting the lease {}", path.display()))?;
            file.write_all(record.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            planted.push((path, record));
        }
        Ok(Planted(planted))
    }

    /// Removes the planted leases that are still as planted (the allocator may have taken
    /// some back and given them to a container since).
    fn remove(self, dir: &Path) -> Result<()> {
        let _lock = flocks::hold(&dir.join("lock"))?;
        for (path, record) in self.0 {
            if fs::read_to_string(&path).is_ok_and(|now| now == record) {
                fs::remove_file(&path)
                    .with_context(|| format!("removing the planted lease {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// What is left of the container `name`: its leases, its hook's record, the bridge's ports
/// other than `keep`.
fn left_of(probe: &Probe, name: &str, keep: &str) -> Vec<String> {
    let mut left = Vec::new();
    if let Ok(entries) = fs::read_dir(ipam(probe)) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let owner = fs::read_to_string(entry.path()).unwrap_or_default();
            if file.parse::<Ipv4Addr>().is_ok() && owner.split_whitespace().next() == Some(name)
            {
                left.push(format!("the lease ipam/{file} of {name}"));
            }
        }
    }
    let record = probe.lab.paths().state.join("oci").join(name);
    if record.exists() {
        left.push(format!("the hook's record {}", record.display()));
    }
    if let Ok(out) = probe.host("ip", &["-o", "link", "show", "master", BRIDGE]) {
        for line in text(&out).lines() {
            let link = line.split(':').nth(1).unwrap_or(line).trim();
            let link = link.split('@').next().unwrap_or(link);
            if link != keep {
                left.push(format!("the link {link} on {BRIDGE}"));
            }
        }
    }
    left
}

/// With no free address, the network hook fails: `runc run` must fail with it (the
/// container never runs without its network), and nothing of it may be left.
pub(super) fn hook_fails(probe: &Probe) -> Verdict {
    let holder = probe.start("holder", SLEEP)?;
    address_of(&holder)?;
    let keep = format!("veth{}", holder.pid);
    let dir = ipam(probe);
    let planted = Planted::fill(&dir, "taken", holder.pid)?;
    let verdict = refused(probe);
    planted.remove(&dir)?;
    verdict?;
    let left = left_of(probe, "full", &keep);
    if !left.is_empty() {
        return Err(Outcome::failed(
            "after the network hook failed, nothing of the container is left",
            left.join("\n"),
        ));
    }
    holder.stop()?;
    Ok(())
}

/// Starts `full` with the pool full: it must not run.
fn refused(probe: &Probe) -> Verdict {
    let full = probe.spawn("full", &[], SLEEP)?;
    match full.wait_running() {
        Ok(running) => {
            let _ = running.stop();
            Err(Outcome::failed(
                "with every address leased, the network hook fails, and `runc run` with it",
                "container full started anyway: the hook's error did not reach runc, and \
                 the container ran without its network",
            ))
        }
        // The hook's error, as the step binary reports it: the container is refused.
        Err(Outcome::HookFailed { .. }) | Err(Outcome::Failed { .. }) => Ok(()),
        Err(other) => Err(other),
    }
}

/// The hook fails half-way: `netlab0` is there but no bridge (a veth the check made),
/// so enslaving the host end fails after the address was leased and the cable made. `runc
/// run` must fail, and the lease, the record and the cable must all be gone.
pub(super) fn late_failure(probe: &Probe) -> Verdict {
    let before = veths(probe)?;
    let made = probe.host(
        "ip",
        &["link", "add", BRIDGE, "type", "veth", "peer", "name", DECOY_PEER],
    )?;
    if !made.status.success() {
        return Err(Outcome::LabError {
            message: format!(
                "ip link add {BRIDGE} type veth: {}",
                String::from_utf8_lossy(&made.stderr).trim()
            ),
        });
    }
    let verdict = refused(probe);
    let left = left_of(probe, "full", "");
    let after = veths(probe)?;
    let _ = probe.host("ip", &["link", "del", BRIDGE]);
    verdict?;
    let mut left = left;
    left.extend(
        after
            .iter()
            .filter(|l| !before.contains(l) && *l != BRIDGE && *l != DECOY_PEER)
            .map(|l| format!("the link {l}")),
    );
    if !left.is_empty() {
        return Err(Outcome::failed(
            "after the network hook failed half-way, what it had done is undone",
            left.join("\n"),
        ));
    }
    Ok(())
}

/// The names of the lab host's veths.
fn veths(probe: &Probe) -> Result<Vec<String>> {
    let out = probe.host("ip", &["-o", "link", "show", "type", "veth"])?;
    Ok(text(&out)
        .lines()
        .map(|l| l.split(':').nth(1).unwrap_or(l).trim())
        .map(|l| l.split('@').next().unwrap_or(l).to_string())
        .collect())
}

/// The other end of the veth that stands where the bridge should be.
const DECOY_PEER: &str = "decoy0";

/// A PID that no process has any more: a child of the checker's, started and collected.
fn dead_pid() -> Result<i32> {
    let mut child = std::process::Command::new("true")
        .spawn()
        .context("starting true")?;
    let pid = i32::try_from(child.id()).context("a PID")?;
    child.wait().context("waiting for true")?;
    Ok(pid)
}

/// Every address leased to a process that has ended: a new container must still start,
/// with one of them (the given allocator takes dead owners' leases back).
pub(super) fn dead_owner(probe: &Probe) -> Verdict {
    let dir = ipam(probe);
    let planted = Planted::fill(&dir, "gone", dead_pid()?)?;
    let started = probe.start("c1", SLEEP);
    planted.remove(&dir)?;
    let c = match started {
        Ok(c) => c,
        Err(Outcome::HookFailed { message }) => {
            return Err(Outcome::failed(
                "with every address leased to a process that has ended, a container starts \
                 (a dead owner's lease is taken back)",
                format!("the network hook failed: {message}"),
            ))
        }
        Err(other) => return Err(other),
    };
    address_of(&c)?;
    c.stop()?;
    Ok(())
}
