//! The tools the workshop needs on the machine, found on PATH (with the sbin folders, where
//! `ip` and `iptables` live, even when an ordinary user's PATH lacks them).

use super::{Finding, Status};
use crate::rootfs;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// The sbin folders, searched after PATH.
const SBIN: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Where a program is: on PATH, else in an sbin folder.
pub fn find(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(SBIN.iter().map(PathBuf::from));
    let search: OsString = std::env::join_paths(dirs).ok()?;
    which::which_in_global(program, Some(search)).ok()?.next()
}

/// Runs a tool found by [`find`], returning its output (stdout and stderr) when it succeeds.
pub fn run(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(find(program)?).args(args).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.status.success().then_some(text)
}

/// A tool: its path, and its version line when `version_args` may run it here.
pub fn tool(name: &str, program: &str, version_args: Option<&[&str]>, install: &str) -> Finding {
    let fix = format!("install it: {install}");
    let Some(path) = find(program) else {
        return Finding::new(
            name,
            Status::Fail,
            format!("{program} is not installed"),
            fix,
        );
    };
    let Some(args) = version_args else {
        return Finding::ok(name, path.display().to_string());
    };
    match run(program, args) {
        Some(version) => {
            let first = version.lines().next().unwrap_or("").trim().to_string();
            Finding::ok(name, format!("{} ({first})", path.display()))
        }
        None => Finding::new(
            name,
            Status::Fail,
            format!(
                "{} is there but `{program} {}` fails",
                path.display(),
                args.join(" ")
            ),
            fix,
        ),
    }
}

/// The static busybox the containers' root filesystem is made from.
pub fn busybox() -> Finding {
    match rootfs::find_static_busybox() {
        Ok(path) if wget_timeout_crashes(&path) => Finding::new(
            "busybox",
            Status::Warn,
            format!(
                "static, {}, but its `wget -T` crashes (segfault; Debian's 1.35 does)",
                path.display()
            ),
            "nothing to do for the workshop (no check or lesson uses -T); give wget its time limit with `timeout 5 wget ...`",
        ),
        Ok(path) => Finding::ok("busybox", format!("static, {}", path.display())),
        Err(e) => Finding::new(
            "busybox",
            Status::Fail,
            format!("{e:#}")
                .split(": install")
                .next()
                .unwrap_or("")
                .to_string(),
            "install the static one: sudo apt-get install busybox-static",
        ),
    }
}

/// Whether this busybox's `wget -T` dies of a signal. The URL's scheme is refused before any
/// address is looked up or connected to: nothing leaves the machine.
pub fn wget_timeout_crashes(busybox: &std::path::Path) -> bool {
    use std::os::unix::process::ExitStatusExt;
    Command::new(busybox)
        .args([
            "wget",
            "-q",
            "-T",
            "1",
            "-O",
            "/dev/null",
            "netlab-probe://x",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.signal().is_some())
}

/// Go and Debian's libcni sources, which step 09's CNI driver is built from: one line when
/// either is missing (a warning: only step 09 needs them).
pub fn go_libcni() -> Finding {
    const LIBCNI: &str = "/usr/share/gocode/src/github.com/containernetworking/cni/libcni";
    let fix = "install them: sudo apt-get install golang-go golang-github-appc-cni-dev \
               containernetworking-plugins (or scripts/install-deps)";
    let go = find("go");
    let libcni = std::path::Path::new(LIBCNI).is_dir();
    match (go, libcni) {
        (Some(go), true) => Finding::ok("go/libcni", format!("{} and {LIBCNI}", go.display())),
        (go, libcni) => {
            let mut missing = Vec::new();
            if go.is_none() {
                missing.push("go is not installed");
            }
            if !libcni {
                missing.push("libcni's sources are not installed");
            }
            Finding::new(
                "go/libcni",
                Status::Warn,
                format!("{} (step 09 cannot be checked)", missing.join(", ")),
                fix,
            )
        }
    }
}

/// The CNI reference plugins (Debian's containernetworking-plugins): step 09 runs host-local,
/// loopback and portmap, step 10 host-local (a warning: only those steps need them).
pub fn cni_plugins() -> Finding {
    const PLUGINS: &str = "/usr/lib/cni";
    let missing: Vec<&str> = ["host-local", "loopback", "portmap", "bridge"]
        .into_iter()
        .filter(|p| !std::path::Path::new(PLUGINS).join(p).is_file())
        .collect();
    if missing.is_empty() {
        return Finding::ok(
            "cni plugins",
            format!("{PLUGINS}: host-local, loopback, portmap, bridge"),
        );
    }
    Finding::new(
        "cni plugins",
        Status::Warn,
        format!(
            "{} not in {PLUGINS} (steps 09 and 10 cannot be checked)",
            missing.join(", ")
        ),
        "install them: sudo apt-get install containernetworking-plugins (or scripts/install-deps)",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_wget_that_crashes_is_told_from_one_that_refuses() {
        let scratch = tempfile::tempdir().expect("a scratch folder");
        let dir = scratch.path().to_path_buf();
        for (name, body, crashes) in [
            ("crashes", "kill -SEGV $$", true),
            (
                "refuses",
                "echo 'wget: not an http or ftp url' >&2; exit 1",
                false,
            ),
        ] {
            let fake = dir.join(name);
            std::fs::write(&fake, format!("#!/bin/sh\n{body}\n")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(super::wget_timeout_crashes(&fake), crashes, "{name}");
        }
        assert!(!super::wget_timeout_crashes(&dir.join("missing")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sh_is_found_and_nonsense_is_not() {
        assert!(super::find("sh").is_some());
        assert!(super::find("netlab-no-such-tool").is_none());
    }
}
