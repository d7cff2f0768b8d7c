//! The workshop's steps, each declared once in `steps/<folder>/step.toml`, beside its lesson,
//! hints and stub. xtask, the checker, `status`, the book and every test read the steps from
//! here; there is no other table of steps.
//!
//! A step's id is its number (`02`), or its number and a variant (`02-nft`: a second track of
//! step 02, with its own stub, solution and lesson, judged by step 02's checks).

mod declaration;
pub mod hints;
mod select;

pub use declaration::{Bench, Step};
pub use select::{list, one, select, SelectError};

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The file that declares a step, in its folder under `steps/`.
pub const DECLARATION: &str = "step.toml";

/// The workspace root: `NETLAB_ROOT` when set (a prebuilt copy of the workshop, as CI's
/// rootless run and a facilitator's machines use), else the workspace this was built from.
pub fn root() -> PathBuf {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    std::env::var_os("NETLAB_ROOT").map_or(built_from, PathBuf::from)
}

/// Every step of the workspace at `root`, in order (by id): every folder of `steps/` that has
/// a declaration. A folder without one, or a declaration that does not fit its folder, is an
/// error that names the file.
pub fn steps(root: &Path) -> Result<Vec<Step>> {
    let dir = root.join("steps");
    let mut steps = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        let file = entry.path().join(DECLARATION);
        if !file.is_file() {
            bail!(
                "steps/{folder} has no {DECLARATION}: every step folder declares its step there \
                 (see CONTRIBUTING.md)"
            );
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        steps.push(
            Step::parse(&folder, &text)
                .with_context(|| format!("in steps/{folder}/{DECLARATION}"))?,
        );
    }
    steps.sort_by(|a, b| a.id.cmp(&b.id));
    for pair in steps.windows(2) {
        if pair[0].id == pair[1].id {
            bail!(
                "steps/{} and steps/{} both declare step {}",
                pair[0].folder,
                pair[1].folder,
                pair[0].id
            );
        }
    }
    Ok(steps)
}
