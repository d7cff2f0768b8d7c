//! The kernel's side, tried for real: `checker doctor --json` in a throwaway lab. Its answer
//! is a JSON array of findings of the same shape as ours (checks/src/doctor.rs).

use super::{Finding, Status};
use crate::workspace::Paths;
use crate::{rootfs, runner};

/// The lab's findings, after a `lab` one; a failed `lab` finding alone when the lab itself
/// cannot start (or its answer cannot be read).
pub fn findings(paths: &Paths) -> Vec<Finding> {
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
    match serde_json::from_slice::<Vec<Finding>>(&output.stdout) {
        Ok(found) if !found.is_empty() => {
            let mut all = vec![Finding::ok("lab", "a throwaway lab starts and stops")];
            all.extend(found);
            all
        }
        parsed => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
                .or_else(|| {
                    parsed
                        .err()
                        .map(|e| format!("its answer is not findings: {e}"))
                })
                .unwrap_or_else(|| "no answer".to_string());
            lab_failed(format!("the lab did not start ({}): {why}", output.status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Finding, Status};

    #[test]
    fn the_checkers_findings_are_read_as_ours() {
        let answer = r#"[{"name": "veth pairs", "status": "ok", "seen": "works in a lab",
                          "fix": ""},
                         {"name": "bridges", "status": "fail", "seen": "no", "fix": "modprobe"}]"#;
        let found: Vec<Finding> = serde_json::from_str(answer).expect("findings");
        assert_eq!(found[0].status, Status::Ok);
        assert_eq!(
            (found[1].status, found[1].fix.as_str()),
            (Status::Fail, "modprobe")
        );
        assert!(serde_json::from_str::<Vec<Finding>>(r#"[{"name": "x", "status": "?"}]"#).is_err());
    }
}
