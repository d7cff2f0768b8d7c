//! Inside a lab, tries each kernel feature the workshop relies on, and says how to get the
//! ones that fail. Nothing here touches the real machine: it all happens in the lab.

use lab::netcmd;

/// One feature: its name, how to try it, and what to do when it fails.
struct Feature {
    name: &'static str,
    try_it: fn() -> anyhow::Result<()>,
    fix: &'static str,
}

const FEATURES: [Feature; 5] = [
    Feature {
        name: "veth pairs",
        try_it: || netcmd::ip_batch(&["link add dr-a type veth peer name dr-b".into()]),
        fix: "load the module: sudo modprobe veth",
    },
    Feature {
        name: "bridges",
        try_it: || netcmd::ip_batch(&["link add dr-br type bridge".into()]),
        fix: "load the module: sudo modprobe bridge",
    },
    Feature {
        name: "iptables NAT (MASQUERADE)",
        try_it: || {
            netcmd::run(
                "iptables",
                &[
                    "-w",
                    "-t",
                    "nat",
                    "-A",
                    "POSTROUTING",
                    "-s",
                    "10.0.0.0/24",
                    "-j",
                    "MASQUERADE",
                ],
            )
            .map(drop)
        },
        fix:
            "install iptables (sudo apt-get install iptables) and load nf_nat: sudo modprobe nf_nat",
    },
    Feature {
        name: "iptables DNAT with addrtype",
        try_it: || {
            netcmd::run(
                "iptables",
                &[
                    "-w",
                    "-t",
                    "nat",
                    "-A",
                    "PREROUTING",
                    "-p",
                    "tcp",
                    "--dport",
                    "8080",
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                    "-j",
                    "DNAT",
                    "--to-destination",
                    "10.0.0.2:80",
                ],
            )
            .map(drop)
        },
        fix: "load the modules: sudo modprobe xt_addrtype nf_nat",
    },
    Feature {
        name: "forwarding sysctl",
        try_it: || netcmd::set_sysctl("net.ipv4.ip_forward", "1"),
        fix:
            "the lab cannot write its own sysctls: run on a machine (or VM) with network namespaces",
    },
];

/// What was found about one feature; `status` is `ok` or `fail`. The same fields as the
/// findings of `cargo xtask doctor`, which prints these after its own.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    pub name: String,
    pub status: String,
    pub seen: String,
    pub fix: String,
}

/// Tries each feature, then asks the lab's iptables which backend it is.
pub fn findings() -> Vec<Finding> {
    let mut findings: Vec<Finding> = FEATURES
        .iter()
        .map(|feature| match (feature.try_it)() {
            Ok(()) => Finding {
                name: feature.name.to_string(),
                status: "ok".into(),
                seen: "works in a lab".into(),
                fix: String::new(),
            },
            Err(e) => Finding {
                name: feature.name.to_string(),
                status: "fail".into(),
                seen: format!("{e:#}").lines().next().unwrap_or("").to_string(),
                fix: feature.fix.to_string(),
            },
        })
        .collect();
    findings.push(iptables_backend());
    findings
}

/// `iptables -V`, run here, inside the lab (never on the real host's network): the version
/// names its backend, `(nf_tables)` or `(legacy)`.
fn iptables_backend() -> Finding {
    let finding = |status: &str, seen: String, fix: &str| Finding {
        name: "iptables backend".into(),
        status: status.into(),
        seen,
        fix: fix.into(),
    };
    match netcmd::run("iptables", &["-V"]) {
        Ok(version) => {
            let version = version.trim().to_string();
            if version.contains("nf_tables") {
                finding("ok", format!("nf_tables ({version})"), "")
            } else if version.contains("legacy") {
                finding(
                    "ok",
                    format!(
                        "legacy ({version}): fine in the lab; on a real host, rules made with \
                         iptables-legacy and iptables-nft live apart"
                    ),
                    "",
                )
            } else {
                finding("ok", format!("unknown backend ({version})"), "")
            }
        }
        Err(e) => finding(
            "fail",
            format!("{e:#}").lines().next().unwrap_or("").to_string(),
            "install it: sudo apt-get install iptables",
        ),
    }
}

/// Prints one line per finding (`--json`: a JSON array of them); returns true when all work.
pub fn run(json: bool) -> bool {
    let findings = findings();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&findings).unwrap_or_else(|_| "[]".into())
        );
    } else {
        for f in &findings {
            if f.status == "ok" {
                println!("ok    {}: {}", f.name, f.seen);
            } else {
                println!("FAIL  {}: {}; fix: {}", f.name, f.seen, f.fix);
            }
        }
    }
    findings.iter().all(|f| f.status != "fail")
}
