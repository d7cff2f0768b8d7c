//! Where things are: the workspace, its steps, and the files the workshop builds under
//! `target/`. Nothing here depends on the current directory.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// Important paths of the workspace.
pub struct Paths {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// The busybox root filesystem containers are made from.
    pub rootfs: PathBuf,
    /// The directory each lab mounts its private state on.
    pub state: PathBuf,
}

impl Paths {
    /// The workspace this xtask was built from; `NETLAB_ROOT` overrides it for a prebuilt
    /// copy of the workshop (a facilitator's machines, CI's rootless run).
    pub fn new() -> Paths {
        let root = workshop::root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Paths {
            rootfs: target.join("netlab/rootfs"),
            state: target.join("netlab/state"),
            root,
            target,
        }
    }

    /// A binary built by cargo (debug profile).
    pub fn binary(&self, name: &str) -> PathBuf {
        self.target.join("debug").join(name)
    }
}

/// One step of the workshop, as `steps/<folder>/step.toml` declares it.
pub use workshop::Step;

/// Every step, in order.
pub fn steps(paths: &Paths) -> Result<Vec<Step>> {
    workshop::steps(&paths.root)
}

/// The steps an argument names: `01`, `1`, `01-netns`, `02-nft`, or `all`.
pub fn select(paths: &Paths, arg: &str) -> Result<Vec<Step>> {
    Ok(workshop::select(&steps(paths)?, arg)?)
}

/// The one step an argument names (`all` not allowed).
pub fn one(paths: &Paths, arg: &str) -> Result<Step> {
    Ok(workshop::one(&steps(paths)?, Some(arg))?)
}

/// The learner's source files of the step: every file under `steps/NN-*/src/`, as paths
/// relative to that `src` folder, sorted.
pub fn learner_files(paths: &Paths, step: &Step) -> Result<Vec<PathBuf>> {
    let src = step.dir(&paths.root, false).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let dir = src.join(&rel);
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let rel = rel.join(entry.file_name());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(rel);
            } else {
                files.push(rel);
            }
        }
    }
    files.sort();
    Ok(files)
}
