//! Ctrl-C, SIGTERM and SIGHUP: a flag the loops look at, so that every way out goes through
//! a return (and the terminal is put back). A check run started from a terminal gets Ctrl-C's
//! SIGINT itself too.

use anyhow::{Context, Result};
use nix::sys::signal::{self, SigHandler, Signal};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked us to stop (0: none).
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: nix::libc::c_int) {
    STOP.store(signal, Ordering::SeqCst);
}

pub fn install() -> Result<()> {
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        unsafe { signal::signal(signal, SigHandler::Handler(on_signal)) }
            .with_context(|| format!("handling {signal}"))?;
    }
    Ok(())
}

/// The exit code to leave with when a signal asked us to stop.
pub fn stopped() -> Option<ExitCode> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(ExitCode::from(128u8.saturating_add(signal as u8))),
    }
}
