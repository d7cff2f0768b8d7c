//! The conformance list, written from the CNI spec: each check drives the plugin through
//! libcni (or, where the spec describes the call itself, runs it as the spec says) on bare
//! namespaces of its own, and looks at what is true afterwards: the namespace's links, the
//! lab host's veths, host-local's leases.

use super::cni::{host_veths, plugin_conf, Answer, Cni, Sandbox, NETWORK};
use super::super::observe;
use crate::probe::{stop_all, Probe};
use crate::verdict::{Outcome, Verdict};
use lab::addresses::containers::BRIDGE;
use lab::addresses::DNS_ADDR;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];

/// A call that must succeed.
fn must(what: &str, answer: Answer, cni: &Cni) -> Result<Answer, Outcome> {
    if answer.ok {
        return Ok(answer);
    }
    Err(Outcome::failed(
        format!("{what} succeeds"),
        format!("{}\n{}", answer.shown(), cni.leases_view()),
    ))
}

pub(super) fn version(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let answer = must("VERSION through libcni", cni.version()?, &cni)?;
    let listed: Vec<&str> = answer.json["supportedVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for wanted in ["1.0.0", "1.1.0"] {
        if !listed.contains(&wanted) {
            return Err(Outcome::failed(
                format!("VERSION's supportedVersions lists {wanted}"),
                answer.shown(),
            ));
        }
    }
    Ok(())
}

/// The spec's result, checked for attachment (`id`, eth0) in `sandbox`: what is wrong with
/// it, if anything.
fn invalid_result(result: &Value, sandbox: &Sandbox) -> Option<String> {
    if result["cniVersion"] != "1.0.0" {
        return Some(format!(
            "cniVersion is {} (the list's is 1.0.0)",
            result["cniVersion"]
        ));
    }
    let Some(interfaces) = result["interfaces"].as_array() else {
        return Some("no interfaces array".into());
    };
    if interfaces.iter().any(|i| i["name"].as_str().is_none_or(str::is_empty)) {
        return Some("an interface without a name".into());
    }
    let netns = sandbox.path.display().to_string();
    let Some(ips) = result["ips"].as_array().filter(|ips| !ips.is_empty()) else {
        return Some("no ips".into());
    };
    let mut ours = false;
    for ip in ips {
        let address = ip["address"].as_str().unwrap_or_default();
        let Some(index) = ip["interface"].as_u64() else {
            return Some(format!("ip {address} has no interface index"));
        };
        let Some(named) = interfaces.get(index as usize) else {
            return Some(format!(
                "ip {address} points at interface {index}, but there are {} interfaces",
                interfaces.len()
            ));
        };
        if !address.starts_with("10.0.0.") {
            continue;
        }
        ours = true;
        if !address.ends_with("/24") {
            return Some(format!("ip {address} is not in 10.0.0.0/24 with prefix 24"));
        }
        if named["name"] != "eth0" || named["sandbox"].as_str() != Some(netns.as_str()) {
            return Some(format!(
                "ip {address} points at interface {index}, {named}: not eth0 in the sandbox {netns}"
            ));
        }
        if !sandbox.addresses("eth0").iter().any(|a| a == address) {
            return Some(format!(
                "the result gives eth0 {address}, but it does not have it\n{}",
                sandbox.view()
            ));
        }
    }
    if !ours {
        return Some("no ip of 10.0.0.0/24".into());
    }
    let default = result["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["dst"] == "0.0.0.0/0");
    if !default {
        return Some("no route to 0.0.0.0/0 in routes".into());
    }
    let dns = DNS_ADDR.to_string();
    let has_dns = result["dns"]["nameservers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n.as_str() == Some(dns.as_str()));
    if !has_dns {
        return Some(format!("dns.nameservers lacks {dns}, the configuration's"));
    }
    // A host-side interface (no sandbox) of the result is on the lab host, on the bridge.
    let on_bridge = interfaces
        .iter()
        .filter(|i| i["sandbox"].as_str().is_none_or(str::is_empty))
        .filter_map(|i| i["name"].as_str())
        .any(|name| {
            Command::new("ip")
                .args(["-j", "link", "show", "dev", name])
                .stdin(Stdio::null())
                .output()
                .ok()
                .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
                .is_some_and(|l| l[0]["master"] == BRIDGE)
        });
    if !on_bridge {
        return Some(format!(
            "no interface of the result without a sandbox is a port of {BRIDGE} on the lab host"
        ));
    }
    None
}

pub(super) fn add_result(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    let answer = must("ADD through libcni", cni.add("c1", &sandbox.path)?, &cni)?;
    if let Some(wrong) = invalid_result(&answer.json, &sandbox) {
        return Err(Outcome::failed(
            "ADD's result is valid per the spec, and true",
            format!("{wrong}\nthe result: {}", answer.stdout.trim()),
        ));
    }
    let leased = cni.leases().iter().any(|(_, id)| id == "c1");
    if !leased {
        return Err(Outcome::failed(
            "host-local holds a lease for the attachment",
            cni.leases_view(),
        ));
    }
    Ok(())
}

pub(super) fn check_verifies(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    must("ADD", cni.add("c1", &sandbox.path)?, &cni)?;
    must("CHECK of a fresh attachment", cni.check("c1", &sandbox.path)?, &cni)?;
    let flushed = sandbox.ip(&["addr", "flush", "dev", "eth0"])?;
    if !flushed.status.success() || !sandbox.addresses("eth0").is_empty() {
        return Err(Outcome::LabError {
            message: format!("cannot flush eth0's addresses in the sandbox\n{}", sandbox.view()),
        });
    }
    let answer = cni.check("c1", &sandbox.path)?;
    if answer.ok {
        return Err(Outcome::failed(
            "CHECK fails once eth0 has lost the address of the result",
            format!("CHECK {}\n{}", answer.shown(), sandbox.view()),
        ));
    }
    Ok(())
}

pub(super) fn del_twice(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    let before = host_veths();
    must("ADD", cni.add("c1", &sandbox.path)?, &cni)?;
    must("DEL", cni.del("c1", &sandbox.path)?, &cni)?;
    nothing_left(&cni, &before, "c1", "after DEL")?;
    must("a second DEL of the same attachment", cni.del("c1", &sandbox.path)?, &cni)?;
    nothing_left(&cni, &before, "c1", "after a second DEL")
}

/// No lease of `id`, and no veth on the lab host besides `before`'s.
/// The lab host's veths that `before` did not have, once they had a moment to go: a veth
/// whose other end was in a namespace that is gone goes with it, but the kernel removes it in
/// the background, later on a busy machine.
fn veths_left(before: &[String]) -> Vec<String> {
    let left = || -> Vec<String> {
        host_veths()
            .into_iter()
            .filter(|v| !before.contains(v))
            .collect()
    };
    let _ = observe::poll(Duration::from_secs(3), || left().is_empty().then_some(()));
    left()
}

fn nothing_left(cni: &Cni, before: &[String], id: &str, when: &str) -> Verdict {
    if cni.leases().iter().any(|(_, held)| held == id) {
        return Err(Outcome::failed(
            format!("{when}, the address of {id} is free"),
            cni.leases_view(),
        ));
    }
    let new = veths_left(before);
    if !new.is_empty() {
        return Err(Outcome::failed(
            format!("{when}, no veth of {id} is left on the lab host"),
            format!("left: {}", new.join(" ")),
        ));
    }
    Ok(())
}

pub(super) fn del_netns_gone(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let mut sandbox = Sandbox::new()?;
    let before = host_veths();
    must("ADD", cni.add("c1", &sandbox.path)?, &cni)?;
    let path = sandbox.path.clone();
    sandbox.vanish();
    must(
        &format!("DEL once the namespace {} is gone", path.display()),
        cni.del("c1", &path)?,
        &cni,
    )?;
    nothing_left(&cni, &before, "c1", "after DEL of a gone namespace")
}

pub(super) fn cycles(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    let before = host_veths();
    for round in 1..=5 {
        let answer = must(&format!("ADD number {round}"), cni.add("c1", &sandbox.path)?, &cni)?;
        if let Some(wrong) = invalid_result(&answer.json, &sandbox) {
            return Err(Outcome::failed(
                format!("ADD number {round} (after {} DELs) is valid and true", round - 1),
                wrong,
            ));
        }
        must(&format!("DEL number {round}"), cni.del("c1", &sandbox.path)?, &cni)?;
        nothing_left(&cni, &before, "c1", &format!("after DEL number {round}"))?;
        if !sandbox.addresses("eth0").is_empty() {
            return Err(Outcome::failed(
                format!("after DEL number {round}, eth0 is gone from the namespace"),
                sandbox.view(),
            ));
        }
    }
    Ok(())
}

pub(super) fn add_fails_cleanly(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    // An eth0 there already: a pair of its own, inside the sandbox.
    let taken = sandbox.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "spare"])?;
    if !taken.status.success() {
        return Err(Outcome::LabError {
            message: format!(
                "cannot make an eth0 in a sandbox: {}",
                String::from_utf8_lossy(&taken.stderr).trim()
            ),
        });
    }
    let before = host_veths();
    let answer = cni.add("c1", &sandbox.path)?;
    if answer.ok {
        return Err(Outcome::failed(
            "ADD fails when the namespace already has an eth0",
            format!("ADD {}\n{}", answer.shown(), sandbox.view()),
        ));
    }
    if !cni.leases().is_empty() {
        return Err(Outcome::failed(
            "the failed ADD gave its address back (no lease is left)",
            format!("ADD {}\n{}", answer.shown(), cni.leases_view()),
        ));
    }
    nothing_left(&cni, &before, "c1", "after the failed ADD")
}

pub(super) fn chained(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    let data_dir = probe.lab.paths().state.join("cni/networks");
    let list = cni.write_list(
        "chained",
        &json!({
            "cniVersion": "1.0.0",
            "name": NETWORK,
            "plugins": [{ "type": "loopback" }, plugin_conf(&data_dir)],
        }),
    )?;
    let answer = must("ADD of [loopback, netlab]", cni.add_with(&list, "c1", &sandbox.path, "eth0")?, &cni)?;
    let result = &answer.json;
    let expected = "the plugin adds to prevResult: loopback's interface lo and its ip 127.0.0.1/8 \
                    are kept, and eth0's ip points at eth0";
    let interfaces = result["interfaces"].as_array().cloned().unwrap_or_default();
    let named = |ip: &Value| {
        ip["interface"]
            .as_u64()
            .and_then(|i| interfaces.get(i as usize))
            .and_then(|i| i["name"].as_str())
            .map(str::to_string)
    };
    let ips = result["ips"].as_array().cloned().unwrap_or_default();
    let lo_kept = ips
        .iter()
        .any(|ip| ip["address"] == "127.0.0.1/8" && named(ip).as_deref() == Some("lo"));
    let eth0 = ips.iter().any(|ip| {
        ip["address"].as_str().is_some_and(|a| a.starts_with("10.0.0."))
            && named(ip).as_deref() == Some("eth0")
    });
    if !lo_kept || !eth0 {
        return Err(Outcome::failed(expected, format!("the result: {}", answer.stdout.trim())));
    }
    must("DEL of the chained list", cni.del_with(&list, "c1", &sandbox.path, "eth0")?, &cni)?;
    Ok(())
}

pub(super) fn error_codes(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let sandbox = Sandbox::new()?;
    let netns = sandbox.path.display().to_string();
    let data_dir = probe.lab.paths().state.join("cni/networks");
    let conf = |version: &str| {
        let mut conf = plugin_conf(&data_dir);
        conf["cniVersion"] = json!(version);
        conf["name"] = json!(NETWORK);
        conf
    };
    let mut without_ipam = conf("1.0.0");
    if let Some(map) = without_ipam.as_object_mut() {
        map.remove("ipam");
    }
    let cases: [(&str, Vec<u8>, &str, u64); 4] = [
        ("stdin that is not JSON", b"this is not JSON".to_vec(), "c1", 6),
        ("cniVersion 9.9.9", conf("9.9.9").to_string().into_bytes(), "c1", 1),
        ("a configuration without ipam", without_ipam.to_string().into_bytes(), "c1", 7),
        ("no CNI_CONTAINERID", conf("1.0.0").to_string().into_bytes(), "", 4),
    ];
    for (what, stdin, id, code) in cases {
        let answer = cni.raw("ADD", &stdin, id, &netns)?;
        let msg = answer.json["msg"].as_str().is_some_and(|m| !m.is_empty());
        if answer.code() != Some(code) || !msg {
            return Err(Outcome::failed(
                format!(
                    "ADD with {what} fails with the spec's error object: code {code} and a msg"
                ),
                answer.shown(),
            ));
        }
    }
    if !cni.leases().is_empty() {
        return Err(Outcome::failed(
            "the refused ADDs took no address",
            cni.leases_view(),
        ));
    }
    Ok(())
}

pub(super) fn gc_reboot(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let mut x = Sandbox::new()?;
    let mut y = Sandbox::new()?;
    must("ADD of x", cni.add("x", &x.path)?, &cni)?;
    must("ADD of y", cni.add("y", &y.path)?, &cni)?;
    let answer = must("GC with y/eth0 the only valid attachment", cni.gc(&["y/eth0"])?, &cni)?;
    if !answer.called_netlab() {
        return Err(Outcome::failed(
            "the runtime sends GC to the plugin (its VERSION lists 1.1.0)",
            answer.shown(),
        ));
    }
    let leases = cni.leases();
    let held = |id: &str| leases.iter().any(|(_, held)| held == id);
    if held("x") || !held("y") {
        return Err(Outcome::failed(
            "GC frees x's address (no longer valid) and keeps y's",
            cni.leases_view(),
        ));
    }
    // A reboot: every namespace gone, the runtime knows no attachment any more.
    x.vanish();
    y.vanish();
    must("GC after a reboot (no valid attachment)", cni.gc(&[])?, &cni)?;
    if !cni.leases().is_empty() {
        return Err(Outcome::failed(
            "after a reboot, GC with no valid attachment leaves no lease (no leaked address)",
            cni.leases_view(),
        ));
    }
    Ok(())
}

pub(super) fn status(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let answer = must("STATUS with host-local in CNI_PATH", cni.status(&cni.bin)?, &cni)?;
    if !answer.called_netlab() {
        return Err(Outcome::failed(
            "the runtime sends STATUS to the plugin (its VERSION lists 1.1.0)",
            answer.shown(),
        ));
    }
    let without = cni.bin_without("host-local")?;
    let answer = cni.status(&without)?;
    if answer.code() != Some(50) {
        return Err(Outcome::failed(
            "STATUS without host-local in CNI_PATH is error 50 (cannot service ADD)",
            answer.shown(),
        ));
    }
    Ok(())
}

pub(super) fn cleanup(probe: &Probe) -> Verdict {
    let cni = Cni::new(probe)?;
    let before = host_veths();
    let a = probe.start("a", SLEEP)?;
    let b = probe.start_with("b", &["-p", "8080:80"], SLEEP)?;
    let store = probe.lab.paths().state.join("cni/networks").join(NETWORK);
    let leases = cni.leases();
    if leases.len() != 2 {
        return Err(Outcome::failed(
            format!("two running containers hold two leases in {}", store.display()),
            cni.leases_view(),
        ));
    }
    stop_all(vec![a, b])?;
    if !cni.leases().is_empty() {
        return Err(Outcome::failed(
            "after the containers ended, every address is free",
            cni.leases_view(),
        ));
    }
    let new = veths_left(&before);
    if !new.is_empty() {
        return Err(Outcome::failed(
            "after the containers ended, no veth of theirs is left on the lab host",
            format!("left: {}", new.join(" ")),
        ));
    }
    Ok(())
}
