//! One step's declaration, as `steps/<folder>/step.toml` writes it.

use anyhow::{bail, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One step of the workshop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `02`, or `02-nft` for a variant of step 02.
    pub id: String,
    /// `02`: the two digits of the id.
    pub number: String,
    /// The step's folder under `steps/` and `solutions/`: `02-veth`.
    pub folder: String,
    /// What the step is about, as its lesson's heading and every report name it.
    pub title: String,
    /// The learner's file, relative to the step's folder: `src/veth.rs`.
    pub file: String,
    /// The id of the checks that judge this step (`02` for step 02 and its variants).
    pub checks: String,
    /// The options of `run`, besides `--name`, that the step's containers take (`-p`).
    pub run_options: Vec<String>,
    /// What `cargo xtask lab NN` starts as its container c1: options of `run`, `--`, the
    /// command.
    pub lab_c1: Vec<String>,
    /// The binary of an adapter (adapters/) that does the same step with real tools and is
    /// judged by the same checks: `cni05`.
    pub reference: Option<String>,
    /// What `cargo xtask bench` times for this step beyond its checks.
    pub bench: Option<Bench>,
}

/// A step's part of the benchmark.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bench {
    /// What to call the cost a container start adds over a start without networking
    /// (`attach`, `attach+publish`).
    pub measures: String,
    /// The options of `run` the timed containers get (`-p 8080:80`).
    #[serde(default)]
    pub start: Vec<String>,
    /// The options of `run` that start the same container without what is measured (step
    /// 08: `--no-hooks`, runc alone): timed too, and the cost is also given over it.
    #[serde(default)]
    pub baseline: Vec<String>,
    /// The median, in milliseconds, that `check NN --solution` should stay under (else the
    /// default, [`CHECKS_WITHIN_MS`]).
    pub checks_within_ms: Option<u64>,
    /// Also time the first ping from one container to another, as the host end answers ARP
    /// for the gateway at once (`proxy_delay` 0) and with the kernel's default delay (step 10).
    #[serde(default)]
    pub first_packet: bool,
}

/// The median a step's checks against its solution should stay under, unless its `[bench]`
/// says otherwise.
pub const CHECKS_WITHIN_MS: u64 = 2000;

impl Step {
    /// The median, in milliseconds, that this step's checks against its solution should stay
    /// under in `cargo xtask bench`.
    pub fn checks_within_ms(&self) -> u64 {
        self.bench
            .as_ref()
            .and_then(|b| b.checks_within_ms)
            .unwrap_or(CHECKS_WITHIN_MS)
    }
}

/// The file's own shape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    id: String,
    title: String,
    file: String,
    checks: Option<String>,
    #[serde(default)]
    run_options: Vec<String>,
    lab_c1: Option<Vec<String>>,
    reference: Option<String>,
    bench: Option<Bench>,
}

impl Step {
    /// Reads the declaration of the step in `steps/<folder>`.
    pub fn parse(folder: &str, text: &str) -> Result<Step> {
        let file: File = toml::from_str(text)?;
        let (number, variant) = match file.id.split_once('-') {
            Some((number, variant)) => (number.to_string(), Some(variant)),
            None => (file.id.clone(), None),
        };
        if number.len() != 2 || !number.chars().all(|c| c.is_ascii_digit()) {
            bail!("id '{}' does not start with the step's two digits", file.id);
        }
        if variant.is_some_and(|v| {
            v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }) {
            bail!(
                "id '{}': a variant is lowercase letters and digits after the number (02-nft)",
                file.id
            );
        }
        // The folder is `NN-slug`; a variant's folder is its id.
        let fits = match variant {
            Some(_) => folder == file.id,
            None => folder
                .split_once('-')
                .is_some_and(|(n, slug)| n == number && !slug.is_empty()),
        };
        if !fits {
            bail!(
                "id '{}' does not fit the folder steps/{folder} (a step's folder is NN-slug, a \
                 variant's is its id)",
                file.id
            );
        }
        for option in &file.run_options {
            if !option.starts_with('-') {
                bail!("run-options: '{option}' is not an option (it starts with -)");
            }
        }
        let lab_c1 = file
            .lab_c1
            .unwrap_or_else(|| ["--", "sleep", "100000"].map(String::from).to_vec());
        if !lab_c1.iter().any(|w| w == "--") {
            bail!("lab-c1: the command comes after `--`");
        }
        Ok(Step {
            checks: file.checks.unwrap_or_else(|| number.clone()),
            number,
            folder: folder.to_string(),
            title: file.title,
            file: file.file,
            run_options: file.run_options,
            lab_c1,
            reference: file.reference,
            bench: file.bench,
            id: file.id,
        })
    }

    /// Whether this is a variant of another step (`02-nft`).
    pub fn is_variant(&self) -> bool {
        self.id != self.number
    }

    /// The step's folder for learners (`steps/NN-*`), or its solution's (`solutions/NN-*`).
    pub fn dir(&self, root: &Path, solution: bool) -> PathBuf {
        let top = if solution { "solutions" } else { "steps" };
        root.join(top).join(&self.folder)
    }

    /// The Cargo package: `step02-veth`, `solution02-veth`.
    pub fn package(&self, solution: bool) -> String {
        format!("{}{}", prefix(solution), self.folder)
    }

    /// The binary: `step02`, `solution02`, `step02-nft`.
    pub fn binary(&self, solution: bool) -> String {
        format!("{}{}", prefix(solution), self.id)
    }

    /// The learner's file, relative to the workspace root: `steps/02-veth/src/veth.rs`.
    pub fn learner_file(&self) -> String {
        format!("steps/{}/{}", self.folder, self.file)
    }

    /// The lesson.
    pub fn lesson(&self, root: &Path) -> PathBuf {
        self.dir(root, false).join("README.md")
    }

    /// The hints, one `## Level N` section each.
    pub fn hints(&self, root: &Path) -> PathBuf {
        self.dir(root, false).join("hints.md")
    }

    /// The hint levels of `hints.md`, as `(title, body)`; none when it cannot be read.
    pub fn hint_levels(&self, root: &Path) -> Vec<(String, String)> {
        std::fs::read_to_string(self.hints(root))
            .map(|text| crate::hints::parse(&text))
            .unwrap_or_default()
    }

    /// The heading the lesson opens with: `# Step 02: the veth pair and NAT`.
    pub fn heading(&self) -> String {
        format!("# Step {}: {}", self.id, self.title)
    }
}

fn prefix(solution: bool) -> &'static str {
    if solution {
        "solution"
    } else {
        "step"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "id = \"02\"\ntitle = \"the veth pair and NAT\"\nfile = \"src/veth.rs\"\n";

    #[test]
    fn a_step_takes_its_names_from_its_id_and_folder() {
        let step = Step::parse("02-veth", PLAIN).expect("parses");
        assert_eq!(step.checks, "02");
        assert_eq!(step.package(false), "step02-veth");
        assert_eq!(step.binary(true), "solution02");
        assert_eq!(step.learner_file(), "steps/02-veth/src/veth.rs");
        assert!(!step.is_variant());
        assert_eq!(step.lab_c1, ["--", "sleep", "100000"]);
    }

    #[test]
    fn a_variant_shares_its_main_tracks_checks() {
        let text = "id = \"02-nft\"\ntitle = \"the veth pair and NAT, with nftables\"\n\
                    file = \"src/veth.rs\"\nchecks = \"02\"\n";
        let step = Step::parse("02-nft", text).expect("parses");
        assert_eq!((step.number.as_str(), step.checks.as_str()), ("02", "02"));
        assert_eq!(step.binary(false), "step02-nft");
        assert_eq!(step.package(true), "solution02-nft");
        assert!(step.is_variant());
    }

    #[test]
    fn a_declaration_that_does_not_fit_says_why() {
        let wrong_folder = Step::parse("03-container-net", PLAIN).unwrap_err();
        assert!(format!("{wrong_folder:#}").contains("does not fit the folder"));
        let typo = Step::parse("02-veth", &format!("{PLAIN}tilte = \"x\"\n")).unwrap_err();
        assert!(format!("{typo:#}").contains("tilte"), "{typo:#}");
        let bad_id =
            Step::parse("2-veth", "id = \"2\"\ntitle = \"t\"\nfile = \"f\"\n").unwrap_err();
        assert!(format!("{bad_id:#}").contains("two digits"));
    }
}
