//! A diagram of a live lab, drawn from its real state: every network namespace (lab host,
//! internet, each running container), its links (veth peers matched by ifindex and
//! link-netnsid, bridge ports under their bridge), addresses, routes, and the lab host's NAT
//! rules.
//!
//! - [`diagram`]: from inside a lab (a check), collect and draw it.
//!   `checks::show::diagram(probe.lab) -> String` (or `probe.diagram()`), for any check's
//!   failure text.
//! - [`outside::main`]: `checker show`, which finds a running lab in the registry and joins
//!   its namespaces first.
//! - [`render::render`]: the pure part, from a [`model::Model`] to text.

pub mod collect;
mod draw;
pub mod model;
pub mod outside;
pub mod peers;
pub mod render;

use lab::Lab;
use std::path::Path;

/// How wide a diagram in a check's report is: the report indents "observed" text by 18.
pub const REPORT_WIDTH: usize = render::WIDTH - 18;

/// The lab the calling check runs in, collected now (it runs on the lab host: no namespace to
/// join) and drawn for a report, [`REPORT_WIDTH`] columns wide. Never fails: what could not be
/// read is said in the diagram.
pub fn diagram(lab: &Lab) -> String {
    diagram_in(&lab.paths().state)
}

/// [`diagram`] of the lab whose state directory is `state`, from its lab host.
pub fn diagram_in(state: &Path) -> String {
    let model = collect::lab(DIAGRAM_TITLE, collect::Where::Here, state, None);
    // No blank line: in a report, the diagram is one block of the "observed" text, from its
    // title to [`DIAGRAM_END`] (the report shows one diagram, after the failures).
    let mut lines: Vec<String> = render::render_width(&model, REPORT_WIDTH)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    lines.push(DIAGRAM_END.to_string());
    lines.join("\n")
}

/// The first line of a check's [`diagram`].
pub const DIAGRAM_TITLE: &str =
    "the lab as the check saw it (`cargo xtask show` draws a running lab the same way)";
/// The last line of a check's [`diagram`].
pub const DIAGRAM_END: &str = "(end of the lab's diagram)";
