//! Calling learner code: panics become one readable line that the checks understand, and a
//! hook's error names the hook.

use crate::protocol;
use crate::{Container, Hook};
use anyhow::{anyhow, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Replaces Rust's panic message with one line: `todo!()` is reported as "not implemented
/// yet" with its place, anything else as a panic with its place and message.
pub fn install_panic_report() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_string());
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "<unknown place>".to_string());
        match message.strip_prefix("not yet implemented") {
            Some(rest) => {
                let what = rest.trim_start_matches(':').trim();
                eprintln!("{} {place} {what}", protocol::NOT_IMPLEMENTED);
            }
            None => eprintln!("{} {place}: {message}", protocol::PANICKED),
        }
    }));
}

/// Marks an error that has already been printed (as the `hook failed` line): the step binary
/// exits without printing it a second time.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(reported above)")
    }
}

/// Runs a learner function, turning a panic into an error (already reported by the hook).
pub fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            eprintln!("{} {what}: {e:#}", protocol::HOOK_FAILED);
            Err(e.context(format!("{what} failed")).context(Reported))
        }
        Err(_) => Err(anyhow!("{what} panicked")),
    }
}

/// Runs one of the learner's hooks for `container`.
pub fn call(what: &str, hook: Hook, container: &Container) -> Result<()> {
    guarded(what, || hook(container))
}
