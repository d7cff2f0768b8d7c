//! The address allocator: each container an address of its own, on its eth0, and the records
//! the allocator keeps on disk (the files of `$NETLAB_STATE/ipam/` named after an address).

use super::super::flocks;
use super::{observe, stop_all, three, SLEEP};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::containers::{assignable, FIRST, GATEWAY, LAST, PREFIX, SUBNET};
use lab::state::Netns;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

pub(crate) fn addresses(probe: &Probe) -> Verdict {
    let running = three(probe)?;
    let mut seen: Vec<Ipv4Addr> = Vec::new();
    for container in running.iter() {
        let address = address_of(container)?;
        if seen.contains(&address) {
            return Err(Outcome::failed(
                "each container has an address of its own",
                format!(
                    "{address} twice\n{}\n{}",
                    all_addresses(&running),
                    ipam_view(probe)
                ),
            ));
        }
        seen.push(address);
        let inside = observe::inside(container)?;
        let lo = container.exec("ping", &["-c", "1", "-W", "1", "127.0.0.1"])?;
        if !lo.status.success() {
            return Err(Outcome::failed(
                format!(
                    "container {} reaches itself on 127.0.0.1: its loopback lo is UP",
                    container.name
                ),
                format!(
                    "container# ping -c1 -W1 127.0.0.1\n{}\n{}",
                    observe::text(&lo),
                    observe::links_view("in its namespace", &inside)
                ),
            ));
        }
        let via_gateway = inside
            .routes
            .iter()
            .any(|r| r.is_default() && r.via == Some(IpAddr::V4(GATEWAY)));
        if !via_gateway {
            return Err(Outcome::failed(
                format!(
                    "container {} has a default route via {GATEWAY}",
                    container.name
                ),
                observe::routes_view("in its namespace: routes", &inside),
            ));
        }
    }
    Ok(())
}

pub(super) fn exhausted(probe: &Probe) -> Verdict {
    let dir = ipam(probe);
    // Other allocations' records, in the allocator's own format: learnt from a real one
    // (a first container makes the shared files, the model adds one record to them).
    let first = probe.start("first", SLEEP)?;
    let before = Snapshot::of(&dir)?;
    let model = probe.start("model", SLEEP)?;
    let address = address_of(&model)?;
    let record = Record::learn(&before, &Snapshot::of(&dir)?, address, "model");
    let Some(record) = record else {
        let view = ipam_view(probe);
        stop_all(vec![model, first])?;
        return Err(Outcome::failed(
            "a container's allocation records its address in $NETLAB_STATE/ipam/ (a file \
             named after it, or a file naming it), beside the others' records",
            format!("container model got {address}; no record of it was found\n{view}"),
        ));
    };
    let mut planted = Vec::new();
    {
        let _lock = flocks::hold(&dir.join("lock"))?;
        let taken: Vec<Ipv4Addr> = leases(probe)?.into_iter().map(|(a, _)| a).collect();
        for free in (u32::from(FIRST)..=u32::from(LAST)).map(Ipv4Addr::from) {
            if !taken.contains(&free) {
                planted.push(record.plant(&dir, free)?);
            }
        }
    }
    let verdict = refused_when_full(probe);
    {
        let _lock = flocks::hold(&dir.join("lock"))?;
        for plant in planted.iter().rev() {
            plant.remove(&dir)?;
        }
    }
    verdict?;
    stop_all(vec![model, first])
}

/// With every address recorded, a new container must be refused.
fn refused_when_full(probe: &Probe) -> Verdict {
    let mut full = probe.spawn("full", &[], SLEEP)?;
    let mut clock = full.clock();
    let refused = loop {
        if let Some(pid) = full.pid() {
            let got = observe::inside_pid(pid)
                .ok()
                .and_then(|inside| eth0_address(&inside))
                .map_or("no address".to_string(), |a| a.to_string());
            break Err(got);
        }
        if full.has_ended() {
            break Ok(());
        }
        clock.over("starting a container with every address taken")?;
        thread::sleep(Duration::from_millis(5));
    };
    match refused {
        Ok(()) => match full.finish() {
            // The allocator's error, as the runtime reports it: the container is refused.
            Ok(_) | Err(Outcome::HookFailed { .. }) | Err(Outcome::Failed { .. }) => Ok(()),
            Err(trouble) => Err(trouble),
        },
        Err(got) => {
            let _ = full.stop();
            Err(Outcome::failed(
                format!(
                    "with every address from {FIRST} to {LAST} recorded by a running owner, a \
                     new container is refused (no free address: never .0, the gateway .1 nor \
                     the broadcast address .255)"
                ),
                format!("container full started with {got}"),
            ))
        }
    }
}

/// The text files of `ipam/`, by name.
struct Snapshot(BTreeMap<String, String>);

impl Snapshot {
    fn of(dir: &Path) -> Result<Snapshot> {
        let mut files = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Snapshot(files));
        };
        for entry in entries {
            let entry = entry.context("reading ipam/")?;
            if let (Some(name), Ok(text)) = (
                entry.file_name().to_str(),
                std::fs::read_to_string(entry.path()),
            ) {
                files.insert(name.to_string(), text);
            }
        }
        Ok(Snapshot(files))
    }
}

/// What one allocation added to `ipam/`, with its address and its container's name in it to
/// be replaced: files of its own (named after either), and text inserted into shared files.
/// Files where text was replaced rather than added (a "last address" note) are left out.
struct Record {
    address: String,
    name: String,
    files: Vec<(String, String)>,
    inserted: Vec<(String, usize, String)>,
}

/// One planted record, to remove: the files made, the texts inserted.
struct Plant {
    files: Vec<String>,
    inserted: Vec<(String, String)>,
}

impl Record {
    fn learn(before: &Snapshot, after: &Snapshot, address: Ipv4Addr, name: &str) -> Option<Record> {
        let address = address.to_string();
        let mut record = Record {
            address: address.clone(),
            name: name.to_string(),
            files: Vec::new(),
            inserted: Vec::new(),
        };
        for (file, text) in &after.0 {
            match before.0.get(file) {
                None if file.contains(&address) || file.contains(name) => {
                    record.files.push((file.clone(), text.clone()))
                }
                None => {}
                Some(old) => {
                    if let Some((at, added)) = insertion(old, text, &address) {
                        record.inserted.push((file.clone(), at, added));
                    }
                }
            }
        }
        (!record.files.is_empty() || !record.inserted.is_empty()).then_some(record)
    }

    /// Records `address` the way the model was recorded (same owner, so alive), under the
    /// lock the caller holds.
    fn plant(&self, dir: &Path, address: Ipv4Addr) -> Result<Plant> {
        let address = address.to_string();
        let other = format!("{}-{}", self.name, address.replace('.', "-"));
        let mut plant = Plant {
            files: Vec::new(),
            inserted: Vec::new(),
        };
        for (file, text) in &self.files {
            let file = if file.contains(&self.address) {
                file.replace(&self.address, &address)
            } else {
                file.replace(&self.name, &other)
            };
            let path = dir.join(&file);
            let mut made = File::create_new(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            made.write_all(text.replace(&self.address, &address).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            plant.files.push(file);
        }
        for (file, at, added) in &self.inserted {
            let path = dir.join(file);
            let mut text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let added = added.replace(&self.address, &address);
            let at = (*at).min(text.len());
            anyhow::ensure!(text.is_char_boundary(at), "{} changed", path.display());
            text.insert_str(at, &added);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            plant.inserted.push((file.clone(), added));
        }
        Ok(plant)
    }
}

impl Plant {
    fn remove(&self, dir: &Path) -> Result<()> {
        for file in &self.files {
            let _ = std::fs::remove_file(dir.join(file));
        }
        for (file, added) in &self.inserted {
            let path = dir.join(file);
            if let Ok(text) = std::fs::read_to_string(&path) {
                std::fs::write(&path, text.replacen(added.as_str(), "", 1))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// Where and what `new` inserted into `old`, if it only inserted, and the insertion names
/// `address`: slid back to the start of a line (or after a `,`, `{`, `[`) when it can be.
fn insertion(old: &str, new: &str, address: &str) -> Option<(usize, String)> {
    if new.len() <= old.len() {
        return None;
    }
    let len = new.len() - old.len();
    let (old_b, new_b) = (old.as_bytes(), new.as_bytes());
    let mut at = old_b.iter().zip(new_b).take_while(|(a, b)| a == b).count();
    if old_b[at..] != new_b[at + len..] {
        return None;
    }
    // The same insertion may sit further left, where the text before it repeats its end.
    let mut best = None;
    loop {
        if let Some(added) = new.get(at..at + len).filter(|added| added.contains(address)) {
            let boundary = at == 0 || matches!(new_b[at - 1], b'\n' | b',' | b'{' | b'[');
            if boundary {
                return Some((at, added.to_string()));
            }
            best.get_or_insert((at, added.to_string()));
        }
        if at == 0 || new_b[at - 1] != new_b[at + len - 1] {
            return best;
        }
        at -= 1;
    }
}

/// The address on eth0 in a namespace, with the subnet's prefix length.
pub(super) fn eth0_address(inside: &Netns) -> Option<Ipv4Addr> {
    inside
        .link("eth0")?
        .addrs
        .iter()
        .find(|(_, len)| *len == PREFIX)
        .map(|(addr, _)| *addr)
}

/// The container's address: on its eth0, in the subnet, not the network, the gateway nor
/// the broadcast address.
pub(super) fn address_of(container: &Running) -> Result<Ipv4Addr, Outcome> {
    let inside = observe::inside(container)?;
    match eth0_address(&inside) {
        Some(a) if assignable(a) => Ok(a),
        _ => Err(Outcome::failed(
            format!(
                "container {} has an address of {SUBNET} on eth0 (not .0, .1 nor .255), with \
                 the prefix /{PREFIX}",
                container.name
            ),
            observe::links_view("in its namespace", &inside),
        )),
    }
}

/// `a: eth0 10.0.0.2/24` lines, for reports.
fn all_addresses(running: &[Running]) -> String {
    running
        .iter()
        .map(|c| {
            let shown = observe::inside(c).map(|inside| match inside.link("eth0") {
                Some(eth0) => format!("eth0 {}", eth0.addrs_text()),
                None => "no eth0".to_string(),
            });
            format!("{}: {}", c.name, observe::or_error(shown))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The allocator's records, whatever their format: every address a container may have that
/// names a file of `ipam/` (the given format: one file per address) or occurs in a line of
/// one (a file of leases, a file per container, JSON...), with that file's text or that line.
pub(super) fn leases(probe: &Probe) -> Result<Vec<(Ipv4Addr, String)>> {
    let dir = ipam(probe);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok());
        match named {
            Some(address) => found.push((address, text)),
            None => found.extend(recorded(&text)),
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The addresses a container may have that a text names, each with its line. A line that
/// holds an address and nothing else records no owner: a note (host-local's
/// `last_reserved_ip.0`, a "next address" hint), not a lease.
fn recorded(text: &str) -> Vec<(Ipv4Addr, String)> {
    text.lines()
        .filter(|line| line.trim().parse::<Ipv4Addr>().is_err())
        .flat_map(|line| {
            line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter_map(|word| word.parse::<Ipv4Addr>().ok())
                .filter(|a| assignable(*a))
                .map(move |a| (a, line.trim().to_string()))
        })
        .collect()
}

/// `$NETLAB_STATE/ipam/`.
pub(super) fn ipam(probe: &Probe) -> PathBuf {
    probe.lab.paths().state.join("ipam")
}

/// `$NETLAB_STATE/ipam/`, for reports.
pub(super) fn ipam_view(probe: &Probe) -> String {
    let shown = match leases(probe) {
        Ok(found) if found.is_empty() => "(no address recorded)".to_string(),
        Ok(found) => found
            .iter()
            .map(|(a, text)| {
                format!(
                    "{a}: {}",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("{e:#}"),
    };
    format!("lab# ls $NETLAB_STATE/ipam\n{shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insertion_is_found_where_a_record_starts() {
        let a = "10.0.0.3";
        let old = "10.0.0.2 first 41\n10.0.0.4 z 43\n";
        let new = "10.0.0.2 first 41\n10.0.0.3 model 42\n10.0.0.4 z 43\n";
        assert_eq!(
            insertion(old, new, a),
            Some((18, "10.0.0.3 model 42\n".to_string()))
        );
        let old = r#"{"10.0.0.2":{"pid":41}}"#;
        let new = r#"{"10.0.0.2":{"pid":41},"10.0.0.3":{"pid":42}}"#;
        let (at, added) = insertion(old, new, a).unwrap_or_default();
        assert_eq!(&new[at..at + added.len()], added);
        assert!(added.contains(a));
        // A replaced "last address" is no record.
        assert_eq!(insertion("10.0.0.2", "10.0.0.3", a), None);
    }

    #[test]
    fn records_are_read_in_any_format() {
        let text = "10.0.0.2 a 41\n{\"10.0.0.7\": {\"pid\": 42}, \"gw\": \"10.0.0.1\"}\n";
        let found: Vec<Ipv4Addr> = recorded(text).into_iter().map(|(a, _)| a).collect();
        assert_eq!(found, [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 7)]);
        assert!(recorded("a\n4242\n").is_empty());
        // host-local's last_reserved_ip.0: a note, no owner.
        assert!(recorded("10.0.0.4").is_empty());
    }
}
