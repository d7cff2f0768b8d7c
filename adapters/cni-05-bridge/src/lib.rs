//! Steps 05 and 06 done by the real world: the CNI reference plugins (`bridge`, `host-local`,
//! `firewall`, `portmap`, `loopback` from containernetworking-plugins, in `/usr/lib/cni`)
//! called the way a container runtime calls them, per the CNI 1.0 spec. The binaries are
//! `cni05` (this crate) and `cni06` (adapters/cni-06-dnat, which adds `portmap`).
//!
//! - ADD, on the lab host, once the container's namespaces exist: `loopback` for `lo`, then
//!   the network list `netlab` (`bridge` with `host-local` IPAM, then `firewall`, then for
//!   step 06 `portmap` with the container's ports as its `portMappings` runtime argument),
//!   each plugin getting the previous one's result as `prevResult`. The final result is cached.
//! - DEL, after the container ended: the list in reverse order, each plugin getting the cached
//!   result as `prevResult` and the runtime arguments of the ADD, then `loopback`.
//!
//! What a runtime does besides calling plugins, this adapter does too:
//! - it pins the container's network namespace (a bind mount of `/proc/<pid>/ns/net`, as
//!   containerd and CRI-O do under `/var/run/netns`), so that DEL still finds the container's
//!   `eth0` after the container's last process is gone: without it, `bridge` cannot learn the
//!   container's address and leaves its MASQUERADE chain behind;
//! - it keeps a record of every container it added (`$NETLAB_STATE/cni/containers/<id>`: the
//!   owner's PID, the pinned namespace, the configuration and runtime arguments of the ADD,
//!   the cached result) and, before each ADD, runs DEL for the records whose owner is gone
//!   (a step binary killed with SIGKILL), as runtimes garbage collect their dead sandboxes:
//!   `host-local` itself never takes an address back, nor `portmap` a host port;
//! - it makes one ADD or DEL at a time (its own lock): the `firewall` plugin's shared rules are
//!   checked then inserted, and concurrent ADDs add them twice;
//! - with ports (step 06), it refuses a host port that a live container publishes, before ADD
//!   (CNI leaves conflicts to the runtime), keeps the configuration and runtime arguments of
//!   each ADD with the record (portmap's DEL does nothing without the port mappings), and
//!   lets published connections through a FORWARD chain whose policy is DROP
//!   ([`ADMIT_PUBLISHED`]).
//!
//! Everything stays in the lab: the adapter refuses to run unless `NETLAB_STATE` is set and the
//! network namespace it runs in is a lab host; `host-local`'s data directory is under
//! `$NETLAB_STATE`; `firewall` is told to use iptables (never firewalld over D-Bus).

mod exec;
use exec::{add_list, call, del_list, run_plugin};

use anyhow::{bail, Context, Result};
use container::{Pid, Port};
use lab::addresses::{HOST_ADDR, HOST_UPLINK};
use nix::fcntl::{Flock, FlockArg};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where Debian's containernetworking-plugins puts the plugins; also `CNI_PATH`.
pub const PLUGIN_DIR: &str = "/usr/lib/cni";
/// The network's name (host-local's directory, the rules' comments).
pub const NETWORK: &str = "netlab";
/// The spec version of the configurations (containernetworking-plugins 1.1 speaks 1.0.0).
pub const CNI_VERSION: &str = "1.0.0";
/// The container's interface on the bridge.
pub const IFNAME: &str = "eth0";
/// The bridge, the subnet and the gateway: the same as step 05's.
pub use lab::addresses::containers::{BRIDGE, GATEWAY, SUBNET};

/// The network list a runtime would read from `/etc/cni/net.d/netlab.conflist`, with
/// host-local's data under the lab's state directory. With `portmap`, the list ends with the
/// `portmap` plugin (step 06), which declares the `portMappings` capability: the runtime then
/// passes each container's published ports in that plugin's `runtimeConfig`.
pub fn network_list(state: &Path, portmap: bool) -> Value {
    let mut plugins = vec![
        json!({
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": true,
            "ipMasq": true,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "subnet": SUBNET,
                "gateway": GATEWAY,
                "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": data_dir(state),
            }
        }),
        // The FORWARD ACCEPT rules of a host whose FORWARD policy is DROP, as in podman's
        // default list. `backend: iptables`: never talk to the machine's firewalld.
        json!({ "type": "firewall", "backend": "iptables" }),
    ];
    if portmap {
        // As in podman's default list. `snat` (its default) masquerades, by a mark, what
        // reaches a published port from 127.0.0.1 or from the container itself.
        plugins.push(json!({
            "type": "portmap",
            "capabilities": { "portMappings": true },
            "snat": true,
        }));
    }
    json!({ "cniVersion": CNI_VERSION, "name": NETWORK, "plugins": plugins })
}

/// The `portMappings` runtime argument (CNI CONVENTIONS) of a container's published ports.
pub fn port_mappings(ports: &[Port]) -> Value {
    ports
        .iter()
        .map(|p| {
            json!({
                "hostPort": p.host,
                "containerPort": p.container,
                "protocol": p.protocol.name(),
            })
        })
        .collect()
}

/// The loopback network: `lo` up in the container.
pub fn loopback_network() -> Value {
    json!({ "cniVersion": CNI_VERSION, "name": "lo", "type": "loopback" })
}

/// Runtime hook, on the lab host: the container's networking, by CNI ADD. With `ports`
/// (`Some`, step 06), the network list has `portmap` and publishes them; a host port that a
/// live container already publishes is refused before anything is added.
pub fn add(name: &str, pid: Pid, ports: Option<&[Port]>) -> Result<()> {
    let state = lab_only()?;
    let id = container_id(name, pid);
    let record = record_dir(&state, &id);
    let list = network_list(&state, ports.is_some());
    let runtime = json!({ "portMappings": port_mappings(ports.unwrap_or_default()) });
    // One ADD or DEL at a time: `firewall` checks then inserts its shared jump rules, and ten
    // ADDs at once leave `-A CNI-FORWARD -j CNI-ADMIN` three times (05.concurrent).
    let _lock = lock(&state)?;
    collect_garbage(&state)?;
    refuse_taken(&state, ports.unwrap_or_default())?;
    share_store(&state)?;
    fs::create_dir_all(&record).with_context(|| format!("creating {}", record.display()))?;
    // What DEL needs, whoever runs it (this process or a later one collecting garbage): the
    // owner, and the configuration and runtime arguments of the ADD, as libcni caches them.
    let written = [
        ("owner", std::process::id().to_string()),
        ("config.json", list.to_string()),
        ("runtime.json", runtime.to_string()),
    ]
    .into_iter()
    .try_for_each(|(file, text)| {
        fs::write(record.join(file), text).with_context(|| format!("recording {file}"))
    });
    let added = written
        .and_then(|()| pin_netns(pid, &record))
        .and_then(|netns| {
            run_plugin(&loopback_network(), &call("ADD", &id, &netns, "lo"))?;
            let result = add_list(&list, &runtime, &id, &netns)?;
            if ports.is_some() {
                admit_published()?;
            }
            fs::write(record.join("result.json"), result.to_string()).context("caching the result")
        });
    if let Err(e) = added {
        // As a runtime does after a failed ADD: DEL what may have been done.
        let _ = remove(&state, &id);
        return Err(e.context(format!("CNI ADD of container {name}")));
    }
    Ok(())
}

/// The rule of a host whose FORWARD policy is DROP that lets published ports in. `firewall`
/// accepts only replies towards a container and `portmap` adds no filter rule: a connection
/// DNATed to a container is dropped in FORWARD (containernetworking/plugins#467, closed
/// unfixed). The runtime adds it, once, to `CNI-ADMIN`, the chain `firewall` keeps for the
/// administrator's rules: it accepts only connections whose destination was translated, i.e.
/// published ports, as Docker's per-port ACCEPT rules do.
pub const ADMIT_PUBLISHED: &[&str] = &[
    "-o",
    BRIDGE,
    "-m",
    "conntrack",
    "--ctstate",
    "DNAT",
    "-m",
    "comment",
    "--comment",
    "netlab: published ports (DNAT) into the bridge",
    "-j",
    "ACCEPT",
];

/// Adds [`ADMIT_PUBLISHED`] to `CNI-ADMIN` unless it is there (under the adapter's lock).
fn admit_published() -> Result<()> {
    let iptables = |command: &str| {
        Command::new("iptables")
            .args(["-w", command, "CNI-ADMIN"])
            .args(ADMIT_PUBLISHED)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running iptables: is it installed?")
    };
    if iptables("-C")?.success() {
        return Ok(());
    }
    let status = iptables("-A")?;
    if !status.success() {
        bail!("iptables -A CNI-ADMIN (accepting published ports in FORWARD) failed ({status})");
    }
    Ok(())
}

/// Fails, naming the port and the container, if one of `ports` is a host port that a recorded
/// container publishes (after garbage collection, every record has a live owner). CNI leaves
/// this to the runtime: `portmap` would add a second DNAT rule that never matches.
fn refuse_taken(state: &Path, ports: &[Port]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    let Ok(entries) = fs::read_dir(records_dir(state)) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let runtime: Value = fs::read_to_string(entry.path().join("runtime.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        for mapping in runtime["portMappings"].as_array().into_iter().flatten() {
            let taken = ports.iter().find(|p| {
                mapping["hostPort"].as_u64() == Some(u64::from(p.host))
                    && mapping["protocol"].as_str() == Some(p.protocol.name())
            });
            if let Some(port) = taken {
                let id = entry.file_name().to_string_lossy().into_owned();
                let owner = id.rsplit_once('-').map_or(id.as_str(), |(name, _)| name);
                bail!(
                    "host port {}/{} is already published by container {owner}",
                    port.host,
                    port.protocol.name()
                );
            }
        }
    }
    Ok(())
}

/// Runtime hook, on the lab host after the container ended: CNI DEL. Nothing to delete is no
/// error.
pub fn del(name: &str, pid: Pid) -> Result<()> {
    let state = lab_only()?;
    let _lock = lock(&state)?;
    remove(&state, &container_id(name, pid)).with_context(|| format!("CNI DEL of container {name}"))
}

/// The container's id for the plugins: its name and PID (names are unique only among running
/// containers).
pub fn container_id(name: &str, pid: Pid) -> String {
    format!("{name}-{pid}")
}

/// The lab's state directory, once it is sure this is a lab host: `NETLAB_STATE` is set and
/// the uplink has the lab host's address. The plugins change the network namespace they run
/// in: never the machine's own.
pub fn lab_only() -> Result<PathBuf> {
    let state = std::env::var_os(container::protocol::env::STATE)
        .context("NETLAB_STATE is not set: the CNI plugins run only inside the workshop's lab")?;
    let output = Command::new("ip")
        .args(["-j", "addr", "show", "dev", HOST_UPLINK])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .context("running ip: is iproute2 installed?")?;
    let links: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let host = HOST_ADDR.to_string();
    let is_lab_host = links.as_array().into_iter().flatten().any(|l| {
        l["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["local"].as_str() == Some(host.as_str()))
    });
    if !is_lab_host {
        bail!(
            "this network namespace is not a lab host ({HOST_UPLINK} has no {HOST_ADDR}): \
             refusing to run CNI plugins here"
        );
    }
    Ok(PathBuf::from(state))
}

/// host-local's data directory (`dataDir`); its store is `<dataDir>/netlab`.
pub fn data_dir(state: &Path) -> PathBuf {
    state.join("cni/networks")
}

/// The adapter's own records, one directory per container it added.
pub fn records_dir(state: &Path) -> PathBuf {
    state.join("cni/containers")
}

fn record_dir(state: &Path, id: &str) -> PathBuf {
    records_dir(state).join(id)
}

/// The adapter's lock (its records, and one plugin call at a time), not host-local's
/// (`ipam/lock`, taken by the plugin).
fn lock(state: &Path) -> Result<Flock<File>> {
    let dir = state.join("cni");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = File::create(dir.join("lock")).context("opening the adapter's lock file")?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the adapter's records")
}

/// Makes host-local's store for `netlab` the lesson's allocator directory, `$NETLAB_STATE/ipam`
/// (a bind mount, made once per lab): its files named after an address, its `lock` and its
/// `last_reserved_ip.0` cursor are what the checks look at. host-local walks its store without
/// following symlinks, hence a mount.
fn share_store(state: &Path) -> Result<()> {
    let ipam = state.join("ipam");
    let store = data_dir(state).join(NETWORK);
    for dir in [&ipam, &store] {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let same = |a: &Path, b: &Path| -> Result<bool> {
        let (a, b) = (fs::metadata(a)?, fs::metadata(b)?);
        Ok(a.dev() == b.dev() && a.ino() == b.ino())
    };
    if !same(&ipam, &store)? {
        let none: Option<&str> = None;
        mount(Some(&ipam), &store, none, MsFlags::MS_BIND, none)
            .context("bind-mounting ipam/ as host-local's store")?;
    }
    Ok(())
}

/// Pins the container's network namespace on `<record>/netns`; returns that path (CNI_NETNS).
fn pin_netns(pid: Pid, record: &Path) -> Result<PathBuf> {
    let pin = record.join("netns");
    File::create(&pin).with_context(|| format!("creating {}", pin.display()))?;
    let source = PathBuf::from(format!("/proc/{pid}/ns/net"));
    let none: Option<&str> = None;
    mount(Some(&source), &pin, none, MsFlags::MS_BIND, none)
        .with_context(|| format!("pinning {}", source.display()))?;
    Ok(pin)
}

/// Whether `path` is a pinned network namespace (an nsfs mount), not the empty file under it.
// `f_type`'s integer type differs between architectures: the cast is needed on some.
#[allow(clippy::unnecessary_cast)]
fn pinned(path: &Path) -> bool {
    const NSFS_MAGIC: i64 = 0x6e73_6673;
    nix::sys::statfs::statfs(path).is_ok_and(|s| s.filesystem_type().0 as i64 == NSFS_MAGIC)
}

/// DEL of one recorded container, then its record and pin go. A failed DEL keeps the record
/// (and the pin), so that the next garbage collection tries again.
fn remove(state: &Path, id: &str) -> Result<()> {
    let record = record_dir(state, id);
    if !record.exists() {
        return Ok(());
    }
    let pin = record.join("netns");
    // A namespace that was never pinned is gone: DEL without one still frees the address.
    let netns = if pinned(&pin) {
        pin.clone()
    } else {
        PathBuf::new()
    };
    let read = |file: &str| -> Option<Value> {
        let text = fs::read_to_string(record.join(file)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let cached = read("result.json");
    // The configuration of the ADD; a record without one was made by cni05 before it kept it.
    let list = read("config.json").unwrap_or_else(|| network_list(state, false));
    let runtime = read("runtime.json").unwrap_or(Value::Null);
    let deleted = del_list(&list, &runtime, id, &netns, cached.as_ref())
        .and_then(|()| run_plugin(&loopback_network(), &call("DEL", id, &netns, "lo")).map(drop));
    deleted?;
    if pinned(&pin) {
        umount2(&pin, MntFlags::MNT_DETACH).context("unpinning the network namespace")?;
    }
    fs::remove_dir_all(&record).with_context(|| format!("removing {}", record.display()))
}

/// DEL for every record whose owner (the step binary) is gone. Called under the lock.
fn collect_garbage(state: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(records_dir(state)) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().into_owned();
        let owner: u32 = fs::read_to_string(entry.path().join("owner"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        if owner == 0 || !Path::new(&format!("/proc/{owner}")).exists() {
            remove(state, &id).with_context(|| format!("DEL of {id}, whose owner is gone"))?;
        }
    }
    Ok(())
}
