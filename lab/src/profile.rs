//! Lab host profiles: what kind of machine the learner's code believes it runs on.

use crate::netcmd;
use anyhow::{bail, Result};

/// The state the lab host starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// A freshly installed Linux host: forwarding off, empty firewall, ACCEPT policies.
    #[default]
    Fresh,
    /// A host where Docker is installed: as `Fresh`, but the FORWARD policy is DROP.
    DockerHost,
    /// As `Fresh`, but the host's resolv.conf names only systemd-resolved's loopback stub
    /// (127.0.0.53): a container must fall back to a public resolver.
    StubResolverOnly,
}

impl Profile {
    /// Every profile, for help texts.
    pub const ALL: [Profile; 3] = [
        Profile::Fresh,
        Profile::DockerHost,
        Profile::StubResolverOnly,
    ];

    /// The profile's name on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Fresh => "fresh",
            Profile::DockerHost => "docker-host",
            Profile::StubResolverOnly => "stub-resolver-only",
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
        match self {
            Profile::StubResolverOnly => crate::addresses::stub_only_resolv_conf(),
            _ => crate::addresses::host_resolv_conf(),
        }
    }

    /// Puts the (already created) lab host into this profile's state.
    pub fn apply(self) -> Result<()> {
        netcmd::set_sysctl("net.ipv4.ip_forward", "0")?;
        match self {
            Profile::Fresh | Profile::StubResolverOnly => Ok(()),
            Profile::DockerHost => {
                netcmd::run("iptables", &["-w", "-P", "FORWARD", "DROP"]).map(drop)
            }
        }
    }
}
