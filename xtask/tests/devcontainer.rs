//! The devcontainer and the Lima VM file (README, "Your platform"): what can be held without
//! podman. Building the image for real is `scripts/test-devcontainer` (root, podman,
//! mmdebstrap; not part of `cargo xtask test`); here, its command line, and that the files
//! agree on the packages and keep the container privileged.

mod common;

use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(common::workspace().join(path))
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// The packages of `.devcontainer/packages`, one a line, `#` comments left out.
fn packages() -> Vec<String> {
    read(".devcontainer/packages")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_image_has_every_package_install_deps_installs_and_lima_the_same() {
    let packages = packages();
    let install_deps = read("scripts/install-deps");
    // `need="$need iproute2"`: each package install-deps may install.
    let named: Vec<&str> = install_deps
        .split("need=\"$need ")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(
        named.len() >= 5,
        "install-deps names its packages: {named:?}"
    );
    for package in named {
        assert!(
            packages.iter().any(|p| p == package),
            "{package} (scripts/install-deps) is not in .devcontainer/packages"
        );
    }
    let lima = read("contrib/lima/netlab.yaml");
    for package in &packages {
        assert!(
            lima.split_whitespace().any(|w| w == package),
            "{package} (.devcontainer/packages) is not installed by contrib/lima/netlab.yaml"
        );
    }
    let containerfile = read(".devcontainer/Containerfile");
    assert!(containerfile.contains("COPY .devcontainer/packages"));
}

#[test]
fn the_devcontainer_is_privileged_and_built_from_the_containerfile() {
    // devcontainer.json is JSON with `//` comment lines.
    let text: String = read(".devcontainer/devcontainer.json")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("devcontainer.json: {e}"));
    assert_eq!(json["privileged"], true, "{json}");
    assert_eq!(json["build"]["dockerfile"], "Containerfile", "{json}");
    assert_eq!(json["build"]["context"], "..", "{json}");
    assert!(common::workspace()
        .join(".devcontainer/Containerfile")
        .is_file());
}

#[test]
fn test_devcontainer_refuses_a_bad_option_in_one_line_and_explains_itself() {
    let script = common::workspace().join("scripts/test-devcontainer");
    let bad = Command::new(&script)
        .arg("--frob")
        .output()
        .expect("running scripts/test-devcontainer");
    common::one_line_error(&bad, "unknown option --frob (use --clean, or nothing)");
    let help = Command::new(&script)
        .arg("--help")
        .output()
        .expect("running scripts/test-devcontainer --help");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--clean"), "{text}");
    assert!(text.contains("cargo xtask check 01 --solution"), "{text}");
}
