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

/// Prints one line per feature; returns true when all work.
pub fn run() -> bool {
    let mut ok = true;
    for feature in &FEATURES {
        match (feature.try_it)() {
            Ok(()) => println!("ok    {}", feature.name),
            Err(e) => {
                ok = false;
                let why = format!("{e:#}");
                println!(
                    "FAIL  {}: {}; fix: {}",
                    feature.name,
                    why.lines().next().unwrap_or(""),
                    feature.fix
                );
            }
        }
    }
    ok
}
