//! The hermetic lab. Every check and every interactive run happens in one:
//!
//! ```text
//!   lab host (netns)                        internet (netns)
//!  ┌───────────────────────────┐          ┌──────────────────────────────┐
//!  │ learner's code runs here  │   veth   │ router   198.51.100.1        │
//!  │ eth0 198.51.100.2/24 ─────┼──────────┼─ up0                         │
//!  │ default via 198.51.100.1  │          │ web      203.0.113.80:80     │
//!  │ /etc/resolv.conf (lab's)  │          │ dns      203.0.113.53:53     │
//!  └───────────────────────────┘          └──────────────────────────────┘
//! ```
//!
//! A lab is a process tree in its own user (when not root), network, mount and PID namespaces.
//! Nothing in it is linked to the real network, and when its first process dies the kernel
//! tears all of it down.

/// The addressing plan (the `addresses` crate), as the lab has always named it.
pub use addresses;
pub mod dns;
pub mod endpoint;
pub mod foreign;
mod internet;
mod keeper;
pub mod netcmd;
pub mod profile;
pub mod readonly;
pub mod registry;
pub mod sandbox;
pub mod snapshot;
pub mod starter;
pub mod state;
pub mod userns;
pub mod web;

pub use profile::Profile;
pub use sandbox::{base_incomplete_message, Lab, LabPaths};
