//! Variants of a step's solution: the solution with a few edits, built as a standalone package
//! and checked. Mutants (`mutants.toml`: one thing broken, some checks must fail) and
//! alternatives (`alternatives.toml`: correct code in another mechanism, every check must
//! pass) are both variants.
//!
//! A variant is a copy of the solution under `target/<kind>s/<step>-<name>/solutions/<folder>`
//! (beside a copy of the step's `src`, whose given code the solution includes), made a
//! standalone package (its own `[workspace]`, the workspace's dependencies spelled out, path
//! ones absolute), built offline into `target/mutants-target` (shared, so the dependencies
//! build once).

use super::{paths, run, Ran};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

/// One edit of a variant: `find` occurs exactly once in `file` when the edit is applied
/// (after the edits before it), and becomes `replace`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// Relative to the solution's folder (the step's given code is
    /// `../../steps/<folder>/src/given.rs`).
    pub file: String,
    pub find: String,
    pub replace: String,
}

/// A step's solution with edits.
#[derive(Debug)]
pub struct Variant {
    pub step: &'static checks::catalog::Step,
    /// `mutant` or `alternative`: names its directories and its package.
    pub kind: &'static str,
    /// Unique within the step and the kind.
    pub name: String,
    pub edits: Vec<Edit>,
}

impl Variant {
    /// `05-no-lock`.
    pub fn id(&self) -> String {
        format!("{}-{}", self.step.decl.id, self.name)
    }
}

/// The parsed `file` of the solution's folder of every step that has one, with the step.
pub fn declared<F: DeserializeOwned>(
    steps: impl Iterator<Item = &'static checks::catalog::Step>,
    file: &str,
) -> Vec<(&'static checks::catalog::Step, F)> {
    let mut all = Vec::new();
    for step in steps {
        let path = step.decl.dir(&paths().root, true).join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let parsed: F =
            toml::from_str(&text).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        all.push((step, parsed));
    }
    all
}

/// Builds every variant (one at a time) and runs `check` on each built binary
/// ([`CHECKS_AT_ONCE`] at a time, as a check run mostly waits: for a probe's time limit, a
/// container to end). Returns the failures: a variant that did not build, or whose
/// `check` panicked, with the panic's message.
pub fn build_and_check<T: Sync>(
    items: &'static [T],
    variant: fn(&T) -> &Variant,
    check: fn(&'static T, &Path),
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut running: Vec<(String, thread::JoinHandle<()>)> = Vec::new();
    for item in items {
        let id = variant(item).id();
        let binary = match std::panic::catch_unwind(AssertUnwindSafe(|| build(variant(item)))) {
            Ok(binary) => binary,
            Err(panic) => {
                failures.push(format!("{id}: it did not build: {}", panic_text(&*panic)));
                continue;
            }
        };
        if running.len() >= CHECKS_AT_ONCE {
            let (id, handle) = running.remove(0);
            failures.extend(joined(&id, handle));
        }
        running.push((id, thread::spawn(move || check(item, &binary))));
    }
    for (id, handle) in running {
        failures.extend(joined(&id, handle));
    }
    failures
}

/// The failure of a finished check thread, if it panicked.
fn joined(id: &str, handle: thread::JoinHandle<()>) -> Option<String> {
    let panic = handle.join().err()?;
    Some(format!("{id}: {}", panic_text(&*panic)))
}

/// A panic's message.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(panicked)".into())
}

/// Variants checked at once: their labs still queue on the checker's slots (four per core),
/// and a busy machine is never blamed on the code (the checker's clock).
const CHECKS_AT_ONCE: usize = 4;

/// A Cargo building is slow enough; building the variants one at a time also keeps one
/// variant's binary from replacing another's in the shared target directory before it is
/// copied away.
static BUILD: Mutex<()> = Mutex::new(());

/// Generous: the first build compiles the dependencies.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Applies `edits` in order to the files under `dir`; panics (naming the variant) when a
/// `find` does not occur exactly once at the point it is applied.
pub fn apply(id: &str, folder: &str, dir: &Path, edits: &[Edit]) {
    assert!(!edits.is_empty(), "{id} has no edit");
    for (n, edit) in edits.iter().enumerate() {
        let file = dir.join(&edit.file);
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{id}: reading {}: {e}", file.display()));
        let found = source.matches(&edit.find).count();
        assert_eq!(
            found,
            1,
            "{id}, edit {}: {:?} occurs {found} times in solutions/{folder}/{} (expected once, \
             after the edits before it): update the edit",
            n + 1,
            edit.find,
            edit.file
        );
        std::fs::write(&file, source.replace(&edit.find, &edit.replace))
            .unwrap_or_else(|e| panic!("{id}: writing {}: {e}", file.display()));
    }
}

/// Makes the variant's package, builds it and returns its binary (copied out of the shared
/// target directory).
pub fn build(variant: &Variant) -> PathBuf {
    let p = paths();
    let step = &variant.step.decl;
    let id = format!("{} {}", variant.kind, variant.id());
    let mirror = p
        .target
        .join(format!("{}s", variant.kind))
        .join(variant.id());
    let _ = std::fs::remove_dir_all(&mirror);
    let dir = mirror.join("solutions").join(&step.folder);
    copy_dir(&step.dir(&p.root, true), &dir);
    copy_dir(
        &step.dir(&p.root, false).join("src"),
        &mirror.join("steps").join(&step.folder).join("src"),
    );
    apply(&id, &step.folder, &dir, &variant.edits);

    let manifest = dir.join("Cargo.toml");
    let original = std::fs::read_to_string(&manifest).expect("reading the solution's Cargo.toml");
    let suffix = format!("{}-{}", variant.kind, variant.id());
    std::fs::write(&manifest, standalone(&original, &p.root, &suffix))
        .expect("writing the variant's Cargo.toml");
    // The workspace's lock file pins the versions already downloaded (the build is offline).
    std::fs::copy(p.root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copying Cargo.lock");

    let target_dir = p.target.join("mutants-target");
    let bin_name = step.binary(true);
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    seed(&p.target, &target_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline", "-q", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir);
    let built: Ran = run(&mut command, BUILD_LIMIT);
    assert_eq!(built.code, 0, "building {id} failed:\n{}", built.describe());
    let binary = dir.join(&bin_name);
    std::fs::copy(target_dir.join("debug").join(&bin_name), &binary)
        .expect("copying the variant's binary");
    binary
}

/// A first variant build starts from the workspace's own build: its compiled crates,
/// hard-linked (instant, no space), so that the crates.io dependencies and the workspace's
/// libraries are fresh and only the variant compiles. Made aside and renamed into place: the
/// mutants' and the alternatives' tests may both seed it at once.
fn seed(target: &Path, target_dir: &Path) {
    if target_dir.exists() {
        return;
    }
    let aside = target.join(format!("mutants-target.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&aside);
    let debug = aside.join("debug");
    std::fs::create_dir_all(&debug).expect("the variants' target");
    for part in ["deps", "build", ".fingerprint"] {
        let status = Command::new("cp")
            .arg("-al")
            .arg(target.join("debug").join(part))
            .arg(&debug)
            .status()
            .expect("running cp");
        assert!(status.success(), "linking {part} into {}", debug.display());
    }
    if std::fs::rename(&aside, target_dir).is_err() {
        let _ = std::fs::remove_dir_all(&aside);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("creating {}: {e}", to.display()));
    for entry in
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()))
    {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name))
                .unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
        }
    }
}

/// `name = value` lines of one table of a TOML file (single-line values only: enough for the
/// workspace's own Cargo.toml, and anything else is refused loudly).
fn table(toml: &str, name: &str) -> HashMap<String, String> {
    let header = format!("[{name}]");
    let mut inside = false;
    let mut values = HashMap::new();
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("cannot read this line of [{name}]: {line}"));
        let value = value.trim();
        let closed = !value.starts_with(['{', '[']) || value.ends_with(['}', ']']);
        assert!(
            closed,
            "[{name}] has a value over several lines, which this test cannot read: {line}"
        );
        values.insert(key.trim().to_string(), value.to_string());
    }
    values
}

/// The solution's manifest as a standalone package: every `x.workspace = true` replaced by
/// the workspace's value, `path = "..."` dependencies made absolute, and an empty
/// `[workspace]` so that Cargo does not take it for a member of the workspace around it.
///
/// The package is renamed `<name>-<suffix>` (its library keeps its crate name): Cargo names
/// the artifacts of a workspace's own package after its name, version and place *in its
/// workspace*, which is the same for every variant, so same-named variants would share them
/// in the shared target directory.
pub fn standalone(manifest: &str, root: &Path, suffix: &str) -> String {
    let workspace = std::fs::read_to_string(root.join("Cargo.toml"))
        .expect("reading the workspace's Cargo.toml");
    let package = table(&workspace, "workspace.package");
    let dependencies: HashMap<String, String> = table(&workspace, "workspace.dependencies")
        .into_iter()
        .map(|(name, value)| (name, absolute_paths(&value, root)))
        .collect();
    let mut section = String::new();
    let mut out = String::new();
    let mut crate_name = None;
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
        }
        let named = trimmed
            .strip_prefix("name")
            .and_then(|rest| rest.trim_start().strip_prefix('='))
            .map(|value| value.trim().trim_matches('"'));
        if let (Some(name), "[package]") = (named, section.as_str()) {
            crate_name = Some(name.replace('-', "_"));
            out.push_str(&format!("name = \"{name}-{suffix}\"\n"));
            continue;
        }
        assert!(
            !(section == "[lib]" && named.is_some()),
            "the library has a name of its own: the variant cannot keep it"
        );
        if trimmed == "[lib]" {
            let name = crate_name.as_ref().expect("[package] comes before [lib]");
            out.push_str(&format!("{line}\nname = \"{name}\"\n"));
            continue;
        }
        let inherited = trimmed
            .split_once('=')
            .filter(|(_, value)| value.trim() == "true")
            .and_then(|(key, _)| key.trim().strip_suffix(".workspace"));
        let line = match inherited {
            Some(key) if section == "[package]" => {
                let value = package
                    .get(key)
                    .unwrap_or_else(|| panic!("the workspace has no package.{key}"));
                format!("{key} = {value}")
            }
            Some(key) if section.ends_with("dependencies]") => {
                let value = dependencies
                    .get(key)
                    .unwrap_or_else(|| panic!("the workspace has no dependency {key}"));
                format!("{key} = {value}")
            }
            Some(_) => panic!("cannot make this line standalone (in {section}): {trimmed}"),
            None => {
                assert!(
                    !trimmed.contains("workspace = true"),
                    "cannot make this line standalone (in {section}): {trimmed}"
                );
                line.to_string()
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\n# A variant: standalone, outside the workshop's workspace.\n[workspace]\n");
    out
}

/// `{ path = "container" }` → `{ path = "/work/main/container" }`.
pub fn absolute_paths(value: &str, root: &Path) -> String {
    let Some((head, rest)) = value.split_once("path = \"") else {
        return value.to_string();
    };
    let (path, tail) = rest.split_once('"').expect("a closing quote");
    let path = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        root.join(path)
    };
    format!("{head}path = \"{}\"{tail}", path.display())
}

/// Names that occur more than once (each once), for "names X twice" failures.
pub fn repeated<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    let mut twice: Vec<&str> = names
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    twice.dedup();
    twice
}

/// Whether `step` is selected by the environment variable `var` (`NETLAB_MUTANTS_STEP=07`
/// keeps one step's variants; unset keeps every step's).
pub fn selected(var: &str, step: &checks::catalog::Step) -> bool {
    std::env::var(var).map_or(true, |id| id == step.decl.id)
}
