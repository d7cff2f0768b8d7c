//! Signals reaching the step binary while its container runs: SIGTERM and SIGHUP stop the
//! container (so that cleanup still runs); SIGINT does too unless the container is interactive,
//! in which case Ctrl-C belongs to the container's shell, as with `docker run -it`.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicI32, Ordering};

/// The container to stop when a stop signal comes (0: none yet).
static CONTAINER: AtomicI32 = AtomicI32::new(0);

extern "C" fn stop_container(_signal: i32) {
    // Stopping the container here leaves no moment in which a signal could be missed: its
    // end wakes the runtime's waitpid whenever the signal came.
    let container = CONTAINER.load(Ordering::SeqCst);
    if container > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            nix::libc::kill(container, nix::libc::SIGKILL);
        }
    }
}

/// Installs the handlers for `container`, without SA_RESTART so that a blocked `waitpid`
/// wakes up.
pub fn install(interactive: bool, container: nix::unistd::Pid) {
    CONTAINER.store(container.as_raw(), Ordering::SeqCst);
    let stop = SigAction::new(
        SigHandler::Handler(stop_container),
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
        // SAFETY: the handler only reads an atomic and calls kill(2): async-signal-safe.
        let _ = unsafe { sigaction(signal, action) };
    }
}

/// The container has been reaped: from now on, a stop signal has nothing to stop (its PID
/// may be reused), and the cleanup goes on undisturbed.
pub fn forget() {
    CONTAINER.store(0, Ordering::SeqCst);
}
