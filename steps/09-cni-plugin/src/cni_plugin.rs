//! Step 09: a CNI plugin of your own, driven by libcni.
//!
//! Lesson: steps/09-cni-plugin/README.md. Check your work: `cargo xtask check 09`.
//! The names and helpers it uses are in src/given.rs, beside this file (given, not TODO).

use serde_json::Value;

pub mod given;
pub use given::*;

/// The plugin: one call, as the runtime made it (`env`, the configuration on `stdin`).
/// Returns what to print on stdout (nothing for DEL, GC and STATUS) or the spec's error.
pub fn handle(env: &Env, stdin: &[u8]) -> Result<Option<Value>, CniError> {
    // TODO: VERSION first (it needs no configuration): {"cniVersion": "1.1.0",
    // "supportedVersions": SUPPORTED}. Then NetConf::parse(stdin) (errors 6 and 7 are made
    // there), error 1 for a cniVersion not in SUPPORTED, error 7 without ipam.type
    // (conf.ipam_type()), and ADD, DEL, CHECK, GC, STATUS to the functions below; error 4
    // for a CNI_COMMAND missing or unknown.
    todo!(
        "answer CNI_COMMAND {} ({} bytes of configuration)",
        env.command,
        stdin.len()
    )
}

/// ADD: an address from the IPAM plugin, the veth pair into the container's namespace
/// (its host end on the bridge), the address and routes inside, and the result. A failure
/// undoes what was done: the address goes back, the links go.
pub fn add(env: &Env, conf: &NetConf) -> Result<Value, CniError> {
    // TODO: env.attachment() and env.netns() (error 3 if the namespace does not exist);
    // ensure_bridge(); delegate_ipam(env, conf, "ADD"); then, undoing both on failure:
    // `ip link add host_end(id, ifname) type veth peer name IFNAME netns NETNS`, the host end
    // `master` conf.bridge() and up; inside (`nsenter --net=NETNS ip ...`) the MAC mac_of(ip),
    // the address, up, each IPAM route via its gw or the gateway. The result: prevResult's
    // interfaces, ips and routes, then yours (the host end, then IFNAME with "sandbox"), each
    // ip's "interface" the index of IFNAME; "dns" from conf.dns.
    todo!("ADD of {} {}", env.container_id, conf.name)
}

/// DEL: everything ADD made goes, and what is already gone is no error: a DEL may come
/// twice, after a failed ADD, or after the namespace is gone (then CNI_NETNS may be empty).
pub fn del(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    // TODO: delegate_ipam(env, conf, "DEL") first (the address is freed whatever the links'
    // state); then the container end if netns_exists(), and the host end if it is still there.
    todo!("DEL of {} {}", env.container_id, conf.name)
}

/// CHECK: the attachment is as ADD left it: its lease (the IPAM plugin's own CHECK), its
/// interface in the namespace with the address of the result, and the routes.
pub fn check(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    // TODO: prevResult is required; error 3 if the namespace is gone; delegate_ipam CHECK;
    // the host end exists; IFNAME has every address prevResult gives it; the routes are there.
    todo!("CHECK of {} {}", env.container_id, conf.name)
}

/// GC (spec 1.1): frees every lease of this network whose attachment the runtime no longer
/// knows. host-local (1.1.1) has no GC of its own: its store is read here, under its lock.
pub fn gc(conf: &NetConf) -> Result<(), CniError> {
    // TODO: under the lock of conf.store() (its file `lock`), remove each lease file (named
    // after an address, holding "<container id>\r\n<ifname>") whose attachment is not in
    // conf.valid_attachments.
    todo!("GC of {}", conf.name)
}

/// STATUS (spec 1.1): ready when an ADD can work: the IPAM plugin is in CNI_PATH. Error 50
/// otherwise.
pub fn status(env: &Env, conf: &NetConf) -> Result<(), CniError> {
    // TODO: error code::NOT_AVAILABLE (50) when env.find(ipam type) finds nothing.
    todo!(
        "STATUS of {} ({} dirs in CNI_PATH)",
        conf.name,
        env.path.len()
    )
}
