//! The lab's web server: answers every HTTP request with a short page that names the client
//! address it saw, so a check can tell whether NAT rewrote the container's address, and the
//! address and port that answered (`server web.lab.test 203.0.113.80:8080`), so a check can
//! tell the remote host from a local DNAT of the same port.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// The line of the page that carries the client's address: `client <ip>`.
pub const CLIENT_LINE: &str = "client";

/// The line of the page that names who answered: `server web.lab.test <ip>:<port>`.
pub const SERVER_LINE: &str = "server web.lab.test";

/// The ports the web server listens on, at its address: 80, and two that checks of published
/// ports (step 06) ask the remote host for, to see that a local DNAT does not hijack them.
pub const PORTS: &[u16] = &[80, 8080, 8081];

/// The page served by `local` to a client seen as `peer`.
pub fn page(local: SocketAddr, peer: SocketAddr) -> String {
    format!(
        "hello from web.lab.test, the lab's web server\n{CLIENT_LINE} {}\n{SERVER_LINE} {local}\n",
        peer.ip()
    )
}

/// The client address a page names, if it names one.
pub fn client_of(page: &str) -> Option<&str> {
    page.lines()
        .find_map(|line| line.strip_prefix(CLIENT_LINE)?.strip_prefix(' '))
        .map(str::trim)
}

/// The address and port a page says answered it, if it names them.
pub fn server_of(page: &str) -> Option<&str> {
    page.lines()
        .find_map(|line| line.strip_prefix(SERVER_LINE)?.strip_prefix(' '))
        .map(str::trim)
}

/// Serves until the listener fails, one thread per connection.
pub fn serve(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = respond(stream);
        });
    }
}

fn respond(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    // Read the request head; its content does not matter.
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line != "\r\n" && line != "\n" {
        line.clear();
    }
    let body = page(local, peer);
    write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn names_the_client_it_saw() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || serve(listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .write_all(b"GET / HTTP/1.0\r\nHost: web.lab.test\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
        assert_eq!(client_of(&response), Some("127.0.0.1"));
        assert_eq!(server_of(&response), Some(addr.to_string().as_str()));
    }
}
