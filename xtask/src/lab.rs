//! `cargo xtask lab [NN]`: a shell on the lab host of a fresh lab, with the step
//! binaries on PATH and, when a step is named, one of its containers (`c1`) already running in
//! the background. Leaving the shell ends the lab; nothing is left behind.

use crate::workspace::{self, Paths};
use crate::{build, cli, rootfs, runner, shell};
use anyhow::Result;
use std::process::ExitCode;

pub fn main(args: cli::Lab) -> Result<ExitCode> {
    let paths = Paths::new();
    let step = match &args.step {
        Some(arg) => Some(workspace::one(&paths, arg)?),
        None => None,
    };
    build::workspace()?;
    rootfs::ensure(&paths)?;
    let bin_dir = paths.target.join("debug");
    let mut script = format!("export PATH={}:$PATH PS1='lab# '\n", bin_dir.display());
    if let Some(step) = &step {
        let binary = step.binary(args.solution);
        // What c1 runs comes from the step's declaration (`lab-c1`): from step 06 on, a page
        // on a published port.
        let c1 = shell::words(&step.lab_c1);
        script.push_str(&format!(
            "{binary} run --name c1 {c1} >/dev/null 2>&1 &\n\
             while [ ! -e \"$NETLAB_STATE/containers/c1/pid\" ]; do sleep 0.05; done\n\
             echo \"lab: container c1 of {binary} runs (PID $(cat $NETLAB_STATE/containers/c1/pid)); \
             enter it with: nsenter -t $(cat $NETLAB_STATE/containers/c1/pid) -m -u -i -n -p -r -w /bin/sh\"\n"
        ));
    }
    script.push_str(
        "echo 'lab: this shell is the lab host; exit ends the lab; `cargo xtask show` in another \
         terminal draws it'\nexec /bin/sh +m -i\n",
    );
    let checker_args = vec!["/bin/sh".to_string(), "-c".to_string(), script];
    let status = runner::checker(&paths, args.sudo, "run", &checker_args)?;
    Ok(runner::exit_code(status))
}
