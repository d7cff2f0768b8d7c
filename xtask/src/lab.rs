//! `cargo xtask lab [NN]`: a shell on the lab host of a fresh lab, with the step
//! binaries on PATH and, when a step is named, one of its containers (`c1`) already running in
//! the background. Leaving the shell ends the lab; nothing is left behind.
//!
//! When c1 does not start, the lab says why (what the step binary printed, as `run` shows
//! it) and ends with a failure, instead of waiting for a container that never comes.

use crate::workspace::{self, Paths};
use crate::{build, cli, messages, rootfs, runner, shell};
use anyhow::Result;
use std::process::ExitCode;

/// How long c1 may take to start (its PID file to appear) before the lab gives up on it:
/// well under a check's limit, and far more than a working step needs.
pub const START_LIMIT_SECS: u32 = 10;

/// `enter NAME`: a shell in a running container, written into the lab at its start. The
/// container's shell runs without job control (`+m`): one with job control takes the
/// terminal's foreground for a process group that the lab host's PID namespace cannot give
/// back, and the lab host's shell, reading the terminal again, is stopped (`Stopped cargo
/// xtask lab`). Its prompt is the container's name, as `run`'s is.
const ENTER: &str = r#"#!/bin/sh
# enter [NAME]: a shell in the lab's running container NAME (default c1).
name=${1:-c1}
pid_file="$NETLAB_STATE/containers/$name/pid"
if [ ! -e "$pid_file" ]; then
    echo "enter: no container '$name' runs in this lab (ls $NETLAB_STATE/containers)" >&2
    exit 1
fi
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- /bin/sh +m -i
exec nsenter -t "$(cat "$pid_file")" -m -u -i -n -p -r -w -- \
    /bin/env -i PATH=/bin:/sbin HOME=/root HOSTNAME="$name" TERM="${TERM:-dumb}" PS1="$name# " "$@"
"#;

pub fn main(args: cli::Lab) -> Result<ExitCode> {
    if args.sudo {
        anyhow::bail!(messages::LAB_NO_SUDO);
    }
    let paths = Paths::new();
    let step = match &args.step {
        Some(arg) => Some(workspace::one(&paths, arg)?),
        None => None,
    };
    build::workspace()?;
    rootfs::ensure(&paths)?;
    let bin_dir = paths.target.join("debug");
    let checker_args = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        script(
            &bin_dir.display().to_string(),
            step.as_ref()
                .map(|step| (step.binary(args.solution), &step.lab_c1[..])),
        ),
    ];
    let status = runner::interactive(&paths, false, "run", &checker_args)?;
    Ok(runner::exit_code(status))
}

/// The lab host's script: PATH, `enter`, c1 (the step's binary and what `lab-c1` declares)
/// started and waited for, the banner, then the shell.
fn script(bin_dir: &str, c1: Option<(String, &[String])>) -> String {
    let mut script = format!(
        "lab_bin=\"$NETLAB_STATE/lab-bin\"\n\
         mkdir -p \"$lab_bin\" && cat > \"$lab_bin/enter\" <<'NETLAB_ENTER' && chmod +x \"$lab_bin/enter\" || exit 1\n\
         {ENTER}NETLAB_ENTER\n\
         export PATH=\"$lab_bin\":{bin_dir}:$PATH PS1='lab# '\n"
    );
    if let Some((binary, c1)) = c1 {
        // What c1 runs comes from the step's declaration (`lab-c1`): from step 06 on, a page
        // on a published port. Its output goes to a log, shown when it does not start; its
        // exit status to a file beside it (`kill -0` cannot tell: an ended child is a zombie).
        let words = shell::words(c1);
        let ticks = START_LIMIT_SECS * 20;
        let failed = shell::words(&[messages::lab_c1_failed(&binary)]);
        let slow = shell::words(&[messages::lab_c1_slow(&binary, START_LIMIT_SECS)]);
        let runs = messages::lab_c1_runs(&binary, "$(cat \"$pid_file\")");
        script.push_str(&format!(
            "log=\"$NETLAB_STATE/c1.log\" pid_file=\"$NETLAB_STATE/containers/c1/pid\"\n\
             ({binary} run --name c1 {words} </dev/null >\"$log\" 2>&1; echo $? >\"$log.status\") &\n\
             tick=0\n\
             while [ ! -e \"$pid_file\" ]; do\n\
             \tif [ -e \"$log.status\" ]; then cat \"$log\" >&2; echo {failed} >&2; exit 1; fi\n\
             \ttick=$((tick + 1))\n\
             \tif [ $tick -gt {ticks} ]; then cat \"$log\" >&2; echo {slow} >&2; exit 1; fi\n\
             \tsleep 0.05\n\
             done\n\
             echo \"{runs}\"\n"
        ));
    }
    script.push_str(&format!(
        "echo {}\nexec /bin/sh +m -i\n",
        shell::words(&[messages::LAB_HOST])
    ));
    script
}
