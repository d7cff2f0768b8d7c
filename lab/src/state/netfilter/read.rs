//! Reading a namespace's firewall from its tools, each listing parsed on its own (see the
//! module's documentation for who owns which table).

use super::{iptables, nft, Family, Netfilter};
use crate::state::netlink::{attrs, Socket, ONE};
use crate::state::place::{is_missing, Place, Where};
use anyhow::Result;
use std::sync::Mutex;

/// The tools' listings, as text: what [`Netfilter`] is parsed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listings {
    /// `iptables-nft-save` (or the nft flavour's `iptables-save`).
    pub iptables: Option<String>,
    /// `iptables-legacy-save` (or the legacy flavour's `iptables-save`).
    pub legacy: Option<String>,
    /// `nft -j list ruleset`.
    pub nft_json: Option<String>,
    /// `nft -a -s list ruleset`, for the text of nft's rules.
    pub nft_text: Option<String>,
}

impl Listings {
    /// The firewall these listings describe. A listing that does not parse is a problem, not
    /// an error: the others still count.
    pub fn parse(&self) -> Netfilter {
        let mut netfilter = Netfilter::default();
        let skip = self.nft_tables();
        if let Some(text) = &self.iptables {
            netfilter.tables.extend(iptables::parse(text, false));
        }
        if let Some(text) = &self.legacy {
            netfilter.tables.extend(iptables::parse(text, true));
        }
        if let Some(json) = &self.nft_json {
            match nft::parse(json, self.nft_text.as_deref(), &skip) {
                Ok(tables) => netfilter.tables.extend(tables),
                Err(e) => netfilter.problems.push(format!("nft: {e:#}")),
            }
        }
        netfilter
    }

    /// The nf_tables tables iptables-nft listed (family, name): nft lists them too, but their
    /// rules are read from iptables-nft-save.
    fn nft_tables(&self) -> Vec<(Family, String)> {
        self.iptables
            .iter()
            .flat_map(|text| iptables::table_names(text))
            .map(|name| (Family::Ip, name))
            .collect()
    }
}

/// The firewalls read by this process, by namespace cookie and nf_tables generation: nothing
/// of the rules changes but the generation does (iptables-nft's rules are nf_tables' too).
/// Legacy tables are outside it: a namespace that has some is read every time.
static READ: Mutex<Vec<((u64, u32), Netfilter)>> = Mutex::new(Vec::new());

/// How many firewalls [`READ`] keeps.
const KEPT: usize = 16;

/// The firewall of `place`: the tools' answer (see [`run_tools`]), or the same answer again
/// when the namespace's nf_tables generation has not moved since it was read.
pub fn read(place: &Place) -> Netfilter {
    let key = match legacy_tables(place) {
        Ok(false) => generation(place).ok().flatten(),
        _ => None,
    };
    let Some(key) = key else {
        return run_tools(place, None);
    };
    let kept = READ.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, netfilter)) = kept.iter().find(|(k, _)| *k == key) {
        return netfilter.clone();
    }
    drop(kept);
    let netfilter = run_tools(place, Some(key.0));
    // Kept only if nothing was committed meanwhile (the tools saw this generation).
    if netfilter.problems.is_empty() && generation(place).ok().flatten() == Some(key) {
        let mut kept = READ.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push((key, netfilter.clone()));
    }
    netfilter
}

/// The namespace's cookie and its nf_tables generation (NFT_MSG_GETGEN), asked over
/// netlink by a thread in it; None where the kernel gives no cookie.
fn generation(place: &Place) -> Result<Option<(u64, u32)>> {
    const NFNL_SUBSYS_NFTABLES: u16 = 10;
    const NFT_MSG_GETGEN: u16 = 16;
    const NFTA_GEN_ID: u16 = 1;
    place.in_thread("reading the nf_tables generation", || {
        let socket = Socket::open(libc::NETLINK_NETFILTER)?;
        let Some(cookie) = socket.netns_cookie() else {
            return Ok(None);
        };
        let answers = socket.ask(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN, ONE, &[0; 4])?;
        let id = answers.iter().find_map(|answer| {
            attrs(answer, 4)
                .into_iter()
                .find(|(kind, _)| *kind == NFTA_GEN_ID)
                .and_then(|(_, id)| Some(u32::from_be_bytes(id.get(..4)?.try_into().ok()?)))
        });
        Ok(id.map(|id| (cookie, id)))
    })?
}

/// nft's own text of the native rules (`nft -a -s list ruleset`), by namespace cookie, with
/// the rules it was read for: a rule's text never changes, so a listing whose native rules
/// were all read before needs no second nft run (iptables-nft's rules, which change the
/// generation, have their text from iptables-nft-save).
static TEXTS: Mutex<Vec<(u64, Vec<nft::RuleKey>, String)>> = Mutex::new(Vec::new());

/// The text listing that gives every rule of `rules` its text: the one read before in the
/// namespace `cookie` when it covers them all, or `nft -a -s list ruleset` now. None when
/// there are no such rules, or nft could not say.
fn nft_text(place: &Place, cookie: Option<u64>, rules: &[nft::RuleKey]) -> Option<String> {
    if rules.is_empty() {
        return None;
    }
    let kept = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, read, text)) = kept.iter().find(|(c, _, _)| Some(*c) == cookie) {
        if rules.iter().all(|rule| read.contains(rule)) {
            return Some(text.clone());
        }
    }
    drop(kept);
    let text = place.run("nft", &["-a", "-s", "list", "ruleset"]).ok()?;
    if let Some(cookie) = cookie {
        let mut kept = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(c, _, _)| *c != cookie);
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push((cookie, rules.to_vec(), text.clone()));
    }
    Some(text)
}

/// Runs the tools in `place` (the namespace `cookie`, when known): whatever could not be read
/// (a tool missing) is one problem of the result.
fn run_tools(place: &Place, cookie: Option<u64>) -> Netfilter {
    let mut problems = Vec::new();
    let mut listings = Listings::default();
    let mut note = |what: &str, e: anyhow::Error| problems.push(format!("{what}: {e:#}"));
    match place.run("iptables-nft-save", &[]) {
        Ok(text) => listings.iptables = Some(text),
        Err(e) if is_missing(&e) => match place.run("iptables-save", &[]) {
            Ok(text) if iptables::is_nft_flavour(&text) => listings.iptables = Some(text),
            Ok(text) => listings.legacy = Some(text),
            Err(e) => note("iptables-save", e),
        },
        Err(e) => note("iptables-nft-save", e),
    }
    if listings.legacy.is_none() {
        match legacy_tables(place) {
            Ok(true) => match place.run("iptables-legacy-save", &[]) {
                Ok(text) => listings.legacy = Some(text),
                Err(e) => note("legacy iptables tables exist, but iptables-legacy-save", e),
            },
            Ok(false) => {}
            Err(e) => note("legacy iptables", e),
        }
    }
    match place.run("nft", &["-j", "list", "ruleset"]) {
        Ok(json) => {
            // JSON that does not parse is Listings::parse's problem to report.
            let rules = nft::native_rules(&json, &listings.nft_tables()).unwrap_or_default();
            listings.nft_text = nft_text(place, cookie, &rules);
            listings.nft_json = Some(json);
        }
        Err(e) => note("nft", e),
    }
    let mut netfilter = listings.parse();
    problems.append(&mut netfilter.problems);
    netfilter.problems = problems;
    netfilter
}

/// Whether the namespace has legacy (x_tables) tables: its `/proc/net/ip_tables_names`
/// names some (read there: no tool runs when there are none).
fn legacy_tables(place: &Place) -> Result<bool> {
    place.check("reading ip_tables_names")?;
    let dir = match place.at {
        Where::Here => "/proc/thread-self/net".to_string(),
        Where::Pid(pid) => format!("/proc/{pid}/net"),
    };
    Ok(std::fs::read_to_string(format!("{dir}/ip_tables_names"))
        .is_ok_and(|names| !names.trim().is_empty()))
}
