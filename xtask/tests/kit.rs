//! `cargo xtask kit`: the archive holds the source and every crate; unpacked, it builds with
//! an empty CARGO_HOME and no network (a network namespace of its own, with nothing but lo,
//! and cargo told to stay offline).
//!
//! The suite builds step 01's learner package from the kit (its crates, vendored). The whole
//! of the README's first command, `cargo xtask check 01` (xtask, the checker and step 01, a few
//! minutes), runs when NETLAB_KIT_FULL=1: `NETLAB_KIT_FULL=1 cargo xtask test -- --test kit`.

mod common;

use common::{one_line, workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch folder");
    dir
}

/// `cargo ARGS` in the unpacked kit, offline: no network namespace to speak of, an empty
/// CARGO_HOME, `--offline` and a target directory of its own.
fn offline_cargo(kit: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .args(["--map-root-user", "--net", "--"])
        .arg(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(kit)
        .env("CARGO_HOME", home)
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", kit.join("target"))
        .env_remove("RUSTC_WRAPPER")
        .output()
        .expect("running cargo in the kit")
}

#[test]
fn the_kit_builds_offline_with_an_empty_cargo_home() {
    let dir = scratch("kit");
    let archive = dir.join("kit.tar.gz");
    common::xtask(&workspace())
        .args(["kit", "--output"])
        .arg(&archive)
        .assert()
        .success();
    // Asked again: refused in one line, unless --force.
    common::xtask(&workspace())
        .args(["kit", "--output"])
        .arg(&archive)
        .assert()
        .code(2)
        .stderr(one_line("exists already"));

    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("tar");
    assert!(status.success());
    let kit = unpacked.join("netlab");
    for file in [
        "README.md",
        "Cargo.lock",
        "scripts/install-deps",
        ".cargo/config.toml",
    ] {
        assert!(kit.join(file).exists(), "the kit has no {file}");
    }
    let vendored: Vec<String> = std::fs::read_dir(kit.join("vendor"))
        .expect("the kit has vendor/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        vendored
            .iter()
            .any(|name| name == "anyhow" || name.starts_with("anyhow-")),
        "vendor/ holds the crates: {vendored:?}"
    );
    let home = dir.join("empty-cargo-home");
    std::fs::create_dir_all(&home).expect("mkdir");

    let metadata = offline_cargo(
        &kit,
        &home,
        &["metadata", "--locked", "--format-version", "1"],
    );
    assert!(
        metadata.status.success(),
        "every crate of the lock file resolves from vendor/:\n{}",
        String::from_utf8_lossy(&metadata.stderr)
    );
    let built = offline_cargo(&kit, &home, &["build", "--locked", "-p", "step01-netns"]);
    assert!(
        built.status.success(),
        "step 01 builds offline from the kit:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    if std::env::var_os("NETLAB_KIT_FULL").is_some() {
        let checked = offline_cargo(&kit, &home, &["xtask", "check", "01"]);
        let stdout = String::from_utf8_lossy(&checked.stdout);
        assert!(
            stdout.contains("not implemented yet") && stdout.contains("0 passed, 5 failed"),
            "the README's first command builds and checks step 01 (its TODOs) offline:\n{stdout}\n{}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    let registry = home.join("registry");
    assert!(
        !registry.exists(),
        "nothing was downloaded into CARGO_HOME ({} exists)",
        registry.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_kit_of_no_checkout_is_refused_in_one_line() {
    let dir = scratch("kit-nothing");
    common::xtask(&dir)
        .args(["kit", "--output"])
        .arg(dir.join("kit.tar.gz"))
        .assert()
        .code(2)
        .stderr(one_line("the kit is made from a checkout"));
}
