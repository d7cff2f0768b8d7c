//! Tests on real output: fixtures captured by `fixtures/capture.sh` from namespaces it made
//! (see there for what each scenario has), and one live namespace.

mod diff;
mod eval;
mod live;
mod parse;

use super::netfilter::Listings;
use super::Netns;

/// A scenario's files.
pub(super) struct Fixture {
    pub link: &'static str,
    pub addr: &'static str,
    pub route: &'static str,
    pub listings: Listings,
}

macro_rules! fixture {
    ($name:literal, $legacy:expr) => {
        Fixture {
            link: include_str!(concat!("../fixtures/", $name, "/link.json")),
            addr: include_str!(concat!("../fixtures/", $name, "/addr.json")),
            route: include_str!(concat!("../fixtures/", $name, "/route.json")),
            listings: Listings {
                iptables: Some(
                    include_str!(concat!("../fixtures/", $name, "/iptables-save.txt")).into(),
                ),
                legacy: $legacy,
                nft_json: Some(include_str!(concat!("../fixtures/", $name, "/nft.json")).into()),
                nft_text: Some(include_str!(concat!("../fixtures/", $name, "/nft.txt")).into()),
            },
        }
    };
}

/// `empty`, `iptables`, `iptables-after`, `native` or `mixed`.
pub(super) fn fixture(name: &str) -> Fixture {
    match name {
        "empty" => fixture!("empty", None),
        "iptables" => fixture!("iptables", None),
        "iptables-after" => fixture!("iptables-after", None),
        "native" => fixture!("native", None),
        "mixed" => fixture!(
            "mixed",
            Some(include_str!("../fixtures/mixed/iptables-legacy-save.txt").into())
        ),
        other => panic!("no fixture {other}"),
    }
}

/// The namespace of a scenario, with the sysctls capture.sh sets.
pub(super) fn netns(name: &str) -> Netns {
    let f = fixture(name);
    let mut ns = Netns::from_listings(f.link, f.addr, f.route, &f.listings)
        .unwrap_or_else(|e| panic!("parsing fixture {name}: {e:#}"));
    if name != "empty" {
        ns.sysctls
            .global
            .insert("net.ipv4.ip_forward".into(), "1".into());
        for (scope, value) in [("all", "0"), ("netlab0", "1"), ("eth0", "0")] {
            ns.sysctls
                .conf
                .insert((scope.into(), "route_localnet".into()), value.into());
        }
    }
    ns
}
