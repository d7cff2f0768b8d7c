//! Draws a [`Model`] as text: one box per namespace (links with their bridge ports nested
//! under the bridge, each veth with its peer, addresses, routes, NAT rules), then every cable
//! once. Plain box drawing, at most [`WIDTH`] columns, the same model always the same text.

use super::draw::{draw_box, wrap};
use super::model::{Model, Namespace, Role};
use super::peers::{peers, At};
use lab::state::Link;
use std::collections::BTreeMap;

/// The diagram's width, in columns.
pub const WIDTH: usize = 100;

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
        .map(|l| l.addrs_text().len())
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
            link.addrs_text(),
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
        text.push_str(&l.addrs_text());
    }
    text
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
            addrs: l
                .addrs
                .iter()
                .map(|a| {
                    let net: lab::state::Net = a.parse().expect("an address in a test");
                    (net.addr, net.len)
                })
                .collect(),
            peer_index: l.peer.map(|p| p.0),
            peer_netnsid: l.peer.and_then(|p| p.1),
            ..Link::default()
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
}
