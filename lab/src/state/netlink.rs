//! A netlink socket of the calling thread's network namespace, and the little the readers
//! need of its framing: a request, its answers, their attributes.

use anyhow::{bail, Context, Result};
use std::cell::Cell;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
/// A dump: every object of the kind, answered in several messages up to NLMSG_DONE.
pub const DUMP: u16 = 0x300;
/// One answer (and an acknowledgement).
pub const ONE: u16 = 0x4;
const HEADER: usize = 16;
/// SO_NETNS_COOKIE: a namespace's number, never given to another while the system runs.
const SO_NETNS_COOKIE: libc::c_int = 71;

/// A netlink socket.
pub struct Socket {
    fd: OwnedFd,
    seq: Cell<u32>,
}

impl Socket {
    /// A socket of `protocol` (`libc::NETLINK_ROUTE`, ...) in the calling thread's namespace.
    pub fn open(protocol: libc::c_int) -> Result<Socket> {
        // SAFETY: a plain socket(2) call; the descriptor is owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("opening a netlink socket");
        }
        // SAFETY: fd is a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Socket {
            fd,
            seq: Cell::new(1),
        })
    }

    /// The cookie of the socket's namespace (None where the kernel has none, before 5.14).
    pub fn netns_cookie(&self) -> Option<u64> {
        let mut cookie = 0u64;
        let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cookie`.
        let done = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_NETNS_COOKIE,
                (&mut cookie as *mut u64).cast(),
                &mut len,
            )
        };
        (done == 0).then_some(cookie)
    }

    /// Sends a request of `kind` with `flags` ([`DUMP`] or [`ONE`]) and `body` (its fixed
    /// header and attributes); the payload of every answer up to the end of the dump, or up to
    /// the acknowledgement.
    pub fn ask(&self, kind: u16, flags: u16, body: &[u8]) -> Result<Vec<Vec<u8>>> {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let mut request = Vec::with_capacity(HEADER + body.len());
        request.extend_from_slice(&((HEADER + body.len()) as u32).to_ne_bytes());
        request.extend_from_slice(&kind.to_ne_bytes());
        request.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
        request.extend_from_slice(&seq.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(body);
        // SAFETY: sends from a live buffer of its own length.
        let sent = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                request.as_ptr().cast(),
                request.len(),
                0,
            )
        };
        if sent < 0 {
            return Err(std::io::Error::last_os_error()).context("sending a netlink request");
        }
        let mut answers = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: receives into a live buffer of its own length.
            let got = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    0,
                )
            };
            if got < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e).context("reading a netlink answer");
            }
            let mut rest = &buffer[..got as usize];
            while rest.len() >= HEADER {
                let len = u32_at(rest, 0) as usize;
                if len < HEADER || len > rest.len() {
                    bail!("a netlink answer of {len} bytes does not fit its buffer");
                }
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                if u32_at(rest, 8) == seq {
                    match kind {
                        NLMSG_DONE => return Ok(answers),
                        NLMSG_ERROR => {
                            let errno = u32_at(rest, HEADER) as i32;
                            if errno != 0 {
                                return Err(std::io::Error::from_raw_os_error(-errno))
                                    .context("the kernel refused a netlink request");
                            }
                            // The acknowledgement of a request of one answer.
                            return Ok(answers);
                        }
                        _ => answers.push(rest[HEADER..len].to_vec()),
                    }
                }
                rest = &rest[align(len).min(rest.len())..];
            }
        }
    }
}

/// A length rounded up to netlink's alignment (4).
pub fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// The native-endian u32 at `at` (0 if the bytes are short).
pub fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// The attributes (type, payload) of a message from `start`.
pub fn attrs(bytes: &[u8], start: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut rest = bytes.get(start..).unwrap_or_default();
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            break;
        }
        out.push((kind, &rest[4..len]));
        rest = &rest[align(len).min(rest.len())..];
    }
    out
}
