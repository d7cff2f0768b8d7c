//! `cargo xtask new-step NN-slug [--title T]`: writes a new step from the templates in
//! `xtask/templates/` (its lesson, hints, stub, solution, mutants and checks) and registers
//! its checks with one line in `checks/src/steps/mod.rs`. The new step passes the workshop's
//! tests as written: its example brings `lo` up, to be replaced by the step's real work.

use crate::cli;
use crate::workspace::{self, Paths};
use anyhow::{bail, Context, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Each template (under `xtask/templates/`) and where it goes, `{{...}}` filled in.
const FILES: &[(&str, &str)] = &[
    ("step/step.toml.tmpl", "steps/{{FOLDER}}/step.toml"),
    ("step/Cargo.toml.tmpl", "steps/{{FOLDER}}/Cargo.toml"),
    ("step/README.md.tmpl", "steps/{{FOLDER}}/README.md"),
    ("step/hints.md.tmpl", "steps/{{FOLDER}}/hints.md"),
    ("step/src/main.rs.tmpl", "steps/{{FOLDER}}/src/main.rs"),
    ("step/src/lib.rs.tmpl", "steps/{{FOLDER}}/src/{{MODULE}}.rs"),
    (
        "solution/Cargo.toml.tmpl",
        "solutions/{{FOLDER}}/Cargo.toml",
    ),
    (
        "solution/mutants.toml.tmpl",
        "solutions/{{FOLDER}}/mutants.toml",
    ),
    (
        "solution/src/main.rs.tmpl",
        "solutions/{{FOLDER}}/src/main.rs",
    ),
    (
        "solution/src/lib.rs.tmpl",
        "solutions/{{FOLDER}}/src/{{MODULE}}.rs",
    ),
    ("checks.rs.tmpl", "checks/src/steps/s{{NN}}.rs"),
];

/// The registry of the checks, and the line a step adds to it.
const REGISTRY: &str = "checks/src/steps/mod.rs";
const REGISTRATION: &str = "    \"{{NN}}\" => s{{NN}},\n";

/// The names a new step's files are made of.
struct Names {
    nn: String,
    folder: String,
    module: String,
    title: String,
}

impl Names {
    fn parse(folder: &str, title: Option<&str>) -> Result<Names> {
        let Some((nn, slug)) = folder.split_once('-') else {
            bail!("'{folder}' is not NN-slug (for example 07-pod)");
        };
        if nn.len() != 2 || !nn.chars().all(|c| c.is_ascii_digit()) {
            bail!("'{folder}': a step's folder starts with two digits (for example 07-pod)");
        }
        let slug_ok = !slug.is_empty()
            && slug.starts_with(|c: char| c.is_ascii_lowercase())
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            bail!("'{folder}': the slug after NN- is lowercase letters, digits and dashes");
        }
        Ok(Names {
            nn: nn.to_string(),
            folder: folder.to_string(),
            module: slug.replace('-', "_"),
            title: title.unwrap_or(slug).replace('"', "'"),
        })
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{{NN}}", &self.nn)
            .replace("{{FOLDER}}", &self.folder)
            .replace("{{MODULE}}", &self.module)
            .replace(
                "{{CRATE}}",
                &format!("step{}", self.folder).replace('-', "_"),
            )
            .replace(
                "{{SOLUTION_CRATE}}",
                &format!("solution{}", self.folder).replace('-', "_"),
            )
            .replace("{{TITLE}}", &self.title)
    }
}

/// `new-step NN-slug [--title T]`.
pub fn main(args: cli::NewStep) -> Result<std::process::ExitCode> {
    let (folder, title) = (args.folder, args.title);
    let (written, edited) = create(&Paths::new(), &folder, title.as_deref())?;
    for file in written {
        println!("wrote  {file}");
    }
    println!(
        "edited {edited}\nnext: cargo xtask check {} --solution, then CONTRIBUTING.md",
        &folder[..2]
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// Writes the step `folder` (`07-pod`) into the workspace; returns the files written and the
/// file edited, relative to the root.
pub fn create(paths: &Paths, folder: &str, title: Option<&str>) -> Result<(Vec<String>, String)> {
    let names = Names::parse(folder, title)?;
    let root = &paths.root;
    let steps = workspace::steps(paths)?;
    if let Some(taken) = steps.iter().find(|s| s.number == names.nn) {
        bail!(
            "step {} exists already (steps/{}): pick the next free number",
            names.nn,
            taken.folder
        );
    }
    let registry = root.join(REGISTRY);
    let text =
        fs::read_to_string(&registry).with_context(|| format!("reading {}", registry.display()))?;
    let registered = registered(&text, &names.fill(REGISTRATION))?;

    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut written = Vec::new();
    for (template, target) in FILES {
        let from = templates.join(template);
        let body = fs::read_to_string(&from)
            .with_context(|| format!("reading the template {}", from.display()))?;
        let target = names.fill(target);
        write_new(&root.join(&target), &names.fill(&body))?;
        written.push(target);
    }
    fs::write(&registry, registered).with_context(|| format!("writing {}", registry.display()))?;
    Ok((written, REGISTRY.to_string()))
}

/// The registry with `line` added before the end of its `check_sets!` block.
fn registered(text: &str, line: &str) -> Result<String> {
    let start = text
        .find("check_sets! {")
        .with_context(|| format!("{REGISTRY} has no `check_sets! {{` block"))?;
    let end = text[start..]
        .find("\n}")
        .map(|i| start + i + 1)
        .with_context(|| format!("{REGISTRY}: the `check_sets!` block does not end"))?;
    Ok(format!("{}{line}{}", &text[..end], &text[end..]))
}

/// Creates `path` (and its folders); an existing file is never overwritten.
fn write_new(path: &PathBuf, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_folder() {
        let names = Names::parse("07-pod-net", Some("a \"pod\"")).expect("parses");
        assert_eq!(
            names.fill("{{NN}} {{MODULE}} {{CRATE}} {{TITLE}}"),
            "07 pod_net step07_pod_net a 'pod'"
        );
        for bad in ["7-pod", "07", "07-", "07-Pod", "xx-pod", "07-pod_x"] {
            assert!(Names::parse(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_registration_goes_inside_the_block() {
        let text = "mod observe;\n\ncheck_sets! {\n    \"01\" => s01,\n}\n";
        let out = registered(text, "    \"07\" => s07,\n").expect("registers");
        assert_eq!(
            out,
            "mod observe;\n\ncheck_sets! {\n    \"01\" => s01,\n    \"07\" => s07,\n}\n"
        );
    }
}
