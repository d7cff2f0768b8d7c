//! What the kernel allows and has: unprivileged user namespaces, and the modules the labs use
//! (from /sys/module, the module lists and the kernel's build config).

use super::tools::run;
use super::{Finding, Status};
use std::path::Path;

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .ok()
}

/// Whether ordinary users may create user namespaces (what `check` needs without sudo).
pub fn user_namespaces() -> Finding {
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

/// A finding for each kernel module the labs use.
pub fn modules() -> Vec<Finding> {
    let config = KernelConfig::read();
    MODULES
        .iter()
        .map(|(module, symbol)| kernel_module(module, symbol, &config))
        .collect()
}

/// Whether the kernel has nf_tables (what nft and iptables' nft backend need): loaded, or in
/// its config; `None` when that cannot be told.
pub fn nf_tables() -> Option<bool> {
    if Path::new("/sys/module/nf_tables").exists() {
        return Some(true);
    }
    KernelConfig::read()
        .symbol("CONFIG_NF_TABLES")
        .map(|s| s == 'y' || s == 'm')
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
