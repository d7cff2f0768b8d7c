//! Joining what is not a running container: one that ended, one whose step binary was killed
//! with SIGKILL (its PID file stays, its process is gone), one that never ran. Each is refused
//! with one line naming it, before anything is made.

use super::{join_opts, observe, SLEEP};
use crate::probe::Probe;
use crate::verdict::{Outcome, Verdict};

pub(super) fn not_running(probe: &Probe) -> Verdict {
    probe.start("c1", SLEEP)?.stop()?;
    super::dead(probe.start("c2", SLEEP)?);
    let before = observe::host_network()?;
    for (target, what) in [
        ("c1", "a container that ended"),
        ("c2", "a container killed with SIGKILL"),
        ("nobody", "a container that never ran"),
    ] {
        let options = join_opts(target);
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        // A refusal is the runtime's (status 125 and its own line): the probe's "does not start".
        let said = match probe.run_with("c3", &options, SLEEP) {
            Ok(ran) => format!("it ran, status {}\n{}", ran.status, ran.output()),
            Err(Outcome::Failed { observed, .. }) => observed,
            Err(other) => return Err(other),
        };
        let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != 1 || !lines[0].contains(&format!("container:{target}")) {
            return Err(Outcome::failed(
                format!(
                    "run --net container:{target} ({what}) is refused with one line naming \
                     {target}"
                ),
                said,
            ));
        }
    }
    let after = observe::host_network()?;
    let added: Vec<String> = after
        .diff(&before)
        .links_added
        .iter()
        .map(|l| l.name.clone())
        .collect();
    if !added.is_empty() {
        return Err(Outcome::failed(
            "a refused --net container:NAME adds no link to the lab host",
            format!("links added: {}\n{}", added.join(", "), probe.diagram()),
        ));
    }
    Ok(())
}
