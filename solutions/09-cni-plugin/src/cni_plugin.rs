//! Step 09: a CNI plugin of your own, driven by libcni.
//!
//! Lesson: steps/09-cni-plugin/README.md. Check your work: `cargo xtask check 09`.
//! The names and helpers it uses are in steps/09-cni-plugin/src/given.rs (given, not TODO):
//! the learner's own copy, which this solution compiles too.

use anyhow::Context;
use cmd_lib::run_cmd;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

#[path = "../../../steps/09-cni-plugin/src/given.rs"]
pub mod given;
pub use given::*;

/// The plugin: one call, as the runtime made it (`env`, the configuration on `stdin`).
/// Returns what to print on stdout (nothing for DEL, GC and STATUS) or the spec's error.
pub fn handle(env: &Env, stdin: &[u8]) -> Result<Option<Value>, CniError> {
    // VERSION needs no configuration: it says which versions this plugin speaks.
    if env.command == "VERSION" {
        return Ok(Some(json!({
            "cniVersion": "1.1.0",
            "supportedVersions": SUPPORTED,
        })));
    }
    let conf = NetConf::parse(stdin)?;
    if !SUPPORTED.contains(&conf.cni_version.as_str()) {
        return Err(CniError::new(
            code::INCOMPATIBLE_VERSION,
            format!("cniVersion {} is not supported", conf.cni_version),
        )
        .details(format!("supported: {}", SUPPORTED.join(", "))));
    }
    conf.ipam_type()?;
    match env.command.as_str() {
        "ADD" => add(env, &conf).map(Some),
        "DEL" => del(env, &conf).map(|()| None),
        "CHECK" => check(env, &conf).map(|()| None),
        "GC" => gc(&conf).map(|()| None),
        "STATUS" => status(env, &conf).map(|()| None),
        "" => Err(CniError::new(
            code::INVALID_ENVIRONMENT,
            "CNI_COMMAND is not set",
        )),
        other => Err(CniError::new(
            code::INVALID_ENVIRONMENT,
            format!("unknown CNI_COMMAND {other}"),
        )),
    }
}

/// ADD: an address from the IPAM plugin, the veth pair into the container's namespace
/// (its host end on the bridge), the address and routes inside, and the result. A failure
/// undoes what was done: the address goes back, the links go.
pub fn add(env: &Env, conf: &NetConf) -> Result<Value, CniError> {
    let (id, ifname) = env.attachment()?;
    let netns = env.netns()?;
    if !netns_exists(netns) {
        return Err(CniError::new(
            code::UNKNOWN_CONTAINER,
            format!("the network namespace {} does not exist", netns.display()),
        ));
    }
    ensure_bridge()?;
    let ipam = delegate_ipam(env, conf, "ADD")?;
    attach(conf, &ipam, id, ifname, netns).inspect_err(|_| {
        let _ = delegate_ipam(env, conf, "DEL");
        let _ = remove_links(id, ifname, netns);
    })
}

/// The links and addresses of ADD, then the result: the previous result's interfaces, ips
/// and routes first (a plugin of a list adds to what came before), then ours.
fn attach(
    conf: &NetConf,
    ipam: &Value,
    id: &str,
    ifname: &str,
    netns: &Path,
) -> Result<Value, CniError> {
    let ip = &ipam["ips"][0];
    let address = ip["address"]
        .as_str()
        .ok_or_else(|| CniError::new(code::OTHER, "the IPAM result has no address"))?;
    let gateway = ip["gateway"].as_str().unwrap_or_default().to_string();
    let own: std::net::Ipv4Addr = address
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| CniError::new(code::OTHER, format!("bad IPAM address {address}")))?;
    let host = host_end(id, ifname);
    let bridge = conf.bridge();
    let mac = mac_of(own);
    // The pair made with its container end in the namespace: a name taken there fails here,
    // before anything exists.
    run_cmd!(ip link add $host type veth peer name $ifname netns $netns)
        .context("creating the veth pair")?;
    run_cmd!(ip link set $host master $bridge up).context("plugging the host end")?;
    let mut commands = format!(
        "link set {ifname} address {mac}\n\
         addr add {address} dev {ifname}\n\
         link set {ifname} up\n"
    );
    let routes = ipam["routes"].as_array().cloned().unwrap_or_default();
    for route in &routes {
        let dst = route["dst"].as_str().unwrap_or("0.0.0.0/0");
        let via = route["gw"].as_str().unwrap_or(&gateway);
        commands.push_str(&format!("route add {dst} via {via} dev {ifname}\n"));
    }
    let netns_arg = format!("--net={}", netns.display());
    run_cmd!(echo -n $commands | nsenter $netns_arg ip -batch -)
        .context("configuring the container's interface")?;
    let host_mac = mac_of_link(&host)?;

    let previous = conf.prev_result.clone().unwrap_or(Value::Null);
    let mut interfaces = previous["interfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut ips = previous["ips"].as_array().cloned().unwrap_or_default();
    let mut all_routes = previous["routes"].as_array().cloned().unwrap_or_default();
    interfaces.push(json!({ "name": host, "mac": host_mac }));
    interfaces.push(json!({ "name": ifname, "mac": mac, "sandbox": netns }));
    let index = interfaces.len() - 1;
    ips.push(json!({ "address": address, "gateway": gateway, "interface": index }));
    for route in routes {
        let dst = route["dst"].as_str().unwrap_or("0.0.0.0/0");
        let gw = route["gw"].as_str().unwrap_or(&gateway);
        all_routes.push(json!({ "dst": dst, "gw": gw }));
    }
    let dns = conf
        .dns
        .clone()
        .or_else(|| ipam.get("dns").cloned())
        .unwrap_or_else(|| json!({}));
    Ok(json!({
        "cniVersion": conf.cni_version,
        "interfaces": interfaces,
        "ips": ips,
        "routes": all_routes,
        "dns": dns,
    }))
}

/// The attachment's links: the container end if its namespace is still there, and the host
/// end (gone with the container end, unless the namespace went first).
fn remove_links(id: &str, ifname: &str, netns: &Path) -> anyhow::Result<()> {
    if netns_exists(netns) {
        let netns_arg = format!("--net={}", netns.display());
        if run_cmd!(nsenter $netns_arg ip link show dev $ifname >/dev/null 2>&1).is_ok() {
            run_cmd!(nsenter $netns_arg ip link del $ifname)?;
        }
    }
    let host = host_end(id, ifname);
    if run_cmd!(ip link show dev $host >/dev/null 2>&1).is_ok()
        && run_cmd!(ip link del $host 2>/dev/null).is_err()
        && run_cmd!(ip link show dev $host >/dev/null 2>&1).is_ok()
    {
        anyhow::bail!("cannot delete the link {host}");
    }
    Ok(())
}

/// DEL: everything ADD made goes, and what is already gone is no error: a DEL may come
/// twice, after a failed ADD, or after the namespace is gone (then CNI_NETNS may be empty).
pub fn del(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    let (id, ifname) = env.attachment()?;
    // The address first: it must be freed even if the links are in a bad state.
    delegate_ipam(env, conf, "DEL")?;
    remove_links(id, ifname, Path::new(&env.netns))?;
    Ok(())
}

/// CHECK: the attachment is as ADD left it: its lease (the IPAM plugin's own CHECK), its
/// interface in the namespace with the address of the result, and the routes.
pub fn check(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    let (id, ifname) = env.attachment()?;
    let netns = env.netns()?;
    let previous = conf
        .prev_result
        .as_ref()
        .ok_or_else(|| CniError::new(code::INVALID_CONFIG, "CHECK needs prevResult"))?;
    if !netns_exists(netns) {
        return Err(CniError::new(
            code::UNKNOWN_CONTAINER,
            format!("the network namespace {} does not exist", netns.display()),
        ));
    }
    delegate_ipam(env, conf, "CHECK")?;
    let host = host_end(id, ifname);
    if run_cmd!(ip link show dev $host >/dev/null 2>&1).is_err() {
        return Err(CniError::new(
            code::OTHER,
            format!("the host end {host} is missing"),
        ));
    }
    let netns_arg = format!("--net={}", netns.display());
    let seen = cmd_lib::run_fun!(nsenter $netns_arg ip -j addr show dev $ifname)
        .map_err(|e| CniError::new(code::OTHER, format!("no {ifname} in the namespace: {e}")))?;
    let seen: Value = serde_json::from_str(&seen).unwrap_or(Value::Null);
    let have: Vec<String> = seen[0]["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some(format!("{}/{}", a["local"].as_str()?, a["prefixlen"])))
        .collect();
    let interfaces = previous["interfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for ip in previous["ips"].as_array().into_iter().flatten() {
        let index = ip["interface"].as_u64().unwrap_or(u64::MAX) as usize;
        if interfaces.get(index).and_then(|i| i["name"].as_str()) != Some(ifname) {
            continue;
        }
        let address = ip["address"].as_str().unwrap_or_default();
        if !have.iter().any(|h| h == address) {
            return Err(
                CniError::new(code::OTHER, format!("{ifname} does not have {address}"))
                    .details(format!("it has: {}", have.join(" "))),
            );
        }
    }
    let routes = cmd_lib::run_fun!(nsenter $netns_arg ip -j route show dev $ifname)
        .map_err(|e| CniError::new(code::OTHER, format!("reading the routes: {e}")))?;
    let routes: Value = serde_json::from_str(&routes).unwrap_or(Value::Null);
    for route in previous["routes"].as_array().into_iter().flatten() {
        let dst = match route["dst"].as_str().unwrap_or_default() {
            "0.0.0.0/0" => "default",
            other => other,
        };
        let found = routes.as_array().into_iter().flatten().any(|r| {
            let has = r["dst"].as_str().unwrap_or_default();
            has == dst || has == dst.trim_end_matches("/32")
        });
        if !found {
            return Err(CniError::new(
                code::OTHER,
                format!("the route to {dst} is missing in the namespace"),
            ));
        }
    }
    Ok(())
}

/// GC (spec 1.1): frees every lease of this network whose attachment the runtime no longer
/// knows. host-local (1.1.1) has no GC of its own: its store is read here, under its lock.
pub fn gc(conf: &NetConf) -> Result<(), CniError> {
    let valid = conf.valid_attachments.clone().unwrap_or_default();
    let store = conf.store();
    let Ok(entries) = fs::read_dir(&store) else {
        return Ok(());
    };
    let _lock = lock_store(&store)?;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_lease = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.parse::<std::net::IpAddr>().is_ok());
        if !is_lease {
            continue;
        }
        // host-local writes "<container id>\r\n<ifname>".
        let text = fs::read_to_string(&path).unwrap_or_default();
        let mut lines = text.lines().map(str::trim);
        let owner = Attachment {
            container_id: lines.next().unwrap_or_default().to_string(),
            ifname: lines.next().unwrap_or_default().to_string(),
        };
        if !valid.contains(&owner) {
            fs::remove_file(&path)
                .with_context(|| format!("freeing the lease {}", path.display()))?;
        }
    }
    Ok(())
}

/// host-local's lock on its store (`<store>/lock`), held until dropped.
fn lock_store(store: &Path) -> Result<nix::fcntl::Flock<fs::File>, CniError> {
    let file = fs::File::open(store.join("lock"))
        .or_else(|_| fs::File::open(store))
        .context("opening host-local's lock")?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
        CniError::from(anyhow::Error::from(e).context("locking host-local's store"))
    })
}

/// STATUS (spec 1.1): ready when an ADD can work: the IPAM plugin is in CNI_PATH. Error 50
/// otherwise.
pub fn status(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    let kind = conf.ipam_type()?;
    if env.find(kind).is_none() {
        return Err(CniError::new(
            code::NOT_AVAILABLE,
            format!("the IPAM plugin {kind} is not in CNI_PATH"),
        ));
    }
    Ok(())
}
