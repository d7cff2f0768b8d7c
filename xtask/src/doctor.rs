//! `cargo xtask doctor [--json] [--no-build]`: everything that bites on a workshop laptop,
//! each with its fix. First what can be seen from here (tools, sysctls, kernel modules, WSL2,
//! containers), without touching the machine's network: no iptables or nft runs here, only
//! their presence is looked at. Then the checker tries the kernel features for real inside a
//! throwaway lab (where it also asks iptables for its backend).

use crate::workspace::Paths;
use crate::{build, messages, rootfs, runner};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// How a finding turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but worth knowing (or cannot tell): does not fail the doctor.
    Warn,
    Fail,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One finding: what it is about, how it turned out, what was seen, and the fix to apply.
#[derive(Debug, Clone)]
pub struct Finding {
    pub name: String,
    pub status: Status,
    pub seen: String,
    pub fix: String,
}

impl Finding {
    fn new(name: &str, status: Status, seen: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            name: name.to_string(),
            status,
            seen: seen.into(),
            fix: fix.into(),
        }
    }

    fn ok(name: &str, seen: impl Into<String>) -> Self {
        Finding::new(name, Status::Ok, seen, "")
    }
}

pub fn main(args: &[String]) -> Result<ExitCode> {
    let (mut json, mut no_build) = (false, false);
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            "--no-build" => no_build = true,
            "-h" | "--help" => {
                print!("{}", messages::DOCTOR_USAGE);
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => {
                bail!("unknown option {other} (cargo xtask doctor --help)")
            }
            other => bail!("unexpected argument {other} (cargo xtask doctor --help)"),
        }
    }
    let paths = Paths::new();
    let mut findings = host_findings(&paths);
    // The kernel's side, tried for real inside a throwaway lab.
    if !no_build {
        build::packages(&["checks".to_string()])?;
    }
    findings.extend(lab_findings(&paths));
    let ready = findings.iter().all(|f| f.status != Status::Fail);
    if json {
        println!("{}", to_json(&findings, ready)?);
    } else {
        print!("{}", render(&findings, ready));
    }
    Ok(if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Everything that can be seen without a lab.
fn host_findings(paths: &Paths) -> Vec<Finding> {
    let mut findings = vec![
        tool(
            "iproute2",
            "ip",
            Some(&["-V"]),
            "sudo apt-get install iproute2",
        ),
        tool(
            "nsenter",
            "nsenter",
            Some(&["--version"]),
            "sudo apt-get install util-linux",
        ),
        // Never run here: only its presence (the lab asks it for its version and backend).
        tool(
            "iptables",
            "iptables",
            None,
            "sudo apt-get install iptables",
        ),
        busybox(),
        user_namespaces(),
    ];
    let config = KernelConfig::read();
    for (module, symbol) in MODULES {
        findings.push(kernel_module(module, symbol, &config));
    }
    findings.push(wsl2(paths));
    findings.push(container());
    findings
}

/// The text form: one line per finding, its fix under it when it needs one.
fn render(findings: &[Finding], ready: bool) -> String {
    let width = findings
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}  {:<width$}  {}\n",
            f.status.tag(),
            f.name,
            f.seen
        ));
        if f.status != Status::Ok && !f.fix.is_empty() {
            out.push_str(&format!("      {:<width$}  fix: {}\n", "", f.fix));
        }
    }
    out.push_str(if ready {
        "\nThis machine is ready for the workshop.\n"
    } else {
        "\nFix the FAIL lines above, then run `cargo xtask doctor` again.\n"
    });
    out
}

/// The JSON form: `{"ready": bool, "findings": [{"name", "status", "seen", "fix"}]}`.
fn to_json(findings: &[Finding], ready: bool) -> Result<String> {
    let findings: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "status": f.status.word(),
                "seen": f.seen,
                "fix": f.fix,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "ready": ready, "findings": findings }))
        .context("writing the findings as JSON")
}

/// `checker doctor --json` in a lab; a `lab` finding when the lab itself cannot start.
fn lab_findings(paths: &Paths) -> Vec<Finding> {
    let lab_failed = |seen: String| {
        vec![Finding::new(
            "lab",
            Status::Fail,
            seen,
            "see the findings above (user namespaces, container); \
             `cargo xtask check NN --sudo` runs the checks through sudo",
        )]
    };
    if let Err(e) = rootfs::ensure(paths) {
        return lab_failed(format!("cannot prepare the lab's files: {e:#}"));
    }
    let output = match runner::command(paths, false, "doctor", &["--json".to_string()]).output() {
        Ok(output) => output,
        Err(e) => {
            return lab_failed(format!(
                "cannot start {}: {e}",
                paths.binary("checker").display()
            ))
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let parsed: Option<Vec<Finding>> = serde_json::from_str::<serde_json::Value>(&stdout)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .map(|items| items.iter().filter_map(from_checker).collect());
    match parsed {
        Some(found) if !found.is_empty() => {
            let mut all = vec![Finding::ok("lab", "a throwaway lab starts and stops")];
            all.extend(found);
            all
        }
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no answer");
            lab_failed(format!("the lab did not start ({}): {why}", output.status))
        }
    }
}

/// One finding of `checker doctor --json`.
fn from_checker(value: &serde_json::Value) -> Option<Finding> {
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let status = match text("status")?.as_str() {
        "ok" => Status::Ok,
        "warn" => Status::Warn,
        _ => Status::Fail,
    };
    Some(Finding {
        name: text("name")?,
        status,
        seen: text("seen").unwrap_or_default(),
        fix: text("fix").unwrap_or_default(),
    })
}

// ---- tools ---------------------------------------------------------------------------------

/// Runs a tool (found on the sbin-inclusive PATH), returning its output when it succeeds.
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

/// Where a program is, on the sbin-inclusive PATH.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file());
    found
}

/// A tool: its path, and its version line when `version_args` may run it here.
fn tool(name: &str, program: &str, version_args: Option<&[&str]>, install: &str) -> Finding {
    let fix = format!("install it: {install}");
    let Some(path) = which(program) else {
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

fn busybox() -> Finding {
    match rootfs::find_static_busybox() {
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

// ---- the kernel ----------------------------------------------------------------------------

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .ok()
}

/// Whether ordinary users may create user namespaces (what `check` needs without sudo).
fn user_namespaces() -> Finding {
    let name = "user namespaces";
    let blocked = [
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "kernel.apparmor_restrict_unprivileged_userns=0",
            " (Ubuntu 23.10+ AppArmor)",
        ),
        (
            "/proc/sys/kernel/unprivileged_userns_clone",
            "0",
            "kernel.unprivileged_userns_clone=1",
            "",
        ),
        (
            "/proc/sys/user/max_user_namespaces",
            "0",
            "user.max_user_namespaces=15000",
            "",
        ),
    ]
    .into_iter()
    .find(|(path, bad, _, _)| read_trimmed(path).as_deref() == Some(*bad));
    let root = nix::unistd::geteuid().is_root();
    match blocked {
        None => Finding::ok(
            name,
            "unprivileged user namespaces allowed (no sudo needed)",
        ),
        Some((path, bad, setting, why)) => {
            let seen = format!("unprivileged user namespaces are blocked{why}: {path} is {bad}");
            let fix = format!(
                "`sudo sysctl -w {setting}` (until reboot; a file in /etc/sysctl.d keeps it), \
                 or use `cargo xtask check NN --sudo`"
            );
            if root {
                Finding::new(
                    name,
                    Status::Warn,
                    format!("{seen} (fine as root, as now; not as an ordinary user)"),
                    fix,
                )
            } else {
                Finding::new(name, Status::Fail, seen, fix)
            }
        }
    }
}

/// The kernel modules the labs use, with the kernel config symbol of each.
const MODULES: [(&str, &str); 4] = [
    ("veth", "CONFIG_VETH"),
    ("bridge", "CONFIG_BRIDGE"),
    ("br_netfilter", "CONFIG_BRIDGE_NETFILTER"),
    ("nf_nat", "CONFIG_NF_NAT"),
];

/// What the kernel's build says: `/boot/config-$(uname -r)` or `/proc/config.gz`, and the
/// module lists under `/lib/modules/$(uname -r)`.
struct KernelConfig {
    release: String,
    config: Option<String>,
    builtin: Option<String>,
    dep: Option<String>,
}

impl KernelConfig {
    fn read() -> KernelConfig {
        let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
        let config = std::fs::read_to_string(format!("/boot/config-{release}"))
            .ok()
            .or_else(|| {
                Path::new("/proc/config.gz")
                    .exists()
                    .then(|| run("zcat", &["/proc/config.gz"]))
                    .flatten()
            });
        let modules = format!("/lib/modules/{release}");
        KernelConfig {
            builtin: std::fs::read_to_string(format!("{modules}/modules.builtin")).ok(),
            dep: std::fs::read_to_string(format!("{modules}/modules.dep")).ok(),
            release,
            config,
        }
    }

    /// `y`, `m` or `n` for a config symbol, when the config is known.
    fn symbol(&self, symbol: &str) -> Option<char> {
        let config = self.config.as_ref()?;
        let set = format!("{symbol}=");
        Some(
            config
                .lines()
                .find_map(|l| l.strip_prefix(&set))
                .and_then(|v| v.chars().next())
                .unwrap_or('n'),
        )
    }
}

/// Whether a module list (`modules.builtin`, or the keys of `modules.dep`) names the module.
fn lists(list: &str, module: &str) -> bool {
    list.lines().any(|line| {
        let path = line.split(':').next().unwrap_or("");
        let file = path.rsplit('/').next().unwrap_or("");
        let stem = file.split(".ko").next().unwrap_or("");
        file.contains(".ko") && stem.replace('-', "_") == module
    })
}

fn kernel_module(module: &str, symbol: &str, kernel: &KernelConfig) -> Finding {
    let name = format!("kernel module {module}");
    let name = name.as_str();
    if Path::new("/sys/module").join(module).exists() {
        return Finding::ok(name, format!("loaded or built in (/sys/module/{module})"));
    }
    if kernel.builtin.as_deref().is_some_and(|l| lists(l, module)) {
        return Finding::ok(name, "built in (modules.builtin)");
    }
    if kernel.symbol(symbol) == Some('y') {
        return Finding::ok(name, format!("built in ({symbol}=y)"));
    }
    let modprobe = format!(
        "`sudo modprobe {module}` (a lab in a user namespace cannot load modules itself); \
         to load it at every boot: echo {module} | sudo tee /etc/modules-load.d/netlab.conf"
    );
    if kernel.dep.as_deref().is_some_and(|l| lists(l, module)) {
        return Finding::new(
            name,
            Status::Warn,
            "loadable, not loaded (modules.dep)",
            modprobe,
        );
    }
    let install = format!(
        "install the kernel's extra modules: sudo apt-get install linux-modules-extra-{}",
        kernel.release
    );
    match kernel.symbol(symbol) {
        Some('m') => Finding::new(
            name,
            Status::Fail,
            format!("built as a module ({symbol}=m), but not installed"),
            install,
        ),
        Some(_) => Finding::new(
            name,
            Status::Fail,
            format!("not in this kernel ({symbol} is not set)"),
            "use a kernel with it (a stock distribution kernel has it), or a VM",
        ),
        None if kernel.dep.is_some() => Finding::new(
            name,
            Status::Fail,
            "neither built in nor among the loadable modules",
            install,
        ),
        None => Finding::new(
            name,
            Status::Warn,
            format!(
                "cannot tell: no /sys/module/{module}, no /lib/modules/{}, no kernel config",
                kernel.release
            ),
            "nothing, if the lab's findings below are ok (they try it for real)",
        ),
    }
}

// ---- where we run --------------------------------------------------------------------------

fn wsl2(paths: &Paths) -> Finding {
    let version = std::fs::read_to_string("/proc/version").unwrap_or_default();
    if !version.to_lowercase().contains("microsoft") {
        return Finding::ok("WSL2", "not WSL");
    }
    if paths.root.starts_with("/mnt") {
        Finding::new(
            "WSL2",
            Status::Warn,
            format!(
                "WSL2, with the workshop under /mnt ({}): builds are slow and file events \
                 do not arrive there (watch polls)",
                paths.root.display()
            ),
            "move the workshop into the Linux filesystem, e.g. `cp -r . ~/netlab`",
        )
    } else {
        Finding::ok(
            "WSL2",
            "WSL2, with the workshop in the Linux filesystem: works",
        )
    }
}

/// A capability set from `/proc/self/status` (`CapEff`, `CapBnd`).
fn capabilities(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

fn container() -> Finding {
    let marker = ["/.dockerenv", "/run/.containerenv"]
        .into_iter()
        .find(|m| Path::new(m).exists());
    let Some(marker) = marker else {
        return Finding::ok("container", "not inside a container");
    };
    const CAP_NET_ADMIN: u64 = 1 << 12;
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    let needed = CAP_NET_ADMIN | CAP_SYS_ADMIN;
    // The bounding set: what any process here could ever hold (root's CapEff, or via sudo).
    let bounding = capabilities("CapBnd").or_else(|| capabilities("CapEff"));
    match bounding {
        Some(caps) if caps & needed == needed => Finding::ok(
            "container",
            format!("inside a container ({marker}) with CAP_SYS_ADMIN and CAP_NET_ADMIN"),
        ),
        Some(_) => Finding::new(
            "container",
            Status::Fail,
            format!(
                "inside a container ({marker}) without privileges: no CAP_SYS_ADMIN and \
                 CAP_NET_ADMIN, so no namespaces"
            ),
            "start the container privileged: docker run --privileged (podman run --privileged)",
        ),
        None => Finding::new(
            "container",
            Status::Warn,
            format!("inside a container ({marker}); its capabilities are unknown"),
            "if the lab fails below: docker run --privileged",
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn module_lists() {
        let dep = "kernel/drivers/net/veth.ko.zst: \nkernel/net/bridge/br_netfilter.ko: kernel/net/bridge/bridge.ko\n";
        assert!(super::lists(dep, "veth"));
        assert!(super::lists(dep, "br_netfilter"));
        assert!(!super::lists(dep, "bridge"));
        assert!(!super::lists(dep, "nf_nat"));
        assert!(super::lists("kernel/net/netfilter/nf_nat.ko\n", "nf_nat"));
    }
}
