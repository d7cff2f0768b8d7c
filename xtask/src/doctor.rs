//! `cargo xtask doctor`: everything that bites on a workshop laptop, each with its fix.

use crate::workspace::Paths;
use crate::{build, messages, rootfs, runner};
use anyhow::Result;
use std::process::{Command, ExitCode};

/// One finding.
struct Finding {
    ok: bool,
    what: String,
    fix: String,
}

pub fn main(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", messages::DOCTOR_USAGE);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(other) = args.first() {
        anyhow::bail!("unexpected argument {other} (cargo xtask doctor --help)");
    }
    let mut findings = vec![
        tool("ip", &["-V"], "iproute2", "sudo apt-get install iproute2"),
        tool(
            "nsenter",
            &["--version"],
            "nsenter (util-linux)",
            "sudo apt-get install util-linux",
        ),
        iptables(),
        busybox(),
    ];
    findings.extend(environment());
    let mut all_ok = true;
    for f in &findings {
        all_ok &= f.ok;
        if f.ok {
            println!("ok    {}", f.what);
        } else {
            println!("FAIL  {}: {}", f.what, f.fix);
        }
    }
    // The kernel's side, tried for real inside a throwaway lab.
    let paths = Paths::new();
    build::packages(&["checks".to_string()])?;
    rootfs::ensure(&paths).ok();
    let status = runner::checker(&paths, false, "doctor", &[])?;
    all_ok &= status.success();
    println!(
        "{}",
        if all_ok {
            "\nThis machine is ready for the workshop."
        } else {
            "\nFix the FAIL lines above, then run `cargo xtask doctor` again."
        }
    );
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.status.success().then_some(text)
}

fn tool(program: &str, args: &[&str], name: &str, install: &str) -> Finding {
    let ok = run(program, args).is_some();
    Finding {
        ok,
        what: name.to_string(),
        fix: format!("install it: {install}"),
    }
}

fn iptables() -> Finding {
    match run("iptables", &["--version"]) {
        Some(version) if version.contains("nf_tables") => Finding {
            ok: true,
            what: format!("iptables, nft backend ({})", version.trim()),
            fix: String::new(),
        },
        Some(version) => Finding {
            ok: true,
            what: format!(
                "iptables, legacy backend ({}): works in the lab; note that rules made with \
                 iptables-legacy and iptables-nft live apart on a real host",
                version.trim()
            ),
            fix: String::new(),
        },
        None => Finding {
            ok: false,
            what: "iptables".to_string(),
            fix: "install it: sudo apt-get install iptables".to_string(),
        },
    }
}

fn busybox() -> Finding {
    match rootfs::find_static_busybox() {
        Ok(path) => Finding {
            ok: true,
            what: format!("static busybox ({})", path.display()),
            fix: String::new(),
        },
        Err(e) => Finding {
            ok: false,
            what: "static busybox".to_string(),
            fix: format!("{e:#}"),
        },
    }
}

/// Whether ordinary users may create user namespaces (what `check` needs without sudo).
fn user_namespaces() -> Finding {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .ok()
    };
    let blocked = [
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "kernel.apparmor_restrict_unprivileged_userns=0",
        ),
        (
            "/proc/sys/kernel/unprivileged_userns_clone",
            "0",
            "kernel.unprivileged_userns_clone=1",
        ),
        (
            "/proc/sys/user/max_user_namespaces",
            "0",
            "user.max_user_namespaces=15000",
        ),
    ]
    .into_iter()
    .find(|(path, bad, _)| read(path).as_deref() == Some(*bad));
    match blocked {
        None => Finding {
            ok: true,
            what: "unprivileged user namespaces allowed (no sudo needed)".into(),
            fix: String::new(),
        },
        Some((path, bad, setting)) => Finding {
            ok: false,
            what: format!("unprivileged user namespaces are blocked ({path} is {bad})"),
            fix: format!("`sudo sysctl -w {setting}`, or use `cargo xtask check NN --sudo`"),
        },
    }
}

fn environment() -> Vec<Finding> {
    let mut findings = vec![user_namespaces()];
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    if version.to_lowercase().contains("microsoft") {
        findings.push(Finding {
            ok: true,
            what: "WSL2: works; keep the workshop inside the Linux filesystem (~/), not under /mnt"
                .to_string(),
            fix: String::new(),
        });
    }
    let in_container = std::path::Path::new("/.dockerenv").exists()
        || std::path::Path::new("/run/.containerenv").exists();
    if in_container {
        findings.push(Finding {
            ok: true,
            what: "running inside a container: the lab needs it to be privileged (docker run --privileged)".to_string(),
            fix: String::new(),
        });
    }
    findings
}
