//! Driving the plugin as a container runtime does: through libcni (the Go driver,
//! `target/netlab/cni-driver`), with a `CNI_PATH` the lab owns (the step binary as `netlab`,
//! links to the reference plugins) and the same network list as the step's runtime writes.
//! A check's containers here are bare network namespaces (`unshare --net sleep`), inside the
//! lab, that a check can make disappear, as a crashed or rebooted sandbox does.

use crate::probe::{learner_trouble, Finished, Probe};
use crate::verdict::Outcome;
use anyhow::Context;
use lab::addresses::containers::{BRIDGE, GATEWAY, SUBNET};
use lab::addresses::{DNS_ADDR, DOMAIN};
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where Debian's containernetworking-plugins are.
const REFERENCE: &str = "/usr/lib/cni";
/// The network's name in the list; host-local's store is `<dataDir>/netlab`.
pub(super) const NETWORK: &str = "netlab";

/// One answer of the driver: its status, the JSON it printed, what the plugins said.
#[derive(Debug)]
pub(super) struct Answer {
    pub ok: bool,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Answer {
    /// For "observed" texts.
    pub fn shown(&self) -> String {
        format!(
            "{} {}{}",
            if self.ok { "succeeded:" } else { "failed:" },
            self.stdout.trim(),
            if self.stderr.trim().is_empty() {
                String::new()
            } else {
                format!("\nstderr: {}", self.stderr.trim())
            }
        )
    }

    /// Whether the driver sent the command (GC, STATUS) to the plugin `netlab`: it sends
    /// them only to plugins whose VERSION lists 1.1.0.
    pub fn called_netlab(&self) -> bool {
        self.json["called"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c == NETWORK)
    }

    /// The spec's error code of a failed answer.
    pub fn code(&self) -> Option<u64> {
        if self.ok {
            None
        } else {
            self.json["code"].as_u64()
        }
    }
}

/// The lab's CNI setup for a check.
pub(super) struct Cni {
    driver: PathBuf,
    /// CNI_PATH.
    pub bin: PathBuf,
    cache: PathBuf,
    /// The network list: the plugin with host-local, then portmap.
    pub list: PathBuf,
    /// host-local's store of the network.
    pub store: PathBuf,
    state: PathBuf,
    rootfs: PathBuf,
    dir: PathBuf,
}

/// The network list, as the step's runtime writes it (steps/09-cni-plugin/src/given.rs).
pub(super) fn network_list(data_dir: &Path) -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": NETWORK,
        "plugins": [plugin_conf(data_dir), { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true }],
    })
}

/// The plugin's own entry of the list.
pub(super) fn plugin_conf(data_dir: &Path) -> Value {
    json!({
        "type": "netlab",
        "bridge": BRIDGE,
        "isGateway": true,
        "ipMasq": true,
        "hairpinMode": true,
        "ipam": {
            "type": "host-local",
            "subnet": SUBNET,
            "gateway": GATEWAY.to_string(),
            "routes": [{ "dst": "0.0.0.0/0" }],
            "dataDir": data_dir,
        },
        "dns": { "nameservers": [DNS_ADDR.to_string()], "domain": DOMAIN },
    })
}

/// The CNI driver (libcni, built beside the lab's root filesystem by `cargo xtask check 09`).
/// Missing, it is the lab's failure: every container start through libcni would fail, and no
/// check may blame that on the learner's code.
pub(super) fn driver(probe: &Probe) -> Result<PathBuf, Outcome> {
    let paths = probe.lab.paths();
    let rootfs = fs::canonicalize(&paths.rootfs).unwrap_or_else(|_| paths.rootfs.clone());
    let driver = rootfs
        .parent()
        .map(|p| p.join("cni-driver"))
        .unwrap_or_default();
    if !driver.is_file() {
        return Err(Outcome::LabError {
            message: format!(
                "the CNI driver {} is missing: `cargo xtask check 09` builds it (golang-go \
                 and golang-github-appc-cni-dev: scripts/install-deps --dev)",
                driver.display()
            ),
        });
    }
    Ok(driver)
}

impl Cni {
    /// The plugin directory and the list under `$NETLAB_STATE/cni-check`, host-local's data
    /// where the runtime keeps it (`$NETLAB_STATE/cni/networks`).
    pub fn new(probe: &Probe) -> Result<Cni, Outcome> {
        let driver = driver(probe)?;
        let paths = probe.lab.paths();
        let dir = paths.state.join("cni-check");
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).context("creating the check's CNI_PATH")?;
        let mut links = vec![("netlab".to_string(), probe.binary.clone())];
        for kind in ["host-local", "portmap", "loopback", "bridge"] {
            links.push((kind.to_string(), Path::new(REFERENCE).join(kind)));
        }
        for (name, target) in links {
            let link = bin.join(&name);
            if fs::symlink_metadata(&link).is_err() {
                symlink(&target, &link).with_context(|| format!("linking {}", link.display()))?;
            }
        }
        let data_dir = paths.state.join("cni/networks");
        let list = dir.join("netlab.conflist");
        fs::write(&list, network_list(&data_dir).to_string()).context("writing the list")?;
        Ok(Cni {
            driver,
            bin,
            cache: dir.join("cache"),
            list,
            store: data_dir.join(NETWORK),
            state: paths.state.clone(),
            rootfs: paths.rootfs.clone(),
            dir,
        })
    }

    /// Writes another list (for one check) beside the usual one; returns its path.
    pub fn write_list(&self, name: &str, list: &Value) -> Result<PathBuf, Outcome> {
        let path = self.dir.join(format!("{name}.conflist"));
        fs::write(&path, list.to_string()).context("writing a list")?;
        Ok(path)
    }

    /// A plugin directory with only some of the lab's plugins (STATUS without IPAM).
    pub fn bin_without(&self, missing: &str) -> Result<PathBuf, Outcome> {
        let bin = self.dir.join(format!("bin-without-{missing}"));
        fs::create_dir_all(&bin).context("creating a CNI_PATH")?;
        for entry in fs::read_dir(&self.bin).context("reading CNI_PATH")?.flatten() {
            let name = entry.file_name();
            let link = bin.join(&name);
            if name != missing && fs::symlink_metadata(&link).is_err() {
                let target = fs::read_link(entry.path()).context("reading a link")?;
                symlink(target, &link).context("linking a plugin")?;
            }
        }
        Ok(bin)
    }

    /// Runs the driver with `args` (and `stdin`); a plugin's TODO or panic is the outcome.
    pub fn driver(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Answer, Outcome> {
        let mut child = Command::new(&self.driver)
            .args(args)
            .env("NETLAB_STATE", &self.state)
            .env("NETLAB_ROOTFS", &self.rootfs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the CNI driver")?;
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.unwrap_or_default())
                .context("writing to the CNI driver")?;
        }
        let output = child
            .wait_with_output()
            .context("waiting for the CNI driver")?;
        let finished = Finished {
            status: output.status.code().unwrap_or(128),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        if output.status.code() == Some(2) {
            return Err(Outcome::LabError {
                message: format!("the CNI driver refused its command line: {}", finished.stderr),
            });
        }
        let finished = learner_trouble(finished)?;
        Ok(Answer {
            ok: output.status.success(),
            json: serde_json::from_str(finished.stdout.trim()).unwrap_or(Value::Null),
            stdout: finished.stdout,
            stderr: finished.stderr,
        })
    }

    fn attach(&self, command: &str, list: &Path, id: &str, netns: &Path, ifname: &str) -> Result<Answer, Outcome> {
        let bin = self.bin.display().to_string();
        let cache = self.cache.display().to_string();
        let list = list.display().to_string();
        let netns = netns.display().to_string();
        self.driver(
            &[
                command, "-cni-path", &bin, "-cache-dir", &cache, "-conflist", &list, "-id", id,
                "-netns", &netns, "-ifname", ifname,
            ],
            None,
        )
    }

    /// libcni's AddNetworkList of the usual list.
    pub fn add(&self, id: &str, netns: &Path) -> Result<Answer, Outcome> {
        self.attach("add", &self.list, id, netns, "eth0")
    }

    /// ADD of another list, or another interface.
    pub fn add_with(&self, list: &Path, id: &str, netns: &Path, ifname: &str) -> Result<Answer, Outcome> {
        self.attach("add", list, id, netns, ifname)
    }

    /// libcni's CheckNetworkList (with the cached result as prevResult).
    pub fn check(&self, id: &str, netns: &Path) -> Result<Answer, Outcome> {
        self.attach("check", &self.list, id, netns, "eth0")
    }

    /// libcni's DelNetworkList (with the cached result as prevResult).
    pub fn del(&self, id: &str, netns: &Path) -> Result<Answer, Outcome> {
        self.attach("del", &self.list, id, netns, "eth0")
    }

    /// DEL of another list.
    pub fn del_with(&self, list: &Path, id: &str, netns: &Path, ifname: &str) -> Result<Answer, Outcome> {
        self.attach("del", list, id, netns, ifname)
    }

    /// VERSION of the plugin `netlab`, through libcni.
    pub fn version(&self) -> Result<Answer, Outcome> {
        let bin = self.bin.display().to_string();
        self.driver(&["version", "-cni-path", &bin, "-plugin", "netlab"], None)
    }

    /// GC of the usual list, with these attachments (`ID/IFNAME`) still valid.
    pub fn gc(&self, valid: &[&str]) -> Result<Answer, Outcome> {
        let bin = self.bin.display().to_string();
        let list = self.list.display().to_string();
        self.driver(
            &["gc", "-cni-path", &bin, "-conflist", &list, "-valid", &valid.join(",")],
            None,
        )
    }

    /// STATUS of the usual list, with the plugins of `bin`.
    pub fn status(&self, bin: &Path) -> Result<Answer, Outcome> {
        let bin = bin.display().to_string();
        let list = self.list.display().to_string();
        self.driver(&["status", "-cni-path", &bin, "-conflist", &list], None)
    }

    /// The plugin run directly, as the spec describes it: `command`, `stdin`, and the
    /// attachment's variables when given (empty ones unset).
    pub fn raw(&self, command: &str, stdin: &[u8], id: &str, netns: &str) -> Result<Answer, Outcome> {
        let bin = self.bin.display().to_string();
        let mut args = vec!["raw", "-cni-path", &bin, "-plugin", "netlab", "-command", command];
        if !id.is_empty() {
            args.extend(["-id", id]);
        }
        if !netns.is_empty() {
            args.extend(["-netns", netns]);
        }
        self.driver(&args, Some(stdin))
    }

    /// host-local's leases: (address, container id), from its files.
    pub fn leases(&self) -> Vec<(Ipv4Addr, String)> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.store).into_iter().flatten().flatten() {
            let Some(address) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            let id = text.lines().next().unwrap_or_default().trim().to_string();
            found.push((address, id));
        }
        found.sort();
        found
    }

    /// The leases, for "observed" texts.
    pub fn leases_view(&self) -> String {
        let leases = self.leases();
        if leases.is_empty() {
            return format!("{}: no lease", self.store.display());
        }
        let lines: Vec<String> = leases.iter().map(|(a, id)| format!("  {a} held by {id}")).collect();
        format!("{}:\n{}", self.store.display(), lines.join("\n"))
    }
}

/// A bare network namespace made by the check (`unshare --net sleep`), the sandbox a
/// runtime hands to CNI; removed when dropped or [`Sandbox::vanish`]ed.
pub(super) struct Sandbox {
    child: Option<Child>,
    pub path: PathBuf,
}

impl Sandbox {
    pub fn new() -> Result<Sandbox, Outcome> {
        let child = Command::new("unshare")
            .args(["--net", "--", "sleep", "60"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting unshare --net")?;
        let path = PathBuf::from(format!("/proc/{}/ns/net", child.id()));
        let own = fs::read_link("/proc/self/ns/net").context("reading our netns")?;
        let mut sandbox = Sandbox {
            child: Some(child),
            path,
        };
        // Until unshare has run, the child is still in the lab host's namespace.
        let ready = crate::steps::observe::poll(std::time::Duration::from_secs(3), || {
            let now = fs::read_link(&sandbox.path).ok()?;
            (now != own).then_some(())
        });
        if ready.is_none() {
            sandbox.vanish();
            return Err(Outcome::LabError {
                message: "unshare --net made no namespace within 3 s".into(),
            });
        }
        Ok(sandbox)
    }

    /// The sandbox's end: its only process killed, its namespace goes with it (a crash, a
    /// reboot). Its path then names nothing.
    pub fn vanish(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `ip ARGS` inside.
    pub fn ip(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        Command::new("nsenter")
            .arg(format!("--net={}", self.path.display()))
            .arg("ip")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("running ip in a sandbox")
    }

    /// The IPv4 addresses (`a.b.c.d/n`) of `ifname` inside; empty if it has none or is missing.
    pub fn addresses(&self, ifname: &str) -> Vec<String> {
        let Ok(out) = self.ip(&["-j", "addr", "show", "dev", ifname]) else {
            return Vec::new();
        };
        let seen: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        seen[0]["addr_info"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["family"] == "inet")
            .filter_map(|a| Some(format!("{}/{}", a["local"].as_str()?, a["prefixlen"])))
            .collect()
    }

    /// Its links, for "observed" texts.
    pub fn view(&self) -> String {
        match self.ip(&["-br", "addr"]) {
            Ok(out) => format!("in the sandbox:\n{}", String::from_utf8_lossy(&out.stdout)),
            Err(e) => format!("in the sandbox: {e:#}"),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.vanish();
    }
}

/// The lab host's links that are not the lab's own (veths of attachments), by name.
pub(super) fn host_veths() -> Vec<String> {
    let out = Command::new("ip")
        .args(["-j", "link", "show", "type", "veth"])
        .stdin(Stdio::null())
        .output();
    let links: Value = out
        .ok()
        .and_then(|o| serde_json::from_slice(&o.stdout).ok())
        .unwrap_or(Value::Null);
    links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str().map(str::to_string))
        .filter(|n| n != "eth0")
        .collect()
}
