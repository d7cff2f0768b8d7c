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
            let mut message = pinpoint(rest.trim(), &workshop::root());
            for line in said.iter().rev().take(5).rev() {
                message.push('\n');
                message.push_str(line.trim());
            }
            // What the container's namespace held as it failed (`ip addr`, `ip route`).
            for line in finished.stderr.lines() {
                if let Some(view) = line.strip_prefix(protocol::VIEW) {
                    message.push('\n');
                    message.push_str(view.strip_prefix(' ').unwrap_or(view));
                }
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

/// A failing command of a `run_cmd!` block is reported at the block's first line
/// (`Running ["ip" "route" "add" ...] exited with error; ... at src/x.rs:21`): points at the
/// line of that command instead, found in the source below it.
fn pinpoint(message: &str, root: &std::path::Path) -> String {
    let found = (|| {
        let (_, cmd) = message.split_once("Running [")?;
        let (cmd, _) = cmd.split_once(']')?;
        let words: Vec<&str> = cmd
            .split('"')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        let (_, place) = message.rsplit_once(" at ")?;
        let place = place.split_whitespace().next()?;
        let (file, line) = place.rsplit_once(':')?;
        let line: usize = line.parse().ok()?;
        let source = std::fs::read_to_string(root.join(file)).ok()?;
        let at = source
            .lines()
            .enumerate()
            .skip(line.saturating_sub(1))
            .take(40)
            .find(|(_, text)| same_command(text, &words))
            .map(|(i, _)| i + 1)?;
        (at != line).then(|| message.replacen(place, &format!("{file}:{at}"), 1))
    })();
    found.unwrap_or_else(|| message.to_string())
}

/// Whether a source line is the command `words` (its `$variables` standing for any word).
fn same_command(text: &str, words: &[&str]) -> bool {
    let text = text
        .trim()
        .trim_start_matches("run_cmd!(")
        .trim_end_matches([';', ')']);
    let text = text.split(" 2>").next().unwrap_or(text);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    !words.is_empty()
        && tokens.len() == words.len()
        && tokens
            .iter()
            .zip(words)
            .all(|(t, w)| t == w || t.starts_with('$'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_is_pointed_at_its_own_line() {
        let scratch = tempfile::tempdir().expect("a scratch folder");
        let dir = scratch.path().to_path_buf();
        std::fs::create_dir_all(dir.join("src")).unwrap_or_default();
        let source = "fn setup() -> Result<()> {\n    run_cmd!(\n        ip link set lo up;\n        \
                      ip addr add $ADDR dev eth0;\n        ip route add default via $GATEWAY;\n    )?;\n}\n";
        std::fs::write(dir.join("src/x.rs"), source).unwrap_or_default();
        let message =
            "inside the container: Running [\"ip\" \"route\" \"add\" \"default\" \"via\" \
                       \"10.0.0.1\"] exited with error; status code: 2 at src/x.rs:2";
        let pointed = pinpoint(message, &dir);
        assert!(pointed.ends_with("at src/x.rs:5"), "{pointed}");
        // Not found, or no file: the message as it was.
        assert_eq!(
            pinpoint("Running [\"true\"] ... at src/x.rs:2", &dir),
            "Running [\"true\"] ... at src/x.rs:2"
        );
        assert_eq!(pinpoint("no command here", &dir), "no command here");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
