//! What changed between two firewalls: rules added and removed (a rule is the same rule when
//! its table, chain and meaning are: counters, comments and spelling aside), chains added and
//! removed, policies changed.

use super::{Netfilter, Policy, Rule, RuleAt, TableId};
use std::collections::BTreeMap;

/// The difference between a firewall and an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<(RuleAt, Rule)>,
    pub removed: Vec<(RuleAt, Rule)>,
    pub tables_added: Vec<TableId>,
    pub tables_removed: Vec<TableId>,
    pub chains_added: Vec<(TableId, String)>,
    pub chains_removed: Vec<(TableId, String)>,
    /// nft's named sets and maps that came, went or changed: (table, name).
    pub sets_changed: Vec<(TableId, String)>,
    /// (table, chain, policy before, policy now).
    pub policies: Vec<(TableId, String, Policy, Policy)>,
}

/// A rule's identity: table, chain and meaning.
pub fn rule_key(at: &RuleAt, rule: &Rule) -> String {
    format!("{} {}: {}", at.table, at.chain, rule.meaning())
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.tables_added.is_empty()
            && self.tables_removed.is_empty()
            && self.sets_changed.is_empty()
            && self.chains_added.is_empty()
            && self.chains_removed.is_empty()
            && self.policies.is_empty()
    }

    /// `- filter FORWARD: -i netlab0 -j ACCEPT` lines: what went, then what came.
    pub fn lines(&self) -> Vec<String> {
        let rule = |sign: char, (at, _): &(RuleAt, Rule)| {
            format!("{sign} {} {}: {}", at.table, at.chain, at.text)
        };
        let chain =
            |sign: char, (table, name): &(TableId, String)| format!("{sign} {table} chain {name}");
        let mut lines: Vec<String> = self.removed.iter().map(|r| rule('-', r)).collect();
        lines.extend(self.chains_removed.iter().map(|c| chain('-', c)));
        lines.extend(self.tables_removed.iter().map(|t| format!("- table {t}")));
        lines.extend(self.tables_added.iter().map(|t| format!("+ table {t}")));
        lines.extend(self.chains_added.iter().map(|c| chain('+', c)));
        lines.extend(
            self.sets_changed
                .iter()
                .map(|(table, name)| format!("~ {table} set {name}")),
        );
        lines.extend(self.added.iter().map(|r| rule('+', r)));
        lines.extend(self.policies.iter().map(|(table, chain, before, now)| {
            format!("~ {table} {chain} policy {before} -> {now}")
        }));
        lines
    }

    /// The added rules whose comment starts with `prefix` (`netlab:c1:`): a courtesy to
    /// implementations that tag their rules, never needed to judge them.
    pub fn added_with_comment<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a (RuleAt, Rule)> {
        self.added
            .iter()
            .filter(move |(_, r)| r.comment.as_deref().is_some_and(|c| c.starts_with(prefix)))
    }
}

/// The rules only in `a`, as a multiset against `b`: rules with the same comment pair first,
/// so that of two alike rules the one tagged differently is the new one.
fn only_in(a: &Netfilter, b: &Netfilter) -> Vec<(RuleAt, Rule)> {
    let mut exact: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
    let mut loose: BTreeMap<String, usize> = BTreeMap::new();
    for (at, rule) in b.rules() {
        let key = rule_key(&at, rule);
        *exact
            .entry((key.clone(), rule.comment.clone()))
            .or_default() += 1;
        *loose.entry(key).or_default() += 1;
    }
    let mut rest = Vec::new();
    for (at, rule) in a.rules() {
        let key = rule_key(&at, rule);
        match exact.get_mut(&(key.clone(), rule.comment.clone())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                if let Some(l) = loose.get_mut(&key) {
                    *l -= 1;
                }
            }
            _ => rest.push((key, at, rule.clone())),
        }
    }
    rest.into_iter()
        .filter_map(|(key, at, rule)| match loose.get_mut(&key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                None
            }
            _ => Some((at, rule)),
        })
        .collect()
}

/// The items of `a` not in `b`.
fn only<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

fn chains(n: &Netfilter) -> BTreeMap<(TableId, String), Option<Policy>> {
    n.tables
        .iter()
        .flat_map(|t| {
            t.chains
                .iter()
                .map(move |c| ((t.id.clone(), c.name.clone()), c.base.map(|b| b.policy)))
        })
        .collect()
}

impl Netfilter {
    /// What changed since `before`.
    pub fn diff(&self, before: &Netfilter) -> Changes {
        let (now, then) = (chains(self), chains(before));
        let mut changes = Changes {
            added: only_in(self, before),
            removed: only_in(before, self),
            ..Changes::default()
        };
        for (key, policy) in &now {
            match then.get(key) {
                None => changes.chains_added.push(key.clone()),
                Some(old) => {
                    if let (Some(old), Some(new)) = (old, policy) {
                        if old != new {
                            changes
                                .policies
                                .push((key.0.clone(), key.1.clone(), *old, *new));
                        }
                    }
                }
            }
        }
        changes.chains_removed = then
            .keys()
            .filter(|k| !now.contains_key(*k))
            .cloned()
            .collect();
        let ids = |n: &Netfilter| n.tables.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        changes.tables_added = only(&ids(self), &ids(before));
        changes.tables_removed = only(&ids(before), &ids(self));
        let sets = |n: &Netfilter| {
            n.tables
                .iter()
                .flat_map(|t| t.sets.iter().map(|s| (t.id.clone(), s.clone())))
                .collect::<Vec<_>>()
        };
        let (sets_now, sets_then) = (sets(self), sets(before));
        let mut changed: Vec<(TableId, String)> = only(&sets_now, &sets_then)
            .into_iter()
            .chain(only(&sets_then, &sets_now))
            .map(|(table, (name, _))| (table, name))
            .collect();
        changed.sort();
        changed.dedup();
        changes.sets_changed = changed;
        changes
    }
}
