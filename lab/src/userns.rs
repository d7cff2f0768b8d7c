//! Becoming root in a user namespace of our own, so that learners never need sudo.

use anyhow::{anyhow, Context, Result};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid};
use std::fs;

/// How the lab got its privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Really root (CI, or the runner started through sudo).
    Root,
    /// An ordinary user, mapped to root in a user namespace of its own.
    UserNamespace,
}

/// Call first, while the process has a single thread. As root this does nothing; otherwise it
/// enters a new user namespace in which the caller is root.
pub fn become_root() -> Result<Privilege> {
    if geteuid().is_root() {
        return Ok(Privilege::Root);
    }
    let (uid, gid) = (geteuid(), getegid());
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| anyhow!("{}", explain(Some(e))))?;
    let write = |file: &str, text: String| {
        fs::write(format!("/proc/self/{file}"), text)
            .with_context(|| format!("writing /proc/self/{file}"))
            .map_err(|e| anyhow!("{} ({e:#})", explain(None)))
    };
    write("uid_map", format!("0 {uid} 1\n"))?;
    write("setgroups", "deny\n".to_string())?;
    write("gid_map", format!("0 {gid} 1\n"))?;
    Ok(Privilege::UserNamespace)
}

/// One line: why unprivileged namespaces fail here, and the two ways out.
pub fn explain(error: Option<nix::Error>) -> String {
    explain_with(error, |path| {
        fs::read_to_string(path).map(|s| s.trim().to_string()).ok()
    })
}

/// [`explain`], reading the kernel's settings through `read` (a path to its trimmed content).
pub fn explain_with(error: Option<nix::Error>, read: impl Fn(&str) -> Option<String>) -> String {
    let is = |path: &str, value: &str| read(path).as_deref() == Some(value);
    let (cause, allow) = if is(
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        "1",
    ) {
        (
            "AppArmor restricts unprivileged user namespaces (Ubuntu 23.10 and later)",
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
        )
    } else if is("/proc/sys/kernel/unprivileged_userns_clone", "0") {
        (
            "kernel.unprivileged_userns_clone is 0",
            "sudo sysctl -w kernel.unprivileged_userns_clone=1",
        )
    } else if is("/proc/sys/user/max_user_namespaces", "0") {
        (
            "user.max_user_namespaces is 0",
            "sudo sysctl -w user.max_user_namespaces=15000",
        )
    } else {
        (
            "the kernel refused it (inside a container without privileges?)",
            "",
        )
    };
    let errno = error.map(|e| format!(": {e}")).unwrap_or_default();
    let allow = if allow.is_empty() {
        String::new()
    } else {
        format!("allow them with `{allow}`, or ")
    };
    format!(
        "cannot create the lab's user namespace as an ordinary user{errno}: {cause}; {allow}let \
         only the check runner use sudo with `--sudo` (never `sudo cargo`); `cargo xtask doctor` \
         says more"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explain_for(path: &'static str, value: &'static str) -> String {
        explain_with(Some(nix::Error::EPERM), move |p| {
            (p == path).then(|| value.to_string())
        })
    }

    #[test]
    fn names_the_cause_and_both_fixes_on_one_line() {
        for (path, value, cause, fix) in [
            (
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
                "1",
                "AppArmor",
                "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
            ),
            (
                "/proc/sys/kernel/unprivileged_userns_clone",
                "0",
                "unprivileged_userns_clone is 0",
                "sysctl -w kernel.unprivileged_userns_clone=1",
            ),
            (
                "/proc/sys/user/max_user_namespaces",
                "0",
                "max_user_namespaces is 0",
                "sysctl -w user.max_user_namespaces=15000",
            ),
        ] {
            let text = explain_for(path, value);
            assert!(text.contains(cause), "{text}");
            assert!(text.contains(fix), "{text}");
            assert!(
                text.contains("--sudo") && text.contains("never `sudo cargo`"),
                "{text}"
            );
            assert!(text.contains("EPERM"), "{text}");
            assert_eq!(text.lines().count(), 1, "{text}");
        }
    }

    #[test]
    fn an_unknown_cause_still_offers_sudo() {
        let text = explain_with(None, |_| None);
        assert!(text.contains("the kernel refused it"), "{text}");
        assert!(text.contains("--sudo"), "{text}");
    }
}
