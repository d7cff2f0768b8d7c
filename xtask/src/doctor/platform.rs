//! Where the workshop runs: native Linux, WSL (1 or 2), a Lima VM, or a container (plain Docker
//! or Podman, a VS Code devcontainer, GitHub Codespaces), and the traps of each.
//!
//! Three parts, kept apart: [`Facts::read`] is the only one that looks at the machine (a few
//! files and variables); [`detect`] and [`traps`] are pure functions of those facts, tested
//! for every platform below; [`finding`] and the `text` functions turn them into words.

use super::{Finding, Status};
use std::path::{Path, PathBuf};

/// Everything the platform is told from, read once.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `/proc/sys/kernel/osrelease`: `...-microsoft-standard-WSL2`, `...-Microsoft` (WSL1),
    /// `...-linuxkit` (Docker Desktop).
    pub osrelease: String,
    pub hostname: String,
    /// `/.dockerenv` exists (Docker, and some VMs made from Docker images).
    pub dockerenv: bool,
    /// `/run/.containerenv` exists (Podman).
    pub containerenv: bool,
    /// The `container` variable (Podman, systemd-nspawn, LXC set it).
    pub container_var: Option<String>,
    /// `CODESPACES=true`.
    pub codespaces: bool,
    /// `REMOTE_CONTAINERS=true`: VS Code's Dev Containers extension started us.
    pub vscode_devcontainer: bool,
    /// `WSL_DISTRO_NAME`.
    pub wsl_distro: Option<String>,
    /// `/proc/sys/fs/binfmt_misc/WSLInterop` exists.
    pub wsl_interop: bool,
    /// Lima's cloud-init disk is mounted (`/mnt/lima-cidata`) or its variables are set.
    pub lima_cidata: bool,
    /// The capabilities any process here could hold (`CapBnd` of /proc/self/status).
    pub capabilities: Option<u64>,
    /// Whether the kernel has nf_tables (loaded, or in its config), when that can be told.
    pub nf_tables: Option<bool>,
    /// The workshop's folder, and the type of the filesystem it is on (from mountinfo).
    pub root: PathBuf,
    pub root_fstype: Option<String>,
}

/// Where we run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Platform {
    Linux,
    Wsl1,
    Wsl2 { distro: Option<String> },
    Lima { instance: Option<String> },
    Container { engine: Engine, host: Host },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
    /// Named by the `container` variable (`systemd-nspawn`, `lxc`, ...).
    Other(String),
}

/// Who started the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Plain,
    VsCode,
    Codespaces,
}

/// What bites on a platform, each with its own words (`text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trap {
    /// A container without CAP_SYS_ADMIN and CAP_NET_ADMIN: no namespaces at all.
    Unprivileged { host: Host },
    /// A container whose capabilities cannot be read.
    CapabilitiesUnknown,
    /// WSL1 has no network namespaces, veth or netfilter.
    Wsl1,
    /// WSL2 with the workshop on the Windows drive (/mnt/c): slow builds, no file events.
    WslWindowsDrive,
    /// A kernel without nf_tables (old WSL2 kernels): iptables' nft backend and nft fail.
    NoNfTables,
    /// Lima with the workshop in a folder shared from macOS (read-only by default, slow).
    LimaSharedFolder { fstype: String },
}

const CAP_NET_ADMIN: u64 = 1 << 12;
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// The platform the facts describe. A container comes first: Docker Desktop's containers run
/// on a WSL2 or a Lima-like VM's kernel, but what matters is the container.
pub fn detect(facts: &Facts) -> Platform {
    let engine = if facts.containerenv || facts.container_var.as_deref() == Some("podman") {
        Some(Engine::Podman)
    } else if facts.dockerenv || facts.container_var.as_deref() == Some("docker") {
        Some(Engine::Docker)
    } else {
        facts
            .container_var
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| Engine::Other(v.clone()))
    };
    if let Some(engine) = engine {
        let host = if facts.codespaces {
            Host::Codespaces
        } else if facts.vscode_devcontainer {
            Host::VsCode
        } else {
            Host::Plain
        };
        return Platform::Container { engine, host };
    }
    let release = facts.osrelease.to_lowercase();
    if release.contains("microsoft") || facts.wsl_interop || facts.wsl_distro.is_some() {
        // WSL2's kernels say `microsoft-standard` (and `WSL2`); WSL1's fake release says
        // `Microsoft` alone (4.4.0-19041-Microsoft).
        return if release.contains("microsoft-standard") || release.contains("wsl2") {
            Platform::Wsl2 {
                distro: facts.wsl_distro.clone(),
            }
        } else {
            Platform::Wsl1
        };
    }
    if facts.lima_cidata || facts.hostname.starts_with("lima-") {
        return Platform::Lima {
            instance: facts
                .hostname
                .strip_prefix("lima-")
                .map(str::to_string)
                .filter(|s| !s.is_empty()),
        };
    }
    Platform::Linux
}

/// The traps the facts show on that platform, worst first.
pub fn traps(platform: &Platform, facts: &Facts) -> Vec<Trap> {
    let mut found = Vec::new();
    match platform {
        Platform::Linux => {}
        Platform::Wsl1 => found.push(Trap::Wsl1),
        Platform::Wsl2 { .. } => {
            if facts.nf_tables == Some(false) {
                found.push(Trap::NoNfTables);
            }
            if facts.root.starts_with("/mnt") {
                found.push(Trap::WslWindowsDrive);
            }
        }
        Platform::Lima { .. } => {
            if let Some(fstype) = facts.root_fstype.as_deref().filter(|t| is_shared_folder(t)) {
                found.push(Trap::LimaSharedFolder {
                    fstype: fstype.to_string(),
                });
            }
        }
        Platform::Container { host, .. } => {
            let needed = CAP_NET_ADMIN | CAP_SYS_ADMIN;
            match facts.capabilities {
                Some(caps) if caps & needed == needed => {}
                Some(_) => found.push(Trap::Unprivileged { host: *host }),
                None => found.push(Trap::CapabilitiesUnknown),
            }
            if facts.nf_tables == Some(false) {
                found.push(Trap::NoNfTables);
            }
        }
    }
    found
}

/// A filesystem a VM shares from its host (Lima: 9p, virtiofs, sshfs's FUSE).
fn is_shared_folder(fstype: &str) -> bool {
    ["9p", "virtiofs", "fuse.sshfs"].contains(&fstype)
}

impl Trap {
    fn status(&self) -> Status {
        match self {
            Trap::Unprivileged { .. } | Trap::Wsl1 => Status::Fail,
            Trap::CapabilitiesUnknown
            | Trap::WslWindowsDrive
            | Trap::NoNfTables
            | Trap::LimaSharedFolder { .. } => Status::Warn,
        }
    }
}

/// The `platform` finding: what this machine is, its traps (the worst one's status), and
/// their fixes.
pub fn finding(facts: &Facts) -> Finding {
    let platform = detect(facts);
    let traps = traps(&platform, facts);
    let status = traps
        .iter()
        .map(Trap::status)
        .max_by_key(|s| match s {
            Status::Ok => 0,
            Status::Warn => 1,
            Status::Fail => 2,
        })
        .unwrap_or(Status::Ok);
    let mut seen = text::platform(&platform);
    if traps.is_empty() {
        seen.push_str(": works");
    }
    for trap in &traps {
        seen.push_str("; ");
        seen.push_str(&text::seen(trap, facts));
    }
    let fix = traps
        .iter()
        .map(text::fix)
        .collect::<Vec<_>>()
        .join("; and ");
    Finding::new("platform", status, seen, fix)
}

/// The words.
mod text {
    use super::{Engine, Facts, Host, Platform, Trap};

    pub fn platform(platform: &Platform) -> String {
        match platform {
            Platform::Linux => "Linux, native".to_string(),
            Platform::Wsl1 => "WSL1 (Windows)".to_string(),
            Platform::Wsl2 { distro: Some(d) } => format!("WSL2 (Windows), distribution {d}"),
            Platform::Wsl2 { distro: None } => "WSL2 (Windows)".to_string(),
            Platform::Lima { instance: Some(i) } => format!("a Lima VM ({i})"),
            Platform::Lima { instance: None } => "a Lima VM".to_string(),
            Platform::Container { engine, host } => {
                let engine = match engine {
                    Engine::Docker => "docker".to_string(),
                    Engine::Podman => "podman".to_string(),
                    Engine::Other(name) => name.clone(),
                };
                match host {
                    Host::Plain => format!("a container ({engine})"),
                    Host::VsCode => format!("a VS Code devcontainer ({engine})"),
                    Host::Codespaces => "a GitHub Codespace (a container)".to_string(),
                }
            }
        }
    }

    pub fn seen(trap: &Trap, facts: &Facts) -> String {
        match trap {
            Trap::Unprivileged { .. } => "not privileged: no CAP_SYS_ADMIN and CAP_NET_ADMIN, \
                 so no namespaces and no lab"
                .to_string(),
            Trap::CapabilitiesUnknown => {
                "its capabilities cannot be read (the lab below tries for real)".to_string()
            }
            Trap::Wsl1 => "WSL1 has no network namespaces, veth or netfilter".to_string(),
            Trap::WslWindowsDrive => format!(
                "the workshop is on the Windows drive ({}): builds are slow and file events \
                 do not arrive there (watch polls)",
                facts.root.display()
            ),
            Trap::NoNfTables => format!(
                "this kernel ({}) has no nf_tables: nft and iptables' nft backend fail",
                facts.osrelease
            ),
            Trap::LimaSharedFolder { fstype } => format!(
                "the workshop is in a folder shared from macOS ({}, {fstype}): Lima shares it \
                 read-only unless told otherwise, and builds there are slow",
                facts.root.display()
            ),
        }
    }

    pub fn fix(trap: &Trap) -> String {
        match trap {
            Trap::Unprivileged { host: Host::Plain } => {
                "run the container with --privileged (docker run --privileged, podman run \
                 --privileged)"
                    .to_string()
            }
            Trap::Unprivileged { host: Host::VsCode } => {
                "open the workshop's own .devcontainer (it says \"privileged\": true), then \
                 Dev Containers: Rebuild Container"
                    .to_string()
            }
            Trap::Unprivileged {
                host: Host::Codespaces,
            } => "make the codespace from this repository's .devcontainer (privileged), not \
                  the default image: Codespaces: Rebuild Container"
                .to_string(),
            Trap::CapabilitiesUnknown => {
                "if the lab fails below: run the container with --privileged".to_string()
            }
            Trap::Wsl1 => "make the distribution WSL2, in PowerShell: `wsl --set-version \
                 <distribution> 2` (`wsl -l -v` lists them)"
                .to_string(),
            Trap::WslWindowsDrive => {
                "move the workshop into the Linux filesystem, e.g. `cp -r . ~/netlab`".to_string()
            }
            Trap::NoNfTables => "a newer kernel: in PowerShell `wsl --update`, then \
                 `wsl --shutdown`; for iptables alone: `sudo update-alternatives --set \
                 iptables /usr/sbin/iptables-legacy`"
                .to_string(),
            Trap::LimaSharedFolder { .. } => {
                "clone the workshop inside the VM, in its own home: `limactl shell netlab`, \
                 then `git clone <the workshop's URL> ~/netlab`"
                    .to_string()
            }
        }
    }
}

impl Facts {
    /// Reads the facts of this machine; `root` is the workshop's folder.
    pub fn read(root: &Path, nf_tables: Option<bool>) -> Facts {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let exists = |path: &str| Path::new(path).exists();
        Facts {
            osrelease: read("/proc/sys/kernel/osrelease"),
            hostname: read("/proc/sys/kernel/hostname"),
            dockerenv: exists("/.dockerenv"),
            containerenv: exists("/run/.containerenv"),
            container_var: var("container"),
            codespaces: var("CODESPACES").as_deref() == Some("true"),
            vscode_devcontainer: var("REMOTE_CONTAINERS").as_deref() == Some("true"),
            wsl_distro: var("WSL_DISTRO_NAME"),
            wsl_interop: exists("/proc/sys/fs/binfmt_misc/WSLInterop"),
            lima_cidata: exists("/mnt/lima-cidata") || var("LIMA_CIDATA_NAME").is_some(),
            capabilities: capabilities("CapBnd").or_else(|| capabilities("CapEff")),
            nf_tables,
            root: root.to_path_buf(),
            root_fstype: std::fs::read_to_string("/proc/self/mountinfo")
                .ok()
                .and_then(|info| fstype_of(&info, root)),
        }
    }
}

/// A capability set from `/proc/self/status` (`CapBnd`, `CapEff`).
fn capabilities(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// The filesystem type of the mount holding `path`: the longest mount point above it in
/// `/proc/self/mountinfo` (`id parent maj:min root mountpoint opts... - fstype source opts`).
fn fstype_of(mountinfo: &str, path: &Path) -> Option<String> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let point = fields.nth(4)?;
            let fstype = line.split(" - ").nth(1)?.split(' ').next()?;
            // Spaces in mount points are written as \040.
            let point = PathBuf::from(point.replace("\\040", " "));
            path.starts_with(&point)
                .then(|| (point.as_os_str().len(), fstype.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fstype)| fstype)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_CAPS: u64 = 0x1ff_ffff_ffff;

    fn linux() -> Facts {
        Facts {
            osrelease: "6.1.0-28-amd64".into(),
            hostname: "laptop".into(),
            capabilities: Some(ALL_CAPS),
            nf_tables: Some(true),
            root: "/home/ada/netlab".into(),
            root_fstype: Some("ext4".into()),
            ..Facts::default()
        }
    }

    fn container(engine_marker: &str) -> Facts {
        let mut f = linux();
        match engine_marker {
            "docker" => f.dockerenv = true,
            "podman" => {
                f.containerenv = true;
                f.container_var = Some("podman".into());
            }
            _ => unreachable!(),
        }
        f.root = "/workspaces/netlab".into();
        f
    }

    #[test]
    fn native_linux_works() {
        let f = linux();
        assert_eq!(detect(&f), Platform::Linux);
        let found = finding(&f);
        assert_eq!(found.status, Status::Ok);
        assert_eq!(found.seen, "Linux, native: works");
        assert_eq!(found.fix, "");
    }

    #[test]
    fn containers_of_each_engine_and_host() {
        assert_eq!(
            detect(&container("docker")),
            Platform::Container {
                engine: Engine::Docker,
                host: Host::Plain
            }
        );
        let mut vscode = container("podman");
        vscode.vscode_devcontainer = true;
        assert_eq!(
            detect(&vscode),
            Platform::Container {
                engine: Engine::Podman,
                host: Host::VsCode
            }
        );
        assert_eq!(
            finding(&vscode).seen,
            "a VS Code devcontainer (podman): works"
        );
        let mut codespace = container("docker");
        codespace.codespaces = true;
        codespace.vscode_devcontainer = true;
        assert_eq!(
            finding(&codespace).seen,
            "a GitHub Codespace (a container): works"
        );
        let mut nspawn = linux();
        nspawn.container_var = Some("systemd-nspawn".into());
        assert_eq!(finding(&nspawn).seen, "a container (systemd-nspawn): works");
        // Docker Desktop on Windows: a container on WSL2's kernel is a container.
        let mut desktop = container("docker");
        desktop.osrelease = "5.15.153.1-microsoft-standard-WSL2".into();
        assert!(matches!(detect(&desktop), Platform::Container { .. }));
    }

    #[test]
    fn an_unprivileged_container_fails_with_the_fix_of_whoever_started_it() {
        let mut plain = container("docker");
        // Docker's default set: no CAP_SYS_ADMIN, no CAP_NET_ADMIN.
        plain.capabilities = Some(0xa804_25fb);
        let found = finding(&plain);
        assert_eq!(found.status, Status::Fail);
        assert!(found.seen.contains("not privileged"), "{}", found.seen);
        assert!(found.fix.contains("--privileged"), "{}", found.fix);

        let mut vscode = plain.clone();
        vscode.vscode_devcontainer = true;
        assert!(finding(&vscode).fix.contains("Rebuild Container"));
        let mut codespace = plain.clone();
        codespace.codespaces = true;
        assert!(finding(&codespace).fix.contains("codespace"));

        let mut unknown = container("podman");
        unknown.capabilities = None;
        assert_eq!(
            traps(&detect(&unknown), &unknown),
            vec![Trap::CapabilitiesUnknown]
        );
        assert_eq!(finding(&unknown).status, Status::Warn);
    }

    #[test]
    fn wsl1_fails_and_wsl2_works() {
        let mut wsl1 = linux();
        wsl1.osrelease = "4.4.0-19041-Microsoft".into();
        wsl1.wsl_distro = Some("Ubuntu".into());
        assert_eq!(detect(&wsl1), Platform::Wsl1);
        let found = finding(&wsl1);
        assert_eq!(found.status, Status::Fail);
        assert!(found.fix.contains("wsl --set-version"), "{}", found.fix);

        let mut wsl2 = linux();
        wsl2.osrelease = "5.15.153.1-microsoft-standard-WSL2".into();
        wsl2.wsl_distro = Some("Debian".into());
        assert_eq!(
            detect(&wsl2),
            Platform::Wsl2 {
                distro: Some("Debian".into())
            }
        );
        let found = finding(&wsl2);
        assert_eq!(
            (found.status, found.seen.as_str()),
            (Status::Ok, "WSL2 (Windows), distribution Debian: works")
        );
    }

    #[test]
    fn wsl2_traps_the_windows_drive_and_an_old_kernel() {
        let mut f = linux();
        f.osrelease = "4.19.128-microsoft-standard".into();
        f.wsl_interop = true;
        f.root = "/mnt/c/Users/ada/netlab".into();
        f.nf_tables = Some(false);
        let platform = detect(&f);
        assert_eq!(platform, Platform::Wsl2 { distro: None });
        assert_eq!(
            traps(&platform, &f),
            vec![Trap::NoNfTables, Trap::WslWindowsDrive]
        );
        let found = finding(&f);
        assert_eq!(found.status, Status::Warn);
        assert!(
            found.seen.contains("/mnt/c/Users/ada/netlab"),
            "{}",
            found.seen
        );
        assert!(found.fix.contains("wsl --update"), "{}", found.fix);
        assert!(found.fix.contains("~/netlab"), "{}", found.fix);
        // Unknown nf_tables is no trap: the lab tries it.
        f.nf_tables = None;
        f.root = "/home/ada/netlab".into();
        assert!(traps(&platform, &f).is_empty());
    }

    #[test]
    fn lima_works_in_its_own_home_and_warns_in_a_shared_folder() {
        let mut f = linux();
        f.hostname = "lima-netlab".into();
        assert_eq!(
            detect(&f),
            Platform::Lima {
                instance: Some("netlab".into())
            }
        );
        assert_eq!(finding(&f).seen, "a Lima VM (netlab): works");
        f.hostname = "mybox".into();
        f.lima_cidata = true;
        assert_eq!(detect(&f), Platform::Lima { instance: None });
        f.root = "/Users/ada/netlab".into();
        f.root_fstype = Some("virtiofs".into());
        let found = finding(&f);
        assert_eq!(found.status, Status::Warn);
        assert!(found.seen.contains("shared from macOS"), "{}", found.seen);
        assert!(found.fix.contains("git clone"), "{}", found.fix);
    }

    #[test]
    fn the_filesystem_of_the_workshop_is_the_longest_mount_above_it() {
        let info = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:35 / /Users/ada rw,relatime - virtiofs mount0 rw
41 22 0:36 / /tmp/lima rw,relatime - 9p mount1 rw
42 40 0:37 / /Users/ada/my\\040dir rw - tmpfs tmpfs rw
";
        let of = |p: &str| fstype_of(info, Path::new(p));
        assert_eq!(of("/home/ada.linux/netlab").as_deref(), Some("ext4"));
        assert_eq!(of("/Users/ada/netlab").as_deref(), Some("virtiofs"));
        assert_eq!(of("/tmp/lima/netlab").as_deref(), Some("9p"));
        assert_eq!(of("/Users/ada/my dir/x").as_deref(), Some("tmpfs"));
        assert_eq!(of("/Users/adam").as_deref(), Some("ext4"));
        assert_eq!(fstype_of("", Path::new("/")), None);
    }
}
