//! The keyboard: a thread turning what is typed into events, single keys on a terminal
//! (in the mode [`super::terminal`] sets), lines otherwise (the first character of each
//! counts).

use super::Event;
use std::io::{BufRead, IsTerminal, Read};
use std::sync::mpsc::Sender;

pub fn read(tx: Sender<Event>) {
    let terminal = std::io::stdin().is_terminal();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let key = if terminal {
                let mut byte = [0u8];
                match stdin.read(&mut byte) {
                    Ok(1) => Some(byte[0]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    _ => None,
                }
            } else {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => match line.trim().bytes().next() {
                        Some(first) => Some(first),
                        None => continue,
                    },
                }
            };
            let event = match key {
                None => Event::InputClosed,
                Some(b'h' | b'H' | b'n' | b'N') => Event::Hint,
                // q, Ctrl-C, Ctrl-D
                Some(b'q' | b'Q' | 3 | 4) => Event::Quit,
                Some(b'\n' | b'\r' | b' ') => continue,
                Some(_) => Event::Other,
            };
            let last = matches!(event, Event::InputClosed);
            if tx.send(event).is_err() || last {
                return;
            }
        }
    });
}
