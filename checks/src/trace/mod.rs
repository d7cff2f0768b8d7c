//! Where a packet died: one real probe followed through a lab with nft's tracing
//! (`meta nftrace set 1`, `nft monitor trace`), which sees iptables-nft's rules too.
//!
//! - [`in_lab`]: from inside a lab (a failing check), the trace of one probe as text, to
//!   append to the failure.
//! - [`outside`]: `checker trace --from F --to T`, which finds a running lab in the registry
//!   and joins it first (as `show` does).
//! - [`parse`], [`render`], [`diagnose`]: the monitor's text, the path as a learner reads it,
//!   and the one-line verdict.

pub mod diagnose;
pub mod parse;
pub mod render;
pub mod run;

use crate::show::collect;
use anyhow::Result;
use lab::endpoint::{From, To};
use lab::state::Place;
use lab::{Lab, LabPaths};
use run::{Role, Space, Spaces};
use std::path::Path;
use std::process::ExitCode;

/// The namespaces of the lab whose state directory is `state`: the lab host at `host`, the
/// internet, every running container; none of them namespace `forbidden`.
fn spaces(host: Place, state: &Path, rootfs: &Path, forbidden: Option<u64>) -> Spaces {
    let mut list = vec![Space {
        name: "lab host".to_string(),
        role: Role::Host,
        place: host,
    }];
    if let Ok(tid) = collect::internet_tid() {
        list.push(Space {
            name: "internet".to_string(),
            role: Role::Internet,
            place: Place::pid(tid).forbidding(forbidden),
        });
    }
    for (name, pid) in collect::containers(state) {
        list.push(Space {
            name,
            role: Role::Container,
            place: Place::pid(pid).forbidding(forbidden),
        });
    }
    Spaces {
        list,
        rootfs: rootfs.to_path_buf(),
    }
}

/// Traces one probe from `from` to `to` and renders it.
fn traced(spaces: &Spaces, from: &From, to: &To) -> Result<String> {
    let found = run::trace(spaces, from, to)?;
    let diagnosis = diagnose::diagnose(&found, spaces);
    Ok(render::render(&found, &diagnosis))
}

/// The trace of one probe from `from` to `to`, in the lab the calling check runs in (on its
/// lab host), for a failure's text. Never fails: what went wrong is said in the text.
pub fn in_lab(lab: &Lab, from: &From, to: &To) -> String {
    let spaces = spaces(Place::here(), &lab.paths().state, &lab.paths().rootfs, None);
    match traced(&spaces, from, to) {
        Ok(text) => text.trim_end().to_string(),
        Err(e) => format!("trace: could not follow the packet: {e:#}"),
    }
}

/// `checker trace`: finds the lab `wanted` (or the only one), joins it, traces and prints.
pub fn outside(
    paths: &LabPaths,
    wanted: Option<i32>,
    step: Option<&str>,
    from: &From,
    to: &To,
) -> Result<ExitCode> {
    let (entry, own_netns) = match crate::show::outside::enter(paths, wanted, step, "trace")? {
        Ok(found) => found,
        Err(code) => return Ok(code),
    };
    let host = Place::pid(1).forbidding(Some(own_netns));
    let spaces = spaces(host, &entry.state, &paths.rootfs, Some(own_netns));
    let text = traced(&spaces, from, to)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
