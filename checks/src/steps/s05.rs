//! Step 05: containers on one bridge, each with an address of its own from an allocator that
//! keeps its records on disk.
//!
//! A container's address is read from its own namespace (`ip -j addr show dev eth0`); its
//! host end is found by the peer's ifindex, not by its name. The allocator's records are the
//! files of `$NETLAB_STATE/ipam/` named after an address.

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{learner_trouble, Finished, Probe, Running, START_LIMIT, STOP_LIMIT};
use crate::verdict::{Outcome, Verdict};
use anyhow::{Context, Result};
use lab::addresses::{HOST_ADDR, HOST_UPLINK, WEB_ADDR};
use lab::netcmd;
use lab::Profile;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The bridge, and its address.
const BRIDGE: &str = "netlab0";
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PREFIX: u64 = 24;
/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long the kernel may take to remove a dead container's namespace, and the veth with it.
const TEARDOWN: Duration = Duration::from_secs(3);
/// The port of the container-to-container TCP check.
const PORT: &str = "7000";
/// How many containers start at the same moment in `concurrent`.
const AT_ONCE: usize = 8;

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "addresses",
        title: "three containers get three different addresses of 10.0.0.0/24 on eth0",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: addresses,
    },
    Check {
        name: "bridge",
        title: "netlab0 is an UP bridge with 10.0.0.1/24, every host end plugged into it",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: bridge,
    },
    Check {
        name: "ping-each-other",
        title: "the containers ping each other, both ways",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: ping_each_other,
    },
    Check {
        name: "source-address",
        title: "a TCP connection between two containers arrives from the sender's own address",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: source_address,
    },
    Check {
        name: "internet",
        title: "every container gets the lab's web page; the server sees 198.51.100.2",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: internet,
    },
    Check {
        name: "stop-one",
        title: "stopping one container removes its veth and frees its address; the rest work",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: stop_one,
    },
    Check {
        name: "concurrent",
        title: "eight containers started at the same moment get eight different addresses \
                and add each shared rule once",
        hint: 2,
        limit: Duration::from_secs(30),
        profile: Profile::Fresh,
        run: concurrent,
    },
    Check {
        name: "lock",
        title: "allocation waits while another process holds the flock on ipam/lock",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: lock,
    },
    Check {
        name: "crash",
        title: "the address of a step binary killed with SIGKILL is taken back, not leaked",
        hint: 3,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: crash,
    },
    Check {
        name: "docker-host",
        title: "with FORWARD policy DROP, containers reach the internet and each other; \
                the policy stays DROP",
        hint: 1,
        limit: LIMIT,
        profile: Profile::DockerHost,
        run: docker_host,
    },
    Check {
        name: "cleanup",
        title: "after every container ended: no veth, no address file, no per-container rule",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: cleanup,
    },
];

fn addresses(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b", "c"])?;
    let mut seen: Vec<Ipv4Addr> = Vec::new();
    for container in &running {
        let address = address_of(container)?;
        if seen.contains(&address) {
            return Err(Outcome::failed(
                "each container has an address of its own",
                format!(
                    "{address} twice\n{}\n{}",
                    all_addresses(&running),
                    ipam_view(probe)
                ),
            ));
        }
        seen.push(address);
        let routes = container.in_netns("ip", &["route", "show", "default"])?;
        let routes = observe::text(&routes);
        if !routes.contains(&format!("via {GATEWAY}")) {
            return Err(Outcome::failed(
                format!(
                    "container {} has a default route via {GATEWAY}",
                    container.name
                ),
                format!(
                    "in its namespace: ip route show default\n{}",
                    if routes.is_empty() { "(none)" } else { &routes }
                ),
            ));
        }
    }
    stop_all(running)
}

fn bridge(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b", "c"])?;
    let links = host_links()?;
    let Some(bridge) = links.iter().find(|l| l.name == BRIDGE) else {
        return Err(Outcome::failed(
            format!("the lab host has a bridge {BRIDGE}"),
            lab_view(&["link"]),
        ));
    };
    if bridge.kind != "bridge" || !bridge.up {
        return Err(Outcome::failed(
            format!("{BRIDGE} is a bridge, UP"),
            format!(
                "it is of kind '{}', {}\n{}",
                bridge.kind,
                if bridge.up { "UP" } else { "DOWN" },
                lab_view(&["link"])
            ),
        ));
    }
    let addresses = netcmd::run("ip", &["-j", "addr", "show", "dev", BRIDGE])?;
    let wanted = format!("\"local\":\"{GATEWAY}\",\"prefixlen\":{PREFIX}");
    if !addresses.replace(' ', "").contains(&wanted) {
        return Err(Outcome::failed(
            format!("{BRIDGE} has the address {GATEWAY}/{PREFIX}"),
            lab_view(&["addr"]),
        ));
    }
    for container in &running {
        let host = host_end(container)?;
        if host.master.as_deref() != Some(BRIDGE) || !host.up {
            return Err(Outcome::failed(
                format!(
                    "the host end of every container's veth is UP and plugged into {BRIDGE} \
                     (`master {BRIDGE}`)"
                ),
                format!(
                    "{}'s host end {} has master {} and is {}\n{}",
                    container.name,
                    host.name,
                    host.master.as_deref().unwrap_or("none"),
                    if host.up { "UP" } else { "DOWN" },
                    lab_view(&["link"])
                ),
            ));
        }
    }
    stop_all(running)
}

fn ping_each_other(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b", "c"])?;
    for (from, to) in [(0, 1), (1, 0), (1, 2), (2, 0)] {
        ping(&running[from], &running[to])?;
    }
    stop_all(running)
}

fn source_address(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b"])?;
    let (a, b) = (&running[0], &running[1]);
    let (from, to) = (address_of(a)?, address_of(b)?);
    let listener = Reaped(
        // Busybox's nc ends when its input does: `sleep` keeps it open.
        netcmd::in_container(b.pid, "sh")
            .args(["-c", &format!("sleep 10 | nc -l -p {PORT}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nc -l in container b")?,
    );
    let listen_filter = format!("sport = :{PORT}");
    let listening = observe::poll(Duration::from_secs(3), || {
        let out = b.in_netns("ss", &["-tlnH", &listen_filter]).ok()?;
        (!out.stdout.is_empty()).then_some(())
    });
    if listening.is_none() {
        return Err(Outcome::LabError {
            message: format!("nc -l -p {PORT} did not listen in container b"),
        });
    }
    let client = Reaped(
        netcmd::in_container(a.pid, "sh")
            .args(["-c", &format!("sleep 5 | nc {to} {PORT}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nc in container a")?,
    );
    let peer = observe::poll(Duration::from_secs(4), || {
        let out = b
            .in_netns("ss", &["-tnH", "state", "established", &listen_filter])
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let last = text.split_whitespace().last()?;
        // `10.0.0.2:40086`, or `[::ffff:10.0.0.2]:40086` from a dual-stack socket.
        let ip = last.rsplit_once(':').map_or(last, |(ip, _)| ip);
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Some(ip.trim_start_matches("::ffff:").to_string())
    });
    let expected = format!(
        "a TCP connection from container a ({from}) to container b ({to}:{PORT}) arrives from \
         {from}: traffic between two containers on {BRIDGE} is not masqueraded"
    );
    match peer {
        None => {
            return Err(Outcome::failed(
                expected,
                format!(
                    "no connection arrived within 4 s\n{}",
                    observe::iptables_view(&["-t", "nat", "-S", "POSTROUTING"])
                ),
            ))
        }
        Some(peer) if peer != from.to_string() => {
            return Err(Outcome::failed(
                expected,
                format!(
                    "container b saw the connection come from {peer}{}\n{}",
                    if peer == GATEWAY.to_string() {
                        " (the bridge's address: MASQUERADE rewrote it)"
                    } else {
                        ""
                    },
                    observe::iptables_view(&["-t", "nat", "-S", "POSTROUTING"])
                ),
            ))
        }
        Some(_) => {}
    }
    // The containers first: their end ends nc and sh, which nsenter then reaps. (Killing
    // nsenter first would leave them to the lab's init, and the container's PID namespace
    // could not go away until someone reaped them.)
    stop_all(running)?;
    drop((client, listener));
    Ok(())
}

fn internet(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b", "c"])?;
    for container in &running {
        web(container)?;
    }
    stop_all(running)
}

fn stop_one(probe: &Probe) -> Verdict {
    let mut running = start_all(probe, &["a", "b", "c"])?;
    let b = running.remove(1);
    let host = host_end(&b)?.name;
    let address = address_of(&b)?;
    b.stop()?;
    let gone = observe::poll(TEARDOWN, || {
        let links = host_links().ok()?;
        (!links.iter().any(|l| l.name == host)).then_some(())
    });
    if gone.is_none() {
        return Err(Outcome::failed(
            format!("after container b stopped, its host end {host} is gone"),
            lab_view(&["link"]),
        ));
    }
    if leases(probe)?.iter().any(|(a, _)| *a == address) {
        return Err(Outcome::failed(
            format!("after container b stopped, its address {address} is free again"),
            format!("it is still recorded\n{}", ipam_view(probe)),
        ));
    }
    ping(&running[0], &running[1])?;
    ping(&running[1], &running[0])?;
    stop_all(running)
}

fn concurrent(probe: &Probe) -> Verdict {
    let names: Vec<String> = (1..=AT_ONCE).map(|i| format!("c{i}")).collect();
    let mut started: Vec<Spawned> = Vec::new();
    for name in &names {
        started.push(spawn(probe, name)?);
    }
    let deadline = Instant::now() + START_LIMIT;
    let mut pids = vec![None; started.len()];
    while pids.iter().any(Option::is_none) {
        for (i, s) in started.iter_mut().enumerate() {
            if pids[i].is_some() {
                continue;
            }
            pids[i] = s.pid(probe);
            if pids[i].is_none() {
                if let Ok(Some(_)) = s.child.try_wait() {
                    let finished = s.finish()?;
                    return Err(Outcome::failed(
                        format!("{AT_ONCE} containers started at the same moment all run"),
                        format!(
                            "container {} ended at once:\n{}\n{}",
                            s.name,
                            finished.output(),
                            ipam_view(probe)
                        ),
                    ));
                }
            }
        }
        if Instant::now() > deadline {
            return Err(Outcome::TimedOut {
                seconds: START_LIMIT.as_secs(),
                doing: format!("starting {AT_ONCE} containers at once"),
            });
        }
        thread::sleep(Duration::from_millis(5));
    }
    let mut seen: Vec<(Ipv4Addr, String)> = Vec::new();
    for (s, pid) in started.iter().zip(&pids) {
        let Some(pid) = *pid else {
            return Err(anyhow::anyhow!("container {} has no PID", s.name).into());
        };
        let output = netcmd::in_netns_of(pid, "ip")
            .args(["-j", "addr", "show", "dev", "eth0"])
            .stdin(Stdio::null())
            .output()
            .context("running ip in a container's network namespace")?;
        let address = observe::inet(&output.stdout, Some(PREFIX))?;
        seen.push((address.unwrap_or(Ipv4Addr::UNSPECIFIED), s.name.clone()));
    }
    let mut addresses: Vec<Ipv4Addr> = seen.iter().map(|(a, _)| *a).collect();
    addresses.sort();
    addresses.dedup();
    if addresses.len() != AT_ONCE || addresses.contains(&Ipv4Addr::UNSPECIFIED) {
        let shown: Vec<String> = seen.iter().map(|(a, n)| format!("{n}: {a}")).collect();
        return Err(Outcome::failed(
            format!(
                "{AT_ONCE} containers started at the same moment get {AT_ONCE} different \
                 addresses (the allocator holds its lock while it picks and records one)"
            ),
            format!("{}\n{}", shown.join(", "), ipam_view(probe)),
        ));
    }
    let twice = duplicate_rules()?;
    if !twice.is_empty() {
        return Err(Outcome::failed(
            format!(
                "{AT_ONCE} containers started at the same moment add each shared rule once \
                 (`iptables -C` then `-A` is one step under a lock: the given ensure_rule)"
            ),
            format!("rules present more than once:\n{}", twice.join("\n")),
        ));
    }
    for s in started {
        s.stop()?;
    }
    Ok(())
}

/// How long a container must stay unstarted while the check holds the allocation lock.
const LOCK_HELD: Duration = Duration::from_millis(1500);

fn lock(probe: &Probe) -> Verdict {
    // The race `concurrent` looks for is a matter of microseconds: an allocator without its
    // lock passes it more often than not. Holding the lock ourselves shows it deterministically.
    let dir = ipam(probe);
    std::fs::create_dir_all(&dir).context("creating ipam/")?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .context("opening ipam/lock")?;
    let held = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking ipam/lock")?;
    let mut first = spawn(probe, "a")?;
    let deadline = Instant::now() + LOCK_HELD;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = first.child.try_wait() {
            let finished = first.finish()?;
            return Err(Outcome::failed(
                "the container waits for the allocation lock",
                format!("it ended at once:\n{}", finished.output()),
            ));
        }
        if first.pid(probe).is_some() || !leases(probe)?.is_empty() {
            return Err(Outcome::failed(
                "while another process holds the flock on $NETLAB_STATE/ipam/lock, a new \
                 container waits: its allocation takes the same lock",
                format!(
                    "it allocated an address and started anyway\n{}",
                    ipam_view(probe)
                ),
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
    drop(held);
    let started = observe::poll(START_LIMIT, || first.pid(probe));
    if started.is_none() {
        if let Ok(Some(_)) = first.child.try_wait() {
            first.finish()?;
        }
        return Err(Outcome::failed(
            "once the lock is released, the waiting container starts",
            format!("it did not start within {} s", START_LIMIT.as_secs()),
        ));
    }
    first.stop()?;
    Ok(())
}

fn crash(probe: &Probe) -> Verdict {
    let mut first = spawn(probe, "a")?;
    let deadline = Instant::now() + START_LIMIT;
    let pid = loop {
        if let Some(pid) = first.pid(probe) {
            break pid;
        }
        if let Ok(Some(_)) = first.child.try_wait() {
            let finished = first.finish()?;
            return Err(Outcome::failed(
                "the container keeps running",
                format!("it ended at once:\n{}", finished.output()),
            ));
        }
        if Instant::now() > deadline {
            return Err(Outcome::TimedOut {
                seconds: START_LIMIT.as_secs(),
                doing: "starting a container".to_string(),
            });
        }
        thread::sleep(Duration::from_millis(5));
    };
    let before = leases(probe)?;
    // Its host end, by the peer's ifindex (a runtime names it as it likes: `veth<pid>`, CNI's
    // `veth<8 hex>`).
    let host = host_end_of(pid, "a").ok().map(|l| l.name);
    // A crash: the step binary dies without its cleanup, then its container.
    let _ = first.child.kill();
    let _ = first.child.wait();
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    // The kernel removes the veth with the namespace; a runtime that pins namespaces (CNI's)
    // keeps it until its next garbage collection. Either way, the next allocation must not
    // leak the address.
    if let Some(host) = host {
        let _ = observe::poll(TEARDOWN, || {
            let links = host_links().ok()?;
            (!links.iter().any(|l| l.name == host)).then_some(())
        });
    }
    // Only container a ran: every record there was is its.
    let stale: Vec<Ipv4Addr> = before.iter().map(|(a, _)| *a).collect();
    if stale.is_empty() {
        return Err(Outcome::failed(
            "while a container runs, its address is recorded in $NETLAB_STATE/ipam/ (a file \
             named after the address)",
            ipam_view(probe),
        ));
    }
    let second = probe.start("b", SLEEP)?;
    let after = leases(probe)?;
    let left: Vec<String> = stale
        .iter()
        .filter(|a| after.iter().any(|(b, _)| b == *a))
        .map(|a| a.to_string())
        .collect();
    let taken = address_of(&second)?;
    if !left.is_empty() && !stale.contains(&taken) {
        return Err(Outcome::failed(
            "the address of a step binary killed with SIGKILL is taken back by the next \
             allocation (its owner's PID is gone from /proc)",
            format!(
                "the record of {} is still there, and the next container got {taken}\n{}",
                left.join(", "),
                ipam_view(probe)
            ),
        ));
    }
    second.stop()?;
    Ok(())
}

fn docker_host(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b"])?;
    web(&running[0])?;
    ping(&running[0], &running[1])?;
    ping(&running[1], &running[0])?;
    policy_is_drop("while the containers run")?;
    stop_all(running)?;
    policy_is_drop("after the containers ended")
}

fn cleanup(probe: &Probe) -> Verdict {
    let running = start_all(probe, &["a", "b", "c"])?;
    let mut hosts = Vec::new();
    for container in &running {
        hosts.push(host_end(container)?.name);
    }
    stop_all(running)?;
    let left = observe::poll(TEARDOWN, || {
        let links = host_links().ok()?;
        let veths: Vec<String> = links
            .iter()
            .filter(|l| l.kind == "veth" && l.name != HOST_UPLINK)
            .map(|l| l.name.clone())
            .collect();
        veths.is_empty().then_some(())
    });
    let mut wrong = Vec::new();
    if left.is_none() {
        wrong.push(format!("veths are left\n{}", lab_view(&["link"])));
    }
    let records = leases(probe)?;
    if !records.is_empty() {
        wrong.push(format!("address files are left\n{}", ipam_view(probe)));
    }
    let rules = netcmd::run("iptables-save", &[])?;
    let per_container: Vec<&str> = rules
        .lines()
        .filter(|l| {
            hosts.iter().any(|h| l.contains(h.as_str()))
                || (l.contains("10.0.0.") && !l.contains("10.0.0.0/24"))
        })
        .collect();
    if !per_container.is_empty() {
        wrong.push(format!(
            "rules for one container are left:\n{}",
            per_container.join("\n")
        ));
    }
    let twice = duplicate_rules()?;
    if !twice.is_empty() {
        wrong.push(format!(
            "shared rules were added more than once (`iptables -C` before `-A`):\n{}",
            twice.join("\n")
        ));
    }
    if !wrong.is_empty() {
        return Err(Outcome::failed(
            "after every container ended, no veth (besides the lab's uplink), no address file \
             and no rule for one container remain (the bridge and the shared rules may stay, \
             each once)",
            wrong.join("\n"),
        ));
    }
    Ok(())
}

/// Starts the containers one after the other, each running [`SLEEP`].
fn start_all(probe: &Probe, names: &[&str]) -> Result<Vec<Running>, Outcome> {
    let mut running = Vec::new();
    for name in names {
        running.push(probe.start(name, SLEEP)?);
    }
    Ok(running)
}

fn stop_all(running: Vec<Running>) -> Verdict {
    for container in running {
        container.stop()?;
    }
    Ok(())
}

/// The container's address: on its eth0, in 10.0.0.0/24, not the network, the gateway nor
/// the broadcast address.
fn address_of(container: &Running) -> Result<Ipv4Addr, Outcome> {
    let output = container.in_netns("ip", &["-j", "addr", "show", "dev", "eth0"])?;
    let address = observe::inet(&output.stdout, Some(PREFIX))?;
    let usable = |a: &Ipv4Addr| {
        let [n1, n2, n3, host] = a.octets();
        (n1, n2, n3) == (10, 0, 0) && host > 1 && host < 255
    };
    match address {
        Some(a) if usable(&a) => Ok(a),
        _ => Err(Outcome::failed(
            format!(
                "container {} has an address of 10.0.0.0/24 on eth0 (not .0, .1 nor .255), \
                 with the prefix /{PREFIX}",
                container.name
            ),
            format!(
                "in its namespace: ip addr show dev eth0\n{}",
                observe::text(&container.in_netns("ip", &["addr", "show", "dev", "eth0"])?)
            ),
        )),
    }
}

fn all_addresses(running: &[Running]) -> String {
    running
        .iter()
        .map(|c| {
            let shown = c
                .in_netns("ip", &["-br", "addr", "show", "dev", "eth0"])
                .map_or_else(|e| format!("{e:#}"), |o| observe::text(&o));
            format!("{}: {shown}", c.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One interface of the lab host, as `ip -j -d link` describes it.
#[derive(Debug, Clone)]
struct Link {
    name: String,
    ifindex: u64,
    kind: String,
    master: Option<String>,
    up: bool,
}

fn host_links() -> Result<Vec<Link>> {
    let text = netcmd::run("ip", &["-j", "-d", "link", "show"])?;
    Ok(observe::ip_json(text.as_bytes(), "ip -j link")?
        .iter()
        .map(|l| Link {
            name: l["ifname"].as_str().unwrap_or("?").to_string(),
            ifindex: l["ifindex"].as_u64().unwrap_or(0),
            kind: l["linkinfo"]["info_kind"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            master: l["master"].as_str().map(str::to_string),
            up: observe::is_up(l),
        })
        .collect())
}

/// For failures: what `ip -br` shows on the lab host, then the diagram of the whole lab
/// (namespaces, cables, bridge ports, routes, NAT), as `cargo xtask show` draws it.
fn lab_view(what: &[&str]) -> String {
    format!("{}\n{}", observe::lab_view(what), crate::show::diagram())
}

/// The lab host's end of the container's veth: the link whose ifindex its eth0 names.
fn host_end(container: &Running) -> Result<Link, Outcome> {
    host_end_of(container.pid, &container.name)
}

/// The lab host's end of the veth whose other end is `eth0` in process `pid`'s namespace.
fn host_end_of(pid: i32, name: &str) -> Result<Link, Outcome> {
    let output = netcmd::in_netns_of(pid, "ip")
        .args(["-j", "link", "show", "dev", "eth0"])
        .stdin(Stdio::null())
        .output()
        .context("running ip in the container's network namespace")?;
    let peer = observe::ip_json(&output.stdout, "ip -j link")?
        .first()
        .and_then(|l| l["link_index"].as_u64());
    let links = host_links()?;
    peer.and_then(|p| {
        links
            .iter()
            .find(|l| l.ifindex == p && l.kind == "veth")
            .cloned()
    })
    .ok_or_else(|| {
        Outcome::failed(
            format!(
                "container {name}'s eth0 is one end of a veth pair whose other end is on the lab host"
            ),
            lab_view(&["link"]),
        )
    })
}

/// Busybox's ping from one container to another's address.
fn ping(from: &Running, to: &Running) -> Verdict {
    let target = address_of(to)?.to_string();
    let ping = from.exec("ping", &["-c", "1", "-W", "2", &target])?;
    if !ping.status.success() {
        return Err(Outcome::failed(
            format!(
                "container {} pings container {} ({target})",
                from.name, to.name
            ),
            format!(
                "container# ping -c1 -W2 {target}\n{}\n{}\n{}",
                observe::text(&ping),
                lab_view(&["link"]),
                observe::iptables_view(&["-S", "FORWARD"])
            ),
        ));
    }
    Ok(())
}

/// wget of the lab's web page from inside `container`; the server must see the lab host.
fn web(container: &Running) -> Verdict {
    let url = format!("http://{WEB_ADDR}/");
    let wget = container.exec("timeout", &["5", "wget", "-qO-", &url])?;
    let page = String::from_utf8_lossy(&wget.stdout).into_owned();
    let client = lab::web::client_of(&page).map(str::to_string);
    if !wget.status.success() || client != Some(HOST_ADDR.to_string()) {
        return Err(Outcome::failed(
            format!(
                "wget -qO- {url} in container {} gets the page, and the server names the client \
                 {HOST_ADDR} (masqueraded)",
                container.name
            ),
            format!(
                "container# wget -qO- {url}\n{}\n{}\n{}",
                observe::text(&wget),
                observe::iptables_view(&["-t", "nat", "-S", "POSTROUTING"]),
                observe::iptables_view(&["-S", "FORWARD"])
            ),
        ));
    }
    Ok(())
}

fn policy_is_drop(when: &str) -> Verdict {
    let listing = netcmd::run("iptables", &["-w", "-S", "FORWARD"])?;
    if !listing.lines().any(|l| l.trim() == "-P FORWARD DROP") {
        return Err(Outcome::failed(
            format!(
                "the FORWARD policy stays DROP {when}: explicit ACCEPT rules for {BRIDGE}, \
                 never a change of policy"
            ),
            format!("lab# iptables -S FORWARD\n{}", listing.trim_end()),
        ));
    }
    Ok(())
}

/// The allocator's records: every file of `ipam/` named after an address, with its text.
fn leases(probe: &Probe) -> Result<Vec<(Ipv4Addr, String)>> {
    let dir = ipam(probe);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if let Some(address) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
        {
            found.push((address, std::fs::read_to_string(&path).unwrap_or_default()));
        }
    }
    found.sort();
    Ok(found)
}

fn ipam(probe: &Probe) -> PathBuf {
    probe.lab.paths().state.join("ipam")
}

/// `$NETLAB_STATE/ipam/`, for reports.
fn ipam_view(probe: &Probe) -> String {
    let shown = match leases(probe) {
        Ok(found) if found.is_empty() => "(no address files)".to_string(),
        Ok(found) => found
            .iter()
            .map(|(a, text)| {
                format!(
                    "{a}: {}",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("{e:#}"),
    };
    format!("lab# ls $NETLAB_STATE/ipam\n{shown}")
}

/// The rules (`-A ...` lines of `iptables-save`, with their table) present more than once.
fn duplicate_rules() -> Result<Vec<String>> {
    let saved = netcmd::run("iptables-save", &[])?;
    let mut table = "";
    let mut seen: Vec<String> = Vec::new();
    let mut twice: Vec<String> = Vec::new();
    for line in saved.lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = name;
        } else if line.starts_with("-A ") {
            let rule = format!("-t {table} {line}");
            if seen.contains(&rule) {
                if !twice.contains(&rule) {
                    twice.push(rule);
                }
            } else {
                seen.push(rule);
            }
        }
    }
    Ok(twice)
}

/// A helper process (nsenter), reaped when dropped; killed first if it still runs.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A step binary started without waiting for its container (to start several at once, or
/// to kill it).
struct Spawned {
    name: String,
    child: Child,
    output: Option<thread::JoinHandle<(String, String)>>,
}

fn spawn(probe: &Probe, name: &str) -> Result<Spawned, Outcome> {
    let mut command: Command = probe.lab.step_command(&probe.binary);
    let mut child = command
        .args(["run", "--name", name, "--"])
        .args(SLEEP)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the step binary")?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let output = thread::spawn(move || {
        let err = thread::spawn(move || {
            let mut text = String::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.read_to_string(&mut text);
            }
            text
        });
        let mut out = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_string(&mut out);
        }
        (out, err.join().unwrap_or_default())
    });
    Ok(Spawned {
        name: name.to_string(),
        child,
        output: Some(output),
    })
}

impl Spawned {
    /// The container's PID, once it runs.
    fn pid(&self, probe: &Probe) -> Option<i32> {
        let file = container::protocol::layout::pid_file(&probe.lab.paths().state, &self.name);
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// Waits for the step binary's end (killing it past STOP_LIMIT) and reads what it said;
    /// learner trouble (a TODO, a panic, a failing hook) is an outcome.
    fn finish(&mut self) -> Result<Finished, Outcome> {
        let deadline = Instant::now() + STOP_LIMIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let (stdout, stderr) = self
            .output
            .take()
            .and_then(|o| o.join().ok())
            .unwrap_or_default();
        let Some(status) = status else {
            return Err(Outcome::TimedOut {
                seconds: STOP_LIMIT.as_secs(),
                doing: format!("stopping container {}", self.name),
            });
        };
        use std::os::unix::process::ExitStatusExt;
        let status = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        learner_trouble(Finished {
            status,
            stdout,
            stderr,
        })
    }

    /// SIGTERM, as a user stops a container, then [`Spawned::finish`].
    fn stop(mut self) -> Result<Finished, Outcome> {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        self.finish()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
