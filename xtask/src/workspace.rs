//! Where things are: the workspace, its steps, and the files the workshop builds under
//! `target/`. Nothing here depends on the current directory.

use crate::messages;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

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
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let root = std::env::var_os("NETLAB_ROOT").map_or(built_from, PathBuf::from);
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

/// One step of the workshop, found as `steps/NN-slug`.
#[derive(Debug, Clone)]
pub struct Step {
    /// `01`.
    pub number: String,
    /// `01-netns`.
    pub slug: String,
}

impl Step {
    /// The step's folder for learners, or its solution's.
    pub fn dir(&self, paths: &Paths, solution: bool) -> PathBuf {
        let top = if solution { "solutions" } else { "steps" };
        paths.root.join(top).join(&self.slug)
    }

    /// The Cargo package: `step01-netns` or `solution01-netns`.
    pub fn package(&self, solution: bool) -> String {
        format!("{}{}", prefix(solution), self.slug)
    }

    /// The binary: `step01` or `solution01`.
    pub fn binary(&self, solution: bool) -> String {
        format!("{}{}", prefix(solution), self.number)
    }
}

fn prefix(solution: bool) -> &'static str {
    if solution {
        "solution"
    } else {
        "step"
    }
}

/// Every step, in order.
pub fn steps(paths: &Paths) -> Result<Vec<Step>> {
    let dir = paths.root.join("steps");
    let mut steps: Vec<Step> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .filter_map(|entry| {
            let slug = entry.file_name().to_string_lossy().into_owned();
            let (number, _) = slug.split_once('-')?;
            let numeric = number.len() == 2 && number.chars().all(|c| c.is_ascii_digit());
            numeric.then(|| Step {
                number: number.to_string(),
                slug: slug.clone(),
            })
        })
        .collect();
    steps.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(steps)
}

/// The steps an argument names: `01`, `1`, `01-netns`, or `all`.
pub fn select(paths: &Paths, arg: &str) -> Result<Vec<Step>> {
    let all = steps(paths)?;
    if arg == "all" {
        return Ok(all);
    }
    let wanted = arg.split('-').next().and_then(|n| n.parse::<u32>().ok());
    match all
        .iter()
        .find(|s| Some(s.number.parse::<u32>().unwrap_or(0)) == wanted)
    {
        Some(step) if arg.contains('-') && arg != step.slug => {
            bail!(messages::unknown_step(arg, &list(&all)))
        }
        Some(step) => Ok(vec![step.clone()]),
        None => bail!(messages::unknown_step(arg, &list(&all))),
    }
}

/// `01, 02, ... or all`.
pub fn list(steps: &[Step]) -> String {
    let mut names: Vec<&str> = steps.iter().map(|s| s.number.as_str()).collect();
    names.push("all");
    names.join(", ")
}

/// The one step an argument names (`all` not allowed).
pub fn one(paths: &Paths, arg: Option<&String>) -> Result<Step> {
    let Some(arg) = arg else {
        bail!("which step? give its number, for example 01")
    };
    if arg == "all" {
        bail!("this verb takes one step, not all");
    }
    Ok(select(paths, arg)?.remove(0))
}

impl Step {
    /// The learner's source files of the step: every file under `steps/NN-*/src/`, as paths
    /// relative to that `src` folder, sorted.
    pub fn learner_files(&self, paths: &Paths) -> Result<Vec<PathBuf>> {
        let src = self.dir(paths, false).join("src");
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
}
