//! Step 09's given pieces: the CNI contract's plumbing (the `CNI_*` variables, the network
//! configuration on stdin, the error object, calling the IPAM plugin) and the runtime side
//! (`run`: the plugin directory, the configuration lists, libcni through the Go driver).
//! Not a TODO: read them, use them from `cni_plugin.rs`.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Step 05's bridge, its gateway and subnet, its host-wide setup (`ensure_bridge`: the
/// bridge, forwarding, NAT and FORWARD rules) and its MAC made of an address (`mac_of`).
pub use solution05_bridge::{ensure_bridge, mac_of, BRIDGE, GATEWAY, PREFIX, SUBNET};

/// The plugin's type in a configuration (`"type": "netlab"`): the name of its binary in
/// `CNI_PATH`.
pub const PLUGIN: &str = "netlab";
/// The network's name in the configuration list (and host-local's directory under dataDir).
pub const NETWORK: &str = "netlab";
/// The spec versions this plugin speaks: a configuration with another `cniVersion` gets
/// error 1. The configuration lists are written with [`LIST_VERSION`].
pub const SUPPORTED: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
/// The `cniVersion` of the lists `run` writes (libcni 1.1.2 knows 1.0.0 results; GC and
/// STATUS are sent as 1.1.0 by the driver).
pub const LIST_VERSION: &str = "1.0.0";

/// The error codes of the CNI spec ("Error" of SPEC.md).
pub mod code {
    /// Incompatible CNI version.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// Unsupported field in the network configuration.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Container unknown or does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// Invalid necessary environment variables (a `CNI_*` missing or wrong).
    pub const INVALID_ENVIRONMENT: u32 = 4;
    /// I/O failure.
    pub const IO_FAILURE: u32 = 5;
    /// Failed to decode content (stdin is not JSON).
    pub const DECODING_FAILURE: u32 = 6;
    /// Invalid network configuration.
    pub const INVALID_CONFIG: u32 = 7;
    /// Try again later.
    pub const TRY_AGAIN: u32 = 11;
    /// STATUS: the plugin cannot service ADD requests.
    pub const NOT_AVAILABLE: u32 = 50;
    /// Anything else (codes 100 and up are the plugin's own; 999 is a common "other").
    pub const OTHER: u32 = 999;
}

/// The spec's error object, printed on stdout with a non-zero exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniError {
    pub code: u32,
    pub msg: String,
    pub details: String,
}

impl CniError {
    pub fn new(code: u32, msg: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: String::new(),
        }
    }

    /// The same error with `details`.
    pub fn details(mut self, details: impl Into<String>) -> CniError {
        self.details = details.into();
        self
    }

    /// `{"cniVersion", "code", "msg", "details"}`.
    pub fn to_json(&self, cni_version: &str) -> Value {
        json!({
            "cniVersion": cni_version,
            "code": self.code,
            "msg": self.msg,
            "details": self.details,
        })
    }
}

/// Any other failure (an `ip` command, a file) is error 999 with its whole chain as details.
impl From<anyhow::Error> for CniError {
    fn from(e: anyhow::Error) -> CniError {
        CniError::new(code::OTHER, e.to_string()).details(format!("{e:#}"))
    }
}

impl std::fmt::Display for CniError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CNI error {}: {} {}", self.code, self.msg, self.details)
    }
}

/// The `CNI_*` variables of one call, as the runtime set them (empty when unset).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `CNI_COMMAND`: ADD, DEL, CHECK, VERSION, GC or STATUS.
    pub command: String,
    /// `CNI_CONTAINERID`.
    pub container_id: String,
    /// `CNI_NETNS`: the path of the container's network namespace.
    pub netns: String,
    /// `CNI_IFNAME`: the interface to make inside it.
    pub ifname: String,
    /// `CNI_PATH`: the directories the plugins (IPAM too) are found in.
    pub path: Vec<PathBuf>,
}

impl Env {
    /// The variables of this process.
    pub fn from_process() -> Env {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Env {
            command: var("CNI_COMMAND"),
            container_id: var("CNI_CONTAINERID"),
            netns: var("CNI_NETNS"),
            ifname: var("CNI_IFNAME"),
            path: std::env::split_paths(&var("CNI_PATH"))
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
        }
    }

    /// `(CNI_CONTAINERID, CNI_IFNAME)`, the attachment ADD, CHECK and DEL are about; error 4
    /// when one is missing.
    pub fn attachment(&self) -> Result<(&str, &str), CniError> {
        for (name, value) in [
            ("CNI_CONTAINERID", &self.container_id),
            ("CNI_IFNAME", &self.ifname),
        ] {
            if value.is_empty() {
                return Err(CniError::new(
                    code::INVALID_ENVIRONMENT,
                    format!("{name} is not set"),
                ));
            }
        }
        Ok((&self.container_id, &self.ifname))
    }

    /// `CNI_NETNS`, which ADD and CHECK need; error 4 when it is missing.
    pub fn netns(&self) -> Result<&Path, CniError> {
        if self.netns.is_empty() {
            return Err(CniError::new(
                code::INVALID_ENVIRONMENT,
                "CNI_NETNS is not set",
            ));
        }
        Ok(Path::new(&self.netns))
    }

    /// The plugin `kind` in `CNI_PATH` (only there: never a path from the configuration).
    pub fn find(&self, kind: &str) -> Option<PathBuf> {
        if kind.is_empty() || kind.contains('/') {
            return None;
        }
        self.path
            .iter()
            .map(|dir| dir.join(kind))
            .find(|p| p.is_file())
    }
}

/// The network configuration on stdin, the fields this plugin reads. Others (the reference
/// bridge plugin's `isGateway`, ...) are ignored, as the spec allows.
#[derive(Debug, Clone, Deserialize)]
pub struct NetConf {
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The bridge to plug the containers into (default [`BRIDGE`]).
    #[serde(default)]
    pub bridge: Option<String>,
    /// The IPAM plugin's section: `{"type": "host-local", ...}`.
    #[serde(default)]
    pub ipam: Option<Value>,
    /// The DNS settings to return in the result.
    #[serde(default)]
    pub dns: Option<Value>,
    /// The result of the plugins before this one in the list (ADD), or the cached result of
    /// the whole list (CHECK, DEL).
    #[serde(default, rename = "prevResult")]
    pub prev_result: Option<Value>,
    /// GC: the attachments the runtime still knows (`[{"containerID", "ifname"}]`).
    #[serde(default, rename = "cni.dev/valid-attachments")]
    pub valid_attachments: Option<Vec<Attachment>>,
    /// The whole configuration as it came, to hand on to the IPAM plugin.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// One attachment GC must keep.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

impl NetConf {
    /// Decodes stdin: not JSON is error 6; JSON without `cniVersion`, `name` and `type`
    /// (or with one of the wrong kind) is error 7.
    pub fn parse(stdin: &[u8]) -> Result<NetConf, CniError> {
        let value: Value = serde_json::from_slice(stdin).map_err(|e| {
            CniError::new(code::DECODING_FAILURE, "the configuration is not JSON")
                .details(e.to_string())
        })?;
        let mut conf: NetConf = serde_json::from_value(value).map_err(|e| {
            CniError::new(code::INVALID_CONFIG, "invalid network configuration")
                .details(e.to_string())
        })?;
        conf.raw = stdin.to_vec();
        Ok(conf)
    }

    /// The bridge of this network.
    pub fn bridge(&self) -> &str {
        self.bridge.as_deref().unwrap_or(BRIDGE)
    }

    /// The IPAM plugin's type (`host-local`); error 7 when there is no `ipam.type`.
    pub fn ipam_type(&self) -> Result<&str, CniError> {
        self.ipam
            .as_ref()
            .and_then(|i| i["type"].as_str())
            .ok_or_else(|| CniError::new(code::INVALID_CONFIG, "no ipam.type in the configuration"))
    }

    /// host-local's store for this network: `<ipam.dataDir>/<name>` (host-local's default
    /// dataDir is /var/lib/cni/networks).
    pub fn store(&self) -> PathBuf {
        let data_dir = self
            .ipam
            .as_ref()
            .and_then(|i| i["dataDir"].as_str())
            .unwrap_or("/var/lib/cni/networks");
        Path::new(data_dir).join(&self.name)
    }
}

/// Runs the IPAM plugin (`ipam.type`, found in `CNI_PATH`) with `command` and this call's
/// other `CNI_*` variables, the same configuration on its stdin, as the spec says a plugin
/// delegates; returns its result (`null` for DEL). Its error object comes back as it was.
pub fn delegate_ipam(env: &Env, conf: &NetConf, command: &str) -> Result<Value, CniError> {
    let kind = conf.ipam_type()?;
    let binary = env.find(kind).ok_or_else(|| {
        CniError::new(
            code::INVALID_CONFIG,
            format!("the IPAM plugin {kind} is not in CNI_PATH"),
        )
    })?;
    let mut child = Command::new(&binary)
        .env("CNI_COMMAND", command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&conf.raw)
            .context("writing the configuration to the IPAM plugin")?;
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("waiting for {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer: Value = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).map_err(|e| {
            CniError::new(code::OTHER, format!("{kind} printed no JSON")).details(e.to_string())
        })?
    };
    if !output.status.success() {
        return Err(CniError::new(
            answer["code"].as_u64().map_or(code::OTHER, |c| c as u32),
            format!(
                "{kind} {command}: {}",
                answer["msg"].as_str().unwrap_or(stdout.trim())
            ),
        )
        .details(answer["details"].as_str().unwrap_or("")));
    }
    Ok(answer)
}

/// The host end of the veth pair of attachment (`id`, `ifname`): `vn` and 8 hex digits of
/// a hash of both (interface names have at most 15 bytes; container ids are long).
pub fn host_end(id: &str, ifname: &str) -> String {
    // FNV-1a, 32 bits.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in id.bytes().chain([b'/']).chain(ifname.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("vn{hash:08x}")
}

/// Whether the network namespace at `path` is there (a DEL may come after it is gone).
pub fn netns_exists(path: &Path) -> bool {
    !path.as_os_str().is_empty() && path.exists()
}

/// The MAC address of `link` in the current namespace (`ip -j link show`).
pub fn mac_of_link(link: &str) -> Result<String> {
    let output = Command::new("ip")
        .args(["-j", "link", "show", "dev", link])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .context("running ip")?;
    let links: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    links[0]["address"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no link {link}"))
}

/// The program inside the step binary: when `CNI_COMMAND` is set it is a CNI plugin. Reads
/// the variables and stdin, calls `handle`, prints its result (or nothing) with status 0, or
/// the error object with status 1. A panic (a TODO) is error 999 too, its line on stderr.
pub fn plugin_main(handle: fn(&Env, &[u8]) -> Result<Option<Value>, CniError>) -> ExitCode {
    container::install_panic_report();
    let env = Env::from_process();
    let mut stdin = Vec::new();
    let read = std::io::stdin().read_to_end(&mut stdin);
    // The error object carries the configuration's version when it has one.
    let version = serde_json::from_slice::<Value>(&stdin)
        .ok()
        .and_then(|v| v["cniVersion"].as_str().map(str::to_string))
        .unwrap_or_else(|| LIST_VERSION.to_string());
    let answer = match read {
        Err(e) => Err(CniError::new(code::IO_FAILURE, "reading stdin").details(e.to_string())),
        Ok(_) => std::panic::catch_unwind(|| handle(&env, &stdin)).unwrap_or_else(|_| {
            Err(CniError::new(
                code::OTHER,
                "the plugin panicked (its message is on stderr)",
            ))
        }),
    };
    match answer {
        Ok(Some(result)) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{}", e.to_json(&version));
            eprintln!("netlab plugin: {} {}: {e}", env.command, env.container_id);
            ExitCode::FAILURE
        }
    }
}

// ---- The runtime's side: what `run` does, as containerd or podman would. ----

/// The reference plugins (containernetworking-plugins) the lab's `CNI_PATH` links to.
pub const REFERENCE_PLUGINS: &str = "/usr/lib/cni";

/// `$NETLAB_STATE/cni`, the runtime's CNI files in the lab.
pub fn cni_dir() -> Result<PathBuf> {
    let state = std::env::var_os(container::protocol::env::STATE)
        .context("NETLAB_STATE is not set: step binaries run inside the lab")?;
    Ok(PathBuf::from(state).join("cni"))
}

/// The network list `run` hands to libcni: this plugin with host-local IPAM (its data under
/// `data_dir`, inside the lab: the default /var/lib/cni is not writable there), then the
/// reference `portmap` plugin, which publishes the ports of `run -p`. The fields of the
/// reference bridge plugin are there too: the control adapter (cni09) runs it on this list.
pub fn network_list(data_dir: &Path) -> Value {
    json!({
        "cniVersion": LIST_VERSION,
        "name": NETWORK,
        "plugins": [
            {
                "type": PLUGIN,
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "subnet": SUBNET.to_string(),
                    "gateway": GATEWAY.to_string(),
                    "routes": [{ "dst": "0.0.0.0/0" }],
                    "dataDir": data_dir,
                },
                "dns": { "nameservers": [addresses::DNS_ADDR.to_string()], "domain": addresses::DOMAIN },
            },
            { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true },
        ]
    })
}

/// The list for `lo`: the reference loopback plugin alone.
pub fn loopback_list() -> Value {
    json!({ "cniVersion": LIST_VERSION, "name": "lo", "plugins": [{ "type": "loopback" }] })
}

/// Makes `$NETLAB_STATE/cni/bin`, the lab's `CNI_PATH`: this binary as `netlab` and links to
/// the reference plugins. Nothing in it comes from a container.
pub fn plugin_dir() -> Result<PathBuf> {
    let bin = cni_dir()?.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let me = std::env::current_exe().context("finding this binary")?;
    let mut links = vec![(PLUGIN.to_string(), me)];
    for kind in ["host-local", "portmap", "loopback", "bridge"] {
        links.push((kind.to_string(), Path::new(REFERENCE_PLUGINS).join(kind)));
    }
    for (name, target) in links {
        let link = bin.join(&name);
        if fs::read_link(&link).is_ok_and(|t| t == target) {
            continue;
        }
        // A link of its own, then renamed over: another run may be making the same.
        let partial = bin.join(format!(".{name}.{}", std::process::id()));
        let _ = fs::remove_file(&partial);
        symlink(&target, &partial).with_context(|| format!("linking {}", link.display()))?;
        fs::rename(&partial, &link).with_context(|| format!("placing {}", link.display()))?;
    }
    Ok(bin)
}

/// Writes the two lists (`lo`, then the network) under `$NETLAB_STATE/cni/net.d`, as
/// `/etc/cni/net.d` holds them on a host; returns their paths in order.
pub fn write_lists() -> Result<Vec<PathBuf>> {
    let cni = cni_dir()?;
    let dir = cni.join("net.d");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let lists = [
        ("10-lo.conflist", loopback_list()),
        ("20-netlab.conflist", network_list(&cni.join("networks"))),
    ];
    let mut paths = Vec::new();
    for (name, list) in lists {
        let path = dir.join(name);
        // A file of its own (O_EXCL), renamed over: another run may write the same list.
        let partial = dir.join(format!(".{name}.{}", std::process::id()));
        let _ = fs::remove_file(&partial);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .and_then(|mut f| f.write_all(list.to_string().as_bytes()))
            .with_context(|| format!("writing {}", partial.display()))?;
        fs::rename(&partial, &path).with_context(|| format!("placing {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

/// The Go driver over libcni (`checks/cni-driver`), built by `cargo xtask check` beside the
/// lab's rootfs (`target/netlab/cni-driver`).
pub fn driver() -> Result<PathBuf> {
    let rootfs = std::env::var_os(container::protocol::env::ROOTFS)
        .context("NETLAB_ROOTFS is not set: step binaries run inside the lab")?;
    let rootfs = fs::canonicalize(&rootfs).unwrap_or_else(|_| PathBuf::from(&rootfs));
    let driver = rootfs
        .parent()
        .context("the rootfs has no parent")?
        .join("cni-driver");
    if !driver.is_file() {
        bail!(
            "the CNI driver {} is missing: `cargo xtask check 09` builds it (it needs golang-go \
             and golang-github-appc-cni-dev: scripts/install-deps --dev)",
            driver.display()
        );
    }
    Ok(driver)
}

/// The container's id for CNI: its name and PID (names are unique only among running
/// containers).
pub fn container_id(name: &str, pid: container::Pid) -> String {
    format!("{name}-{pid}")
}

/// `cni-driver COMMAND` (add, del) of the lab's lists for container (`id`, `netns`), with
/// the published ports as the `portMappings` runtime argument. libcni calls the plugins.
pub fn drive(command: &str, id: &str, netns: &Path, ports: &[container::Port]) -> Result<()> {
    let lists = write_lists()?;
    let bin = plugin_dir()?;
    let mappings: Vec<Value> = ports
        .iter()
        .map(|p| {
            json!({ "hostPort": p.host, "containerPort": p.container,
                    "protocol": p.protocol.name() })
        })
        .collect();
    let lists: Vec<String> = lists.iter().map(|p| p.display().to_string()).collect();
    let output = Command::new(driver()?)
        .arg(command)
        .arg("-cni-path")
        .arg(&bin)
        .arg("-cache-dir")
        .arg(cni_dir()?.join("cache"))
        .args(["-conflist", &lists.join(","), "-id", id, "-ifname", "eth0"])
        .arg("-netns")
        .arg(netns)
        .args(["-ports", &Value::from(mappings).to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running the CNI driver")?;
    if !output.status.success() {
        let error: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        bail!(
            "CNI {command} of {id} failed (code {}): {} {}",
            error["code"],
            error["msg"].as_str().unwrap_or(""),
            error["details"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// `run`'s hook on the lab host: CNI ADD of the container's namespace.
pub fn runtime_add(c: &container::Container) -> Result<()> {
    let netns = PathBuf::from(format!("/proc/{}/ns/net", c.pid));
    drive("add", &container_id(&c.name, c.pid), &netns, &c.ports)
}

/// `run`'s hook after the container ended: CNI DEL. Its namespace is gone with its last
/// process, and its PID may be another process's by now: DEL gets no `CNI_NETNS` (the spec
/// lets a runtime omit it for DEL), never `/proc/PID/ns/net` of whoever has that PID now.
pub fn runtime_del(c: &container::Container) -> Result<()> {
    drive(
        "del",
        &container_id(&c.name, c.pid),
        Path::new(""),
        &c.ports,
    )
}
