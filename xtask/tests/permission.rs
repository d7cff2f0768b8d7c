//! Bad machines, for real: no user namespaces for an ordinary user, and no static busybox.
//! Each gets one clear line and a non-zero exit, never a panic trace.
//!
//! "No permission" is made without touching the machine: the test (root) starts xtask as the
//! user `nobody` under a seccomp filter that refuses new user namespaces with EPERM, as
//! Docker's default profile does. The checker, not being root, then cannot create the user
//! namespace it needs, as on a laptop where Ubuntu's AppArmor or a sysctl forbids them.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// A classic-BPF seccomp program (x86_64): unshare() and clone() with CLONE_NEWUSER fail with
/// EPERM, clone3() with ENOSYS (so that callers fall back to clone()); the rest is allowed.
fn refuse_user_namespaces() -> std::io::Result<()> {
    use nix::libc::{self, sock_filter, sock_fprog};
    const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JSET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    const ALLOW: u32 = 0x7fff_0000;
    const ERRNO: u32 = 0x0005_0000;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let op = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    let program = [
        op(LD, 0, 0, 4),                            // 0: arch
        op(JEQ, 0, 8, AUDIT_ARCH_X86_64),           // 1: other arches: allow
        op(LD, 0, 0, 0),                            // 2: syscall number
        op(JEQ, 3, 0, 272),                         // 3: unshare -> 7
        op(JEQ, 2, 0, 56),                          // 4: clone -> 7
        op(JEQ, 0, 4, 435),                         // 5: clone3 -> 6, else allow
        op(RET, 0, 0, ERRNO | libc::ENOSYS as u32), // 6
        op(LD, 0, 0, 16),                           // 7: flags (low 32 bits of arg 0)
        op(JSET, 0, 1, libc::CLONE_NEWUSER as u32), // 8
        op(RET, 0, 0, ERRNO | libc::EPERM as u32),  // 9
        op(RET, 0, 0, ALLOW),                       // 10
    ];
    let prog = sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut sock_filter,
    };
    // SAFETY: plain prctl calls with a valid, live program.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[test]
fn no_user_namespaces_is_one_clear_line() {
    if !nix::unistd::geteuid().is_root() || cfg!(not(target_arch = "x86_64")) {
        eprintln!("no_user_namespaces_is_one_clear_line: needs root on x86_64; skipped");
        return;
    }
    let target = common::built_target(&["debug/checker", "debug/solution01"]);
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(["check", "01", "--solution", "--no-build"])
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null());
    // SAFETY: only prctl runs between fork and exec.
    unsafe {
        command.pre_exec(refuse_user_namespaces);
    }
    let output = command.output().expect("starting xtask as nobody");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it must fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(
        stderr.contains("user namespace"),
        "the line names the cause: {stderr}"
    );
}

#[test]
fn no_static_busybox_is_one_clear_line() {
    let target = common::built_target(&["debug/checker", "debug/solution01"]);
    // A fresh target directory has no rootfs yet: xtask looks for busybox to build one.
    let fresh = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-busybox");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(fresh.join("debug")).expect("mkdir");
    for binary in ["checker", "solution01"] {
        std::fs::copy(
            target.join("debug").join(binary),
            fresh.join("debug").join(binary),
        )
        .expect("copying a binary");
    }
    for (busybox, words) in [
        ("/nonexistent/busybox", "busybox is missing"),
        ("/bin/sh", "is not statically linked"),
    ] {
        common::refused(
            assert_cmd::cargo::cargo_bin_cmd!("xtask")
                .args(["check", "01", "--solution", "--no-build"])
                .env("CARGO_TARGET_DIR", &fresh)
                .env("NETLAB_BUSYBOX", busybox),
            words,
        );
    }
}
