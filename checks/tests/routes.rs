//! Step 03's `routes` check compares a container's routing table with a constant,
//! `s03::EXPECTED_ROUTES`. This test keeps that constant honest: it runs step 03's solution in
//! a fresh lab, reads its container's table (`ip -j route`, from the lab host, in the
//! container's network namespace), normalises it as the check does, and compares it with a
//! snapshot (`snapshots/routes__solution_routes.snap`) and with the constant.
//!
//! After a deliberate change to the solution's routes, review the new snapshot with
//! `INSTA_UPDATE=always cargo test -p checks --test routes`, then update the constant.

mod common;

use checks::steps::s03::{normalise_routes, EXPECTED_ROUTES};
use common::{paths, run, step};
use std::time::Duration;

/// On the lab host: start the solution's container in the background, wait for its PID file,
/// print its routing table as JSON, stop it.
fn script() -> String {
    format!(
        "set -e\ntrap 'kill $background 2>/dev/null || true' EXIT\n{}\
         nsenter -t \"$(cat \"$pid_file\")\" -n ip -j route show\n\
         kill $background\nwait $background || true\ntrap - EXIT\n",
        common::start_c1("-- sleep 30")
    )
}

#[test]
fn solution_routes() {
    let mut command = common::lab_script(&script());
    command.env("BIN", paths().bin(&step("03").decl.binary(true)));
    let ran = run(&mut command, Duration::from_secs(60));
    assert_eq!(ran.code, 0, "{}", ran.describe());
    let routes =
        normalise_routes(&ran.stdout).unwrap_or_else(|e| panic!("{e:#}\n{}", ran.describe()));
    insta::assert_snapshot!(routes);
    assert_eq!(
        routes, EXPECTED_ROUTES,
        "the routes check expects another table than the solution makes: update \
         s03::EXPECTED_ROUTES (checks/src/steps/s03.rs)"
    );
}
