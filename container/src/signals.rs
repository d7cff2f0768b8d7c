//! Signals reaching the step binary while its container runs: SIGTERM and SIGHUP stop the
//! container (so that cleanup still runs); SIGINT does too unless the container is interactive,
//! in which case Ctrl-C belongs to the container's shell, as with `docker run -it`.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicI32, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember(signal: i32) {
    PENDING.store(signal, Ordering::SeqCst);
}

/// Installs the handlers, without SA_RESTART so that a blocked `waitpid` wakes up.
pub fn install(interactive: bool) {
    let stop = SigAction::new(
        SigHandler::Handler(remember),
        SaFlags::empty(),
        SigSet::empty(),
    );
    let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        let action = if signal == Signal::SIGINT && interactive {
            &ignore
        } else {
            &stop
        };
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        let _ = unsafe { sigaction(signal, action) };
    }
}

/// The signal received since the last call, if any.
pub fn take() -> Option<i32> {
    match PENDING.swap(0, Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}
