//! IPv4 networks: `10.0.0.0/24`, `10.0.0.2` (a /32).

use anyhow::{bail, Context, Result};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network (address and prefix length); the address is kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Net {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Net {
    pub fn new(addr: Ipv4Addr, len: u8) -> Net {
        Net { addr, len }
    }

    /// The whole IPv4 space (`0.0.0.0/0`).
    pub const ANY: Net = Net {
        addr: Ipv4Addr::UNSPECIFIED,
        len: 0,
    };

    fn mask(self) -> u32 {
        match self.len {
            0 => 0,
            n => u32::MAX << (32 - u32::from(n.min(32))),
        }
    }

    /// Whether `addr` is in it.
    pub fn contains(self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// The network's first address (`10.0.0.7/24` gives `10.0.0.0`).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// Its broadcast address (`10.0.0.255` for a /24).
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
}

impl FromStr for Net {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Net> {
        let (addr, len) = text.split_once('/').unwrap_or((text, "32"));
        let addr: Ipv4Addr = addr
            .parse()
            .with_context(|| format!("{text:?} is no IPv4 network"))?;
        let len: u8 = if len.contains('.') {
            // `255.255.255.0`, as old tools write it.
            let mask = u32::from(len.parse::<Ipv4Addr>()?);
            if mask.leading_ones() + mask.trailing_zeros() != 32 {
                bail!("{text:?}: {len} is not a contiguous netmask");
            }
            mask.leading_ones() as u8
        } else {
            len.parse()
                .with_context(|| format!("{text:?}: bad prefix length"))?
        };
        if len > 32 {
            bail!("{text:?}: prefix length over 32");
        }
        Ok(Net { addr, len })
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
