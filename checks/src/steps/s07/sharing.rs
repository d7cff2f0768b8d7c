//! What the members of a pod share: one network namespace, so one eth0, one address, one
//! routing table, one set of ports and one loopback; and what they do not: their files. The
//! member that joins makes nothing on the lab host.

use super::{
    in_namespace, join, observe, pod_of_two, reaches_out, serve, Probe, Verdict, SLEEP,
};
use crate::probe::stop_all;
use crate::verdict::Outcome;

pub(super) fn same_network(probe: &Probe) -> Verdict {
    let (c1, c2) = pod_of_two(probe)?;
    in_namespace(&c2, "c1", &c1.netns()?)?;
    let first = observe::inside(&c1)?;
    let second = observe::inside(&c2)?;
    let eth0 = |n: &lab::state::Netns| n.link("eth0").cloned();
    let same_eth0 = eth0(&first).is_some() && eth0(&first) == eth0(&second);
    if !same_eth0 || first.routes != second.routes {
        return Err(Outcome::failed(
            "c1 and c2 see the same eth0 (index, MAC, address) and the same routes",
            format!(
                "{}\n{}\n{}\n{}",
                observe::links_view("c1's links", &first),
                observe::routes_view("c1's routes", &first),
                observe::links_view("c2's links", &second),
                observe::routes_view("c2's routes", &second)
            ),
        ));
    }
    if first.link("eth0").is_some_and(|l| l.addrs.is_empty()) {
        return Err(Outcome::failed(
            "the pod's eth0 has the address step 05's code gave c1",
            observe::links_view("c1's links", &first),
        ));
    }
    reaches_out(probe, &c2, "from the pod")?;
    stop_all(vec![c2, c1])
}

pub(super) fn localhost(probe: &Probe) -> Verdict {
    let c1 = serve(probe, "c1")?;
    let c2 = join(probe, "c2", "c1", SLEEP)?;
    in_namespace(&c2, "c1", &c1.netns()?)?;
    let wget = c2.exec("timeout", &["5", "wget", "-qO-", "http://127.0.0.1/"])?;
    let page = String::from_utf8_lossy(&wget.stdout).trim().to_string();
    if !wget.status.success() || page != "page of c1" {
        return Err(Outcome::failed(
            "wget -qO- http://127.0.0.1/ in c2 gets c1's page: one loopback for the pod",
            format!(
                "c2# wget -qO- http://127.0.0.1/\n{}",
                observe::text(&wget)
            ),
        ));
    }
    let netstat = c2.exec("netstat", &["-ltn"])?;
    let listening = String::from_utf8_lossy(&netstat.stdout).into_owned();
    if !listening.lines().any(|l| l.split_whitespace().nth(3).is_some_and(|a| a.ends_with(":80"))) {
        return Err(Outcome::failed(
            "netstat -ltn in c2 shows c1's server listening on port 80",
            format!("c2# netstat -ltn\n{}", observe::text(&netstat)),
        ));
    }
    // The network is shared, the files are not: each member has its own mount namespace.
    let cat = c2.exec("cat", &["/tmp/www/index.html"])?;
    if cat.status.success() {
        return Err(Outcome::failed(
            "c2 does not see c1's files (only the network is shared)",
            format!(
                "c2# cat /tmp/www/index.html\n{}",
                observe::text(&cat)
            ),
        ));
    }
    stop_all(vec![c2, c1])
}

pub(super) fn same_port(probe: &Probe) -> Verdict {
    let c1 = serve(probe, "c1")?;
    // A second server on port 80 of the same namespace: bind() fails, and busybox says so.
    // In a namespace of its own it would start, and go to the background (status 0).
    let options = super::join_opts("c1");
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let ran = probe.run_with(
        "c2",
        &options,
        &["sh", "-c", "mkdir -p /tmp/www && httpd -p 80 -h /tmp/www"],
    )?;
    let said = ran.output();
    if ran.status == 0 || !said.contains("in use") {
        return Err(Outcome::failed(
            "httpd -p 80 in c2, while c1's httpd listens on port 80 of the pod, fails with \
             'Address in use' (one namespace, one port 80)",
            format!("status {}\n{said}", ran.status),
        ));
    }
    c1.stop()?;
    Ok(())
}

pub(super) fn no_host_link(probe: &Probe) -> Verdict {
    let c1 = probe.start("c1", SLEEP)?;
    let before = observe::host_network()?;
    let c2 = join(probe, "c2", "c1", SLEEP)?;
    let after = observe::host_network()?;
    let changes = after.diff(&before);
    let mut lines = Vec::new();
    for link in &changes.links_added {
        lines.push(format!("link added: {}", link.name));
    }
    for (link, addr) in &changes.addrs_added {
        lines.push(format!("address added: {addr} on {link}"));
    }
    for route in &changes.routes_added {
        lines.push(format!("route added: {}", route.dst_text));
    }
    if !lines.is_empty() {
        return Err(Outcome::failed(
            "starting c2 with --net container:c1 changes nothing on the lab host (no veth, no \
             address, no route: it uses c1's)",
            format!("{}\n{}", lines.join("\n"), probe.diagram()),
        ));
    }
    in_namespace(&c2, "c1", &c1.netns()?)?;
    stop_all(vec![c2, c1])
}
