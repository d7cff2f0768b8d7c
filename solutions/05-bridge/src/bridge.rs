//! Step 05: many containers on one bridge, each with an address of its own.
//!
//! Lesson: steps/05-bridge/README.md. Check your work: `cargo xtask check 05`.

use anyhow::{bail, Context, Result};
use cmd_lib::run_cmd;
use container::Pid;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The bridge every container's cable plugs into (Docker's is `docker0`, CNI's `cni0`).
pub const BRIDGE: &str = "netlab0";
/// The bridge's own address: the containers' gateway.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The containers' subnet, and its prefix length.
pub const SUBNET: &str = "10.0.0.0/24";
pub const PREFIX: u8 = 24;

/// The name of the host's end of the container's veth pair: `veth` and the container's PID.
pub fn host_end(pid: Pid) -> String {
    format!("veth{pid}")
}

/// `$NETLAB_STATE/ipam`: one file per allocated address (named after it, holding the
/// container's name and its owner's PID), and the `lock` file. Created if missing.
pub fn ipam_dir() -> Result<PathBuf> {
    let state = std::env::var_os(container::protocol::env::STATE)
        .context("NETLAB_STATE is not set: step binaries run inside the lab")?;
    let dir = PathBuf::from(state).join("ipam");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Takes the allocation lock (`ipam/lock`); it is held until the returned value is dropped.
pub fn lock_ipam() -> Result<Flock<File>> {
    let file = File::create(ipam_dir()?.join("lock")).context("opening the ipam lock file")?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the ipam directory")
}

/// One allocation, as its file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub address: Ipv4Addr,
    /// The container's name.
    pub name: String,
    /// The step binary that allocated it.
    pub owner: u32,
}

/// Every allocation in the ipam directory (files that are not addresses, like `lock`, are
/// skipped).
pub fn leases() -> Result<Vec<Lease>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(ipam_dir()?)? {
        let path = entry?.path();
        let Some(address) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        let text = fs::read_to_string(&path).unwrap_or_default();
        let mut words = text.split_whitespace();
        let name = words.next().unwrap_or("").to_string();
        let owner = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        found.push(Lease {
            address,
            name,
            owner,
        });
    }
    Ok(found)
}

/// The file recording an allocation of `address`.
pub fn lease_file(address: Ipv4Addr) -> Result<PathBuf> {
    Ok(ipam_dir()?.join(address.to_string()))
}

/// Whether process `pid` still runs (in the lab, `/proc` shows its processes).
pub fn alive(pid: u32) -> bool {
    pid != 0 && PathBuf::from(format!("/proc/{pid}")).exists()
}

/// The address allocated to the container `name`.
pub fn address_of(name: &str) -> Result<Ipv4Addr> {
    leases()?
        .into_iter()
        .find(|l| l.name == name)
        .map(|l| l.address)
        .with_context(|| format!("no address is allocated to {name}"))
}

/// Runs `iptables -w -t TABLE -A RULE` unless the rule is there already (`-C`). `rule` is
/// written as on iptables' command line: `"FORWARD -i netlab0 -j ACCEPT"`.
pub fn ensure_rule(table: &str, rule: &str) -> Result<()> {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let rule = &words;
    if run_cmd!(iptables -w -t $table -C $[rule] 2>/dev/null).is_err() {
        run_cmd!(iptables -w -t $table -A $[rule])?;
    }
    Ok(())
}

/// Runs on the lab host for every container: makes the bridge if it is missing (never again
/// if it is there, containers may hang off it), and the host-wide settings: forwarding, NAT,
/// and FORWARD rules that let the bridge's traffic through whatever the chain's policy.
pub fn ensure_bridge() -> Result<()> {
    // Two containers may start at once: "File exists" from the other one is fine.
    if run_cmd!(ip link show dev $BRIDGE >/dev/null 2>&1).is_err()
        && run_cmd!(ip link add $BRIDGE type bridge 2>/dev/null).is_err()
        && run_cmd!(ip link show dev $BRIDGE >/dev/null 2>&1).is_err()
    {
        bail!("cannot create the bridge {BRIDGE}");
    }
    let gateway = format!("{GATEWAY}/{PREFIX}");
    // `replace` adds the address, or does nothing when it is there already.
    run_cmd!(ip addr replace $gateway dev $BRIDGE)?;
    run_cmd!(ip link set $BRIDGE up)?;
    fs::write("/proc/sys/net/ipv4/ip_forward", "1").context("turning on ip_forward")?;
    ensure_rule(
        "nat",
        &format!("POSTROUTING -s {SUBNET} ! -o {BRIDGE} -j MASQUERADE"),
    )?;
    ensure_rule("filter", &format!("FORWARD -i {BRIDGE} -j ACCEPT"))?;
    ensure_rule("filter", &format!("FORWARD -o {BRIDGE} -j ACCEPT"))?;
    Ok(())
}

/// Runs on the lab host before the container starts: records a free address of the subnet
/// for the container `name` and returns it. Holds the lock throughout, so that containers
/// starting at the same moment get different addresses; takes back the addresses whose owner
/// is gone.
pub fn allocate_address(name: &str) -> Result<Ipv4Addr> {
    let _lock = lock_ipam()?;
    let mut taken = Vec::new();
    for lease in leases()? {
        // A dead owner (a step binary killed with SIGKILL) never released its address; a
        // lease under this name is a leftover too: names are unique among running containers.
        if !alive(lease.owner) || lease.name == name {
            let _ = fs::remove_file(lease_file(lease.address)?);
        } else {
            taken.push(lease.address);
        }
    }
    // .0 names the network, .1 is the gateway, .255 is the broadcast address.
    let free = (2..=254)
        .map(|host| Ipv4Addr::new(10, 0, 0, host))
        .find(|a| !taken.contains(a))
        .context("no free address left in 10.0.0.0/24")?;
    let record = format!("{name}\n{}\n", std::process::id());
    fs::write(lease_file(free)?, record).context("recording the allocation")?;
    Ok(free)
}

/// Runs on the lab host after the container ended: forgets its allocation. Nothing to release
/// is no error.
pub fn release_address(name: &str) -> Result<()> {
    let _lock = lock_ipam()?;
    for lease in leases()?.into_iter().filter(|l| l.name == name) {
        fs::remove_file(lease_file(lease.address)?).context("releasing the address")?;
    }
    Ok(())
}

/// Runs on the lab host: lays the container's cable, its `eth0` in the container's namespace
/// and its host end plugged into the bridge, UP.
pub fn attach(pid: Pid) -> Result<()> {
    let host = host_end(pid);
    run_cmd!(
        ip link add $host type veth peer name eth0 netns $pid;
        ip link set $host master $BRIDGE;
        ip link set $host up;
    )?;
    Ok(())
}

/// Runs on the lab host after the container ended: removes its cable if the kernel has not
/// already (it does when the container's namespace goes).
pub fn detach(pid: Pid) -> Result<()> {
    let host = host_end(pid);
    if run_cmd!(ip link del $host 2>/dev/null).is_err()
        && run_cmd!(ip link show dev $host >/dev/null 2>&1).is_ok()
    {
        bail!("cannot delete the link {host}");
    }
    Ok(())
}

/// Runs inside the container's namespaces: `lo` up, `eth0` up with the container's address,
/// and the default route via the bridge.
pub fn configure_container(name: &str) -> Result<()> {
    let address = format!("{}/{PREFIX}", address_of(name)?);
    run_cmd!(
        ip link set lo up;
        ip addr add $address dev eth0;
        ip link set eth0 up;
        ip route add default via $GATEWAY;
    )?;
    Ok(())
}
