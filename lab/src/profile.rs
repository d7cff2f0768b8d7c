//! Lab host profiles: what kind of machine the learner's code believes it runs on.
//!
//! Every profile, `Fresh` too, also has the foreign state a real host has ([`crate::foreign`]):
//! Docker's and libvirt's chains and rules, a VPN's NAT rule, another tool's nftables table,
//! a second address on the uplink, a few sysctls. The learner's code must leave all of it
//! as it found it.

use crate::{foreign, netcmd};
use anyhow::{bail, Result};

/// The state the lab host starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// A freshly installed Linux host: forwarding off, ACCEPT policies, the foreign state only.
    #[default]
    Fresh,
    /// A host where Docker is installed: as `Fresh`, but the FORWARD policy is DROP.
    DockerHost,
    /// As `Fresh`, but the host's resolv.conf names only systemd-resolved's loopback stub
    /// (127.0.0.53): a container must fall back to a public resolver.
    StubResolverOnly,
    /// As `Fresh`, but the host runs dnsmasq: its resolv.conf names only loopback addresses
    /// (127.0.1.1 and ::1): a container must fall back to a public resolver.
    DnsmasqHost,
    /// As `Fresh`, but the host's resolv.conf names real nameservers only (203.0.113.54 and
    /// 203.0.113.53): a container keeps them, and needs no fallback.
    RealNameservers,
    /// As `Fresh`, but the host has no default route (an isolated host, or one whose uplink
    /// waits for DHCP): nothing routes 169.254.1.1, so proxy ARP does not answer for it.
    NoDefaultRoute,
}

impl Profile {
    /// Every profile, for help texts.
    pub const ALL: [Profile; 6] = [
        Profile::Fresh,
        Profile::DockerHost,
        Profile::StubResolverOnly,
        Profile::DnsmasqHost,
        Profile::RealNameservers,
        Profile::NoDefaultRoute,
    ];

    /// The profile's name on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Fresh => "fresh",
            Profile::DockerHost => "docker-host",
            Profile::StubResolverOnly => "stub-resolver-only",
            Profile::DnsmasqHost => "dnsmasq-host",
            Profile::RealNameservers => "real-nameservers",
            Profile::NoDefaultRoute => "no-default-route",
        }
    }

    /// Parses a profile name.
    pub fn parse(name: &str) -> Result<Profile> {
        match Profile::ALL.into_iter().find(|p| p.name() == name) {
            Some(profile) => Ok(profile),
            None => {
                let names: Vec<_> = Profile::ALL.iter().map(|p| p.name()).collect();
                bail!(
                    "unknown lab profile '{name}': choose one of {}",
                    names.join(", ")
                )
            }
        }
    }

    /// The lab host's `/etc/resolv.conf`.
    pub fn host_resolv_conf(self) -> String {
        use crate::addresses;
        match self {
            Profile::StubResolverOnly => addresses::stub_only_resolv_conf(),
            Profile::DnsmasqHost => addresses::dnsmasq_resolv_conf(),
            Profile::RealNameservers => addresses::real_nameservers_resolv_conf(),
            Profile::Fresh | Profile::DockerHost | Profile::NoDefaultRoute => {
                addresses::host_resolv_conf()
            }
        }
    }

    /// Puts the (already created) lab host, its uplink up, into this profile's state.
    pub fn apply(self) -> Result<()> {
        netcmd::set_sysctl("net.ipv4.ip_forward", "0")?;
        let forward_policy = match self {
            Profile::DockerHost => "DROP",
            _ => "ACCEPT",
        };
        if self == Profile::NoDefaultRoute {
            netcmd::run("ip", &["route", "del", "default"])?;
        }
        foreign::apply(forward_policy)
    }
}
