//! A tiny static file server for the built book: 127.0.0.1 only, GET only, one request per
//! connection. Paths never leave the book's folder: `..` is refused, and whatever a path
//! resolves to (symbolic links included) must be inside it.
//!
//! Its threads are bounded: [`WORKERS`] threads answer, up to [`QUEUE`] accepted connections
//! wait for one, and a connection beyond that gets `503` at once. A connection that has not
//! sent its request within [`HEAD_DEADLINE`] is dropped, so idle connections cannot hold the
//! workers for long. (tiny_http would not do: its pool starts a thread per busy connection.)

use crate::messages;
use anyhow::{anyhow, Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Longest request head (request line and headers) read.
const MAX_HEAD: u64 = 16 * 1024;
/// Threads that answer requests.
const WORKERS: usize = 8;
/// Accepted connections that may wait for a worker.
const QUEUE: usize = 64;
/// Time a connection has to send its whole request head.
const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// Time a response may take to be written.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `root` on 127.0.0.1:`port` (0: any free port) until the process is stopped.
pub fn serve(root: &Path, port: u16) -> Result<()> {
    let root = root
        .canonicalize()
        .with_context(|| format!("finding {}", root.display()))?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow!(messages::book_port_in_use(port))
        } else {
            anyhow!("listening on 127.0.0.1:{port}: {e}")
        }
    })?;
    let address = listener
        .local_addr()
        .context("reading the port listened on")?;
    let (queue, waiting) = mpsc::sync_channel::<TcpStream>(QUEUE);
    let waiting = Arc::new(Mutex::new(waiting));
    for n in 0..WORKERS {
        let (waiting, root) = (Arc::clone(&waiting), root.clone());
        std::thread::Builder::new()
            .name(format!("book-{n}"))
            .spawn(move || work(&waiting, &root))
            .context("starting the book server's threads")?;
    }
    println!("{}", messages::book_serving(&address.to_string()));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if let Err(TrySendError::Full(stream)) = queue.try_send(stream) {
            // Every worker is busy and the queue is full: say so now rather than wait. A
            // browser that goes away meanwhile is no error of ours.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = Response::error(503, "Service Unavailable").write_to(&stream);
        }
    }
    Ok(())
}

/// One worker: answers the connections of the queue, one at a time, until it closes.
fn work(waiting: &Mutex<Receiver<TcpStream>>, root: &Path) {
    loop {
        let next = waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(stream) = next else { return };
        // A browser that goes away mid-answer is no error of ours.
        let _ = answer(&stream, root);
    }
}

/// Reads from a stream until a deadline, however slowly the bytes come.
struct Deadline<'a> {
    stream: &'a TcpStream,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        let mut stream = self.stream;
        stream.set_read_timeout(Some(left))?;
        stream.read(buf)
    }
}

/// Reads one request and answers it.
fn answer(stream: &TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let head = Deadline {
        stream,
        until: Instant::now() + HEAD_DEADLINE,
    };
    let mut reader = BufReader::new(head.take(MAX_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers are read and ignored; an unfinished head is a bad request.
    let mut complete = false;
    let mut header = String::new();
    loop {
        header.clear();
        if reader.read_line(&mut header)? == 0 {
            break;
        }
        if header.trim_end().is_empty() {
            complete = true;
            break;
        }
    }
    let mut words = request_line.split_whitespace();
    let (method, target, version) = (words.next(), words.next(), words.next());
    let response = match (method, target, version) {
        _ if !complete => Response::error(400, "Bad Request"),
        (Some("GET"), Some(target), Some(v)) if v.starts_with("HTTP/") => {
            match resolve(root, target) {
                Ok(path) => match std::fs::read(&path) {
                    Ok(body) => Response {
                        status: 200,
                        reason: "OK",
                        content_type: content_type(&path),
                        body,
                    },
                    Err(_) => not_found(root),
                },
                Err(Refused::BadRequest) => Response::error(400, "Bad Request"),
                Err(Refused::NotFound) => not_found(root),
            }
        }
        (Some(_), Some(_), Some(v)) if v.starts_with("HTTP/") => {
            Response::error(405, "Method Not Allowed")
        }
        _ => Response::error(400, "Bad Request"),
    };
    response.write_to(stream)
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn error(status: u16, reason: &'static str) -> Response {
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: format!("{status} {reason}\n").into_bytes(),
        }
    }

    fn write_to(&self, mut stream: &TcpStream) -> std::io::Result<()> {
        let allow = if self.status == 405 {
            "Allow: GET\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}\
             Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(&self.body)?;
        stream.flush()
    }
}

/// The book's own 404 page when it has one.
fn not_found(root: &Path) -> Response {
    match std::fs::read(root.join("404.html")) {
        Ok(body) => Response {
            status: 404,
            reason: "Not Found",
            content_type: "text/html; charset=utf-8",
            body,
        },
        Err(_) => Response::error(404, "Not Found"),
    }
}

#[derive(Debug, PartialEq)]
enum Refused {
    BadRequest,
    NotFound,
}

/// The file a request target names inside `root` (already canonical).
fn resolve(root: &Path, target: &str) -> Result<PathBuf, Refused> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let Some(path) = path.strip_prefix('/') else {
        return Err(Refused::BadRequest);
    };
    let decoded = percent_decode(path).ok_or(Refused::BadRequest)?;
    let mut file = root.to_path_buf();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(Refused::BadRequest),
            part if part.contains(['\\', '\0']) => return Err(Refused::BadRequest),
            part => file.push(part),
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    // Symbolic links may point anywhere: what counts is where the file really is.
    let real = file.canonicalize().map_err(|_| Refused::NotFound)?;
    if !real.starts_with(root) || !real.is_file() {
        return Err(Refused::NotFound);
    }
    Ok(real)
}

/// `%2e%2E/a%20b` → `../a b`; None for a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        "txt" | "md" | "rs" | "toml" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book of its own in a fresh folder (removed when the guard is dropped).
    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let guard = tempfile::tempdir().unwrap();
        let dir = guard.path().to_path_buf();
        std::fs::create_dir_all(dir.join("css")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.join("css/a b.css"), "p{}").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd")).unwrap();
        let dir = dir.canonicalize().unwrap();
        (guard, dir)
    }

    #[test]
    fn paths_stay_inside_the_root() {
        let (_guard, root) = scratch();
        assert_eq!(resolve(&root, "/").unwrap(), root.join("index.html"));
        assert_eq!(
            resolve(&root, "/css/a%20b.css?x=1#top").unwrap(),
            root.join("css/a b.css")
        );
        for bad in [
            "/../etc/passwd",
            "/css/../../x",
            "/%2e%2e/%2E%2E/etc/passwd",
            "etc/passwd",
            "/a%zz",
            "/a%5c..%5cb",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refused::BadRequest), "{bad}");
        }
        for missing in ["/nope.html", "/passwd"] {
            assert_eq!(resolve(&root, missing), Err(Refused::NotFound), "{missing}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/b.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.woff2")), "font/woff2");
        assert_eq!(content_type(Path::new("x.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }
}
