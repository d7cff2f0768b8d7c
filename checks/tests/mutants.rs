//! The checks catch real mistakes: each mutant is a step's solution with one thing broken,
//! and the checks named in its row must fail against it. A step's mutants are declared beside
//! its solution, in `solutions/<folder>/mutants.toml`.
//!
//! A mutant is a copy of the solution under `target/mutants/<step>-<name>/solutions/<folder>`
//! (beside a copy of the step's `src`, whose given code the solution includes), made a
//! standalone package (its own `[workspace]`, the workspace's dependencies spelled out, path
//! ones absolute), built offline into `target/mutants-target` (shared, so the dependencies
//! build once).

mod common;

use common::{entries, paths, run, Ran};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

/// The file of a step's mutants, in its solution's folder.
const MUTANTS_FILE: &str = "mutants.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    mutant: Vec<Mistake>,
}

/// One mistake in a step's solution.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Mistake {
    name: String,
    /// The file to edit, relative to the solution's folder (the step's given code is
    /// `../../steps/<folder>/src/given.rs`).
    file: String,
    /// Text that must occur exactly once in that file...
    find: String,
    /// ...and what it becomes.
    replace: String,
    /// Checks that must fail against the mutant.
    must_fail: Vec<String>,
}

/// A mistake, and the step whose solution it breaks.
#[derive(Debug)]
struct Mutant {
    step: &'static checks::catalog::Step,
    mistake: Mistake,
}

impl std::ops::Deref for Mutant {
    type Target = Mistake;
    fn deref(&self) -> &Mistake {
        &self.mistake
    }
}

/// Every declared step's mutants.
fn mutants() -> &'static [Mutant] {
    static ALL: OnceLock<Vec<Mutant>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        for step in common::steps().iter().filter(|s| selected(s)) {
            let path = step.decl.dir(&paths().root, true).join(MUTANTS_FILE);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let file: File =
                toml::from_str(&text).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            all.extend(
                file.mutant
                    .into_iter()
                    .map(|mistake| Mutant { step, mistake }),
            );
        }
        all
    })
}

/// Whether the step's mutants are tested in this run: NETLAB_MUTANTS_STEP=07 keeps one step's
/// (the new-step test uses it).
fn selected(step: &checks::catalog::Step) -> bool {
    std::env::var("NETLAB_MUTANTS_STEP").map_or(true, |id| id == step.decl.id)
}

impl Mutant {
    fn id(&self) -> String {
        format!("{}-{}", self.step.decl.id, self.name)
    }
}

#[test]
fn every_step_has_mutants_each_naming_its_own_checks() {
    for step in common::steps().iter().filter(|s| selected(s)) {
        let path = step.decl.dir(&paths().root, true).join(MUTANTS_FILE);
        let ours: Vec<&Mutant> = mutants()
            .iter()
            .filter(|m| std::ptr::eq(m.step, step))
            .collect();
        assert!(
            !ours.is_empty(),
            "step {} has no mutants: declare realistic mistakes in {}",
            step.decl.id,
            path.display()
        );
        for mutant in ours {
            assert!(
                !mutant.must_fail.is_empty(),
                "mutant {} names no check",
                mutant.id()
            );
            for id in &mutant.must_fail {
                assert!(
                    step.checks.iter().any(|c| step.id(c) == *id),
                    "mutant {} names {id}, which is not a check of step {}",
                    mutant.id(),
                    step.decl.id
                );
            }
        }
        let mut names: Vec<&str> = mutants()
            .iter()
            .filter(|m| std::ptr::eq(m.step, step))
            .map(|m| m.name.as_str())
            .collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            count,
            "step {} names a mutant twice",
            step.decl.id
        );
    }
}

/// Every mutant is built (one at a time) and checked (two at a time, as a check run mostly
/// waits); the test fails with every mutant that was not caught.
#[test]
fn every_mutant_is_caught() {
    let mut failures = Vec::new();
    let mut running: Vec<(String, thread::JoinHandle<()>)> = Vec::new();
    let collect = |handle: (String, thread::JoinHandle<()>), failures: &mut Vec<String>| {
        if let Err(panic) = handle.1.join() {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "(panicked)".into());
            failures.push(format!("{}: {text}", handle.0));
        }
    };
    for mutant in mutants() {
        let binary = match std::panic::catch_unwind(|| build(mutant)) {
            Ok(binary) => binary,
            Err(_) => {
                failures.push(format!("{}: it did not build (see above)", mutant.id()));
                continue;
            }
        };
        if running.len() >= 2 {
            collect(running.remove(0), &mut failures);
        }
        running.push((
            mutant.id(),
            thread::spawn(move || check_mutant(mutant, &binary)),
        ));
    }
    for handle in running {
        collect(handle, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A Cargo building is slow enough; building the mutants one at a time also keeps one
/// mutant's binary from replacing another's in the shared target directory before it is
/// copied away.
static BUILD: Mutex<()> = Mutex::new(());

/// Generous: the first build compiles the dependencies.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

fn check_mutant(mutant: &Mutant, binary: &Path) {
    let id = mutant.id();
    let ran = common::check(&[format!("{}={}", mutant.step.decl.id, binary.display())]);
    let seen = entries(&ran.stdout);
    for check in &mutant.must_fail {
        let entry = seen.iter().find(|e| e.id == *check).unwrap_or_else(|| {
            panic!("mutant {id}: no {check} in the report:\n{}", ran.describe())
        });
        assert_eq!(
            entry.tag,
            "FAIL",
            "mutant {id} must make {check} fail:\n{}",
            ran.describe()
        );
    }
    assert_eq!(
        ran.code,
        1,
        "mutant {id}: the checker's status:\n{}",
        ran.describe()
    );
}

/// Makes the mutant's package, builds it and returns its binary (copied out of the shared
/// target directory).
fn build(mutant: &Mutant) -> PathBuf {
    let p = paths();
    let step = &mutant.step.decl;
    let mirror = p.target.join("mutants").join(mutant.id());
    let _ = std::fs::remove_dir_all(&mirror);
    let dir = mirror.join("solutions").join(&step.folder);
    copy_dir(&step.dir(&p.root, true), &dir);
    copy_dir(
        &step.dir(&p.root, false).join("src"),
        &mirror.join("steps").join(&step.folder).join("src"),
    );

    let file = dir.join(&mutant.file);
    let source = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    let found = source.matches(&mutant.find).count();
    assert_eq!(
        found,
        1,
        "mutant {}: {:?} occurs {found} times in solutions/{}/{} (expected once): update the \
         mutant",
        mutant.id(),
        mutant.find,
        step.folder,
        mutant.file
    );
    std::fs::write(&file, source.replace(&mutant.find, &mutant.replace))
        .expect("writing the mutant");

    let manifest = dir.join("Cargo.toml");
    let original = std::fs::read_to_string(&manifest).expect("reading the solution's Cargo.toml");
    let text = standalone(&original, &p.root, &format!("mutant-{}", mutant.id()));
    std::fs::write(&manifest, text).expect("writing the mutant's Cargo.toml");
    // The workspace's lock file pins the versions already downloaded (the build is offline).
    std::fs::copy(p.root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copying Cargo.lock");

    let target_dir = p.target.join("mutants-target");
    let bin_name = step.binary(true);
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--offline", "-q", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir);
    let built: Ran = run(&mut command, BUILD_LIMIT);
    assert_eq!(
        built.code,
        0,
        "building mutant {} failed:\n{}",
        mutant.id(),
        built.describe()
    );
    let binary = dir.join(&bin_name);
    std::fs::copy(target_dir.join("debug").join(&bin_name), &binary)
        .expect("copying the mutant's binary");
    binary
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
/// workspace*, which is the same for every mutant, so same-named mutants would share them in
/// the shared target directory.
fn standalone(manifest: &str, root: &Path, suffix: &str) -> String {
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
            "the library has a name of its own: the mutant cannot keep it"
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
    out.push_str("\n# A mutant: standalone, outside the workshop's workspace.\n[workspace]\n");
    out
}

/// `{ path = "container" }` → `{ path = "/work/main/container" }`.
fn absolute_paths(value: &str, root: &Path) -> String {
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

#[test]
fn standalone_manifests_inherit_nothing() {
    let root = Path::new("/w");
    let manifest = "[package]\nname = \"s-x\"\nedition.workspace = true\n\n[lib]\n\
                    path = \"src/x.rs\"\n\n[dependencies]\nanyhow.workspace = true\n\
                    container.workspace = true\n";
    let text = standalone(manifest, &paths().root, "m");
    assert!(text.contains("[package]\nname = \"s-x-m\"\n"), "{text}");
    assert!(
        text.contains("[lib]\nname = \"s_x\"\npath = \"src/x.rs\""),
        "{text}"
    );
    assert!(!text.contains(".workspace"), "{text}");
    assert!(text.contains("edition = \"2021\""), "{text}");
    assert!(text.contains("anyhow = \"1.0\""), "{text}");
    let container = format!(
        "container = {{ path = \"{}\" }}",
        paths().root.join("container").display()
    );
    assert!(text.contains(&container), "{text}");
    assert!(text.trim_end().ends_with("[workspace]"), "{text}");
    assert_eq!(
        absolute_paths("{ path = \"lab\" }", root),
        "{ path = \"/w/lab\" }"
    );
    assert_eq!(absolute_paths("\"1.0\"", root), "\"1.0\"");
}
