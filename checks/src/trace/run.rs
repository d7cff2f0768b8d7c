//! Following one probe through the lab: a temporary table `inet netlab_trace` in every
//! namespace of the lab marks the flow's packets (`meta nftrace set 1`) and hooks a last chain
//! at each hook, `nft monitor trace` in each namespace records what every chain did, one real
//! probe is sent (a TCP connection, or a ping), and the tables are deleted again.
//!
//! Only the lab's namespaces: the lab host, its internet and its containers. Every command
//! runs through [`Place`], which refuses the caller's real namespace; the programs are the
//! machine's (`nft`, `ip`) and the lab's own busybox, never one found inside a container.

use super::parse::{self, PacketTrace};
use anyhow::{bail, Context, Result};
use lab::addresses::HOST_ADDR;
use lab::endpoint::{From, To, ToHost};
use lab::netcmd;
use lab::state::{Netns, Parts, Place, Start, Where};
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The temporary table's name.
pub const TABLE: &str = "netlab_trace";
/// How long a TCP connection may take.
const CONNECT: Duration = Duration::from_secs(3);
/// How long the monitors get to report the last events.
const SETTLE: Duration = Duration::from_millis(300);
/// How long a monitor may take to subscribe to the trace events.
const SUBSCRIBE: Duration = Duration::from_secs(3);

/// What a namespace is to the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Internet,
    Container,
}

/// One of the lab's namespaces.
#[derive(Debug, Clone)]
pub struct Space {
    /// `lab host`, `internet`, `c1`.
    pub name: String,
    pub role: Role,
    pub place: Place,
}

/// The lab's namespaces, and the busybox its probes use.
#[derive(Debug, Clone)]
pub struct Spaces {
    pub list: Vec<Space>,
    /// The lab's root filesystem (its `bin/busybox` pings).
    pub rootfs: PathBuf,
}

impl Space {
    /// `program` in this namespace: the machine's, found in [`netcmd::TOOL_PATH`].
    fn command(&self, program: &str) -> Result<Command> {
        self.place.check(program)?;
        let mut command = match self.place.at {
            Where::Here => Command::new(program),
            Where::Pid(pid) => netcmd::in_netns_of(pid, program),
        };
        command.env("PATH", netcmd::TOOL_PATH);
        Ok(command)
    }

    /// `nft -f -` with `script`.
    fn nft_script(&self, script: &str) -> Result<()> {
        let mut child = self
            .command("nft")?
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run nft: is it installed?")?;
        child
            .stdin
            .take()
            .context("nft's stdin")?
            .write_all(script.as_bytes())
            .context("writing to nft")?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "nft in {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Runs `ip args` here; its output, or the error it printed.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        self.place.run("ip", args)
    }

    /// A sysctl of this namespace.
    pub fn sysctl(&self, key: &str) -> Option<String> {
        self.place
            .in_thread("a sysctl", || netcmd::sysctl(key).ok())
            .ok()
            .flatten()
    }
}

impl Spaces {
    /// The space called `name`.
    pub fn get(&self, name: &str) -> Option<&Space> {
        self.list.iter().find(|s| s.name == name)
    }

    fn host(&self) -> Result<&Space> {
        self.list
            .iter()
            .find(|s| s.role == Role::Host)
            .context("the lab has no lab host")
    }

    fn containers(&self) -> Vec<&str> {
        self.list
            .iter()
            .filter(|s| s.role == Role::Container)
            .map(|s| s.name.as_str())
            .collect()
    }

    /// The space a probe is sent from.
    pub fn source(&self, from: &From) -> Result<&Space> {
        let found = match from {
            From::Host => self.list.iter().find(|s| s.role == Role::Host),
            From::Internet => self.list.iter().find(|s| s.role == Role::Internet),
            From::Container(name) => self
                .list
                .iter()
                .find(|s| s.role == Role::Container && &s.name == name),
        };
        found.ok_or_else(|| anyhow::anyhow!("{}", self.unknown(&from.to_string())))
    }

    fn unknown(&self, name: &str) -> String {
        let running = self.containers();
        if running.is_empty() {
            format!("no container '{name}' runs in this lab (none runs)")
        } else {
            format!(
                "no container '{name}' runs in this lab (running: {})",
                running.join(", ")
            )
        }
    }

    /// The address a probe goes to.
    pub fn address(&self, to: &To) -> Result<Ipv4Addr> {
        match &to.host {
            ToHost::Addr(ip) => Ok(*ip),
            ToHost::Host => Ok(HOST_ADDR),
            ToHost::Container(name) => {
                let space = self
                    .list
                    .iter()
                    .find(|s| s.role == Role::Container && &s.name == name)
                    .ok_or_else(|| anyhow::anyhow!("{}", self.unknown(name)))?;
                let links = lab::state::link::read(&space.place)?;
                links
                    .iter()
                    .filter(|l| l.name != "lo")
                    .flat_map(|l| l.addrs.iter().map(|(ip, _)| *ip))
                    .next()
                    .with_context(|| format!("container {name} has no IPv4 address"))
            }
        }
    }
}

/// What the probe gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Connected, or the ping answered.
    Answered,
    /// Connection refused (a reset came back).
    Refused,
    /// Nothing came back in time.
    NoAnswer,
    /// The sender's kernel refused at once (no route, ...): its words.
    Error(String),
}

/// One traced packet: in which namespace, when its first event arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub space: String,
    pub trace: PacketTrace,
    /// Which packet of the flow it is (the same in every namespace it crossed), from 0.
    pub journey: usize,
    /// The bridge port it came in by, when it came in by a bridge.
    pub port: Option<String>,
}

/// What identifies one packet in every namespace it crosses: protocol, TCP flags or ICMP
/// type, and the IP header's identification (NAT keeps all three).
fn identity(seen: &Seen) -> (Option<u16>, Option<String>, Option<String>, Option<String>) {
    let first = seen.trace.visits.first().map(|v| &v.packet);
    (
        first.and_then(|p| p.ip_id),
        first.and_then(|p| p.proto.clone()),
        first.and_then(|p| p.tcp_flags()),
        first.and_then(|p| p.icmp.clone()),
    )
}

/// Puts the packets seen in order: each packet's namespaces along its way (the sender's
/// first, then by falling TTL), the packets by when they were first seen. The monitors of
/// different namespaces report with different delays: their times alone would mix up a
/// packet's way.
pub fn order(mut seen: Vec<Seen>) -> Vec<Seen> {
    seen.sort_by_key(|s| s.at);
    let mut groups: Vec<Vec<Seen>> = Vec::new();
    for one in seen {
        let key = identity(&one);
        let open = groups.iter_mut().find(|g| {
            identity(&g[0]) == key && key.0.is_some() && !g.iter().any(|s| s.space == one.space)
        });
        match open {
            Some(group) => group.push(one),
            None => groups.push(vec![one]),
        }
    }
    let mut ordered = Vec::new();
    for (journey, mut group) in groups.into_iter().enumerate() {
        group.sort_by_key(|s| {
            let first = s.trace.visits.first();
            let ttl = first.and_then(|v| v.packet.ttl).unwrap_or(0);
            // At the same TTL (bridged, not routed): the sender, then who forwards, then who
            // receives.
            let hooks = super::render::hooks(&s.trace);
            let rank = if hooks.first() == Some(&"output") {
                0
            } else if hooks.contains(&"forward") {
                1
            } else {
                2
            };
            (std::cmp::Reverse(ttl), rank)
        });
        for mut one in group {
            one.journey = journey;
            ordered.push(one);
        }
    }
    ordered
}

/// Everything a trace found, for [`super::render`].
#[derive(Debug, Clone)]
pub struct Found {
    /// `tcp from c1 to 203.0.113.80:80`.
    pub flow: String,
    pub src_space: String,
    /// `tcp`, `udp` or `ping`.
    pub proto: &'static str,
    pub dst: Ipv4Addr,
    /// The ports of the flow (the one asked for and where DNAT sends it); none for ping.
    pub ports: Vec<u16>,
    pub outcome: Outcome,
    pub seen: Vec<Seen>,
    /// conntrack's entries for the flow, on the lab host.
    pub conntrack: Vec<String>,
    /// What could not be seen or done.
    pub notes: Vec<String>,
}

/// The table, and the rules marking the flow's packets.
fn table_script(proto: &str, ports: &[u16]) -> String {
    // ICMP always: the echo of a ping, and the errors about a connection (port or host
    // unreachable).
    let marks = if ports.is_empty() {
        "meta l4proto icmp meta nftrace set 1;".to_string()
    } else {
        let set = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "meta l4proto {proto} th dport {{ {set} }} meta nftrace set 1; \
             meta l4proto {proto} th sport {{ {set} }} meta nftrace set 1; \
             meta l4proto icmp icmp type {{ destination-unreachable, time-exceeded }} \
             meta nftrace set 1;"
        )
    };
    // Created empty first, so that the delete never fails: the whole script is one
    // transaction, and a table left by an interrupted trace is replaced.
    let mut script =
        format!("table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n");
    for (hook, priority, mark) in [
        ("prerouting", "-350", true),
        ("output", "-350", true),
        ("input", "500", false),
        ("forward", "500", false),
        ("postrouting", "500", false),
    ] {
        script.push_str(&format!(
            "  chain {hook} {{ type filter hook {hook} priority {priority}; policy accept; {} }}\n",
            if mark { marks.as_str() } else { "" }
        ));
    }
    script.push_str("}\n");
    script
}

/// The tables installed, deleted when dropped.
struct Installed<'a> {
    spaces: Vec<&'a Space>,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        for space in &self.spaces {
            let _ = space.nft_script(&format!("delete table inet {TABLE}\n"));
        }
    }
}

/// A running `nft monitor trace`, its lines collected with the time they arrived.
struct Monitor {
    space: String,
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Monitor {
    fn start(space: &Space) -> Result<Monitor> {
        let mut child = space
            .command("nft")?
            .args(["monitor", "trace"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run nft monitor trace")?;
        let stdout = child.stdout.take().context("nft monitor's output")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut lines) = sink.lock() {
                    lines.push((Instant::now(), line));
                }
            }
        });
        Ok(Monitor {
            space: space.name.clone(),
            child,
            lines,
            reader: Some(reader),
        })
    }

    /// Stops the monitor; its lines.
    fn stop(mut self) -> Vec<(Instant, String)> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Waits (up to [`SUBSCRIBE`]) until a netlink socket of `space`'s namespace listens to
/// nf_tables' trace events: netfilter's family (12) with the group NFNLGRP_NFTRACE (9, bit
/// 0x100) in `/proc/net/netlink`. Only then may the probe go.
fn subscribed(space: &Space) -> bool {
    let file = match space.place.at {
        Where::Here => "/proc/thread-self/net/netlink".to_string(),
        Where::Pid(pid) => format!("/proc/{pid}/net/netlink"),
    };
    let deadline = Instant::now() + SUBSCRIBE;
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let listening = text.lines().skip(1).any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.get(1) == Some(&"12")
                && words
                    .get(3)
                    .and_then(|g| u32::from_str_radix(g, 16).ok())
                    .is_some_and(|groups| groups & 0x100 != 0)
        });
        if listening {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The ports of a TCP flow to `dst:port`: the one asked for, and where the lab host's DNAT
/// rules send it (as its model of netfilter says), so that both ends of the flow are marked.
fn flow_ports(host: &Space, dst: Ipv4Addr, port: u16, udp: bool) -> Vec<u16> {
    let mut ports = vec![port];
    let netns = Netns::read_parts(
        &host.place,
        Parts {
            netfilter: true,
            ..Parts::NETWORK
        },
    );
    for (src, start) in [
        (
            lab::addresses::ROUTER_ADDR,
            Start::Arrives(lab::addresses::HOST_UPLINK.to_string()),
        ),
        (HOST_ADDR, Start::Sent),
    ] {
        let packet = match udp {
            true => lab::state::netfilter::Packet::udp(src, dst, port),
            false => lab::state::netfilter::Packet::tcp(src, dst, port),
        };
        if let Some((_, to_port)) = netns.dnat(start, packet) {
            if !ports.contains(&to_port) {
                ports.push(to_port);
            }
        }
    }
    ports
}

/// Sends the probe from `space`.
fn probe(spaces: &Spaces, space: &Space, dst: Ipv4Addr, to: &To) -> Result<Outcome> {
    match to.port {
        Some(port) if to.udp => {
            let addr = SocketAddr::from((dst, port));
            space.place.in_thread("a UDP datagram", || udp_probe(addr))
        }
        Some(port) => {
            let addr = SocketAddr::from((dst, port));
            space.place.in_thread("a TCP connection", || {
                match TcpStream::connect_timeout(&addr, CONNECT) {
                    Ok(stream) => {
                        drop(stream);
                        Outcome::Answered
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Outcome::Refused,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Outcome::NoAnswer,
                    Err(e) => Outcome::Error(e.to_string()),
                }
            })
        }
        None => {
            let busybox = spaces.rootfs.join("bin/busybox");
            let busybox = busybox.to_string_lossy();
            let dst = dst.to_string();
            let output = space
                .command(&busybox)?
                .args(["ping", "-c", "1", "-W", "2", &dst])
                .stdin(Stdio::null())
                .output()
                .context("running busybox ping")?;
            Ok(if output.status.success() {
                Outcome::Answered
            } else {
                let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
                if said.is_empty() {
                    Outcome::NoAnswer
                } else {
                    Outcome::Error(said)
                }
            })
        }
    }
}

/// One datagram to `addr` (a DNS query for the web server's name, to port 53), and its
/// answer within [`CONNECT`].
fn udp_probe(addr: SocketAddr) -> Outcome {
    let socket = match std::net::UdpSocket::bind("0.0.0.0:0") {
        Ok(socket) => socket,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let sent = socket
        .connect(addr)
        .and_then(|()| socket.set_read_timeout(Some(CONNECT)))
        .and_then(|()| socket.send(&dns_query(&format!("web.{}", lab::addresses::DOMAIN))));
    if let Err(e) = sent {
        return Outcome::Error(e.to_string());
    }
    let mut answer = [0u8; 512];
    match socket.recv(&mut answer) {
        Ok(_) => Outcome::Answered,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Outcome::Refused,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Outcome::NoAnswer
        }
        Err(e) => Outcome::Error(e.to_string()),
    }
}

/// A DNS query (recursion desired) for the A record of `name`.
pub fn dns_query(name: &str) -> Vec<u8> {
    let mut query = vec![0x4e, 0x4c, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 1, 0, 1]);
    query
}

/// conntrack's entries of the flow in `space`, from `/proc/net/nf_conntrack`.
fn conntrack(space: &Space, dst: Ipv4Addr, ports: &[u16]) -> Result<Vec<String>, String> {
    space
        .place
        .check("conntrack")
        .map_err(|e| format!("{e:#}"))?;
    // `/proc/PID/net` is the network namespace of that process.
    let file = match space.place.at {
        Where::Here => "/proc/thread-self/net/nf_conntrack".to_string(),
        Where::Pid(pid) => format!("/proc/{pid}/net/nf_conntrack"),
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|_| "unavailable (no /proc/net/nf_conntrack here)".to_string())?;
    let dst = format!("dst={dst} ");
    Ok(text
        .lines()
        .filter(|l| l.contains(&dst))
        .filter(|l| {
            ports.is_empty() && l.contains(" icmp ")
                || ports.iter().any(|p| l.contains(&format!("dport={p} ")))
        })
        .map(short_conntrack)
        .collect())
}

/// `ipv4 2 tcp 6 119 TIME_WAIT src=.. dst=.. sport=.. dport=.. src=.. ...` in fewer words:
/// `tcp TIME_WAIT 10.0.0.2:1 > 203.0.113.80:80, replies 203.0.113.80:80 > 198.51.100.2:1`.
pub fn short_conntrack(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let proto = words.get(2).copied().unwrap_or("?");
    let state = words
        .iter()
        .skip(5)
        .find(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !w.is_empty())
        .copied();
    let value = |key: &str, nth: usize| {
        words
            .iter()
            .filter_map(|w| w.strip_prefix(key))
            .nth(nth)
            .unwrap_or("?")
    };
    let end = |nth: usize, which: &str| {
        let ip = value(&format!("{which}="), nth);
        match words.iter().any(|w| w.starts_with("sport=")) {
            true => format!(
                "{ip}:{}",
                value(if which == "src" { "sport=" } else { "dport=" }, nth)
            ),
            false => ip.to_string(),
        }
    };
    let flags: Vec<&str> = words
        .iter()
        .filter(|w| w.starts_with('['))
        .copied()
        .collect();
    let mut text = proto.to_string();
    if let Some(state) = state {
        text.push_str(&format!(" {state}"));
    }
    text.push_str(&format!(
        " {} > {}, replies expected as {} > {}",
        end(0, "src"),
        end(0, "dst"),
        end(1, "src"),
        end(1, "dst")
    ));
    if !flags.is_empty() {
        text.push_str(&format!(" {}", flags.join(" ")));
    }
    text
}

/// Traces one probe from `from` to `to` through the lab's `spaces`.
pub fn trace(spaces: &Spaces, from: &From, to: &To) -> Result<Found> {
    let source = spaces.source(from)?;
    let dst = spaces.address(to)?;
    let host = spaces.host()?;
    let ports = match to.port {
        Some(port) => flow_ports(host, dst, port, to.udp),
        None => Vec::new(),
    };
    let mut notes = Vec::new();
    let script = table_script(if to.udp { "udp" } else { "tcp" }, &ports);
    let mut installed = Installed { spaces: Vec::new() };
    let mut monitors = Vec::new();
    for space in &spaces.list {
        match space.nft_script(&script) {
            Ok(()) => installed.spaces.push(space),
            Err(e) => {
                notes.push(format!("cannot trace in {}: {e:#}", space.name));
                continue;
            }
        }
        match Monitor::start(space) {
            Ok(monitor) => {
                if !subscribed(space) {
                    notes.push(format!(
                        "{}: nft monitor trace did not subscribe within {} s: packets may be \
                         missing",
                        super::diagnose::the(&space.name),
                        SUBSCRIBE.as_secs()
                    ));
                }
                monitors.push(monitor);
            }
            Err(e) => notes.push(format!("cannot trace in {}: {e:#}", space.name)),
        }
        if let Some(note) = legacy_note(space) {
            notes.push(note);
        }
    }
    let outcome = probe(spaces, source, dst, to);
    std::thread::sleep(SETTLE);
    let mut seen = Vec::new();
    for monitor in monitors {
        let space = monitor.space.clone();
        let lines = monitor.stop();
        let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
        // For contributors: the monitors' own text (the parser's fixtures are made so).
        if let Some(dir) = std::env::var_os("NETLAB_TRACE_RAW") {
            let _ = std::fs::write(
                std::path::Path::new(&dir).join(format!("{space}.txt")),
                &text,
            );
        }
        for trace in parse::traces(&text, TABLE) {
            let at = lines
                .get(trace.line)
                .map_or_else(Instant::now, |(at, _)| *at);
            seen.push(Seen {
                at,
                space: space.clone(),
                trace,
                journey: 0,
                port: None,
            });
        }
    }
    let mut seen = order(seen);
    bridge_ports(spaces, &mut seen);
    let conntrack = match conntrack(host, dst, &ports) {
        Ok(lines) => lines,
        Err(why) => {
            notes.push(format!("conntrack: {why}"));
            Vec::new()
        }
    };
    drop(installed);
    let outcome = outcome?;
    Ok(Found {
        flow: format!("{} from {} to {to}", to.protocol(), source.name),
        src_space: source.name.clone(),
        proto: to.protocol(),
        dst,
        ports,
        outcome,
        seen,
        conntrack,
        notes,
    })
}

/// Fills in the bridge port of each packet that came in by a bridge: the port the bridge
/// learnt the sender's MAC address on (`bridge fdb`).
fn bridge_ports(spaces: &Spaces, seen: &mut [Seen]) {
    let mut fdbs: Vec<(String, String, String)> = Vec::new();
    for space in &spaces.list {
        let Ok(links) = lab::state::link::read(&space.place) else {
            continue;
        };
        for bridge in links.iter().filter(|l| l.kind == "bridge") {
            let Ok(text) = space
                .place
                .run("bridge", &["fdb", "show", "br", &bridge.name])
            else {
                continue;
            };
            for line in text.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let (Some(mac), Some(at)) =
                    (words.first(), words.iter().position(|w| *w == "dev"))
                {
                    if let Some(port) = words.get(at + 1).filter(|p| **p != bridge.name) {
                        fdbs.push((space.name.clone(), mac.to_string(), port.to_string()));
                    }
                }
            }
        }
    }
    for one in seen {
        let Some(mac) = one.trace.visits.first().and_then(|v| v.packet.mac.clone()) else {
            continue;
        };
        one.port = fdbs
            .iter()
            .find(|(space, m, _)| *space == one.space && *m == mac)
            .map(|(_, _, port)| port.clone());
    }
}

/// Legacy iptables rules in `space` (x_tables): nft's trace cannot see them.
fn legacy_note(space: &Space) -> Option<String> {
    space.place.check("iptables-legacy-save").ok()?;
    // The kernel lists the x_tables tables of a namespace in `/proc/PID/net/ip_tables_names`:
    // none, no legacy rules (and nothing to run).
    let names = match space.place.at {
        Where::Here => "/proc/thread-self/net/ip_tables_names".to_string(),
        Where::Pid(pid) => format!("/proc/{pid}/net/ip_tables_names"),
    };
    let tables = std::fs::read_to_string(names).unwrap_or_default();
    if tables.trim().is_empty() {
        return None;
    }
    // iptables-legacy-save finds the tables in `/proc/net`, which is `/proc/self/net`: from
    // outside the lab its `/proc` shows this process only once it is in the lab's PID
    // namespace too.
    let mut command = match space.place.at {
        Where::Here => Command::new("iptables-legacy-save"),
        Where::Pid(pid) => {
            let mut command = Command::new("nsenter");
            command.args([
                "-t",
                &pid.to_string(),
                "-n",
                "-p",
                "--",
                "iptables-legacy-save",
            ]);
            command
        }
    };
    command.env("PATH", netcmd::TOOL_PATH);
    let text = netcmd::run_command(command, "iptables-legacy-save", &[]);
    let seen = match &text {
        Ok(text) => {
            let rules = text.lines().filter(|l| l.starts_with("-A ")).count();
            let drops = text
                .lines()
                .filter(|l| l.starts_with(':') && l.contains(" DROP "))
                .count();
            if rules + drops == 0 {
                return None;
            }
            match (rules, drops) {
                (r, 0) => format!("{r} rule(s)"),
                (0, d) => format!("{d} DROP policy(ies)"),
                (r, d) => format!("{r} rule(s) and {d} DROP policy(ies)"),
            }
        }
        Err(_) => format!(
            "the tables {}",
            tables.split_whitespace().collect::<Vec<_>>().join(", ")
        ),
    };
    Some(format!(
        "{}: legacy iptables holds {seen} here (iptables-legacy-save shows them): the trace \
         cannot see them, a packet lost there shows as lost without a reason",
        the_space(&space.name)
    ))
}

/// `the lab host`, `c1`.
fn the_space(name: &str) -> String {
    super::diagnose::the(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_marks_the_flow_and_hooks_everywhere() {
        let script = table_script("tcp", &[8080, 80]);
        assert!(
            script.contains("th dport { 8080, 80 } meta nftrace set 1"),
            "{script}"
        );
        assert!(script.contains("hook forward priority 500"), "{script}");
        assert!(script.starts_with("table inet netlab_trace\ndelete table inet netlab_trace\n"));
        assert!(table_script("tcp", &[]).contains("meta l4proto icmp meta nftrace set 1"));
        assert!(table_script("udp", &[53]).contains("meta l4proto udp th dport { 53 }"));
    }

    #[test]
    fn a_dns_query_asks_for_an_address() {
        let query = dns_query("web.lab.test");
        assert_eq!(&query[4..6], &[0, 1], "one question");
        assert_eq!(&query[12..16], b"\x03web");
        assert!(query.ends_with(&[4, b't', b'e', b's', b't', 0, 0, 1, 0, 1]));
    }

    #[test]
    fn conntrack_lines_are_shortened() {
        let line = "ipv4     2 tcp      6 119 TIME_WAIT src=10.0.0.2 dst=203.0.113.80 \
                    sport=49656 dport=80 src=203.0.113.80 dst=198.51.100.2 sport=80 dport=49656 \
                    [ASSURED] mark=0 zone=0 use=2";
        assert_eq!(
            short_conntrack(line),
            "tcp TIME_WAIT 10.0.0.2:49656 > 203.0.113.80:80, replies expected as \
             203.0.113.80:80 > 198.51.100.2:49656 [ASSURED]"
        );
    }
}
