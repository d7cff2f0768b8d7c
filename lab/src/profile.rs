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
}

impl Profile {
    /// Every profile, for help texts.
    pub const ALL: [Profile; 2] = [Profile::Fresh, Profile::DockerHost];

    /// The profile's name on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Fresh => "fresh",
            Profile::DockerHost => "docker-host",
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

    /// Puts the (already created) lab host into this profile's state.
    pub fn apply(self) -> Result<()> {
        netcmd::set_sysctl("net.ipv4.ip_forward", "0")?;
        match self {
            Profile::Fresh => Ok(()),
            Profile::DockerHost => {
                netcmd::run("iptables", &["-w", "-P", "FORWARD", "DROP"]).map(drop)
            }
        }
    }
}
