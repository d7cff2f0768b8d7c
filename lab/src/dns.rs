//! A small authoritative DNS server speaking the real wire protocol (RFC 1035), over UDP and
//! TCP. It knows a few A records under `lab.test`; for those names any other type gets an empty
//! answer, and every other name gets NXDOMAIN. That is enough for glibc and busybox resolvers.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::time::Duration;

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const RCODE_FORMERR: u8 = 1;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_NOTIMP: u8 = 4;
const TTL: u32 = 60;

/// The records the server answers with.
#[derive(Debug, Clone)]
pub struct Zone {
    records: Vec<(String, Ipv4Addr)>,
}

impl Zone {
    /// A zone with these `(name, address)` A records; names are matched without case.
    pub fn new(records: Vec<(String, Ipv4Addr)>) -> Self {
        let records = records
            .into_iter()
            .map(|(name, addr)| (name.trim_end_matches('.').to_ascii_lowercase(), addr))
            .collect();
        Zone { records }
    }

    fn lookup(&self, name: &str) -> Option<Ipv4Addr> {
        let name = name.to_ascii_lowercase();
        self.records
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
    }

    /// The response to one DNS message, or `None` when it is not worth answering (too short
    /// to carry an ID, or itself a response).
    pub fn answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        if query.len() < 12 || query[2] & 0x80 != 0 {
            return None;
        }
        let opcode = (query[2] >> 3) & 0x0f;
        let questions = u16::from_be_bytes([query[4], query[5]]);
        let mut reply = Vec::with_capacity(512);
        reply.extend_from_slice(&query[..2]); // ID
                                              // QR=1, same opcode, AA=1, RD copied; RA=0 (not a recursive server).
        reply.push(0x80 | (opcode << 3) | 0x04 | (query[2] & 0x01));
        reply.push(0);
        if opcode != 0 || questions != 1 {
            reply[3] = if opcode != 0 {
                RCODE_NOTIMP
            } else {
                RCODE_FORMERR
            };
            reply.extend_from_slice(&[0; 8]);
            return Some(reply);
        }
        let Some((name, end)) = read_name(query, 12) else {
            reply[3] = RCODE_FORMERR;
            reply.extend_from_slice(&[0; 8]);
            return Some(reply);
        };
        if query.len() < end + 4 {
            reply[3] = RCODE_FORMERR;
            reply.extend_from_slice(&[0; 8]);
            return Some(reply);
        }
        let qtype = u16::from_be_bytes([query[end], query[end + 1]]);
        let qclass = u16::from_be_bytes([query[end + 2], query[end + 3]]);
        let found = self.lookup(&name);
        let answer = found.filter(|_| qtype == TYPE_A && qclass == CLASS_IN);
        if found.is_none() {
            reply[3] = RCODE_NXDOMAIN;
        }
        reply.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
        reply.extend_from_slice(&u16::from(answer.is_some()).to_be_bytes()); // ANCOUNT
        reply.extend_from_slice(&[0; 4]); // NSCOUNT, ARCOUNT
        reply.extend_from_slice(&query[12..end + 4]); // the question, echoed
        if let Some(addr) = answer {
            reply.extend_from_slice(&[0xc0, 0x0c]); // pointer to the name in the question
            reply.extend_from_slice(&TYPE_A.to_be_bytes());
            reply.extend_from_slice(&CLASS_IN.to_be_bytes());
            reply.extend_from_slice(&TTL.to_be_bytes());
            reply.extend_from_slice(&4u16.to_be_bytes());
            reply.extend_from_slice(&addr.octets());
        }
        Some(reply)
    }

    /// Answers queries on `socket` until it fails.
    pub fn serve_udp(&self, socket: UdpSocket) {
        let mut buf = [0u8; 1500];
        while let Ok((len, peer)) = socket.recv_from(&mut buf) {
            if let Some(reply) = self.answer(&buf[..len]) {
                let _ = socket.send_to(&reply, peer);
            }
        }
    }

    /// Answers length-prefixed queries on TCP connections, one at a time.
    pub fn serve_tcp(&self, listener: TcpListener) {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut len = [0u8; 2];
            while stream.read_exact(&mut len).is_ok() {
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if stream.read_exact(&mut query).is_err() {
                    break;
                }
                let Some(reply) = self.answer(&query) else {
                    break;
                };
                let Ok(reply_len) = u16::try_from(reply.len()) else {
                    break;
                };
                let mut framed = reply_len.to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).is_err() {
                    break;
                }
            }
        }
    }
}

/// Reads an uncompressed name starting at `at`; returns it (dotted) and the offset after it.
fn read_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // compression or extended labels never appear in a question
        }
        labels.push(
            std::str::from_utf8(msg.get(at..at + len)?)
                .ok()?
                .to_string(),
        );
        at += len;
    }
    Some((labels.join("."), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    fn zone() -> Zone {
        Zone::new(vec![(
            "web.lab.test".into(),
            Ipv4Addr::new(203, 0, 113, 80),
        )])
    }

    #[test]
    fn answers_a_known_name_with_its_address() {
        let reply = zone()
            .answer(&query(0xbeef, "Web.Lab.Test", TYPE_A))
            .unwrap();
        assert_eq!(&reply[..2], &[0xbe, 0xef]);
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(&reply[6..8], &[0, 1], "one answer");
        assert_eq!(&reply[reply.len() - 4..], &[203, 0, 113, 80]);
    }

    #[test]
    fn gives_an_empty_answer_for_other_types_of_a_known_name() {
        let reply = zone().answer(&query(1, "web.lab.test", 28)).unwrap();
        assert_eq!(reply[3] & 0x0f, 0);
        assert_eq!(&reply[6..8], &[0, 0]);
    }

    #[test]
    fn says_nxdomain_for_unknown_names() {
        let reply = zone()
            .answer(&query(2, "nothing.lab.test", TYPE_A))
            .unwrap();
        assert_eq!(reply[3] & 0x0f, RCODE_NXDOMAIN);
        assert_eq!(&reply[6..8], &[0, 0]);
    }

    #[test]
    fn survives_garbage() {
        assert!(zone().answer(&[1, 2, 3]).is_none());
        let reply = zone()
            .answer(&[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 200])
            .unwrap();
        assert_eq!(reply[3] & 0x0f, RCODE_FORMERR);
    }

    #[test]
    fn serves_over_udp_on_loopback() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || zone().serve_udp(server));
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        client
            .send_to(&query(7, "web.lab.test", TYPE_A), addr)
            .unwrap();
        let mut buf = [0u8; 512];
        let len = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[len - 4..len], &[203, 0, 113, 80]);
    }
}
