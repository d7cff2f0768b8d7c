//! Step 05's given pieces: the names, the lease files of the address allocator, and small
//! helpers. Not a TODO: read them, use them from `bridge.rs`.

use anyhow::{bail, Context, Result};
use cmd_lib::run_cmd;
use container::Pid;
use nix::errno::Errno;
use nix::fcntl::{openat, Flock, FlockArg, OFlag};
use nix::net::if_::if_nametoindex;
use nix::sys::signal::kill;
use nix::sys::stat::Mode;
use nix::unistd::read;
use std::ffi::OsString;
use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// The addressing plan (the `addresses` crate): the bridge every container's cable plugs
/// into, `netlab0` (Docker's is `docker0`, CNI's `cni0`); its own address, the containers'
/// gateway, 10.0.0.1; the containers' subnet 10.0.0.0/24 and its prefix length; the first
/// and last address a container may get, 10.0.0.2 and 10.0.0.254.
pub use addresses::containers::{BRIDGE, FIRST, GATEWAY, LAST, PREFIX, SUBNET};

/// The bridge's own MAC address, given when it is created (`ip link add netlab0 address
/// BRIDGE_MAC type bridge`): locally administered (the second lowest bit of the first byte
/// set, as Docker's `02:42:...`), so it is nobody's hardware. A bridge created without one
/// takes the lowest MAC of its ports and changes it when that port goes: the containers'
/// neighbour caches still hold the old one, and their traffic through the gateway stalls.
pub const BRIDGE_MAC: &str = "02:42:0a:00:00:01";

/// The MAC address a container's `eth0` gets, made of its IPv4 address as Docker has long
/// made them (`02:42` and the address's four bytes; [`BRIDGE_MAC`] is the gateway's): an
/// address handed on to a new container keeps its MAC, so the neighbour caches of those
/// that talked to the old one are still right. With a random MAC, they would send to the
/// old one's for up to a minute.
pub fn mac_of(address: Ipv4Addr) -> String {
    let [a, b, c, d] = address.octets();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

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
    let records = Records::list()?;
    Ok(records
        .files
        .iter()
        .map(|file| records.read(file))
        .collect())
}

/// The lease of the container `name`, if it has one. Read one at a time from both ends of the
/// listing in turn, up to the first of this name: the lease was written a moment ago, and a
/// directory in memory (tmpfs) lists its files in the order they were made, newest first or
/// last depending on the kernel. With a hundred containers running, reading them all took
/// a millisecond of every start.
fn lease_of(name: &str) -> Result<Option<Lease>> {
    let records = Records::list()?;
    let n = records.files.len();
    // 0, n-1, 1, n-2, ...: every file once.
    let from_both_ends = (0..n).map(|i| if i % 2 == 0 { i / 2 } else { n - 1 - i / 2 });
    Ok(from_both_ends
        .map(|i| records.read(&records.files[i]))
        .find(|l| l.name == name))
}

/// The lease files of the ipam directory, listed but not read yet.
struct Records {
    /// The directory, opened once: each record is then opened by its name in it, not by a
    /// path the kernel walks from `/` again for every lease.
    dir: File,
    /// The files named after an address, in the directory's order.
    files: Vec<(Ipv4Addr, OsString)>,
}

impl Records {
    fn list() -> Result<Records> {
        let path = ipam_dir()?;
        let dir = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut files = Vec::new();
        for entry in fs::read_dir(&path).with_context(|| format!("listing {}", path.display()))? {
            let file = entry?.file_name();
            if let Some(address) = file.to_str().and_then(|n| n.parse().ok()) {
                files.push((address, file));
            }
        }
        Ok(Records { dir, files })
    }

    /// One record, read in one `read` (a name and a PID, far less than the buffer); a file
    /// that cannot be read (a release removed it meanwhile, or a symbolic link, never
    /// followed) is a lease of nobody.
    fn read(&self, (address, file): &(Ipv4Addr, OsString)) -> Lease {
        let mut buffer = [0u8; 512];
        let read = openat(
            &self.dir,
            file.as_os_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::empty(),
        )
        .and_then(|fd| read(&fd, &mut buffer));
        let text = String::from_utf8_lossy(&buffer[..read.unwrap_or(0)]);
        let mut words = text.split_whitespace();
        Lease {
            address: *address,
            name: words.next().unwrap_or("").to_string(),
            owner: words.next().and_then(|p| p.parse().ok()).unwrap_or(0),
        }
    }
}

/// The file recording an allocation of `address`.
pub fn lease_file(address: Ipv4Addr) -> Result<PathBuf> {
    Ok(ipam_dir()?.join(address.to_string()))
}

/// Whether process `pid` still runs: signal 0 is sent to nobody, but it fails with ESRCH
/// once there is no such process.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    pid > 0 && !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

/// The address allocated to the container `name`.
pub fn address_of(name: &str) -> Result<Ipv4Addr> {
    lease_of(name)?
        .map(|l| l.address)
        .with_context(|| format!("no address is allocated to {name}"))
}

/// Runs `iptables -w -t TABLE -A RULE` unless the rule is there already (`-C`). `rule` is
/// written as on iptables' command line: `"FORWARD -i netlab0 -j ACCEPT"`. Check and add are
/// one step under a lock (`$NETLAB_STATE/rules.lock`): two containers starting at the same
/// moment would otherwise both see the rule missing and both add it.
pub fn ensure_rule(table: &str, rule: &str) -> Result<()> {
    let _lock = lock_rules()?;
    check_or_add(table, rule)
}

/// [`ensure_rule`] for several `(table, rule)` at once. Every container after the first finds
/// them all there: one `iptables-restore --noflush` of their `-C` lines says so in one
/// process (it changes nothing, and fails if one is missing); only then is each checked
/// (`iptables -C`), and those missing added in order, in one more `iptables-restore`.
pub fn ensure_rules(rules: &[(&str, &str)]) -> Result<()> {
    let _lock = lock_rules()?;
    let check = restore_script(rules, "-C");
    if run_cmd!(echo -n $check | iptables-restore -w --noflush 2>/dev/null).is_ok() {
        return Ok(());
    }
    let missing: Vec<(&str, &str)> = rules
        .iter()
        .copied()
        .filter(|(table, rule)| !has_rule(table, rule))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let add = restore_script(&missing, "-A");
    run_cmd!(echo -n $add | iptables-restore -w --noflush).context("adding the rules")?;
    Ok(())
}

/// An `iptables-restore` input of `rules`, each line `OP RULE` (`-C`, `-A`), grouped by table
/// in the order the tables first come.
fn restore_script(rules: &[(&str, &str)], op: &str) -> String {
    let mut tables: Vec<&str> = Vec::new();
    for (table, _) in rules {
        if !tables.contains(table) {
            tables.push(table);
        }
    }
    let mut script = String::new();
    for table in tables {
        script.push_str(&format!("*{table}\n"));
        for (_, rule) in rules.iter().filter(|(t, _)| *t == table) {
            script.push_str(&format!("{op} {rule}\n"));
        }
        script.push_str("COMMIT\n");
    }
    script
}

/// The lock of the rules' check-then-add (`$NETLAB_STATE/rules.lock`), held until dropped.
fn lock_rules() -> Result<Flock<File>> {
    let state = std::env::var_os(container::protocol::env::STATE)
        .context("NETLAB_STATE is not set: step binaries run inside the lab")?;
    let file = File::create(PathBuf::from(state).join("rules.lock"))
        .context("opening the rules' lock file")?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .context("locking the rules")
}

/// Whether `rule` is in `table` (`iptables -C`).
fn has_rule(table: &str, rule: &str) -> bool {
    let words: Vec<&str> = rule.split_whitespace().collect();
    let rule = &words;
    run_cmd!(iptables -w -t $table -C $[rule] 2>/dev/null).is_ok()
}

/// `iptables -C`, then `-A` if the rule is missing (under [`lock_rules`]).
fn check_or_add(table: &str, rule: &str) -> Result<()> {
    if !has_rule(table, rule) {
        let words: Vec<&str> = rule.split_whitespace().collect();
        let rule = &words;
        run_cmd!(iptables -w -t $table -A $[rule])?;
    }
    Ok(())
}

/// Runs on the lab host after the container ended: removes its cable if the kernel has not
/// already (it does when the container's namespace goes, most often before this runs). A
/// failed `del` is no error if the kernel removed it meanwhile.
pub fn detach(pid: Pid) -> Result<()> {
    let host = host_end(pid);
    // Whether the link is there, asked of the kernel in this process (no `ip` to start).
    let exists = |name: &str| if_nametoindex(name).is_ok();
    if exists(&host) && run_cmd!(ip link del $host 2>/dev/null).is_err() && exists(&host) {
        bail!("cannot delete the link {host}");
    }
    Ok(())
}
