//! The terminal in non-canonical mode without echo while watch runs (keys arrive one at a
//! time, unseen), and as it was again on every way out: [`Terminal`] puts it back when
//! dropped, which happens on a return, an error and a panic alike; signals only set a flag
//! ([`super::signals`]), so that they too end in a return.

use anyhow::{Context, Result};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use std::io::IsTerminal;
use std::os::fd::AsFd;

/// The terminal's mode before watch changed it; restored when dropped. Signals stay on:
/// Ctrl-C also stops a check run at once.
pub struct Terminal {
    original: Option<Termios>,
}

impl Terminal {
    /// Keys one at a time, unseen; nothing changes when stdin is not a terminal.
    pub fn noncanonical() -> Result<Terminal> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Ok(Terminal { original: None });
        }
        let original = termios::tcgetattr(stdin.as_fd()).context("reading the terminal mode")?;
        let mut raw = original.clone();
        raw.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
            .context("setting the terminal mode")?;
        Ok(Terminal {
            original: Some(original),
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(original) = &self.original {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, original);
        }
    }
}
