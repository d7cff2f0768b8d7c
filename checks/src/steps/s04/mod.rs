//! Step 04: the container gets its own /etc/resolv.conf (the lab host's, without loopback
//! nameservers, with the lab's resolver as the fallback) and /etc/hosts (localhost and its own
//! name); names then resolve inside, and the lab host's files stay as they were.
//!
//! The clients are real: busybox's cat, nslookup, ping and wget inside the container. Every
//! failure about a name shows the container's /etc/resolv.conf or /etc/hosts as it is.

mod resolv;

use super::observe;
use crate::catalog::{Check, LIMIT};
use crate::probe::{Probe, Running};
use crate::verdict::{Outcome, Verdict};
use anyhow::Context;
use lab::addresses::containers::FIRST as CONTAINER_IP;
use lab::addresses::WEB_ADDR;
use lab::Profile;
use std::path::Path;
use std::process::Output;

/// What the containers of these checks run.
const SLEEP: &[&str] = &["sleep", "30"];
/// How long a client inside may take (busybox `timeout`): a resolver asking a nameserver that
/// never answers waits for seconds per try.
const CLIENT_SECONDS: &str = "5";
/// A name the lab's DNS server does not know.
const UNKNOWN_NAME: &str = "nothing.lab.test";
/// The lab's web server, by name.
const WEB_NAME: &str = "web.lab.test";

/// No checks of this set share a lab (see `steps::TOGETHER`).
pub const TOGETHER: &[&[&str]] = &[];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[
    Check {
        name: "resolv-conf",
        title: "host with 127.0.0.53 and 203.0.113.53: the container gets 203.0.113.53 alone",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: resolv::resolv_conf,
    },
    Check {
        name: "fallback",
        title: "host with only 127.0.0.53: the container gets 203.0.113.53, search and options kept",
        hint: 1,
        limit: LIMIT,
        profile: Profile::StubResolverOnly,
        run: resolv::resolv_conf,
    },
    Check {
        name: "dnsmasq",
        title: "host with only 127.0.1.1 and ::1 (dnsmasq): the container gets 203.0.113.53",
        hint: 1,
        limit: LIMIT,
        profile: Profile::DnsmasqHost,
        run: resolv::resolv_conf,
    },
    Check {
        name: "real-nameservers",
        title: "host with real nameservers only: the container keeps them, adds none, resolves",
        hint: 1,
        limit: LIMIT,
        profile: Profile::RealNameservers,
        run: resolv::real_nameservers,
    },
    Check {
        name: "nslookup",
        title: "inside, nslookup web.lab.test gives 203.0.113.80",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: nslookup,
    },
    Check {
        name: "by-name",
        title: "inside, ping and wget reach web.lab.test by its name",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: by_name,
    },
    Check {
        name: "unknown-name",
        title: "inside, nslookup nothing.lab.test fails at once with NXDOMAIN",
        hint: 2,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: unknown_name,
    },
    Check {
        name: "hostname",
        title: "inside, /etc/hosts names localhost and the container; ping of its name answers",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: hostname,
    },
    Check {
        name: "host-untouched",
        title: "the lab host's resolv.conf and hosts unchanged; each container has its own files",
        hint: 1,
        limit: LIMIT,
        profile: Profile::Fresh,
        run: host_untouched,
    },
];

fn nslookup(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    looks_up(probe, &container)?;
    container.stop()?;
    Ok(())
}

/// `nslookup web.lab.test` inside the container answers the web server's address.
fn looks_up(probe: &Probe, container: &Running) -> Verdict {
    let web = WEB_ADDR.to_string();
    let typed = format!("nslookup {WEB_NAME}");
    let output = client(container, &["nslookup", WEB_NAME])?;
    if !output.status.success() || !answers(&output, &web) {
        return Err(Outcome::failed(
            format!("{typed} inside the container answers {web}"),
            with_resolv_conf(probe, container, &typed, &output),
        ));
    }
    Ok(())
}

fn by_name(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let typed = format!("ping -c1 -W2 {WEB_NAME}");
    let ping = client(&container, &["ping", "-c", "1", "-W", "2", WEB_NAME])?;
    if !ping.status.success() {
        return Err(Outcome::failed(
            format!("{typed} inside the container answers"),
            with_resolv_conf(probe, &container, &typed, &ping),
        ));
    }
    let url = format!("http://{WEB_NAME}/");
    let typed = format!("wget -qO- {url}");
    let wget = client(&container, &["wget", "-qO-", &url])?;
    let page = String::from_utf8_lossy(&wget.stdout).into_owned();
    if !wget.status.success() || lab::web::client_of(&page).is_none() {
        return Err(Outcome::failed(
            format!("{typed} inside the container gets the lab's web page"),
            with_resolv_conf(probe, &container, &typed, &wget),
        ));
    }
    container.stop()?;
    Ok(())
}

fn unknown_name(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let typed = format!("nslookup {UNKNOWN_NAME}");
    let output = client(&container, &["nslookup", UNKNOWN_NAME])?;
    let expected = format!(
        "{typed} inside the container fails within {CLIENT_SECONDS} s, the nameserver saying \
         NXDOMAIN (no such name)"
    );
    let said_nxdomain = observe::text(&output).contains("NXDOMAIN");
    if output.status.success() || !said_nxdomain {
        return Err(Outcome::failed(
            expected,
            with_resolv_conf(probe, &container, &typed, &output),
        ));
    }
    container.stop()?;
    Ok(())
}

fn hostname(probe: &Probe) -> Verdict {
    let container = probe.start("c1", SLEEP)?;
    let name = container.name.clone();
    let text = file_inside(&container, "/etc/hosts")?;
    let entries = hosts(&text);
    if !entries
        .iter()
        .any(|(addr, names)| addr == "127.0.0.1" && names.contains(&"localhost"))
    {
        return Err(Outcome::failed(
            "a line `127.0.0.1 localhost` in the container's /etc/hosts",
            shown("the container's /etc/hosts", &text),
        ));
    }
    let theirs: Vec<&str> = entries
        .iter()
        .filter(|(_, names)| names.contains(&name.as_str()))
        .map(|(addr, _)| addr.as_str())
        .collect();
    // The container's address (step 03), where its hostname must point.
    if theirs != [CONTAINER_IP.to_string().as_str()] {
        return Err(Outcome::failed(
            format!(
                "a line `{CONTAINER_IP} {name}` in the container's /etc/hosts: its hostname at \
                 its address, and nowhere else"
            ),
            shown("the container's /etc/hosts", &text),
        ));
    }
    let typed = format!("ping -c1 -W2 {name}");
    let ping = client(&container, &["ping", "-c", "1", "-W", "2", &name])?;
    let resolved = observe::text(&ping).contains(&format!("({CONTAINER_IP})"));
    if !ping.status.success() || !resolved {
        return Err(Outcome::failed(
            format!("{typed} (the container's own hostname) answers from {CONTAINER_IP}"),
            format!(
                "container# {typed}\n{}\n{}",
                observe::text(&ping),
                shown("the container's /etc/hosts", &text)
            ),
        ));
    }
    container.stop()?;
    Ok(())
}

fn host_untouched(probe: &Probe) -> Verdict {
    let watched = ["/etc/resolv.conf", "/etc/hosts"];
    let base_etc = probe.lab.paths().rootfs.join("etc");
    let before: Vec<Option<String>> = watched.iter().map(|f| read(Path::new(f))).collect();
    let base_before = directory(&base_etc);

    let mut seen = Vec::new();
    for name in ["c1", "c2"] {
        let cat = probe.run(name, &["cat", "/etc/hosts"])?;
        if cat.status != 0 {
            return Err(Outcome::failed(
                format!("container {name} has an /etc/hosts of its own"),
                format!("container# cat /etc/hosts\n{}", cat.output()),
            ));
        }
        seen.push((name, cat.stdout));
    }

    for (file, before) in watched.iter().zip(&before) {
        let after = read(Path::new(file));
        if after != *before {
            let show = |text: &Option<String>| {
                text.as_deref()
                    .map_or("(no such file)".to_string(), |t| t.trim_end().to_string())
            };
            return Err(Outcome::failed(
                format!(
                    "the lab host's {file} unchanged after two containers ran: each container's \
                     files go under its own root filesystem"
                ),
                format!("before:\n{}\nafter:\n{}", show(before), show(&after)),
            ));
        }
    }
    if directory(&base_etc) != base_before {
        return Err(Outcome::failed(
            "the lab's base root filesystem unchanged: each container's files go under its own \
             root (the hooks' `rootfs`), which is fresh for every container",
            format!("{} changed while the containers ran", base_etc.display()),
        ));
    }
    for (name, text) in &seen {
        let named: Vec<&str> = hosts(text)
            .into_iter()
            .flat_map(|(_, names)| names)
            .filter(|n| *n == "c1" || *n == "c2")
            .collect();
        if named != [*name] {
            return Err(Outcome::failed(
                format!("container {name}'s /etc/hosts names {name}, and not the other container"),
                shown(&format!("container {name}'s /etc/hosts"), text),
            ));
        }
    }
    Ok(())
}

/// A file inside the container, read with its busybox `cat`.
fn file_inside(container: &Running, path: &str) -> Result<String, Outcome> {
    let output = container.exec("cat", &[path])?;
    if !output.status.success() {
        return Err(Outcome::failed(
            format!(
                "the container has a {path} of its own, written under its root filesystem \
                 before its command starts"
            ),
            format!("container# cat {path}\n{}", observe::text(&output)),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A client inside the container, ended by busybox's `timeout` if it takes too long.
fn client(container: &Running, args: &[&str]) -> Result<Output, Outcome> {
    let mut full = vec!["timeout", CLIENT_SECONDS];
    full.extend_from_slice(args);
    let output = container
        .exec(full[0], &full[1..])
        .with_context(|| format!("running {} inside the container", args.join(" ")))?;
    Ok(output)
}

/// The `(address, names)` lines of a hosts file, comments left out.
pub fn hosts(text: &str) -> Vec<(String, Vec<&str>)> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let address = words.next()?;
            Some((address.to_string(), words.collect()))
        })
        .collect()
}

/// Whether busybox nslookup's output gives `address` as an answer (not as the server's).
fn answers(output: &Output, address: &str) -> bool {
    let text = String::from_utf8_lossy(&output.stdout);
    let mut after_name = false;
    for line in text.lines() {
        if line.starts_with("Name:") {
            after_name = true;
        } else if after_name && line.split_whitespace().last() == Some(address) {
            return true;
        }
    }
    false
}

/// `what:` and the text, for reports.
fn shown(what: &str, text: &str) -> String {
    let text = text.trim_end();
    if text.is_empty() {
        format!("{what} is empty")
    } else {
        format!("{what}:\n{text}")
    }
}

/// A client's output, the container's resolv.conf (where the answer came from, or not), and
/// the trace of one query to its first nameserver.
fn with_resolv_conf(probe: &Probe, container: &Running, typed: &str, output: &Output) -> String {
    let ran = if observe::killed_by_timeout(&output.status) {
        format!("no answer within {CLIENT_SECONDS} s (killed)\n")
    } else {
        String::new()
    };
    let mut nameserver = None;
    let file = match container.exec("cat", &["/etc/resolv.conf"]) {
        Ok(cat) if cat.status.success() => {
            let text = String::from_utf8_lossy(&cat.stdout);
            nameserver = text.lines().find_map(|l| {
                let mut words = l.split_whitespace();
                (words.next() == Some("nameserver"))
                    .then(|| words.next()?.parse::<std::net::Ipv4Addr>().ok())
                    .flatten()
            });
            shown("the container's /etc/resolv.conf", &text)
        }
        Ok(cat) => format!("container# cat /etc/resolv.conf\n{}", observe::text(&cat)),
        Err(e) => format!("{e:#}"),
    };
    let trace = nameserver
        .map(|ip| {
            format!(
                "\n{}",
                probe.trace_from(container, &lab::endpoint::To::udp(ip, 53))
            )
        })
        .unwrap_or_default();
    format!(
        "container# {typed}\n{ran}{}\n{file}{trace}",
        observe::text(output)
    )
}

/// A file's text, or `None` when it cannot be read.
fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A directory's files and their contents, sorted by name.
fn directory(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut files: Vec<(String, Option<Vec<u8>>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).ok(),
            )
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lines_are_split_and_comments_left_out() {
        let text = "# a comment\n127.0.0.1\tlocalhost\n::1 localhost ip6-localhost\n\n\
                    10.0.0.2 c1 # the container\n";
        assert_eq!(
            hosts(text),
            [
                ("127.0.0.1".to_string(), vec!["localhost"]),
                ("::1".to_string(), vec!["localhost", "ip6-localhost"]),
                ("10.0.0.2".to_string(), vec!["c1"]),
            ]
        );
    }
}
