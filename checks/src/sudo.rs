//! Through sudo the checker is root for someone who may not be: it then accepts only what
//! checking needs. A sudoers rule that allows the checker must not allow a root shell.
//!
//! What it accepts, with `T` the target directory it was built in (its own binary is
//! `T/debug/checker`):
//! - the lab's directories are the workspace's own: `--rootfs T/netlab/rootfs`, `--state
//!   T/netlab/state`, and a verdicts file right in that state directory;
//! - every program it starts is a step binary of that workspace (`T/debug/stepNN` or
//!   `T/debug/solutionNN` of a declared step), a regular file owned by root or by the user who
//!   called sudo; `run` takes no other program (no shell: `cargo xtask lab` is one).
//!
//! It is root for whoever can write those binaries, as the README says: a tree that root owns
//! and builds keeps a sudoers rule for its checker safe; a learner's own tree does not.

use crate::cli::Request;
use anyhow::{bail, Context, Result};
use lab::LabPaths;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The user who called sudo, when this process runs as root through it (sudo sets
/// `SUDO_UID`; a user who is not root cannot fake being root, and root faking it only
/// restricts itself).
pub fn caller() -> Option<u32> {
    if !nix::unistd::getuid().is_root() {
        return None;
    }
    std::env::var("SUDO_UID").ok()?.parse().ok()
}

/// What a checker run through sudo may be asked: the workspace that `target` is the target
/// directory of, its step binaries named in `binaries` (file names, every step's stub and
/// solution), and `caller` the user who called sudo.
pub struct Allowed<'a> {
    pub target: PathBuf,
    pub binaries: &'a [String],
    pub caller: u32,
}

impl Allowed<'_> {
    /// Fails with one line when `request` asks for more than checking needs.
    pub fn check(&self, request: &Request) -> Result<()> {
        match request {
            Request::Help(_) => Ok(()),
            Request::Check {
                paths,
                targets,
                verdicts,
                ..
            } => {
                self.dirs(paths)?;
                for (_, binary) in targets {
                    self.step_binary(binary)?;
                }
                if let Some(file) = verdicts {
                    let state = canonical_parent(&paths.state)?;
                    if canonical_parent(file)? != state.join(name_of(&paths.state)?) {
                        bail!(refused(&format!(
                            "a verdicts file outside {}",
                            paths.state.display()
                        )));
                    }
                }
                Ok(())
            }
            Request::LabTask { paths, binary, .. } => {
                self.dirs(paths)?;
                self.step_binary(binary)
            }
            Request::Run { paths, program, .. } => {
                self.dirs(paths)?;
                let first = program.first().map(PathBuf::from).unwrap_or_default();
                self.step_binary(&first)
            }
            Request::LabUpDown { paths }
            | Request::Doctor { paths, .. }
            | Request::Show { paths, .. }
            | Request::Trace { paths, .. } => self.dirs(paths),
        }
    }

    fn dirs(&self, paths: &LabPaths) -> Result<()> {
        let netlab = canonical(&self.target)?.join("netlab");
        for (option, given, wanted) in [
            ("--rootfs", &paths.rootfs, netlab.join("rootfs")),
            ("--state", &paths.state, netlab.join("state")),
        ] {
            let found = canonical_parent(given)?.join(name_of(given)?);
            if found != wanted {
                bail!(refused(&format!(
                    "{option} {} (only {})",
                    given.display(),
                    wanted.display()
                )));
            }
        }
        Ok(())
    }

    fn step_binary(&self, given: &Path) -> Result<()> {
        let debug = canonical(&self.target)?.join("debug");
        let resolved = given
            .canonicalize()
            .with_context(|| format!("reading {}", given.display()))?;
        let named = resolved
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if resolved.parent() != Some(debug.as_path()) || !self.binaries.contains(&named) {
            bail!(refused(&format!(
                "{} (only the step binaries in {})",
                given.display(),
                debug.display()
            )));
        }
        let meta = std::fs::metadata(&resolved)
            .with_context(|| format!("reading {}", resolved.display()))?;
        if !meta.is_file() || (meta.uid() != 0 && meta.uid() != self.caller) {
            bail!(refused(&format!(
                "{}: it belongs to neither root nor the user who called sudo",
                given.display()
            )));
        }
        Ok(())
    }
}

fn refused(what: &str) -> String {
    format!(
        "through sudo the checker runs only the workspace's checks, refusing {what}; \
         `cargo xtask lab` and other shells are not offered as root: allow user namespaces \
         instead (see `cargo xtask doctor`)"
    )
}

fn canonical(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .with_context(|| format!("reading {}", path.display()))
}

/// The canonical folder `path` is in (the path itself may not exist yet).
fn canonical_parent(path: &Path) -> Result<PathBuf> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    canonical(parent)
}

fn name_of(path: &Path) -> Result<&std::ffi::OsStr> {
    path.file_name()
        .with_context(|| format!("{} names no file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target directory of the test's own, with a step binary and a stranger beside it.
    fn target(name: &str) -> PathBuf {
        use std::os::unix::fs::DirBuilderExt;
        let own = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tmp")
            .join(format!("sudo-{}", std::process::id()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&own)
            .unwrap();
        let dir = own.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("debug")).unwrap();
        std::fs::create_dir_all(dir.join("netlab/state")).unwrap();
        for file in ["debug/step05", "debug/checker"] {
            std::fs::write(dir.join(file), "").unwrap();
        }
        dir
    }

    fn request(line: &str, target: &Path) -> Request {
        let line = line.replace("T/", &format!("{}/", target.display()));
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        crate::cli::parse(&args).unwrap()
    }

    fn judge(line: &str, name: &str) -> Result<()> {
        let target = target(name);
        let binaries = vec!["step05".to_string(), "solution05".to_string()];
        let allowed = Allowed {
            target: target.clone(),
            binaries: &binaries,
            caller: nix::unistd::getuid().as_raw(),
        };
        allowed.check(&request(line, &target))
    }

    const DIRS: &str = "--rootfs T/netlab/rootfs --state T/netlab/state";

    #[test]
    fn what_checking_needs_is_accepted() {
        judge(
            &format!("check {DIRS} --verdicts T/netlab/state/verdicts.1 05=T/debug/step05"),
            "check",
        )
        .unwrap();
        judge(&format!("run {DIRS} T/debug/step05 run --name c1"), "run").unwrap();
        judge(&format!("show {DIRS}"), "show").unwrap();
    }

    #[test]
    fn anything_else_is_refused_in_one_line() {
        for (name, line) in [
            ("shell", format!("run {DIRS} /bin/sh -c id")),
            ("checker", format!("run {DIRS} T/debug/checker check")),
            ("other", format!("check {DIRS} 05=/bin/true")),
            (
                "state",
                "show --rootfs T/netlab/rootfs --state /etc/x".to_string(),
            ),
            (
                "verdicts",
                format!("check {DIRS} --verdicts /etc/passwd 05=T/debug/step05"),
            ),
        ] {
            let error = judge(&line, name).expect_err(&line).to_string();
            assert!(
                error.starts_with("through sudo") && !error.contains('\n'),
                "{line}: {error}"
            );
        }
    }

    #[test]
    fn a_link_to_another_program_is_refused() {
        let target = target("link");
        std::fs::remove_file(target.join("debug/step05")).unwrap();
        std::os::unix::fs::symlink("/bin/sh", target.join("debug/step05")).unwrap();
        let binaries = vec!["step05".to_string()];
        let allowed = Allowed {
            target: target.clone(),
            binaries: &binaries,
            caller: 0,
        };
        let line = format!("run {DIRS} T/debug/step05");
        assert!(allowed.check(&request(&line, &target)).is_err());
    }
}
