//! Links, as the checks ask about them: a container's cable (a veth pair whose ends name each
//! other across two namespaces), and readable views for reports.

use lab::addresses::HOST_UPLINK;
use lab::state::{Link, Netns};

/// The links of a namespace, without the tunnel devices the kernel adds by itself.
pub fn plain_links(netns: &Netns) -> Vec<&Link> {
    netns.links.iter().filter(|l| !l.is_fallback()).collect()
}

/// `lo (UP), eth0 (DOWN)` for reports.
pub fn describe(links: &[&Link]) -> String {
    if links.is_empty() {
        return "no interfaces at all".to_string();
    }
    links
        .iter()
        .map(|l| format!("{} ({})", l.name, if l.up { "UP" } else { "DOWN" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A link's IPv4 addresses for reports: `10.0.0.1/24, 10.0.0.9/24`, or `none`.
pub fn addresses(link: &Link) -> String {
    if link.addrs.is_empty() {
        "none".to_string()
    } else {
        link.addrs_text().replace(' ', ", ")
    }
}

/// The lab host's veths but its uplink: the containers' cables, whatever their names.
pub fn container_veths(host: &Netns) -> Vec<&Link> {
    host.links
        .iter()
        .filter(|l| l.kind == "veth" && l.name != HOST_UPLINK)
        .collect()
}

/// Every cable between the lab host and a container, as (the host's end, the container's
/// end): a veth inside whose peer is in another namespace, and a veth of the lab host (not
/// its uplink) with that ifindex naming the inside end back. Names are not trusted.
pub fn cables<'a>(host: &'a Netns, inside: &'a Netns) -> Vec<(&'a Link, &'a Link)> {
    inside
        .links
        .iter()
        .filter(|c| c.kind == "veth" && c.peer_netnsid.is_some())
        .filter_map(|c| {
            host.links
                .iter()
                .find(|h| {
                    h.kind == "veth"
                        && h.name != HOST_UPLINK
                        && h.peer_netnsid.is_some()
                        && Some(h.index) == c.peer_index
                        && h.peer_index == Some(c.index)
                })
                .map(|h| (h, c))
        })
        .collect()
}

/// The first of [`cables`].
pub fn cable<'a>(host: &'a Netns, inside: &'a Netns) -> Option<(&'a Link, &'a Link)> {
    cables(host, inside).into_iter().next()
}

/// One link per line, for reports: `veth1234 veth UP master netlab0 hairpin 10.0.0.1/24`
/// (`peer elsewhere` for a veth whose other end is in another namespace).
pub fn links_view(title: &str, netns: &Netns) -> String {
    let mut lines = vec![format!("{title}:")];
    for link in plain_links(netns) {
        let mut words = vec![
            link.name.clone(),
            link.kind.clone(),
            if link.up { "UP" } else { "DOWN" }.to_string(),
        ];
        if let Some(master) = &link.master {
            words.push(format!("master {master}"));
        }
        if link.hairpin {
            words.push("hairpin".to_string());
        }
        if link.kind == "veth" && link.peer_netnsid.is_some() {
            words.push("(peer elsewhere)".to_string());
        }
        if !link.addrs.is_empty() {
            words.push(link.addrs_text());
        }
        lines.push(format!("  {}", words.join(" ")));
    }
    if lines.len() == 1 {
        lines.push("  (no interfaces at all)".to_string());
    }
    lines.join("\n")
}

/// One route per line, for reports, as `ip route` words them (without the obvious words).
pub fn routes_view(title: &str, netns: &Netns) -> String {
    let mut lines = vec![format!("{title}:")];
    lines.extend(netns.routes.iter().map(|r| format!("  {}", r.short())));
    if lines.len() == 1 {
        lines.push("  (no routes at all)".to_string());
    }
    lines.join("\n")
}
