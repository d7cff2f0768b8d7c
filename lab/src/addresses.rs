//! The lab's addressing plan. Documentation ranges only (RFC 5737), names under `.test`
//! (RFC 2606): nothing here can collide with, or leak to, a real network.

use std::net::Ipv4Addr;

/// The lab host's uplink interface name, as on a typical server.
pub const HOST_UPLINK: &str = "eth0";
/// The lab host's address on the uplink.
pub const HOST_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
/// The internet router's address: the lab host's default gateway.
pub const ROUTER_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// Prefix length of the uplink network 198.51.100.0/24.
pub const UPLINK_PREFIX: u8 = 24;
/// The router's end of the uplink, inside the internet namespace.
pub const ROUTER_UPLINK: &str = "up0";
/// The web server in the lab's internet.
pub const WEB_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 80);
/// The DNS server in the lab's internet.
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 53);
/// The lab's DNS domain.
pub const DOMAIN: &str = "lab.test";
/// The loopback resolver of systemd-resolved, as on a typical desktop host.
pub const STUB_RESOLVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 53);

/// The names the lab's DNS server knows.
pub fn zone() -> Vec<(String, Ipv4Addr)> {
    [
        ("web", WEB_ADDR),
        ("dns", DNS_ADDR),
        ("router", ROUTER_ADDR),
        ("host", HOST_ADDR),
    ]
    .into_iter()
    .map(|(name, addr)| (format!("{name}.{DOMAIN}"), addr))
    .collect()
}

/// The lab host's `/etc/resolv.conf`: what a host running systemd-resolved has.
pub fn host_resolv_conf() -> String {
    format!(
        "# The lab host's resolver configuration (a systemd-resolved host).\n\
         nameserver {STUB_RESOLVER}\nnameserver {DNS_ADDR}\nsearch {DOMAIN}\n"
    )
}

/// A host whose only nameserver is systemd-resolved's loopback stub.
pub fn stub_only_resolv_conf() -> String {
    format!(
        "# The lab host's resolver configuration (systemd-resolved, stub only).\n\
         nameserver {STUB_RESOLVER}\nsearch {DOMAIN}\noptions edns0 trust-ad\n"
    )
}
