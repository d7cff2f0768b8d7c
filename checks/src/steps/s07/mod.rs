//! Step 07: a pod. A container started with `--net container:NAME` shares NAME's network
//! namespace: the same eth0, address, routes, ports and loopback, and nothing of its own on
//! the lab host. The pod's network lives while any member runs and goes, all of it, with the
//! last one.
//!
//! The namespaces are compared by their identity (`/proc/PID/ns/net`), the links, addresses
//! and routes through the state model (`lab::state`), the traffic with busybox's own clients
//! inside the containers; the holder is judged by what it keeps alive, not by how it is made
//! (a bind mount, a pause process).

mod lifecycle;
mod lock;
mod refusal;
mod sharing;

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::GATEWAY;
use lab::addresses::{HOST_ADDR, WEB_ADDR};
use lab::Profile;
use lifecycle::{address_kept, first_leaves, last_leaves};
use lock::lock;
use refusal::not_running;
use sharing::{localhost, no_host_link, same_network, same_port};
use std::time::Duration;

/// What most containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long the kernel may take to remove a link once its namespace has gone.
const TEARDOWN: Duration = Duration::from_secs(3);
/// How long a container's httpd may take to answer once the container runs.
const SERVER_START: Duration = Duration::from_secs(3);

/// No checks of this set share a lab (see `steps::TOGETHER`).
pub const TOGETHER: &[&[&str]] = &[];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "same-network",
        title: "c2 started with --net container:c1 is in c1's network namespace: the same eth0, \
                address and routes; it reaches its gateway and the internet",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: same_network,
    },
    Check {
        name: "localhost",
        title: "c2 gets c1's web page on 127.0.0.1 and sees its listening port, but not its \
                files",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: localhost,
    },
    Check {
        name: "same-port",
        title: "a member binding a port another member listens on fails loudly (address in use)",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: same_port,
    },
    Check {
        name: "no-host-link",
        title: "a member that joins adds no link, address nor route to the lab host",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: no_host_link,
    },
    Check {
        name: "first-leaves",
        title: "when c1 ends, c2 keeps its network, and c3 can still join it with --net \
                container:c2",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: first_leaves,
    },
    Check {
        name: "address-kept",
        title: "after c1 ended, a new container does not get the address c2 still uses",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: address_kept,
    },
    Check {
        name: "last-leaves",
        title: "when the last member ends (a crashed one does not count), the pod's veth, \
                address and namespace are gone, and nothing of the pod is left",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: last_leaves,
    },
    Check {
        name: "lock",
        title: "joining and leaving a pod wait for the pods' lock (pods/lock): a member never \
                enters a pod that another is removing",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: lock,
    },
    Check {
        name: "not-running",
        title: "--net container:NAME of a container that ended, crashed or never ran is \
                refused in one line, and adds nothing",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: not_running,
    },
];

/// `--net container:NAME`, as options of `run`.
fn join_opts(name: &str) -> [String; 2] {
    ["--net".to_string(), format!("container:{name}")]
}

/// Starts `name` in the pod of `of`, running `args`.
fn join(probe: &Probe, name: &str, of: &str, args: &[&str]) -> Result<Running, Outcome> {
    let options = join_opts(of);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    probe.start_with(name, &options, args)
}

/// c1, then c2 in its pod, both running [`SLEEP`].
fn pod_of_two(probe: &Probe) -> Result<(Running, Running), Outcome> {
    let c1 = probe.start("c1", SLEEP)?;
    let c2 = join(probe, "c2", "c1", SLEEP)?;
    Ok((c1, c2))
}

/// Fails unless `member` is in the network namespace `netns` (`net:[inode]`) of `pod`'s
/// first member `first`.
fn in_namespace(member: &Running, first: &str, netns: &str) -> Verdict {
    let its = member.netns()?;
    if its != netns {
        return Err(Outcome::failed(
            format!(
                "container {} (--net container:{first}) is in {first}'s network namespace",
                member.name
            ),
            format!(
                "{first} is in {netns}, {} in {its}: it got a namespace of its own instead of \
                 entering {first}'s (setns)\n{}",
                member.name,
                observe::or_error(
                    observe::inside(member).map(|n| observe::links_view("its links", &n))
                )
            ),
        ));
    }
    Ok(())
}

/// The address on eth0 in `container`'s namespace, if any.
fn address(container: &Running) -> Option<std::net::Ipv4Addr> {
    let inside = observe::inside(container).ok()?;
    inside.link("eth0")?.addrs.first().map(|(addr, _)| *addr)
}

/// Busybox's ping from `from` to its gateway, and its wget of the lab's web page, which must
/// name the client 198.51.100.2 (masqueraded).
fn reaches_out(probe: &Probe, from: &Running, when: &str) -> Verdict {
    let ping = from.exec("ping", &["-c", "1", "-W", "2", &GATEWAY.to_string()])?;
    if !ping.status.success() {
        return Err(Outcome::failed(
            format!("container {} pings its gateway {GATEWAY} {when}", from.name),
            format!(
                "container# ping -c1 -W2 {GATEWAY}\n{}\n{}",
                observe::text(&ping),
                probe.diagram()
            ),
        ));
    }
    let url = format!("http://{WEB_ADDR}/");
    let wget = from.exec("timeout", &["5", "wget", "-qO-", &url])?;
    let page = String::from_utf8_lossy(&wget.stdout).into_owned();
    if !wget.status.success() || lab::web::client_of(&page) != Some(&HOST_ADDR.to_string()) {
        return Err(Outcome::failed(
            format!(
                "wget -qO- {url} in container {} gets the page {when}, and the server names \
                 the client {HOST_ADDR}",
                from.name
            ),
            format!(
                "container# wget -qO- {url}\n{}\n{}",
                observe::text(&wget),
                probe.diagram()
            ),
        ));
    }
    Ok(())
}

/// Starts `name` in a new pod with a busybox httpd on port 80 serving `page of NAME`, and
/// waits until it answers inside.
fn serve(probe: &Probe, name: &str) -> Result<Running, Outcome> {
    let script = format!(
        "mkdir -p /tmp/www && echo 'page of {name}' > /tmp/www/index.html && \
         httpd -p 80 -h /tmp/www && exec sleep 600"
    );
    let running = probe.start(name, &["sh", "-c", &script])?;
    let answered = observe::poll(SERVER_START, || {
        let wget = running
            .exec("timeout", &["2", "wget", "-qO-", "http://127.0.0.1/"])
            .ok()?;
        wget.status.success().then_some(())
    });
    if answered.is_none() {
        return Err(Outcome::LabError {
            message: format!(
                "the web server of container {name} did not answer on 127.0.0.1:80 inside it \
                 within {} s",
                SERVER_START.as_secs()
            ),
        });
    }
    Ok(running)
}

/// A crash ([`Running::crash`]), waited for: SIGKILL takes effect a moment later, and until
/// then the container still runs (its process is neither gone nor a zombie).
fn dead(container: Running) {
    let pid = container.pid;
    container.crash();
    let _ = observe::poll(TEARDOWN, || (!runs(pid)).then_some(()));
}

/// Whether process `pid` runs: it exists and is not a zombie.
fn runs(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    state.is_some_and(|s| !s.starts_with('Z') && !s.starts_with('X'))
}

