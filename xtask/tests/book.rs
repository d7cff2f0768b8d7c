//! `cargo xtask book`: the book is made from the lessons, every step folder is a chapter, its
//! links resolve, its hints are folded; `--serve` answers on 127.0.0.1 and never outside the
//! book's folder. Each test builds into a target directory of its own (CARGO_TARGET_DIR), so
//! the real target/book is never touched. Needs mdbook: `scripts/install-deps --dev`.

mod common;

use common::one_line_error;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh target directory for one test.
fn target(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn xtask(target: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("NETLAB_ROOT");
    command
}

/// Builds the book into `target/book`; a missing mdbook fails the test, saying how to get it.
fn build(target: &Path) -> PathBuf {
    let output = xtask(target, &["book"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("mdbook is not installed") {
        panic!("mdbook is missing: run `scripts/install-deps --dev`, then the tests again");
    }
    assert!(output.status.success(), "cargo xtask book failed: {stderr}");
    target.join("book")
}

/// The step folders, `01-netns`, ..., found as `cargo xtask book` should find them.
fn step_slugs() -> Vec<String> {
    let mut slugs: Vec<String> = std::fs::read_dir(workspace().join("steps"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.len() > 3
                && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
                && name.as_bytes()[2] == b'-'
        })
        .collect();
    slugs.sort();
    assert!(!slugs.is_empty(), "no steps found");
    slugs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The href of the first `<a rel="prev"...>` (or next) of a page.
fn nav(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}"))?;
    let tag = &html[at..at + html[at..].find('>')?];
    let href = &tag[tag.find("href=\"")? + 6..];
    Some(href[..href.find('"')?].to_string())
}

#[test]
fn every_step_is_a_chapter_with_navigation_and_folded_hints() {
    let target = target("book-chapters");
    let book = build(&target);
    let summary = read(&target.join("book-src/src/SUMMARY.md"));
    let slugs = step_slugs();
    let mut order = vec!["index".to_string()];
    order.extend(slugs.iter().cloned());
    order.push("troubleshooting".to_string());
    for (i, slug) in slugs.iter().enumerate() {
        assert!(
            summary.contains(&format!("]({slug}.md)")),
            "{slug} not in SUMMARY.md:\n{summary}"
        );
        let html = read(&book.join(format!("{slug}.html")));
        let (prev, next) = (&order[i], &order[i + 2]);
        assert_eq!(nav(&html, "prev"), Some(format!("{prev}.html")), "{slug}");
        assert_eq!(nav(&html, "next"), Some(format!("{next}.html")), "{slug}");

        let hints = read(&workspace().join("steps").join(slug).join("hints.md"));
        let levels = hints.lines().filter(|l| l.starts_with("## Level ")).count();
        assert!(levels > 0, "{slug}/hints.md has no levels");
        for level in 1..=levels {
            let summary = format!("<details>\n<summary>Hint level {level}: ");
            assert!(html.contains(&summary), "{slug}: no folded hint {level}");
        }
        assert_eq!(html.matches("</details>").count(), levels, "{slug}");
    }
    assert!(summary.contains("](index.md)") && summary.contains("](troubleshooting.md)"));
    // The index lists every step, linked to its chapter.
    let index = read(&book.join("index.html"));
    for slug in &slugs {
        assert!(index.contains(&format!("href=\"{slug}.html\"")), "{slug}");
    }
    assert_eq!(nav(&index, "next"), Some(format!("{}.html", slugs[0])));
}

/// `href="..."` and `src="..."` values of a page.
fn links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in [" href=\"", " src=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            found.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    found
}

#[test]
fn every_internal_link_resolves() {
    let target = target("book-links");
    let book = build(&target);
    let mut pages = Vec::new();
    let mut dirs = vec![book.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                pages.push(path);
            }
        }
    }
    assert!(pages.len() > step_slugs().len(), "too few pages: {pages:?}");
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let html = read(page);
        for link in links(&html) {
            let scheme = link
                .split_once(':')
                .is_some_and(|(s, _)| !s.contains('/') && !s.contains('#'));
            if link.is_empty() || link.starts_with("//") || scheme {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let path = path.split('?').next().unwrap_or("");
            let mut file = if path.is_empty() {
                page.clone()
            } else if let Some(from_root) = path.strip_prefix('/') {
                book.join(from_root)
            } else {
                page.parent().unwrap().join(path)
            };
            if file.is_dir() {
                file.push("index.html");
            }
            checked += 1;
            if !file.is_file() {
                broken.push(format!("{}: {link} (no such file)", page.display()));
                continue;
            }
            let is_html = file.extension().is_some_and(|e| e == "html");
            if !fragment.is_empty() && is_html {
                let text = read(&file);
                if !text.contains(&format!("id=\"{fragment}\"")) {
                    broken.push(format!("{}: {link} (no id {fragment})", page.display()));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// `cargo xtask book --serve --port 0`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(target: &Path) -> Server {
        let mut child = xtask(target, &["book", "--serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut server = Server { child, port: 0 };
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                server.port = rest.split('/').next().unwrap().parse().unwrap();
                break;
            }
        }
        assert!(
            server.port != 0,
            "the server never said its address (is mdbook installed? `scripts/install-deps --dev`)"
        );
        server
    }

    /// `(status, content type, body)` of one raw request.
    fn ask(&self, method: &str, target: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap_or("")
            .to_string();
        (status, content_type, body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_server_serves_the_book_and_nothing_else() {
    let target = target("book-serve");
    let server = Server::start(&target);
    let (status, content_type, body) = server.ask("GET", "/");
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(body.contains("Introduction"), "{body}");
    let slug = &step_slugs()[0];
    let (status, _, body) = server.ask("GET", &format!("/{slug}.html?x=1#the-idea"));
    assert_eq!(status, 200);
    assert!(body.contains("<details>"));
    let (status, content_type, _) = server.ask("GET", "/css/general.css");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/css; charset=utf-8")
    );
    let (status, content_type, _) = server.ask("GET", "/book.js");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/javascript; charset=utf-8")
    );

    for escape in [
        "/../../etc/passwd",
        "/css/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc/passwd",
        "../../etc/passwd",
        "//etc/passwd",
    ] {
        let (status, _, body) = server.ask("GET", escape);
        assert!(matches!(status, 400 | 404), "{escape}: {status}");
        assert!(!body.contains("root:x:0:0"), "{escape} leaked /etc/passwd");
    }
    assert_eq!(server.ask("GET", "/no-such-page.html").0, 404);
    assert_eq!(server.ask("POST", "/").0, 405);
    assert_eq!(server.ask("HEAD", "/").0, 405);
}

/// The `Threads:` line of a process's /proc status.
fn threads(pid: u32) -> usize {
    let status = read(Path::new(&format!("/proc/{pid}/status")));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Threads: in /proc/{pid}/status:\n{status}"))
}

#[test]
fn idle_connections_do_not_grow_the_server_threads() {
    let target = target("book-idle");
    let server = Server::start(&target);
    let pid = server.child.id();
    let before = threads(pid);
    // Connections that never send a request: a thread-per-connection server would have 200
    // threads now. This one has a fixed pool; the connections it cannot hold get 503.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect((Ipv4Addr::LOCALHOST, server.port)).unwrap())
        .collect();
    let mut most = before;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(50));
        most = most.max(threads(pid));
    }
    assert!(
        most <= 20,
        "{most} threads with {} idle connections (before: {before})",
        idle.len()
    );
    // Once they go, the server answers again (503, busy, while it drains its queue).
    drop(idle);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let (status, _, body) = server.ask("GET", "/");
        if status != 503 || std::time::Instant::now() > deadline {
            break (status, body);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status, 200, "{body}");
    assert!(threads(pid) <= 20);
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let target = target("book-port");
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = xtask(&target, &["book", "--serve", "--port", &port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("mdbook is not installed") {
        panic!("mdbook is missing: run `scripts/install-deps --dev`, then the tests again");
    }
    one_line_error(&output, &format!("port {port} is in use"));
}

#[test]
fn without_mdbook_one_line_says_how_to_install_it() {
    let target = target("book-no-mdbook");
    let empty = target.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = xtask(&target, &["book"])
        .env("PATH", &empty)
        .env("HOME", &empty)
        .env("CARGO_HOME", &empty)
        .output()
        .unwrap();
    one_line_error(
        &output,
        "mdbook is not installed: run `scripts/install-deps --dev`",
    );
}

#[test]
fn bad_arguments_and_help() {
    let target = target("book-args");
    one_line_error(
        &xtask(&target, &["book", "--port"]).output().unwrap(),
        "--port needs a number",
    );
    one_line_error(
        &xtask(&target, &["book", "--serve", "--port", "http"])
            .output()
            .unwrap(),
        "--port takes a port number from 0 to 65535, not http",
    );
    one_line_error(
        &xtask(&target, &["book", "--port", "3000"])
            .output()
            .unwrap(),
        "--port is for --serve",
    );
    one_line_error(
        &xtask(&target, &["book", "--frob"]).output().unwrap(),
        "unknown option --frob",
    );
    one_line_error(
        &xtask(&target, &["book", "07"]).output().unwrap(),
        "unexpected argument 07",
    );
    let help = xtask(&target, &["book", "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("cargo xtask book"));
    let usage = xtask(&target, &["--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&usage.stdout).contains("book [--serve] [--port N]"));
}
