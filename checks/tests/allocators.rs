//! Step 10's given allocator shares host-local's records with the other containers' host-local
//! runs, and looks for the leases of dead owners without host-local's lock. host-local
//! creates an address's file first and writes its owner's ID into it after: a record still
//! empty is a reservation being written, nobody's lease to take back. Taken for a lease of a
//! dead owner, it made a container start fail now and then when eight started at once
//! (`host-local DEL failed: invalid characters in containerID`, in 10.concurrent). Here the
//! record being written is left in place, so the moment is not a race to win.

mod common;

use common::{paths, run};
use std::time::Duration;

#[test]
fn a_record_being_written_is_no_lease_of_a_dead_owner() {
    let script = "records=$NETLAB_STATE/ipam/routed; mkdir -p $records; : > $records/10.0.1.2; \
         out=$($BIN run --name c1 -- ip -4 addr show dev eth0); echo status=$?; \
         echo \"$out\" | grep -o 'inet [0-9./]*'; ls $records | grep -c '^10\\.0\\.1\\.2$'";
    let mut command = common::lab_script(script);
    command.env("BIN", paths().bin("solution10"));
    let ran = run(&mut command, Duration::from_secs(60));
    // The container starts, host-local gives it the next free address, and the record being
    // written is still there, untouched.
    assert_eq!(
        ran.stdout,
        "status=0\ninet 10.0.1.3/32\n1\n",
        "{}",
        ran.describe()
    );
}
