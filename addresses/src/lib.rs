//! The addressing plan, in one place: the lab's own networks (its uplink and its simulated
//! internet) and the containers' subnet. The checks, the given code, the solutions and the
//! adapters all take their addresses from here.
//!
//! The lab's networks are documentation ranges (RFC 5737) and its names are under `.test`
//! (RFC 2606); the containers' subnet is private (10.0.0.0/24). A real network may use the very
//! same addresses (a build machine's upstream in 203.0.113.0/24, its resolver in 10.0.0.0/8):
//! the lab is a set of namespaces with no link or route to any real network, so that is fine.

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
/// A second resolver in the lab's internet (an ISP's, say), serving the same names: what a
/// host with real nameservers names besides [`DNS_ADDR`].
pub const ISP_DNS_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 54);
/// The loopback address dnsmasq listens on, as NetworkManager runs it (Ubuntu's older desktops).
pub const DNSMASQ_RESOLVER: Ipv4Addr = Ipv4Addr::new(127, 0, 1, 1);
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

/// A host running a local dnsmasq: its only nameservers are on the loopback (127.0.1.1, and
/// ::1 for IPv6).
pub fn dnsmasq_resolv_conf() -> String {
    format!(
        "# The lab host's resolver configuration (NetworkManager's dnsmasq).\n\
         nameserver {DNSMASQ_RESOLVER}\nnameserver ::1\nsearch {DOMAIN}\n"
    )
}

/// A host whose nameservers are real ones, none on the loopback: a container keeps them all,
/// in order, and needs no fallback.
pub fn real_nameservers_resolv_conf() -> String {
    format!(
        "# The lab host's resolver configuration (nameservers from DHCP).\n\
         nameserver {ISP_DNS_ADDR}\nnameserver {DNS_ADDR}\nsearch {DOMAIN}\noptions timeout:2\n"
    )
}

/// Step 10's routed containers (as Calico routes its pods): no bridge and no shared subnet on
/// any link. Each container holds one /32 from the pool, its default route points at a
/// link-local gateway that no interface holds, and the host has one /32 route per container.
pub mod routed {
    use std::net::Ipv4Addr;

    /// The pool the containers' /32 addresses come from (no link carries it as a subnet).
    pub const POOL: &str = "10.0.1.0/24";
    pub const NETWORK: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 0);
    pub const POOL_PREFIX: u8 = 24;
    /// Every container's address is a host address: prefix length 32.
    pub const PREFIX: u8 = 32;
    /// The first and last address a container may get.
    pub const FIRST: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);
    pub const LAST: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 254);
    /// The containers' gateway, Calico's: a link-local address nobody holds. The host end of
    /// each cable answers ARP for it (proxy ARP) with its own MAC.
    pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

    /// Whether `address` is in the pool.
    pub fn in_pool(address: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - u32::from(POOL_PREFIX));
        u32::from(address) & mask == u32::from(NETWORK)
    }

    /// Whether `address` may be given to a container: from [`FIRST`] to [`LAST`].
    pub fn assignable(address: Ipv4Addr) -> bool {
        (u32::from(FIRST)..=u32::from(LAST)).contains(&u32::from(address))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_pool_is_consistent() {
            assert_eq!(POOL, format!("{NETWORK}/{POOL_PREFIX}"));
            assert!(in_pool(FIRST) && in_pool(LAST) && assignable(FIRST) && assignable(LAST));
            assert!(!in_pool(GATEWAY) && !in_pool(super::super::containers::GATEWAY));
        }
    }
}

/// The containers' network: the bridge (or, in steps 02-04, the host end of the one cable),
/// its address, and the subnet the containers' addresses come from.
pub mod containers {
    use std::net::Ipv4Addr;

    /// The bridge every container's cable plugs into from step 05 on (Docker's is `docker0`,
    /// CNI's `cni0`).
    pub const BRIDGE: &str = "netlab0";
    /// The containers' gateway: the bridge's address (the host end's, in steps 02-04).
    pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    /// The containers' subnet, and its prefix length.
    pub const SUBNET: &str = "10.0.0.0/24";
    pub const NETWORK: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 0);
    pub const PREFIX: u8 = 24;
    /// The address of the one container of steps 03 and 04: the first a container may get.
    pub const FIRST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    /// The same addresses as text, for command lines: the gateway and the first container
    /// with the prefix length.
    pub const GATEWAY_CIDR: &str = "10.0.0.1/24";
    pub const FIRST_CIDR: &str = "10.0.0.2/24";
    /// The last address a container may get: .255 is the subnet's broadcast address.
    pub const LAST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

    /// Whether `address` is in the containers' subnet.
    pub fn in_subnet(address: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - u32::from(PREFIX));
        u32::from(address) & mask == u32::from(NETWORK)
    }

    /// Whether `address` may be given to a container: in the subnet, and neither the network's
    /// address, nor the gateway, nor the broadcast address.
    pub fn assignable(address: Ipv4Addr) -> bool {
        in_subnet(address) && (u32::from(FIRST)..=u32::from(LAST)).contains(&u32::from(address))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_plan_is_consistent() {
            assert_eq!(SUBNET, format!("{NETWORK}/{PREFIX}"));
            assert_eq!(GATEWAY_CIDR, format!("{GATEWAY}/{PREFIX}"));
            assert_eq!(FIRST_CIDR, format!("{FIRST}/{PREFIX}"));
            assert!(in_subnet(GATEWAY) && !assignable(GATEWAY));
            assert!(assignable(FIRST) && assignable(LAST));
            assert!(!assignable(Ipv4Addr::new(10, 0, 0, 255)));
            assert!(!in_subnet(Ipv4Addr::new(10, 0, 1, 2)));
        }
    }
}
