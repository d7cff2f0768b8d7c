//! 02.survivor: when one of two containers stops, its cleanup leaves the other's networking
//! alone: its veth, forwarding, and the MASQUERADE translation it still needs. The survivor
//! proves it with a real client: busybox wget, from inside, to the lab's web server.

use super::{both_views, cable, nat_report, nat_rules, start_second, SLEEP};
use crate::probe::{Probe, Running};
use crate::steps::observe;
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::{FIRST, FIRST_CIDR, GATEWAY};
use lab::addresses::{HOST_ADDR, WEB_ADDR};

/// How long wget may try (no NAT: the reply has no way back, and wget would wait minutes).
const WGET_SECONDS: &str = "5";

pub(super) fn survivor(probe: &Probe) -> Verdict {
    // The first container survives: its cable is the first on the subnet, the one the lab
    // host's replies to 10.0.0.0/24 take while both run.
    let first = probe.start("a", SLEEP)?;
    let second = start_second(probe, "b")?;
    // Step 02 leaves the inside to step 03: the check addresses the survivor itself.
    configure_inside(&first)?;
    fetch(probe, &first, "while both containers run")?;
    let (gone, _) = cable(&second)?;
    second.stop()?;
    let when = format!(
        "after container b stopped (its cable {} gone), while container a still runs",
        gone.name
    );
    let (kept, _) = cable(&first).map_err(|outcome| match outcome {
        Outcome::Failed { expected, observed } => Outcome::failed(
            format!("{when}: a's cable is still there ({expected})"),
            observed,
        ),
        other => other,
    })?;
    let host = observe::host()?;
    if !host.sysctls.ip_forward() {
        return Err(Outcome::failed(
            format!(
                "{when}: net.ipv4.ip_forward still 1, container a still needs it (and so may \
                 other tools on the host: a cleanup never turns it off)"
            ),
            format!(
                "it reads {}",
                host.sysctls.get("net.ipv4.ip_forward").unwrap_or("nothing")
            ),
        ));
    }
    if nat_rules(&host).is_empty() {
        return Err(Outcome::failed(
            format!(
                "{when}: the MASQUERADE rule still there, container a still needs it (remove \
                 the shared rule only with the last container)"
            ),
            format!("none is left:\n{}", nat_report(&host)),
        ));
    }
    if !host.link(&kept.name).is_some_and(|l| l.up) {
        return Err(Outcome::failed(
            format!("{when}: a's cable {} still UP", kept.name),
            both_views(&first),
        ));
    }
    fetch(probe, &first, &when)?;
    first.stop()?;
    Ok(())
}

/// What step 03 will do inside: the container's address, its link up, the default route.
fn configure_inside(container: &Running) -> Result<(), Outcome> {
    let gateway = GATEWAY.to_string();
    let commands: [&[&str]; 3] = [
        &["addr", "add", FIRST_CIDR, "dev", "eth0"],
        &["link", "set", "eth0", "up"],
        &["route", "add", "default", "via", &gateway],
    ];
    for args in commands {
        let output = container.in_netns("ip", args)?;
        if !output.status.success() {
            return Err(Outcome::failed(
                format!(
                    "the container's end of its cable, eth0, can be configured inside (`ip {}`)",
                    args.join(" ")
                ),
                format!("{}\n{}", observe::text(&output), both_views(container)),
            ));
        }
    }
    Ok(())
}

/// wget of the lab's web page from inside `container`, the server seeing the lab host.
fn fetch(probe: &Probe, container: &Running, when: &str) -> Verdict {
    let url = format!("http://{WEB_ADDR}/");
    let wget = container.exec("timeout", &[WGET_SECONDS, "wget", "-qO-", &url])?;
    let page = String::from_utf8_lossy(&wget.stdout).into_owned();
    let client = lab::web::client_of(&page);
    if wget.status.success() && client == Some(HOST_ADDR.to_string().as_str()) {
        return Ok(());
    }
    let said = if observe::killed_by_timeout(&wget.status) {
        format!("no answer within {WGET_SECONDS} s")
    } else if wget.status.success() {
        format!("the server saw {}", client.unwrap_or("no client"))
    } else {
        observe::text(&wget)
    };
    Err(Outcome::failed(
        format!(
            "{when}: wget -qO- {url} inside container {} ({FIRST}) gets the page, the server \
             seeing the lab host {HOST_ADDR}",
            container.name
        ),
        format!(
            "container# wget -qO- {url}\n{said}\n{}\n{}\n{}",
            probe.trace_from(container, &lab::endpoint::To::tcp(WEB_ADDR, 80)),
            observe::or_error(observe::host().map(|h| nat_report(&h))),
            both_views(container)
        ),
    ))
}
