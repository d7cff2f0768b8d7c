//! The links of the lessons, made to work in the book.
//!
//! A lesson is written for the repository: its links are relative to its own folder
//! (`../02-veth/README.md`, `src/netns.rs`). In the book every page sits at the top, so each
//! inline link `[text](dest)` outside code is resolved against the repository and then:
//! - a page of the book (a step's README.md or folder, its hints.md, a page under `book/`, the
//!   repository's README.md) becomes a link to that chapter, its `#fragment` kept;
//! - an image is copied into the book (under [`ASSETS`]) and linked there;
//! - any other file of the repository is not in the book: the link becomes its text and the
//!   file's path in the repository, in code, for the learner to open in their editor;
//! - web links, `#fragments` and `mailto:` stay as they are.
//!
//! A link to a file that does not exist is an error: the lesson needs fixing.

use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;
use std::path::Path;

/// The folder of the book's `src/` that copied images go into.
pub const ASSETS: &str = "assets";

const IMAGES: [&str; 6] = ["png", "jpg", "jpeg", "gif", "svg", "webp"];

/// Files of the repository that are pages of the book: repository path → book path.
#[derive(Default)]
pub struct Pages(HashMap<String, String>);

impl Pages {
    pub fn insert(&mut self, repo_path: &str, book_path: &str) {
        if let Some(key) = normalize(repo_path) {
            self.0.insert(key, book_path.to_string());
        }
    }
}

/// A page's text with its links rewritten, and the images (repository paths) it needs.
pub struct Rewritten {
    pub text: String,
    pub assets: Vec<String>,
}

/// Rewrites the links of `text`, a file in the repository folder `from`.
pub fn rewrite(text: &str, from: &str, pages: &Pages, root: &Path) -> Result<Rewritten> {
    let mut out = Rewritten {
        text: String::with_capacity(text.len()),
        assets: Vec::new(),
    };
    let mut fence = Fence::default();
    for line in text.split_inclusive('\n') {
        if fence.inside(line) {
            out.text.push_str(line);
        } else {
            let line = rewrite_line(line, &mut |link| {
                render(link, from, pages, root, &mut out.assets)
            })?;
            out.text.push_str(&line);
        }
    }
    Ok(out)
}

/// The lines of `text` that are not in a fenced code block.
pub fn prose_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut fence = Fence::default();
    text.lines().filter(move |line| !fence.inside(line))
}

/// Tracks fenced code blocks (``` or ~~~) line by line.
#[derive(Default)]
struct Fence {
    open: Option<(u8, usize)>,
}

impl Fence {
    /// Whether `line` is code (a fence line itself counts as code).
    fn inside(&mut self, line: &str) -> bool {
        let trimmed = line.trim_start();
        let marker = trimmed.bytes().next().filter(|c| *c == b'`' || *c == b'~');
        let run = marker.map_or(0, |c| trimmed.bytes().take_while(|b| *b == c).count());
        match (self.open, marker) {
            (Some((c, n)), Some(m)) if m == c && run >= n && trimmed[run..].trim().is_empty() => {
                self.open = None;
                true
            }
            (Some(_), _) => true,
            (None, Some(m)) if run >= 3 => {
                self.open = Some((m, run));
                true
            }
            (None, _) => false,
        }
    }
}

/// One inline link as written.
struct Link<'a> {
    image: bool,
    text: &'a str,
    dest: &'a str,
    /// Whatever follows the destination inside the parentheses (a title), verbatim.
    title: &'a str,
    /// The whole link as written.
    all: &'a str,
}

/// Rewrites the inline links of one line of prose, skipping code spans.
fn rewrite_line(line: &str, render: &mut dyn FnMut(&Link) -> Result<String>) -> Result<String> {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => i = after_code_span(bytes, i),
            b'[' => match parse_link(line, i) {
                Some((link, start, end)) => {
                    out.push_str(&line[copied..start]);
                    out.push_str(&render(&link)?);
                    (i, copied) = (end, end);
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    out.push_str(&line[copied.min(line.len())..]);
    Ok(out)
}

/// Where the code span opening at `at` ends (or just past its backticks when unclosed).
fn after_code_span(bytes: &[u8], at: usize) -> usize {
    let run = bytes[at..].iter().take_while(|b| **b == b'`').count();
    let mut i = at + run;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let closing = bytes[i..].iter().take_while(|b| **b == b'`').count();
            if closing == run {
                return i + run;
            }
            i += closing;
        } else {
            i += 1;
        }
    }
    at + run
}

/// The inline link whose `[` is at `open`: the link, where it starts (its `!` for an image)
/// and where it ends.
fn parse_link(line: &str, open: usize) -> Option<(Link<'_>, usize, usize)> {
    let bytes = line.as_bytes();
    let at = |i: usize| bytes.get(i).copied();
    // The text, up to the matching `]`.
    let (mut i, mut depth) = (open + 1, 1);
    loop {
        match at(i)? {
            b'\\' => i += 1,
            b'`' => {
                i = after_code_span(bytes, i);
                continue;
            }
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let close = i;
    if at(close + 1)? != b'(' {
        return None;
    }
    // The destination: `<...>`, or up to a space or the unbalanced `)`.
    let mut k = close + 2;
    while at(k)? == b' ' {
        k += 1;
    }
    let dest = if at(k)? == b'<' {
        let start = k + 1;
        k = start + line.get(start..)?.find('>')?;
        let dest = &line[start..k];
        k += 1;
        dest
    } else {
        let (start, mut parens) = (k, 0);
        while let Some(c) = at(k) {
            match c {
                b'\\' => k += 1,
                b' ' => break,
                b'(' => parens += 1,
                b')' if parens == 0 => break,
                b')' => parens -= 1,
                _ => {}
            }
            k += 1;
        }
        line.get(start..k)?
    };
    // An optional title, then `)`.
    let title_start = k;
    while at(k)? == b' ' {
        k += 1;
    }
    if let Some(quote @ (b'"' | b'\'')) = at(k) {
        k += 1 + line.get(k + 1..)?.find(quote as char)? + 1;
        while at(k)? == b' ' {
            k += 1;
        }
    }
    if at(k)? != b')' {
        return None;
    }
    let image = open > 0 && bytes[open - 1] == b'!';
    let start = if image { open - 1 } else { open };
    let end = k + 1;
    Some((
        Link {
            image,
            text: &line[open + 1..close],
            dest,
            title: &line[title_start..k],
            all: &line[start..end],
        },
        start,
        end,
    ))
}

/// What a link becomes in the book.
fn render(
    link: &Link,
    from: &str,
    pages: &Pages,
    root: &Path,
    assets: &mut Vec<String>,
) -> Result<String> {
    let dest = link.dest;
    let bang = if link.image { "!" } else { "" };
    if dest.is_empty() || dest.starts_with('#') || dest.starts_with("//") || has_scheme(dest) {
        return Ok(link.all.to_string());
    }
    let (path, fragment) = match dest.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (dest, None),
    };
    let path = path.split('?').next().unwrap_or(path);
    let joined = match path.strip_prefix('/') {
        Some(from_root) => from_root.to_string(),
        None => format!("{from}/{path}"),
    };
    let repo_path = normalize(&joined)
        .ok_or_else(|| anyhow!("the link {dest} points outside the repository"))?;
    if let Some(target) = pages.0.get(&repo_path) {
        let target = match fragment {
            Some(fragment) => format!("{}#{fragment}", target.split('#').next().unwrap_or(target)),
            None => target.clone(),
        };
        return Ok(format!("{bang}[{}]({target}{})", link.text, link.title));
    }
    if !root.join(&repo_path).exists() {
        bail!("the link {dest} points to {repo_path}, which does not exist");
    }
    let extension = repo_path.rsplit_once('.').map_or("", |(_, e)| e);
    if IMAGES.contains(&extension.to_ascii_lowercase().as_str()) {
        assets.push(repo_path.clone());
        return Ok(format!(
            "{bang}[{}]({ASSETS}/{repo_path}{})",
            link.text, link.title
        ));
    }
    let shown = link.text.trim_matches('`');
    Ok(if shown.is_empty() || repo_path.ends_with(shown) {
        format!("`{repo_path}`")
    } else {
        format!("{} (`{repo_path}`)", link.text)
    })
}

/// `http:`, `mailto:` and the like.
fn has_scheme(dest: &str) -> bool {
    match dest.split_once(':') {
        Some((scheme, _)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// `steps/01-netns/../02-veth/./README.md` → `steps/02-veth/README.md`; None above the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Pages {
        let mut pages = Pages::default();
        pages.insert("steps/02-veth/README.md", "02-veth.md");
        pages.insert("steps/02-veth", "02-veth.md");
        pages.insert("steps/01-netns/hints.md", "01-netns.md#hints");
        pages.insert("book/troubleshooting.md", "troubleshooting.md");
        pages
    }

    fn rewrite_here(text: &str) -> Result<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Ok(rewrite(text, "steps/01-netns", &pages(), &root)?.text)
    }

    #[test]
    fn links_to_lessons_become_chapter_links() {
        assert_eq!(
            rewrite_here(
                "See [step 02](../02-veth/README.md#the-idea \"t\"), [it](../02-veth/).\n"
            )
            .unwrap(),
            "See [step 02](02-veth.md#the-idea \"t\"), [it](02-veth.md).\n"
        );
        assert_eq!(
            rewrite_here("[hints](hints.md) and [help](/book/troubleshooting.md#hang)").unwrap(),
            "[hints](01-netns.md#hints) and [help](troubleshooting.md#hang)"
        );
    }

    #[test]
    fn links_to_other_files_become_their_repository_path() {
        assert_eq!(
            rewrite_here("Open [`src/netns.rs`](src/netns.rs).").unwrap(),
            "Open `steps/01-netns/src/netns.rs`."
        );
        assert_eq!(
            rewrite_here("the [runtime](../../container/src/lib.rs)").unwrap(),
            "the runtime (`container/src/lib.rs`)"
        );
    }

    #[test]
    fn code_web_links_and_fragments_stay() {
        let text = "```\n[a](nowhere.md)\n```\n`[b](nowhere.md)` [c](https://x.org/a_(b)) [d](#top) [e] (f)\n";
        assert_eq!(rewrite_here(text).unwrap(), text);
    }

    #[test]
    fn broken_links_are_errors() {
        let e = rewrite_here("[x](nope.md)").unwrap_err().to_string();
        assert!(
            e.contains("steps/01-netns/nope.md, which does not exist"),
            "{e}"
        );
        let e = rewrite_here("[x](../../../etc/passwd)")
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the repository"), "{e}");
    }

    #[test]
    fn fences_nest_by_marker_and_length() {
        let text = "````\n```\n# in code\n```\n````\n# Title\n";
        assert_eq!(prose_lines(text).collect::<Vec<_>>(), vec!["# Title"]);
    }
}
