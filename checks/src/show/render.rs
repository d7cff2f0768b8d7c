//! Draws a [`Model`] as text: one box per namespace (links with their bridge ports nested
//! under the bridge, each veth with its peer, addresses, routes, NAT rules), then every cable
//! once. Plain box drawing, at most [`WIDTH`] columns, the same model always the same text.

use super::model::{Link, Model, Namespace, Role};
use std::collections::BTreeMap;

/// The diagram's width, in columns.
pub const WIDTH: usize = 100;

/// A link: (namespace index, link index in it).
type At = (usize, usize);

/// The whole diagram, [`WIDTH`] columns wide.
pub fn render(model: &Model) -> String {
    render_width(model, WIDTH)
}

/// The whole diagram, `width` columns wide (at least 60).
pub fn render_width(model: &Model, width: usize) -> String {
    let width = width.max(60);
    let peers = peers(model);
    let mut out = String::new();
    out.push_str(&model.title);
    out.push('\n');
    out.push_str(&summary(model));
    out.push_str("\n\n");
    for (i, ns) in model.namespaces.iter().enumerate() {
        out.push_str(&namespace_box(model, i, ns, &peers, width));
    }
    out.push_str(&cables(model, &peers, width));
    out
}

fn summary(model: &Model) -> String {
    let containers: Vec<&str> = model
        .namespaces
        .iter()
        .filter(|n| n.role == Role::Container)
        .map(|n| n.name.as_str())
        .collect();
    let others: Vec<&str> = model
        .namespaces
        .iter()
        .filter(|n| n.role != Role::Container)
        .map(|n| n.name.as_str())
        .collect();
    let mut text = format!("namespaces: {}", others.join(", "));
    match containers.len() {
        0 => text.push_str("; no container runs"),
        1 => text.push_str(&format!("; 1 container: {}", containers[0])),
        n => text.push_str(&format!("; {n} containers: {}", containers.join(", "))),
    }
    text
}

/// The title of a namespace's box.
fn heading(ns: &Namespace) -> String {
    match (ns.role, ns.pid) {
        (Role::Container, Some(pid)) => format!("container {} (pid {pid})", ns.name),
        (Role::Container, None) => format!("container {}", ns.name),
        _ => ns.name.clone(),
    }
}

/// How a link's peer is named elsewhere: `c1 eth0`.
fn name_of(model: &Model, (ns, link): At) -> String {
    let ns = &model.namespaces[ns];
    format!("{} {}", ns.name, ns.links[link].name)
}

fn namespace_box(
    model: &Model,
    i: usize,
    ns: &Namespace,
    peers: &BTreeMap<At, At>,
    width: usize,
) -> String {
    let mut lines = vec!["links".to_string()];
    let ordered = ordered_links(ns);
    let name_width = ordered
        .iter()
        .map(|(prefix, l)| prefix.chars().count() + ns.links[*l].name.chars().count())
        .max()
        .unwrap_or(0);
    let kind_width = ns.links.iter().map(|l| l.kind.len()).max().unwrap_or(0);
    let addr_width = ns
        .links
        .iter()
        .map(|l| l.addrs.join(" ").len())
        .max()
        .unwrap_or(0)
        .min(34);
    for (prefix, l) in &ordered {
        let link = &ns.links[*l];
        let name = format!("{prefix}{}", link.name);
        let mut line = format!(
            "  {name:<name_width$}  {:<kind_width$}  {:<4}  {:<addr_width$}",
            link.kind,
            if link.up { "UP" } else { "DOWN" },
            link.addrs.join(" "),
        );
        if let Some(peer) = peer_text(model, (i, *l), link, peers) {
            line.push_str("  ");
            line.push_str(&peer);
        }
        if link.hairpin {
            line.push_str("  hairpin on");
        }
        if let (Some(master), true) = (&link.master, prefix.is_empty()) {
            line.push_str(&format!("  (master {master}, not here)"));
        }
        lines.push(line.trim_end().to_string());
    }
    if ns.links.is_empty() {
        lines.push("  (none)".to_string());
    }
    lines.push("routes".to_string());
    if ns.routes.is_empty() {
        lines.push("  (none)".to_string());
    }
    lines.extend(ns.routes.iter().map(|r| format!("  {r}")));
    if ns.role == Role::Host {
        lines.extend(nat_lines(ns));
    }
    for problem in &ns.problems {
        lines.push(format!("! {problem}"));
    }
    draw_box(&heading(ns), &lines, width)
}

/// Links in drawing order: `lo`, then the others by name, each bridge's ports right under it.
fn ordered_links(ns: &Namespace) -> Vec<(String, usize)> {
    let is_port = |l: &Link| {
        l.master
            .as_ref()
            .is_some_and(|m| ns.links.iter().any(|b| &b.name == m))
    };
    let mut top: Vec<usize> = (0..ns.links.len())
        .filter(|&i| !is_port(&ns.links[i]))
        .collect();
    top.sort_by_key(|&i| (ns.links[i].name != "lo", ns.links[i].name.clone()));
    let mut out = Vec::new();
    for i in top {
        out.push((String::new(), i));
        let mut ports: Vec<usize> = (0..ns.links.len())
            .filter(|&p| ns.links[p].master.as_deref() == Some(ns.links[i].name.as_str()))
            .collect();
        ports.sort_by_key(|&p| ns.links[p].name.clone());
        let count = ports.len();
        for (n, p) in ports.into_iter().enumerate() {
            let glyph = if n + 1 == count { "└─ " } else { "├─ " };
            out.push((glyph.to_string(), p));
        }
    }
    out
}

fn peer_text(model: &Model, at: At, link: &Link, peers: &BTreeMap<At, At>) -> Option<String> {
    if let Some(peer) = peers.get(&at) {
        return Some(format!("══ {}", name_of(model, *peer)));
    }
    if link.kind != "veth" {
        return None;
    }
    Some(match (link.peer_index, link.peer_netnsid) {
        (Some(index), Some(nsid)) => {
            format!("══ ? (ifindex {index} of netnsid {nsid}: not in the lab's view)")
        }
        (Some(index), None) => format!("══ ? (peer ifindex {index})"),
        _ => "══ ? (peer unknown)".to_string(),
    })
}

fn nat_lines(ns: &Namespace) -> Vec<String> {
    let mut lines = Vec::new();
    if ns.nat.is_empty() {
        lines.push("nat".to_string());
        lines.push("  (no rule)".to_string());
        return lines;
    }
    let mut sources: Vec<&str> = Vec::new();
    for rule in &ns.nat {
        if !sources.contains(&rule.source.as_str()) {
            sources.push(&rule.source);
        }
    }
    for source in sources {
        let heading = if source == "iptables" {
            "nat (iptables-save -t nat)".to_string()
        } else {
            format!("nat ({source})")
        };
        lines.push(heading);
        let rules: Vec<_> = ns.nat.iter().filter(|r| r.source == source).collect();
        let width = rules.iter().map(|r| r.chain.len()).max().unwrap_or(0);
        for rule in rules {
            lines.push(format!("  {:<width$}  {}", rule.chain, rule.rule));
        }
    }
    lines
}

fn cables(model: &Model, peers: &BTreeMap<At, At>, width: usize) -> String {
    let mut lines = Vec::new();
    let mut seen = Vec::new();
    // In drawing order: namespace by namespace, links as their box lists them.
    for (i, ns) in model.namespaces.iter().enumerate() {
        for (_, l) in ordered_links(ns) {
            let a = (i, l);
            let Some(&b) = peers.get(&a) else { continue };
            if seen.contains(&b) {
                continue;
            }
            seen.push(a);
            lines.push(format!("{}  ════  {}", end(model, a), end(model, b)));
        }
    }
    let mut out = String::from("cables (veth pairs, matched by ifindex and link-netnsid)\n");
    if lines.is_empty() {
        out.push_str("  (none)\n");
    }
    for line in lines {
        for piece in wrap(&line, width - 2, 6) {
            out.push_str("  ");
            out.push_str(&piece);
            out.push('\n');
        }
    }
    out
}

/// One end of a cable: `lab host veth12 (port of netlab0)`, `c1 eth0 10.0.0.2/24`.
fn end(model: &Model, (ns, link): At) -> String {
    let l = &model.namespaces[ns].links[link];
    let mut text = name_of(model, (ns, link));
    if let Some(master) = &l.master {
        text.push_str(&format!(" (port of {master})"));
    }
    if !l.addrs.is_empty() {
        text.push(' ');
        text.push_str(&l.addrs.join(" "));
    }
    text
}

/// A box `width` columns wide titled `title`; long lines wrap.
fn draw_box(title: &str, lines: &[String], width: usize) -> String {
    // Room inside: `│ ` and ` │` take four columns.
    let inner = width - 4;
    let mut out = String::new();
    let top = format!("┌─ {title} ");
    let fill = width.saturating_sub(top.chars().count() + 1);
    out.push_str(&format!("{top}{}┐\n", "─".repeat(fill)));
    for line in lines {
        let indent = line.chars().take_while(|c| *c == ' ').count() + 4;
        for piece in wrap(line, inner, indent) {
            let pad = inner.saturating_sub(piece.chars().count());
            out.push_str(&format!("│ {piece}{} │\n", " ".repeat(pad)));
        }
    }
    out.push_str(&format!("└{}┘\n", "─".repeat(width - 2)));
    out
}

/// Splits `line` into pieces of at most `width` columns, at spaces when it can; pieces after
/// the first are indented by `indent`.
fn wrap(line: &str, width: usize, indent: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = line.chars().collect();
    let mut first = true;
    loop {
        let lead = if first { 0 } else { indent.min(width / 2) };
        let room = width - lead;
        if rest.len() <= room {
            pieces.push(format!(
                "{}{}",
                " ".repeat(lead),
                rest.iter().collect::<String>()
            ));
            return pieces;
        }
        let cut = (1..=room)
            .rev()
            .find(|&i| rest[i] == ' ' && rest[..i].iter().any(|c| *c != ' '))
            .unwrap_or(room);
        let piece: String = rest[..cut].iter().collect();
        pieces.push(format!("{}{}", " ".repeat(lead), piece.trim_end()));
        rest = rest[cut..]
            .iter()
            .copied()
            .skip_while(|c| *c == ' ')
            .collect();
        first = false;
        if rest.is_empty() {
            return pieces;
        }
    }
}

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
    use crate::show::model::{NatRule, Role};

    struct L {
        index: u32,
        name: &'static str,
        kind: &'static str,
        master: Option<&'static str>,
        addrs: &'static [&'static str],
        peer: Option<(u32, Option<i64>)>,
    }

    fn link(l: L) -> Link {
        Link {
            index: l.index,
            name: l.name.to_string(),
            kind: l.kind.to_string(),
            up: true,
            master: l.master.map(String::from),
            hairpin: l.name == "veth11",
            addrs: l.addrs.iter().map(|a| a.to_string()).collect(),
            peer_index: l.peer.map(|p| p.0),
            peer_netnsid: l.peer.and_then(|p| p.1),
        }
    }

    fn lo(addrs: &'static [&'static str]) -> Link {
        link(L {
            index: 1,
            name: "lo",
            kind: "loopback",
            master: None,
            addrs,
            peer: None,
        })
    }

    fn routes(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|r| r.to_string()).collect()
    }

    /// A lab as step 05's solution leaves it with three containers, and a published port.
    /// Ifindexes repeat across namespaces, as the kernel numbers them.
    fn bridge_lab() -> Model {
        let mut host = Namespace::new("lab host", Role::Host, None);
        host.links = vec![
            lo(&["127.0.0.1/8"]),
            link(L {
                index: 2,
                name: "eth0",
                kind: "veth",
                master: None,
                addrs: &["198.51.100.2/24"],
                peer: Some((2, Some(0))),
            }),
            link(L {
                index: 3,
                name: "netlab0",
                kind: "bridge",
                master: None,
                addrs: &["10.0.0.1/24"],
                peer: None,
            }),
        ];
        for (index, pid, nsid) in [(6, 77, 3), (4, 11, 1), (5, 48, 2)] {
            let name: &'static str = Box::leak(format!("veth{pid}").into_boxed_str());
            host.links.push(link(L {
                index,
                name,
                kind: "veth",
                master: Some("netlab0"),
                addrs: &[],
                peer: Some((2, Some(nsid))),
            }));
        }
        host.routes = routes(&[
            "default via 198.51.100.1 dev eth0",
            "10.0.0.0/24 dev netlab0 src 10.0.0.1",
            "198.51.100.0/24 dev eth0 src 198.51.100.2",
        ]);
        host.nat = [
            ("PREROUTING", "-m addrtype --dst-type LOCAL -j NETLAB"),
            ("OUTPUT", "-m addrtype --dst-type LOCAL -j NETLAB"),
            ("POSTROUTING", "-s 10.0.0.0/24 ! -o netlab0 -j MASQUERADE"),
            (
                "NETLAB",
                "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80",
            ),
        ]
        .iter()
        .map(|(chain, rule)| NatRule {
            source: "iptables".into(),
            chain: chain.to_string(),
            rule: rule.to_string(),
        })
        .collect();
        let mut internet = Namespace::new("internet", Role::Internet, None);
        internet.links = vec![
            lo(&["127.0.0.1/8", "203.0.113.80/32", "203.0.113.53/32"]),
            link(L {
                index: 2,
                name: "up0",
                kind: "veth",
                master: None,
                addrs: &["198.51.100.1/24"],
                peer: Some((2, Some(0))),
            }),
        ];
        internet.routes = routes(&["198.51.100.0/24 dev up0 src 198.51.100.1"]);
        let mut namespaces = vec![host, internet];
        for (name, pid, host_index, address) in [
            ("c1", 11, 4, "10.0.0.2/24"),
            ("c2", 48, 5, "10.0.0.3/24"),
            ("c3", 77, 6, "10.0.0.4/24"),
        ] {
            let mut c = Namespace::new(name, Role::Container, Some(pid));
            let address: &'static str = Box::leak(address.to_string().into_boxed_str());
            let addrs: &'static [&'static str] = Box::leak(vec![address].into_boxed_slice());
            c.links = vec![
                lo(&["127.0.0.1/8"]),
                link(L {
                    index: 2,
                    name: "eth0",
                    kind: "veth",
                    master: None,
                    addrs,
                    peer: Some((host_index, Some(0))),
                }),
            ];
            c.routes = routes(&[
                "default via 10.0.0.1 dev eth0",
                &format!("10.0.0.0/24 dev eth0 src {}", &address[..8]),
            ]);
            namespaces.push(c);
        }
        Model {
            title: "lab 4242 (profile fresh, up 1m05s): `cargo xtask show` sees".into(),
            namespaces,
        }
    }

    #[test]
    fn a_bridge_with_three_containers_and_a_published_port() {
        let text = render(&bridge_lab());
        for line in text.lines() {
            assert!(line.chars().count() <= WIDTH, "too wide: {line}");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_report_sized_diagram_fits_under_the_report_indent() {
        let text = render_width(&bridge_lab(), crate::show::REPORT_WIDTH);
        for line in text.lines() {
            assert!(line.chars().count() <= crate::show::REPORT_WIDTH, "{line}");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_empty_lab_host_says_so() {
        let mut host = Namespace::new("lab host", Role::Host, None);
        host.links = vec![lo(&["127.0.0.1/8"])];
        host.problems
            .push("no thread of the lab process is in another network namespace".into());
        let model = Model {
            title: "lab 7".into(),
            namespaces: vec![host],
        };
        insta::assert_snapshot!(render(&model));
    }

    #[test]
    fn veths_are_matched_by_index_and_netnsid_not_by_name() {
        let model = bridge_lab();
        let peers = peers(&model);
        let name = |at: &At| name_of(&model, *at);
        let mut pairs: Vec<String> = peers
            .iter()
            .filter(|(a, b)| a < b)
            .map(|(a, b)| format!("{} = {}", name(a), name(b)))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                "lab host eth0 = internet up0",
                "lab host veth11 = c1 eth0",
                "lab host veth48 = c2 eth0",
                "lab host veth77 = c3 eth0",
            ]
        );
        // Every end is matched, both ways.
        assert_eq!(peers.len(), 8);
        assert!(peers.iter().all(|(a, b)| peers.get(b) == Some(a)));
    }

    #[test]
    fn the_same_indexes_in_two_pairs_are_told_apart_by_netnsid() {
        // a:4 <-> b:7 and c:4 <-> d:7 look alike; a's other cable (a:9 <-> b:9, one way
        // only) teaches that a's netnsid 0 is b.
        let ns = |name: &str, links: Vec<Link>| {
            let mut n = Namespace::new(name, Role::Container, None);
            n.links = links;
            n
        };
        let veth = |index, name: &'static str, peer, nsid| {
            link(L {
                index,
                name,
                kind: "veth",
                master: None,
                addrs: &[],
                peer: Some((peer, Some(nsid))),
            })
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

    #[test]
    fn long_lines_wrap_inside_the_box() {
        assert_eq!(
            wrap("  aaaa bbbb cccc", 10, 4),
            ["  aaaa", "    bbbb", "    cccc"]
        );
        assert_eq!(
            wrap("x".repeat(12).as_str(), 10, 4),
            ["x".repeat(10), "    xx".into()]
        );
    }
}
