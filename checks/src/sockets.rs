//! Real clients and servers for the checks: plain sockets, opened in the network namespace
//! the check chooses (a thread of the check moves into it with setns).

use anyhow::{anyhow, bail, Context, Result};
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

/// How long a client waits to connect, and then for each read.
pub const CLIENT_LIMIT: Duration = Duration::from_secs(3);

/// Runs `f` on a thread that has joined the network namespace `netns` (a `/proc/.../ns/net`
/// file): its sockets live there.
pub fn in_netns<T: Send + 'static>(
    netns: PathBuf,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    thread::spawn(move || -> Result<T> {
        let file = File::open(&netns).with_context(|| format!("opening {}", netns.display()))?;
        setns(file, CloneFlags::CLONE_NEWNET)
            .with_context(|| format!("joining {}", netns.display()))?;
        Ok(f())
    })
    .join()
    .map_err(|_| anyhow!("a socket thread panicked"))?
}

/// `GET /` over HTTP/1.0; the body of a 200 answer.
pub fn http_get(to: SocketAddr) -> Result<String> {
    let mut stream = TcpStream::connect_timeout(&to, CLIENT_LIMIT)
        .with_context(|| format!("connecting to {to}"))?;
    stream.set_read_timeout(Some(CLIENT_LIMIT))?;
    stream.set_write_timeout(Some(CLIENT_LIMIT))?;
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {to}\r\n\r\n").as_bytes())
        .with_context(|| format!("sending a request to {to}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .with_context(|| format!("reading the answer of {to}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.lines().next().unwrap_or("");
    if !status.contains(" 200 ") {
        bail!("{to} answered '{}'", status.trim());
    }
    Ok(body.trim_end().to_string())
}

/// Whether `error` (of [`http_get`]) is a connection or read that timed out, rather than one
/// refused or answered wrongly.
pub fn timed_out(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            )
        })
    })
}

/// Sends one datagram to `to` and returns the first answer.
pub fn udp_ask(to: SocketAddr, question: &str) -> Result<String> {
    let socket = UdpSocket::bind(("0.0.0.0", 0)).context("binding a UDP socket")?;
    socket.set_read_timeout(Some(CLIENT_LIMIT))?;
    socket
        .send_to(question.as_bytes(), to)
        .with_context(|| format!("sending a datagram to {to}"))?;
    let mut buffer = [0u8; 512];
    let (length, _) = socket
        .recv_from(&mut buffer)
        .with_context(|| format!("waiting for an answer from {to}"))?;
    Ok(String::from_utf8_lossy(&buffer[..length]).into_owned())
}

/// A UDP socket bound to `port` that answers every datagram with `answer`, for as long as
/// the process runs (it lives in the namespace of the thread that bound it).
pub fn udp_answer(socket: UdpSocket, answer: String) {
    thread::spawn(move || {
        let mut buffer = [0u8; 512];
        while let Ok((_, peer)) = socket.recv_from(&mut buffer) {
            let _ = socket.send_to(format!("{answer} to {}", peer.ip()).as_bytes(), peer);
        }
    });
}
