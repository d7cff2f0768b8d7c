//! 127.0.0.1:PORT on the lab host: DNAT to a container needs `route_localnet` on the bridge,
//! and on the bridge only (CVE-2020-8558).

use super::clients::host_gets;
use super::{observe, serve, stop_all, with_more, WEB};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::BRIDGE;
use lab::addresses::HOST_UPLINK;
use lab::state::Netns;
use std::net::Ipv4Addr;

pub(super) fn localhost(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    if let Err(e) = host_gets(probe, "from the lab host", Ipv4Addr::LOCALHOST, 8080, "web") {
        return Err(with_more(
            e,
            &observe::or_error(observe::host().map(|h| localnet_view(&h))),
        ));
    }
    stop_all(vec![web])
}

pub(super) fn localnet_scope(probe: &Probe) -> Verdict {
    let web = serve(probe, "web", WEB)?;
    let host = observe::host()?;
    let wide = widened_localnet(&host);
    if !wide.is_empty() {
        return Err(Outcome::failed(
            format!(
                "route_localnet stays 0 on all, default and {HOST_UPLINK}: set anywhere else \
                 than on {BRIDGE}, it lets other hosts reach the host's 127.0.0.1 services \
                 (CVE-2020-8558)"
            ),
            format!("set on: {}\n{}", wide.join(", "), localnet_view(&host)),
        ));
    }
    stop_all(vec![web])
}

/// The places other than the bridge where route_localnet is on.
pub(super) fn widened_localnet(host: &Netns) -> Vec<String> {
    ["all", "default", HOST_UPLINK]
        .into_iter()
        .filter(|scope| host.sysctls.conf(scope, "route_localnet") != Some("0"))
        .map(String::from)
        .collect()
}

/// `net.ipv4.conf.*.route_localnet` of the scopes that matter, for reports.
pub(super) fn localnet_view(host: &Netns) -> String {
    let lines: Vec<String> = ["all", "default", HOST_UPLINK, BRIDGE]
        .into_iter()
        .map(|scope| {
            format!(
                "net.ipv4.conf.{scope}.route_localnet = {}",
                host.sysctls
                    .conf(scope, "route_localnet")
                    .unwrap_or("(none)")
            )
        })
        .collect();
    format!(
        "lab# sysctl net.ipv4.conf.*.route_localnet\n{}",
        lines.join("\n")
    )
}
