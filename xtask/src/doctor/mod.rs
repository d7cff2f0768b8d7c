//! `cargo xtask doctor`: everything that bites on a workshop laptop,
//! each with its fix. First what can be seen from here (tools, sysctls, kernel modules, the
//! platform: native Linux, WSL, Lima, a container or devcontainer), without touching the
//! machine's network: no iptables or nft runs here, only their presence is looked at. Then the checker tries the kernel features for real inside a
//! throwaway lab (where it also asks iptables for its backend).

mod kernel;
mod lab;
mod platform;
mod tools;

use crate::workspace::Paths;
use crate::{build, cli};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::process::ExitCode;

/// How a finding turned out: `ok`, `warn` or `fail` in JSON (ours, and the checker's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but worth knowing (or cannot tell): does not fail the doctor.
    Warn,
    Fail,
}

impl Status {
    fn tag(self) -> &'static str {
        match self {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One finding: what it is about, how it turned out, what was seen, and the fix to apply.
/// The checker's findings (checks/src/doctor.rs) have the same fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub name: String,
    pub status: Status,
    #[serde(default)]
    pub seen: String,
    #[serde(default)]
    pub fix: String,
}

/// `--json`: the whole answer.
#[derive(Serialize)]
struct Report<'a> {
    ready: bool,
    findings: &'a [Finding],
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

pub fn main(args: cli::Doctor) -> Result<ExitCode> {
    let paths = Paths::new();
    let mut findings = host_findings(&paths);
    // The kernel's side, tried for real inside a throwaway lab.
    if !args.no_build {
        build::packages(&["checks".to_string()])?;
    }
    findings.extend(lab::findings(&paths));
    let ready = findings.iter().all(|f| f.status != Status::Fail);
    if args.json {
        let report = Report {
            ready,
            findings: &findings,
        };
        let text = serde_json::to_string_pretty(&report).context("writing the findings as JSON")?;
        println!("{text}");
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
        tools::tool(
            "iproute2",
            "ip",
            Some(&["-V"]),
            "sudo apt-get install iproute2",
        ),
        tools::tool(
            "nsenter",
            "nsenter",
            Some(&["--version"]),
            "sudo apt-get install util-linux",
        ),
        // Never run here: only its presence (the lab asks it for its version and backend).
        tools::tool(
            "iptables",
            "iptables",
            None,
            "sudo apt-get install iptables",
        ),
        tools::busybox(),
        // Step 08's OCI runtime: the step execs it, its hooks wire the container.
        tools::tool(
            "runc",
            "runc",
            Some(&["--version"]),
            "sudo apt-get install runc (or scripts/install-deps)",
        ),
        // Step 09's CNI driver is built from Debian's libcni with Go.
        tools::go_libcni(),
        // Steps 09 and 10 run the CNI reference plugins (host-local for their addresses).
        tools::cni_plugins(),
        kernel::user_namespaces(),
    ];
    findings.extend(kernel::modules());
    findings.push(platform::finding(&platform::Facts::read(
        &paths.root,
        kernel::nf_tables(),
    )));
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
