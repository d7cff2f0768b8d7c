//! Step 08's binary. This file only wires your code in: your work is in `src/oci_hook.rs`.
//! `run` writes an OCI bundle and runs real runc; runc runs this same binary as its hooks.

use step08_oci_hook as step;

fn main() -> std::process::ExitCode {
    step::given::main(step::given::Hooks {
        read_state: step::read_state,
        create_runtime: step::create_runtime,
        poststop: step::poststop,
    })
}
