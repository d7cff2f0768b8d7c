//! The state a real host already has before the learner's code runs, seeded into every lab
//! host whatever its profile: another tool's firewall (Docker's chains, libvirt's, a VPN's NAT
//! rule, a native nftables table), a second address on the uplink, and a few sysctls.
//!
//! None of it may change a verdict: its rules name only networks and interfaces no packet of
//! the lab carries (172.18.0.0/16 on `br-5e1f0c2a9d3b`, 192.168.122.0/24 on `virbr0`,
//! 100.64.0.0/10, `wg0`), never the containers' 10.0.0.0/24 nor the lab's uplink and internet
//! flows. All of it must still be there, unchanged, after the learner's code has run: the
//! checks verify it after every check and each time a container has started.

use crate::addresses::{HOST_UPLINK, UPLINK_PREFIX};
use crate::netcmd;
use anyhow::Result;
use std::net::Ipv4Addr;

/// The uplink's second address (another service's, say): traffic the host originates from it
/// is told apart from the host's own 198.51.100.2.
pub const SECOND_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 3);

/// The second address as `ip` writes it.
pub fn second_addr_cidr() -> String {
    format!("{SECOND_ADDR}/{UPLINK_PREFIX}")
}

/// The native nftables table of another tool (family, name).
pub const NFT_TABLE: (&str, &str) = ("inet", "othertool");

/// Sysctls another tool set on the host, with their values.
pub const SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv4.conf.all.send_redirects", "0"),
    ("net.ipv4.tcp_keepalive_time", "600"),
];

/// Docker's user-defined bridge on this host (no such link exists: only its rules).
const DOCKER_BRIDGE: &str = "br-5e1f0c2a9d3b";

/// The iptables rules of Docker, libvirt and a VPN, for `iptables-restore --noflush`, with the
/// filter table's FORWARD policy.
fn iptables_rules(forward_policy: &str) -> String {
    let br = DOCKER_BRIDGE;
    format!(
        "*filter\n\
         :FORWARD {forward_policy} [0:0]\n\
         :DOCKER - [0:0]\n\
         :DOCKER-USER - [0:0]\n\
         :DOCKER-FORWARD - [0:0]\n\
         :DOCKER-CT - [0:0]\n\
         :DOCKER-BRIDGE - [0:0]\n\
         :LIBVIRT_FWX - [0:0]\n\
         :LIBVIRT_FWI - [0:0]\n\
         :LIBVIRT_FWO - [0:0]\n\
         -A FORWARD -j DOCKER-USER\n\
         -A FORWARD -j DOCKER-FORWARD\n\
         -A FORWARD -j LIBVIRT_FWX\n\
         -A FORWARD -j LIBVIRT_FWI\n\
         -A FORWARD -j LIBVIRT_FWO\n\
         -A DOCKER-USER -j RETURN\n\
         -A DOCKER-FORWARD -j DOCKER-CT\n\
         -A DOCKER-FORWARD -j DOCKER-BRIDGE\n\
         -A DOCKER-FORWARD -i {br} -j ACCEPT\n\
         -A DOCKER-CT -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A DOCKER-BRIDGE -o {br} -j DOCKER\n\
         -A DOCKER ! -i {br} -o {br} -j DROP\n\
         -A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT\n\
         -A LIBVIRT_FWI -d 192.168.122.0/24 -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A LIBVIRT_FWI -o virbr0 -j REJECT --reject-with icmp-port-unreachable\n\
         -A LIBVIRT_FWO -s 192.168.122.0/24 -i virbr0 -j ACCEPT\n\
         -A LIBVIRT_FWO -i virbr0 -j REJECT --reject-with icmp-port-unreachable\n\
         COMMIT\n\
         *nat\n\
         :DOCKER - [0:0]\n\
         :LIBVIRT_PRT - [0:0]\n\
         -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
         -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n\
         -A POSTROUTING -s 172.18.0.0/16 ! -o {br} -j MASQUERADE\n\
         -A POSTROUTING -j LIBVIRT_PRT\n\
         -A POSTROUTING -s 100.64.0.0/10 -o {HOST_UPLINK} -j SNAT --to-source {SECOND_ADDR}\n\
         -A DOCKER -i {br} -j RETURN\n\
         -A LIBVIRT_PRT -s 192.168.122.0/24 -d 224.0.0.0/24 -j RETURN\n\
         -A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE\n\
         COMMIT\n"
    )
}

/// Another tool's own nftables table: a set and two filter chains that accept only what
/// arrives by `wg0` (which the lab has not).
fn nft_table() -> String {
    let (family, name) = NFT_TABLE;
    format!(
        "table {family} {name} {{\n\
         \tset trusted {{\n\t\ttype ipv4_addr\n\t\telements = {{ 100.64.0.10 }}\n\t}}\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority filter + 10; policy accept;\n\
         \t\tiifname \"wg0\" udp dport 51820 accept\n\t}}\n\
         \tchain forward {{\n\
         \t\ttype filter hook forward priority filter + 10; policy accept;\n\
         \t\tiifname \"wg0\" ip saddr @trusted accept\n\t}}\n\
         }}\n"
    )
}

/// The foreign state's `ip` commands, run with those that wire the lab host's uplink (one
/// `ip -batch` for both): the uplink's second address.
pub fn uplink_commands() -> Vec<String> {
    vec![format!("addr add {} dev {HOST_UPLINK}", second_addr_cidr())]
}

/// Seeds the rest of the foreign state into the lab host (its uplink already up, with
/// [`uplink_commands`] run), the filter table's FORWARD chain with policy `forward_policy`
/// (`ACCEPT`, `DROP`): one `iptables-restore`, one `nft -f`, the sysctls.
pub fn apply(forward_policy: &str) -> Result<()> {
    netcmd::with_input(
        "iptables-restore",
        &["-w", "--noflush"],
        &iptables_rules(forward_policy),
    )?;
    netcmd::with_input("nft", &["-f", "-"], &nft_table())?;
    for (key, value) in SYSCTLS {
        netcmd::set_sysctl(key, value)?;
    }
    Ok(())
}
