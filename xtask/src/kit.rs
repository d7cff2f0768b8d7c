//! `cargo xtask kit`: the workshop for a room on bad Wi-Fi. One archive with the source (the
//! files git tracks, as they are in the working tree) and every crate it needs vendored, with
//! the cargo configuration that uses them: unpacked on a machine with no network and an empty
//! CARGO_HOME, the README's first command builds offline.

use crate::build;
use crate::cli;
use crate::workspace::Paths;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// The folder the archive unpacks into.
const FOLDER: &str = "netlab";

/// What the kit's `.cargo/config.toml` adds: crates.io and every git source come from
/// `vendor/`, and cargo never goes to the network.
const VENDORED: &str = "
# Added by `cargo xtask kit`: every crate comes from vendor/, never from the network.
[source.crates-io]
replace-with = \"vendored-sources\"

[source.vendored-sources]
directory = \"vendor\"

[net]
offline = true
";

pub fn main(args: cli::Kit) -> Result<ExitCode> {
    let paths = Paths::new();
    let output = match args.output {
        Some(path) => path,
        None => paths.target.join("netlab").join("netlab-kit.tar.gz"),
    };
    if output.exists() && !args.force {
        bail!(
            "{} exists already: remove it, or pass --force to replace it",
            output.display()
        );
    }
    let staging = paths.target.join("netlab").join("kit");
    if staging.exists() {
        fs::remove_dir_all(&staging)
            .with_context(|| format!("removing the old {}", staging.display()))?;
    }
    let folder = staging.join(FOLDER);
    println!("kit: copying the source (the files git tracks)");
    let files = copy_source(&paths.root, &folder)?;
    println!("kit: vendoring every crate (cargo vendor)");
    let crates = vendor(&folder)?;
    println!("kit: packing {}", output.display());
    pack(&staging, &output)?;
    fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    let size = fs::metadata(&output)
        .with_context(|| format!("reading {}", output.display()))?
        .len();
    println!(
        "kit: {} ({files} files, {crates} crates, {:.1} MB). Unpack it with `tar xzf`, then in {FOLDER}/: \
         scripts/install-deps && cargo xtask check 01 (no network needed)",
        output.display(),
        size as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// Copies the files git tracks (and the untracked ones it does not ignore), as they are now,
/// from `root` into `to`; their number.
fn copy_source(root: &Path, to: &Path) -> Result<usize> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running git ls-files (the kit is made from a git checkout)")?;
    if !listed.status.success() {
        bail!(
            "{} is not a git checkout: the kit is made from one",
            root.display()
        );
    }
    let mut count = 0;
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = PathBuf::from(String::from_utf8_lossy(name).into_owned());
        let from = root.join(&name);
        // A file deleted in the working tree but still in the index is left out.
        let Ok(meta) = fs::symlink_metadata(&from) else {
            continue;
        };
        let dest = to.join(&name);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&from)?;
            std::os::unix::fs::symlink(&target, &dest)
                .with_context(|| format!("copying the link {}", name.display()))?;
        } else {
            fs::copy(&from, &dest).with_context(|| format!("copying {}", name.display()))?;
        }
        count += 1;
    }
    if !to.join("Cargo.lock").exists() {
        bail!(
            "{} holds no workshop that git tracks (no Cargo.lock): the kit is made from a checkout",
            root.display()
        );
    }
    Ok(count)
}

/// `cargo vendor` of the copy's locked dependencies into its `vendor/`, and the cargo
/// configuration that uses them; the number of crates.
fn vendor(folder: &Path) -> Result<usize> {
    let status = build::cargo()
        .args(["vendor", "--locked", "--quiet", "vendor"])
        .current_dir(folder)
        .stdout(Stdio::null())
        .status()
        .context("running cargo vendor")?;
    if !status.success() {
        bail!("cargo vendor failed (its messages are above): it needs the crates, from the network or cargo's cache");
    }
    let config = folder.join(".cargo").join("config.toml");
    let mut text = fs::read_to_string(&config).unwrap_or_default();
    text.push_str(VENDORED);
    fs::create_dir_all(folder.join(".cargo")).context("creating .cargo/")?;
    fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
    let crates = fs::read_dir(folder.join("vendor"))
        .context("reading vendor/")?
        .count();
    Ok(crates)
}

/// `tar czf output -C staging netlab`.
fn pack(staging: &Path, output: &Path) -> Result<()> {
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let status = Command::new("tar")
        .arg("czf")
        .arg(output)
        .arg("-C")
        .arg(staging)
        .arg(FOLDER)
        .status()
        .context("running tar")?;
    if !status.success() {
        bail!("tar could not write {}", output.display());
    }
    Ok(())
}
