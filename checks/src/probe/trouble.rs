//! What the runtime reports about learner code (a TODO reached, a panic, a failing hook), as
//! outcomes.

use super::Finished;
use crate::verdict::Outcome;
use container::protocol;

/// Turns what the runtime reported about learner code into an outcome; a container that ran
/// (whatever its command's status) comes back as it finished.
pub fn learner_trouble(finished: Finished) -> Result<Finished, Outcome> {
    for line in finished.stderr.lines() {
        if let Some(rest) = line.strip_prefix(protocol::NOT_IMPLEMENTED) {
            let rest = rest.trim();
            let (place, what) = rest.split_once(' ').unwrap_or((rest, ""));
            return Err(Outcome::NotImplemented {
                place: without_column(place),
                what: what.to_string(),
            });
        }
        if let Some(rest) = line.strip_prefix(protocol::PANICKED) {
            let (place, message) = rest.trim().split_once(": ").unwrap_or((rest.trim(), ""));
            return Err(Outcome::Panicked {
                place: without_column(place),
                message: message.to_string(),
            });
        }
        if let Some(rest) = line.strip_prefix(protocol::HOOK_FAILED) {
            // What the failing tool itself said (ip, iptables: cmd_lib logs their stderr just
            // before) is the most useful part for a learner.
            let said: Vec<&str> = finished
                .stderr
                .lines()
                .take_while(|l| !l.starts_with(protocol::HOOK_FAILED))
                .filter(|l| !l.starts_with(protocol::PREFIX) && !l.trim().is_empty())
                .collect();
            let mut message = rest.trim().to_string();
            for line in said.iter().rev().take(5).rev() {
                message.push('\n');
                message.push_str(line.trim());
            }
            return Err(Outcome::HookFailed { message });
        }
    }
    if finished.status == i32::from(protocol::EXIT_RUNTIME)
        && finished.stderr.contains(protocol::PREFIX)
    {
        return Err(Outcome::failed("the container starts", finished.output()));
    }
    Ok(finished)
}

/// `file:line:column` → `file:line`.
fn without_column(place: &str) -> String {
    match place.rsplit_once(':') {
        Some((head, column)) if column.parse::<u32>().is_ok() && head.contains(':') => {
            head.to_string()
        }
        _ => place.to_string(),
    }
}
