//! `cargo xtask book`: the lessons as an mdBook.
//!
//! The lessons stay the single source. This verb writes the book's source tree under
//! `target/book-src` (book.toml, SUMMARY.md, one chapter per `steps/NN-*` folder made of its
//! README.md with its hints.md appended as collapsible blocks, and the pages under `book/`),
//! runs `mdbook build` into `target/book`, and with `--serve` serves that folder on
//! 127.0.0.1 with the small static server in [`serve`].

mod links;
mod serve;

use crate::workspace::{self, Paths, Step};
use crate::{cli, hint, messages};
use anyhow::{bail, Context, Result};
use links::Pages;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The mdbook release the book is made with; `scripts/install-deps --dev` installs this one.
pub const MDBOOK_VERSION: &str = "0.4.52";

/// The port `--serve` listens on unless `--port` says otherwise.
const DEFAULT_PORT: u16 = 3000;

/// In `book/index.md`, this line is replaced by the list of steps.
const STEPS_MARKER: &str = "<!-- steps -->";

pub fn main(args: cli::Book) -> Result<ExitCode> {
    let cli::Book { serve, port } = args;
    if port.is_some() && !serve {
        bail!(messages::BOOK_PORT_WITHOUT_SERVE);
    }
    let paths = Paths::new();
    let mdbook = find_mdbook()?;
    let source = paths.target.join("book-src");
    let out = paths.target.join("book");
    generate(&paths, &source)?;
    build(&mdbook, &source, &out)?;
    println!("{}", messages::book_built(&out.join("index.html")));
    if serve {
        serve::serve(&out, port.unwrap_or(DEFAULT_PORT))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The mdbook binary: on PATH, or where `cargo install` puts it.
fn find_mdbook() -> Result<PathBuf> {
    let mut candidates = vec![PathBuf::from("mdbook")];
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(home).join("bin/mdbook"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/mdbook"));
    }
    for candidate in candidates {
        match Command::new(&candidate).arg("--version").output() {
            Ok(output) if output.status.success() => {
                let version = String::from_utf8_lossy(&output.stdout);
                let version = version.trim().trim_start_matches("mdbook").trim();
                if version.trim_start_matches('v') != MDBOOK_VERSION {
                    eprintln!("{}", messages::mdbook_other_version(version));
                }
                return Ok(candidate);
            }
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("running {}", candidate.display())),
        }
    }
    bail!(messages::mdbook_missing())
}

/// Runs `mdbook build`; of its log, only warnings, and the error when it fails, are shown.
fn build(mdbook: &Path, source: &Path, out: &Path) -> Result<()> {
    let output = Command::new(mdbook)
        .arg("build")
        .arg("--dest-dir")
        .arg(out)
        .arg(source)
        .output()
        .with_context(|| format!("running {}", mdbook.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr
        .lines()
        .find(|l| l.contains("[ERROR]"))
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()));
    if !output.status.success() {
        bail!(
            "mdbook could not build the book in {}: {}",
            source.display(),
            error.unwrap_or("(it said nothing)").trim()
        );
    }
    // Its warnings (a chapter it could not render well) are worth seeing; its INFO is not.
    for warning in stderr.lines().filter(|l| l.contains("[WARN]")) {
        eprintln!("mdbook: {}", warning.trim());
    }
    Ok(())
}

/// A page of the book and where its text comes from.
struct Page {
    /// The file in the book's `src/`: `01-netns.md`.
    file: String,
    title: String,
    /// The folder of its source, relative to the workspace root (links are relative to it).
    from: String,
    text: String,
}

/// Writes the book's source tree into `dest` (emptied first).
pub fn generate(paths: &Paths, dest: &Path) -> Result<()> {
    let root = &paths.root;
    let steps = workspace::steps(paths)?;
    let mut pages = Pages::default();
    pages.insert("README.md", "index.md");
    pages.insert("book/index.md", "index.md");
    for step in &steps {
        let chapter = format!("{}.md", step.folder);
        for file in ["", "/", "/README.md"] {
            pages.insert(&format!("steps/{}{file}", step.folder), &chapter);
        }
        pages.insert(
            &format!("steps/{}/hints.md", step.folder),
            &format!("{chapter}#hints"),
        );
    }
    let extras = extra_pages(root)?;
    for (file, _) in &extras {
        pages.insert(&format!("book/{file}"), file);
    }

    let index = root.join("book/index.md");
    let index_text =
        fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let index = Page {
        file: "index.md".to_string(),
        title: title(&index_text).unwrap_or_else(|| "Introduction".to_string()),
        from: "book".to_string(),
        text: index_text.replace(STEPS_MARKER, &steps_list(&steps)),
    };
    let chapters = steps
        .iter()
        .map(|step| chapter(root, step))
        .collect::<Result<Vec<_>>>()?;
    let extras: Vec<Page> = extras
        .into_iter()
        .map(|(file, text)| Page {
            title: title(&text).unwrap_or_else(|| file.trim_end_matches(".md").to_string()),
            file,
            from: "book".to_string(),
            text,
        })
        .collect();

    if dest.exists() {
        fs::remove_dir_all(dest).with_context(|| format!("emptying {}", dest.display()))?;
    }
    let src = dest.join("src");
    fs::create_dir_all(&src).with_context(|| format!("creating {}", src.display()))?;
    write(&dest.join("book.toml"), &book_toml())?;
    write(
        &src.join("SUMMARY.md"),
        &summary(&index, &chapters, &extras),
    )?;
    for page in std::iter::once(&index).chain(&chapters).chain(&extras) {
        let source = format!("{}/{}", page.from, page.file);
        let rewritten = links::rewrite(&page.text, &page.from, &pages, root)
            .with_context(|| format!("the links of {source}"))?;
        write(&src.join(&page.file), &rewritten.text)?;
        for asset in rewritten.assets {
            let to = src.join(links::ASSETS).join(&asset);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            fs::copy(root.join(&asset), &to).with_context(|| format!("copying {asset}"))?;
        }
    }
    Ok(())
}

/// `book/*.md` other than index.md, by name: `(file name, text)`.
fn extra_pages(root: &Path) -> Result<Vec<(String, String)>> {
    let dir = root.join("book");
    let mut pages = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && name != "index.md" {
            let text = fs::read_to_string(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            pages.push((name, text));
        }
    }
    pages.sort();
    Ok(pages)
}

/// One step's chapter: its lesson, then its hints, each level folded.
fn chapter(root: &Path, step: &Step) -> Result<Page> {
    let dir = root.join("steps").join(&step.folder);
    let readme = dir.join("README.md");
    let mut text =
        fs::read_to_string(&readme).with_context(|| format!("reading {}", readme.display()))?;
    let hints = dir.join("hints.md");
    if hints.exists() {
        let hints =
            fs::read_to_string(&hints).with_context(|| format!("reading {}", hints.display()))?;
        text.push_str(&hints_section(&step.id, &hint::parse(&hints)));
    }
    Ok(Page {
        file: format!("{}.md", step.folder),
        title: format!("Step {}: {}", step.id, step.title),
        from: format!("steps/{}", step.folder),
        text,
    })
}

/// `## Hints` and one `<details>` block per level. The blank lines around each body let
/// mdbook render the markdown inside the HTML block.
fn hints_section(number: &str, levels: &[(String, String)]) -> String {
    if levels.is_empty() {
        return String::new();
    }
    let mut out = format!("\n\n## Hints\n\n{}\n", messages::book_hints_intro(number));
    for (n, (title, body)) in levels.iter().enumerate() {
        let _ = write!(
            out,
            "\n<details>\n<summary>Hint level {}: {}</summary>\n\n{}\n\n</details>\n",
            n + 1,
            escape_html(title),
            body.trim()
        );
    }
    out
}

/// The list that replaces [`STEPS_MARKER`] in the index.
fn steps_list(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        // Written as from book/index.md to the lesson; the link rewriting maps it.
        let _ = writeln!(
            out,
            "- [Step {}: {}](../steps/{}/README.md)",
            step.id, step.title, step.folder
        );
    }
    out
}

fn summary(index: &Page, chapters: &[Page], extras: &[Page]) -> String {
    let mut out = format!("# Summary\n\n[{}]({})\n\n", index.title, index.file);
    if !chapters.is_empty() {
        out.push_str("# The steps\n\n");
        for page in chapters {
            let _ = writeln!(out, "- [{}]({})", page.title, page.file);
        }
        out.push('\n');
    }
    if !extras.is_empty() {
        out.push_str("# Help\n\n");
        for page in extras {
            let _ = writeln!(out, "- [{}]({})", page.title, page.file);
        }
    }
    out
}

fn book_toml() -> String {
    format!(
        "# Generated by `cargo xtask book` from steps/ and book/: edit those, not this.\n\
         [book]\n\
         title = \"{}\"\n\
         language = \"en\"\n\
         src = \"src\"\n\
         \n\
         [build]\n\
         create-missing = false\n\
         \n\
         [output.html]\n\
         no-section-label = true\n\
         \n\
         # The lessons' Rust snippets use the workshop's crates: no \"run\" button.\n\
         [output.html.playground]\n\
         runnable = false\n",
        messages::BOOK_TITLE
    )
}

/// The text of the first `# ` heading outside code blocks.
fn title(markdown: &str) -> Option<String> {
    links::prose_lines(markdown)
        .find_map(|line| line.strip_prefix("# "))
        .map(|t| t.trim().to_string())
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_folded_one_block_per_level() {
        let levels =
            hint::parse("# Hints\n## Level 1: concept\nA\n\n```\nx\n```\n## Level 2: a <b>\nB\n");
        let text = hints_section("01", &levels);
        assert!(text.contains("## Hints"), "{text}");
        assert!(
            text.contains("<details>\n<summary>Hint level 1: concept</summary>\n\nA\n\n```\nx\n```\n\n</details>"),
            "{text}"
        );
        assert!(text.contains("Hint level 2: a &lt;b&gt;"), "{text}");
        assert_eq!(hints_section("01", &[]), "");
    }

    #[test]
    fn the_title_is_the_first_heading_outside_code() {
        assert_eq!(
            title("```\n# not this\n```\n# Step 04: DNS\n# later").as_deref(),
            Some("Step 04: DNS")
        );
        assert_eq!(title("no heading"), None);
    }

    #[test]
    fn install_deps_pins_the_same_mdbook() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-deps");
        let text = fs::read_to_string(&script).unwrap_or_default();
        assert!(
            text.contains(&format!("mdbook_version={MDBOOK_VERSION}")),
            "scripts/install-deps must pin mdbook {MDBOOK_VERSION}"
        );
    }
}
