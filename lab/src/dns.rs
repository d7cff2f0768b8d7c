//! A small authoritative DNS server speaking the real wire protocol (RFC 1035), over UDP and
//! TCP. It knows a few A records under `lab.test`; for those names any other type gets an empty
//! answer, and every other name gets NXDOMAIN. That is enough for glibc and busybox resolvers.
//!
//! The messages are read and written by `hickory-proto`; what is ours is the zone, the choice
//! of answer, and the two small server loops.

use anyhow::{Context, Result};
use hickory_proto::op::{Edns, Header, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{rdata::A, DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::time::Duration;

/// The TTL of every answer, in seconds.
const TTL: u32 = 60;
/// The UDP payload size announced to resolvers that use EDNS (RFC 6891), as DNS flag day
/// 2020 recommends.
const EDNS_PAYLOAD: u16 = 1232;

/// The records the server answers with.
#[derive(Debug, Clone)]
pub struct Zone {
    records: Vec<(Name, Ipv4Addr)>,
}

impl Zone {
    /// A zone with these `(name, address)` A records; names are matched without case, with
    /// or without a final dot.
    pub fn new(records: Vec<(String, Ipv4Addr)>) -> Result<Self> {
        let records = records
            .into_iter()
            .map(|(name, addr)| {
                let name = Name::from_ascii(&name)
                    .with_context(|| format!("'{name}' is not a DNS name"))?;
                Ok((name, addr))
            })
            .collect::<Result<_>>()?;
        Ok(Zone { records })
    }

    fn lookup(&self, name: &Name) -> Option<Ipv4Addr> {
        self.records
            .iter()
            .find(|(n, _)| n.eq_ignore_root(name))
            .map(|(_, a)| *a)
    }

    /// The response to one DNS message, or `None` when it is not worth answering (too short
    /// to carry a header, or itself a response).
    pub fn answer(&self, query: &[u8]) -> Option<Vec<u8>> {
        let header = Header::read(&mut BinDecoder::new(query)).ok()?;
        if header.metadata.message_type == MessageType::Response {
            return None;
        }
        // Authoritative (AA), not recursive (RA clear); RD, CD, the ID and the opcode copied.
        let mut metadata = Metadata::response_from_request(&header.metadata);
        metadata.authoritative = true;
        let mut reply = Message::response(metadata.id, metadata.op_code);
        reply.metadata = metadata;
        if header.metadata.op_code != OpCode::Query {
            return encode_error(reply, ResponseCode::NotImp);
        }
        let request = match Message::from_vec(query) {
            Ok(request) if request.queries.len() == 1 => request,
            _ => return encode_error(reply, ResponseCode::FormErr),
        };
        let question = request.queries[0].clone();
        let found = self.lookup(question.name());
        let wanted =
            question.query_type() == RecordType::A && question.query_class() == DNSClass::IN;
        match found {
            None => reply.metadata.response_code = ResponseCode::NXDomain,
            Some(addr) if wanted => {
                reply.add_answer(Record::from_rdata(
                    question.name().clone(),
                    TTL,
                    RData::A(A(addr)),
                ));
            }
            Some(_) => {} // the name exists, without records of that type: NOERROR, no answer
        }
        reply.add_query(question);
        // A resolver that speaks EDNS gets an OPT record back (RFC 6891, 6.1.1).
        if request.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_PAYLOAD);
            reply.set_edns(edns);
        }
        reply.to_vec().ok()
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

/// An empty reply carrying only an error code.
fn encode_error(mut reply: Message, code: ResponseCode) -> Option<Vec<u8>> {
    reply.metadata.response_code = code;
    reply.to_vec().ok()
}

#[cfg(test)]
mod tests {
    //! The queries are written byte by byte, as RFC 1035 draws them, so that these tests check
    //! the wire format itself and not only that hickory-proto agrees with itself.
    use super::*;
    use std::net::TcpStream;

    const TYPE_A: u16 = 1;
    const TYPE_AAAA: u16 = 28;
    const CLASS_IN: u16 = 1;
    const RCODE_FORMERR: u8 = 1;
    const RCODE_NXDOMAIN: u8 = 3;
    const RCODE_NOTIMP: u8 = 4;

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

    /// `query` with an OPT record, as glibc sends it with `options edns0`.
    fn query_with_edns(id: u16, name: &str) -> Vec<u8> {
        let mut q = query(id, name, TYPE_A);
        q[11] = 1; // ARCOUNT
                   // root name, TYPE OPT (41), payload 1200, extended rcode and flags 0, no data
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xb0, 0, 0, 0, 0, 0, 0]);
        q
    }

    fn zone() -> Zone {
        Zone::new(vec![(
            "web.lab.test".into(),
            Ipv4Addr::new(203, 0, 113, 80),
        )])
        .unwrap()
    }

    #[test]
    fn answers_a_known_name_with_its_address() {
        let asked = query(0xbeef, "Web.Lab.Test", TYPE_A);
        let reply = zone().answer(&asked).unwrap();
        assert_eq!(&reply[..2], &[0xbe, 0xef]);
        assert_eq!(reply[2] & 0x80, 0x80, "a response");
        assert_eq!(reply[2] & 0x04, 0x04, "authoritative");
        assert_eq!(reply[2] & 0x01, 0x01, "RD copied");
        assert_eq!(reply[3] & 0x80, 0, "not recursive");
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(&reply[4..6], &[0, 1], "the question");
        assert_eq!(&reply[6..8], &[0, 1], "one answer");
        assert_eq!(&reply[8..12], &[0, 0, 0, 0], "nothing else");
        assert_eq!(
            &reply[12..asked.len()],
            &asked[12..],
            "the question, echoed"
        );
        // The answer: the name (a pointer to the question's), A, IN, TTL 60, 4 bytes.
        assert_eq!(
            &reply[asked.len()..],
            &[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 80]
        );
    }

    #[test]
    fn gives_an_empty_answer_for_other_types_of_a_known_name() {
        let reply = zone().answer(&query(1, "web.lab.test", TYPE_AAAA)).unwrap();
        assert_eq!(reply[3] & 0x0f, 0);
        assert_eq!(&reply[6..8], &[0, 0]);
    }

    #[test]
    fn says_nxdomain_for_unknown_names() {
        let reply = zone()
            .answer(&query(2, "nothing.lab.test", TYPE_A))
            .unwrap();
        assert_eq!(reply[3] & 0x0f, RCODE_NXDOMAIN);
        assert_eq!(&reply[4..6], &[0, 1], "the question");
        assert_eq!(&reply[6..8], &[0, 0]);
    }

    #[test]
    fn answers_edns_with_an_opt_record() {
        let reply = zone().answer(&query_with_edns(3, "web.lab.test")).unwrap();
        assert_eq!(reply[3] & 0x0f, 0);
        assert_eq!(&reply[6..8], &[0, 1], "one answer");
        assert_eq!(&reply[10..12], &[0, 1], "one additional: the OPT");
        let opt = &reply[reply.len() - 11..];
        assert_eq!(&opt[..3], &[0, 0, 41], "{reply:?}");
        assert_eq!(u16::from_be_bytes([opt[3], opt[4]]), EDNS_PAYLOAD);
    }

    #[test]
    fn refuses_other_opcodes_and_ignores_responses() {
        let mut status = query(4, "web.lab.test", TYPE_A);
        status[2] = 2 << 3; // opcode STATUS
        let reply = zone().answer(&status).unwrap();
        assert_eq!(reply[2] & 0x78, 2 << 3, "same opcode");
        assert_eq!(reply[3] & 0x0f, RCODE_NOTIMP);
        let mut response = query(5, "web.lab.test", TYPE_A);
        response[2] |= 0x80;
        assert!(zone().answer(&response).is_none());
    }

    #[test]
    fn survives_garbage() {
        assert!(zone().answer(&[1, 2, 3]).is_none());
        let reply = zone()
            .answer(&[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 200])
            .unwrap();
        assert_eq!(&reply[..2], &[0, 1]);
        assert_eq!(reply[3] & 0x0f, RCODE_FORMERR);
        let mut two = query(6, "web.lab.test", TYPE_A);
        two[5] = 2; // QDCOUNT 2, one question given
        assert_eq!(zone().answer(&two).unwrap()[3] & 0x0f, RCODE_FORMERR);
    }

    #[test]
    fn serves_over_udp_on_loopback() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || zone().serve_udp(server));
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client
            .send_to(&query(7, "web.lab.test", TYPE_A), addr)
            .unwrap();
        let mut buf = [0u8; 512];
        let len = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[len - 4..len], &[203, 0, 113, 80]);
    }

    #[test]
    fn serves_over_tcp_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || zone().serve_tcp(listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // Two queries on one connection, each with its two-byte length.
        for id in [8u16, 9] {
            let asked = query(id, "web.lab.test", TYPE_A);
            let mut framed = (asked.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&asked);
            client.write_all(&framed).unwrap();
            let mut len = [0u8; 2];
            client.read_exact(&mut len).unwrap();
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
            client.read_exact(&mut reply).unwrap();
            assert_eq!(&reply[..2], &id.to_be_bytes());
            assert_eq!(&reply[reply.len() - 4..], &[203, 0, 113, 80]);
        }
    }
}
