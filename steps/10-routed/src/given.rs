//! Step 10's given pieces: the names, the address allocator (the CNI reference plugin
//! host-local, as Calico can use it), and step 05's helpers. Not a TODO: read them, use them
//! from `routed.rs`.

use anyhow::{bail, Context, Result};
use container::Pid;
use serde_json::{json, Value};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The addressing plan (the `addresses` crate): the pool 10.0.1.0/24 the containers'
/// addresses come from, each a /32 (`PREFIX`), from 10.0.1.2 to 10.0.1.254; and their
/// gateway 169.254.1.1, which no interface holds: the host end of each cable answers ARP
/// for it (proxy ARP).
pub use addresses::routed::{FIRST, GATEWAY, LAST, POOL, PREFIX};

/// Step 05's helpers, as they were: the host end's name (`veth<pid>`), the shared rules'
/// check-then-add under a lock, and removing the host end when the kernel has not.
pub use solution05_bridge::given::{detach, ensure_rule, ensure_rules, host_end};

/// Where Debian's `containernetworking-plugins` installs the CNI reference plugins, root's
/// own files: host-local is run from there, never from a folder someone else could write.
pub const CNI_PLUGINS: &str = "/usr/lib/cni";

/// The network's name for host-local: its records are in `$NETLAB_STATE/ipam/routed/`.
const NETWORK: &str = "routed";

/// `$NETLAB_STATE/ipam`: host-local's data folder (its default, /var/lib/cni, is the real
/// machine's).
fn data_dir() -> Result<PathBuf> {
    let state = std::env::var_os(container::protocol::env::STATE)
        .context("NETLAB_STATE is not set: step binaries run inside the lab")?;
    Ok(PathBuf::from(state).join("ipam"))
}

/// The allocation's owner, as host-local records it (its container ID): the container's name
/// and the PID of the step binary that holds it, `web-4242`.
fn owner_id(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Runs host-local with `command` (ADD or DEL) for the allocation `id`, and returns its
/// result (`{}` for DEL).
fn host_local(command: &str, id: &str, netns: &str) -> Result<Value> {
    let config = json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "ipam": {
            "type": "host-local",
            "ranges": [[{
                "subnet": POOL,
                "rangeStart": FIRST.to_string(),
                "rangeEnd": LAST.to_string(),
            }]],
            "dataDir": data_dir()?,
        },
    });
    let mut child = Command::new(format!("{CNI_PLUGINS}/host-local"))
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", netns)
        .env("CNI_IFNAME", "eth0")
        .env("CNI_PATH", CNI_PLUGINS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("running {CNI_PLUGINS}/host-local (Debian: containernetworking-plugins)")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(config.to_string().as_bytes())
            .context("writing host-local's configuration")?;
    }
    let out = child.wait_with_output().context("waiting for host-local")?;
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    if !out.status.success() {
        bail!(
            "host-local {command} failed: {}",
            answer["msg"].as_str().unwrap_or("no message")
        );
    }
    Ok(answer)
}

/// One allocation, as host-local's file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub address: Ipv4Addr,
    /// The container's name.
    pub name: String,
    /// The step binary that allocated it.
    pub owner: u32,
    /// The owner's ID as host-local recorded it (`web-4242`): what a DEL names.
    pub id: String,
}

/// Every allocation: host-local's files named after an address, holding the owner's ID. A
/// file still empty is a reservation host-local is writing (it creates the file, then writes
/// the ID): it is no lease yet, and is skipped.
pub fn leases() -> Result<Vec<Lease>> {
    let dir = data_dir()?.join(NETWORK);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.context("reading host-local's records")?.path();
        let Some(address) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let id = text.lines().next().unwrap_or("").trim();
        if id.is_empty() {
            continue;
        }
        let (name, owner) = id.rsplit_once('-').unwrap_or((id, "0"));
        found.push(Lease {
            address,
            name: name.to_string(),
            owner: owner.parse().unwrap_or(0),
            id: id.to_string(),
        });
    }
    Ok(found)
}

/// Runs on the lab host before the container starts: takes back the addresses of step
/// binaries that died without releasing theirs (and any left under `name`), then has
/// host-local allocate a free address of the pool to the container `name` (host-local holds
/// its own lock meanwhile) and returns it.
pub fn allocate_address(name: &str, pid: Pid) -> Result<Ipv4Addr> {
    for lease in leases()? {
        let alive = PathBuf::from(format!("/proc/{}", lease.owner)).exists();
        if lease.owner == 0 || !alive || lease.name == name {
            host_local("DEL", &lease.id, "")?;
        }
    }
    let result = host_local("ADD", &owner_id(name), &format!("/proc/{pid}/ns/net"))?;
    let address = result["ips"][0]["address"].as_str().unwrap_or("");
    address
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .with_context(|| format!("host-local gave no address: {result}"))
}

/// Runs on the lab host after the container ended: host-local forgets its allocation.
/// Nothing to release is no error.
pub fn release_address(name: &str) -> Result<()> {
    host_local("DEL", &owner_id(name), "").map(|_| ())
}

/// The address allocated to the container `name`.
pub fn address_of(name: &str) -> Result<Ipv4Addr> {
    leases()?
        .into_iter()
        .find(|l| l.name == name)
        .map(|l| l.address)
        .with_context(|| format!("no address is allocated to {name}"))
}
