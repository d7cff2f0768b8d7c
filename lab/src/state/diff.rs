//! What changed in a namespace: links, addresses, routes, sysctls, firewall.

use super::netfilter::Changes;
use super::{Link, Netns, Route};
use std::collections::BTreeMap;

/// The difference between a namespace's state and an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetnsChanges {
    pub links_added: Vec<Link>,
    pub links_removed: Vec<Link>,
    /// (before, now) of a link whose kind, flags, MTU, master, MAC or hairpin changed.
    pub links_changed: Vec<(Link, Link)>,
    /// (link, `10.0.0.1/24`), IPv4 and IPv6.
    pub addrs_added: Vec<(String, String)>,
    pub addrs_removed: Vec<(String, String)>,
    pub routes_added: Vec<Route>,
    pub routes_removed: Vec<Route>,
    /// (sysctl, before, now), for the global ones and the interfaces in both.
    pub sysctls: Vec<(String, Option<String>, Option<String>)>,
    pub netfilter: Changes,
}

impl NetnsChanges {
    pub fn is_empty(&self) -> bool {
        self.lines().is_empty()
    }

    /// `section: - line` and `section: + line`, section by section.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |section: &str, sign: char, line: String| {
            out.push(format!("{section}: {sign} {line}"));
        };
        for link in &self.links_removed {
            push("links", '-', link.to_string());
        }
        for (before, now) in &self.links_changed {
            push("links", '-', before.to_string());
            push("links", '+', now.to_string());
        }
        for link in &self.links_added {
            push("links", '+', link.to_string());
        }
        for (dev, addr) in &self.addrs_removed {
            push("addresses", '-', format!("{dev} {addr}"));
        }
        for (dev, addr) in &self.addrs_added {
            push("addresses", '+', format!("{dev} {addr}"));
        }
        for route in &self.routes_removed {
            push("routes", '-', route.to_string());
        }
        for route in &self.routes_added {
            push("routes", '+', route.to_string());
        }
        for (key, before, now) in &self.sysctls {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            push("sysctls", '-', format!("{key} = {}", show(before)));
            push("sysctls", '+', format!("{key} = {}", show(now)));
        }
        for line in self.netfilter.lines() {
            out.push(format!("firewall: {line}"));
        }
        out
    }
}

/// The items of `a` not in `b`, as multisets of `key`.
pub(crate) fn only_in<T: Clone, K: Ord>(a: &[T], b: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut counts: BTreeMap<K, usize> = BTreeMap::new();
    for item in b {
        *counts.entry(key(item)).or_default() += 1;
    }
    a.iter()
        .filter(|item| match counts.get_mut(&key(item)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

fn addrs(ns: &Netns) -> Vec<(String, String)> {
    ns.links
        .iter()
        .flat_map(|l| {
            let v4 = l.addrs.iter().map(|(a, n)| format!("{a}/{n}"));
            let v6 = l.addrs6.iter().map(|(a, n)| format!("{a}/{n}"));
            v4.chain(v6)
                .map(|a| (l.name.clone(), a))
                .collect::<Vec<_>>()
        })
        .collect()
}

impl Netns {
    /// What changed since `before`.
    pub fn diff(&self, before: &Netns) -> NetnsChanges {
        let by_name = |ns: &Netns, name: &str| ns.links.iter().find(|l| l.name == name).cloned();
        let mut changes = NetnsChanges {
            links_added: only_in(&self.links, &before.links, |l| l.name.clone()),
            links_removed: only_in(&before.links, &self.links, |l| l.name.clone()),
            addrs_added: only_in(&addrs(self), &addrs(before), Clone::clone),
            addrs_removed: only_in(&addrs(before), &addrs(self), Clone::clone),
            routes_added: only_in(&self.routes, &before.routes, Route::to_string),
            routes_removed: only_in(&before.routes, &self.routes, Route::to_string),
            netfilter: self.netfilter.diff(&before.netfilter),
            ..NetnsChanges::default()
        };
        for now in &self.links {
            if let Some(old) = by_name(before, &now.name) {
                if old.to_string() != now.to_string() {
                    changes.links_changed.push((old, now.clone()));
                }
            }
        }
        let mut keys: Vec<String> = self.sysctls.global.keys().cloned().collect();
        keys.extend(before.sysctls.global.keys().cloned());
        let both = |scope: &str| {
            matches!(scope, "all" | "default")
                || (self.link(scope).is_some() && before.link(scope).is_some())
        };
        for (scope, name) in self.sysctls.conf.keys().chain(before.sysctls.conf.keys()) {
            if both(scope) {
                keys.push(format!("net.ipv4.conf.{scope}.{name}"));
            }
        }
        keys.sort();
        keys.dedup();
        for key in keys {
            let (old, now) = (before.sysctls.get(&key), self.sysctls.get(&key));
            if old != now {
                changes
                    .sysctls
                    .push((key, old.map(String::from), now.map(String::from)));
            }
        }
        changes
    }
}
