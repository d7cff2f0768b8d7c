//! Step 09: a CNI plugin of your own, driven by libcni.

use crate::catalog::{Check, LIMIT};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};
use lab::Profile;

/// Checks that share one lab and its containers (see `steps::TOGETHER`): none yet.
pub const TOGETHER: &[&[&str]] = &[];

/// The checks, in the order the report shows them.
pub const CHECKS: &[Check] = &[Check {
    name: "lo-up",
    title: "inside the container, lo is UP",
    hint: 2,
    limit: LIMIT,
    profile: Profile::Fresh,
    run: lo_up,
}];

fn lo_up(probe: &Probe) -> Verdict {
    let container = probe.start("c1", &["sleep", "30"])?;
    // The container's namespace as the model reads it (lab::state): links, addresses, routes.
    let inside = super::observe::inside(&container)?;
    if !inside.link("lo").is_some_and(|lo| lo.up) {
        return Err(Outcome::failed(
            "lo is UP in the container's network namespace",
            "it is DOWN (or missing)",
        ));
    }
    container.stop()?;
    Ok(())
}
