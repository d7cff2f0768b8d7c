//! The lab's base root filesystem is verified before each use: one that lost a piece (a busybox
//! applet deleted, busybox made unexecutable, the folder removed) is rebuilt, and one line says
//! so; the check then runs on a whole rootfs and passes. Works on a target directory of its
//! own, never on the rootfs other tests share.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

fn check_01(target: &Path) -> Output {
    assert_cmd::cargo::cargo_bin_cmd!("xtask")
        .args(["check", "01", "--solution", "--no-build"])
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("running xtask")
}

#[test]
fn a_broken_base_rootfs_is_rebuilt_and_said_so() {
    let built = common::built_target(&["debug/checker", "debug/solution01"]);
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken-rootfs");
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(target.join("debug")).expect("mkdir");
    for binary in ["checker", "solution01"] {
        std::fs::copy(
            built.join("debug").join(binary),
            target.join("debug").join(binary),
        )
        .unwrap_or_else(|e| panic!("copying {binary}: {e}"));
    }
    let rootfs = target.join("netlab/rootfs");
    let first = check_01(&target);
    assert!(first.status.success(), "{first:?}");
    // An applet no check names, but the rootfs was built with.
    let manifest = std::fs::read_to_string(rootfs.join(container::BASE_MANIFEST))
        .expect("the rootfs lists its applets");
    let other = manifest
        .lines()
        .find(|a| !container::BASE_APPLETS.contains(a))
        .expect("busybox has more applets than the checks name")
        .to_string();
    let other_missing = format!("bin/{other} missing");
    let breakages: [(&str, &dyn Fn()); 3] = [
        ("bin/ping missing", &|| {
            std::fs::remove_file(rootfs.join("bin/ping")).expect("rm bin/ping")
        }),
        ("bin/busybox is not an executable file", &|| {
            let busybox = rootfs.join("bin/busybox");
            std::fs::set_permissions(&busybox, std::fs::Permissions::from_mode(0o644))
                .expect("chmod")
        }),
        (&other_missing, &|| {
            std::fs::remove_file(rootfs.join("bin").join(&other)).expect("rm an applet")
        }),
    ];
    for (what, break_it) in breakages {
        break_it();
        let output = check_01(&target);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{what}: {stdout}\n{stderr}");
        assert!(stdout.contains("5 passed, 0 failed"), "{what}: {stdout}");
        let said = format!("the lab's base root filesystem was incomplete ({what}): rebuilt");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&said)).collect();
        assert_eq!(lines.len(), 1, "{said:?} once in {stderr}");
        assert_eq!(
            container::base_incomplete(&rootfs),
            None,
            "{what}: rebuilt whole"
        );
    }
    // Whole: nothing is said.
    let output = check_01(&target);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("root filesystem"), "{stderr}");
}
