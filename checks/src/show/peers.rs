//! Which veth ends are the two ends of one cable, across a lab's namespaces.

use super::model::Model;
use lab::state::Link;
use std::collections::BTreeMap;

/// A link: (namespace index, link index in it).
pub type At = (usize, usize);

/// Matches the two ends of every veth pair across the namespaces: `a` and `b` are peers when
/// each one's `link_index` is the other's ifindex, and both are in one namespace (no
/// `link_netnsid`) or in two (both have one). Ifindexes repeat between namespaces (every
/// container's `eth0` is often 2): pairs that match several ways are settled with the
/// netnsid-to-namespace map learnt from the pairs that match one way only.
pub fn peers(model: &Model) -> BTreeMap<At, At> {
    let veths: Vec<(At, &Link)> = model
        .namespaces
        .iter()
        .enumerate()
        .flat_map(|(i, ns)| {
            ns.links
                .iter()
                .enumerate()
                .filter(|(_, l)| l.kind == "veth")
                .map(move |(j, l)| ((i, j), l))
        })
        .collect();
    let fits = |(a, la): (At, &Link), (b, lb): (At, &Link)| {
        a != b
            && la.peer_index == Some(lb.index)
            && lb.peer_index == Some(la.index)
            && if a.0 == b.0 {
                la.peer_netnsid.is_none() && lb.peer_netnsid.is_none()
            } else {
                la.peer_netnsid.is_some() && lb.peer_netnsid.is_some()
            }
    };
    let candidates = |x: (At, &Link)| -> Vec<(At, &Link)> {
        veths.iter().copied().filter(|&y| fits(x, y)).collect()
    };
    let mut matched: BTreeMap<At, At> = BTreeMap::new();
    // (namespace, netnsid) -> the namespace it names.
    let mut nsids: BTreeMap<(usize, i64), usize> = BTreeMap::new();
    let learn = |nsids: &mut BTreeMap<(usize, i64), usize>, a: (At, &Link), b: (At, &Link)| {
        if let (Some(na), Some(nb)) = (a.1.peer_netnsid, b.1.peer_netnsid) {
            nsids.insert((a.0 .0, na), b.0 .0);
            nsids.insert((b.0 .0, nb), a.0 .0);
        }
    };
    for &x in &veths {
        let found = candidates(x);
        if let [y] = found.as_slice() {
            if candidates(*y).len() == 1 {
                matched.insert(x.0, y.0);
                learn(&mut nsids, x, *y);
            }
        }
    }
    // Ambiguous ones: keep the candidates that agree with the netnsids learnt so far.
    for &x in &veths {
        if matched.contains_key(&x.0) {
            continue;
        }
        let agrees = |a: (At, &Link), b: (At, &Link)| {
            a.1.peer_netnsid
                .and_then(|n| nsids.get(&(a.0 .0, n)))
                .is_none_or(|&ns| ns == b.0 .0)
        };
        let found: Vec<_> = candidates(x)
            .into_iter()
            .filter(|&y| !matched.contains_key(&y.0) && agrees(x, y) && agrees(y, x))
            .collect();
        if let [y] = found.as_slice() {
            matched.insert(x.0, y.0);
            matched.insert(y.0, x.0);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::model::{Namespace, Role};

    #[test]
    fn the_same_indexes_in_two_pairs_are_told_apart_by_netnsid() {
        // a:4 <-> b:7 and c:4 <-> d:7 look alike; a's other cable (a:9 <-> b:9, one way
        // only) teaches that a's netnsid 0 is b.
        let ns = |name: &str, links: Vec<Link>| {
            let mut n = Namespace::new(name, Role::Container, None);
            n.links = links;
            n
        };
        let veth = |index, name: &str, peer, nsid| Link {
            index,
            name: name.to_string(),
            kind: "veth".to_string(),
            peer_index: Some(peer),
            peer_netnsid: Some(nsid),
            ..Link::default()
        };
        let model = Model {
            title: String::new(),
            namespaces: vec![
                ns("a", vec![veth(4, "x", 7, 0), veth(9, "y", 9, 0)]),
                ns("b", vec![veth(7, "x", 4, 0), veth(9, "y", 9, 0)]),
                ns("c", vec![veth(4, "z", 7, 0)]),
                ns("d", vec![veth(7, "z", 4, 5)]),
            ],
        };
        let peers = peers(&model);
        assert_eq!(peers.get(&(0, 0)), Some(&(1, 0)), "{peers:?}");
        assert_eq!(peers.get(&(2, 0)), Some(&(3, 0)), "{peers:?}");
        assert_eq!(peers.get(&(0, 1)), Some(&(1, 1)), "{peers:?}");
    }
}
