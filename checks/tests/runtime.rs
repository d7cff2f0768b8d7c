//! The container runtime's contract, observed through `checker run` in a lab: the command's
//! exit status is the step binary's, each container has its hostname and its own /etc, the
//! command is confined like Docker's default (capabilities, no_new_privs, seccomp, read-only
//! and masked kernel files) and cannot change the shared base root filesystem, and a step
//! binary outside a lab refuses to start; a container with a network namespace of its own is
//! IPv4-only (lo keeps ::1).

mod common;

use common::{paths, run, Ran};
use std::process::Command;
use std::time::Duration;

/// Runs a shell script on the lab host of a fresh lab, with `$BIN` the solution of step 01.
fn in_lab(script: &str) -> Ran {
    let mut command = common::lab_script(script);
    command.env("BIN", paths().bin("solution01"));
    run(&mut command, Duration::from_secs(60))
}

#[test]
fn the_command_exit_status_is_the_step_binary_exit_status() {
    let ran = in_lab("$BIN run --name c1 -- sh -c 'exit 7'");
    assert_eq!(ran.code, 7, "{}", ran.describe());
    let ran = in_lab("$BIN run --name c1 -- /no/such/program");
    assert_eq!(ran.code, 127, "{}", ran.describe());
    assert!(
        ran.stderr.contains("cannot run '/no/such/program'"),
        "{}",
        ran.describe()
    );
}

#[test]
fn each_container_has_its_hostname_and_its_own_etc() {
    let ran = in_lab(
        "$BIN run --name first -- sh -c 'hostname; echo mine > /etc/marker' && \
         $BIN run --name second -- sh -c 'hostname; cat /etc/marker 2>/dev/null || echo clean'",
    );
    assert_eq!(ran.stdout, "first\nsecond\nclean\n", "{}", ran.describe());
}

#[test]
fn a_killed_container_ends_the_step_binary_with_its_signal() {
    // SIGKILL to the container's first process, from the lab host: the step binary reports
    // 128 + 9 and removes the container's state.
    let ran = in_lab(
        "$BIN run --name c1 -- sleep 30 & \
         while [ ! -e $NETLAB_STATE/containers/c1/pid ]; do sleep 0.01; done; \
         kill -9 $(cat $NETLAB_STATE/containers/c1/pid); wait $!; echo status=$?; \
         ls $NETLAB_STATE/containers",
    );
    assert_eq!(ran.stdout, "status=137\n", "{}", ran.describe());
}

#[test]
fn joining_a_network_needs_a_running_container_and_a_hook_that_enters_it() {
    // No such container; a stale PID file (its process gone); a running one, joined by step
    // 01's hooks, which never enter another namespace: the runtime refuses to run the command
    // in the lab host's. Each refusal is one line, and the command never runs.
    let ran = in_lab(
        "$BIN run --name c2 --net container:nobody -- echo ran; echo status=$?; \
         mkdir -p $NETLAB_STATE/containers/ghost && echo 999999 > $NETLAB_STATE/containers/ghost/pid; \
         $BIN run --name c3 --net container:ghost -- echo ran; echo status=$?; \
         $BIN run --name c1 -- sleep 30 & \
         while [ ! -e $NETLAB_STATE/containers/c1/pid ]; do sleep 0.01; done; \
         $BIN run --name c4 --net container:c1 -- echo ran; echo status=$?; \
         kill $!; wait",
    );
    assert_eq!(
        ran.stdout,
        "status=125\nstatus=125\nstatus=125\n",
        "{}",
        ran.describe()
    );
    for line in [
        "netlab: --net container:nobody: no container named 'nobody' runs in this lab",
        "netlab: --net container:ghost: container 'ghost' is not running (its process 999999 is gone)",
        "netlab: in the container: the container is still in the lab host's network namespace: \
         joining container c1's (--net container:c1) must enter its namespace (setns)",
    ] {
        assert!(ran.stderr.contains(line), "{line}\n{}", ran.describe());
    }
}

#[test]
fn a_step_binary_outside_a_lab_refuses_to_start() {
    let output = Command::new(paths().bin("solution01"))
        .args(["run", "--", "true"])
        .env_remove("NETLAB_STATE")
        .env_remove("NETLAB_ROOTFS")
        .output()
        .expect("run the step binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("cargo xtask run NN"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// What the container's command sees of its own confinement, and what it is refused, one
/// `name:result` line each. The drop_caches write is only tried once /proc/sys shows as
/// read-only, so a runtime that failed to confine never drops the machine's caches.
const CONFINEMENT_PROBES: &str = r#"
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr '\t' ' '
try() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name:allowed"; else echo "$name:refused"; fi; }
try mknod-block mknod /tmp/sda b 8 0
try mknod-char mknod /tmp/mem c 1 1
try mkfifo mkfifo /tmp/fifo
try sysctl-net sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
if awk '$5 == "/proc/sys" && $6 ~ /^ro/ { found = 1 } END { exit !found }' /proc/self/mountinfo; then
  try drop-caches sh -c 'echo 1 > /proc/sys/vm/drop_caches'
else
  echo 'drop-caches:not tried, /proc/sys is writable'
fi
try remount-bin-rw mount -o remount,rw,bind /bin
try write-bin sh -c 'echo planted > /bin/ping'
try plant-bin sh -c 'echo planted > /bin/planted'
try remount-sys-rw mount -o remount,rw /sys
try mount-tmpfs mount -t tmpfs none /tmp
try unshare-net unshare -n true
try unshare-user unshare -U true
try sethostname hostname other
for path in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/acpi /proc/scsi /sys/firmware; do
  if [ ! -e $path ] || grep -q " $path " /proc/self/mountinfo; then echo "$path:masked"; else echo "$path:visible"; fi
done
try ping ping -c 1 -W 2 127.0.0.1
try httpd-port-80 httpd -p 80 -h /tmp
try dev-urandom sh -c '[ "$(head -c 4 /dev/urandom | wc -c)" = 4 ]'
try umount-proc umount /proc
"#;

#[test]
fn the_command_is_confined_like_dockers_default_and_cannot_change_the_base_rootfs() {
    let ran = in_lab(&format!(
        "$BIN run --name c1 -- sh -c '{}' && \
         ls $NETLAB_ROOTFS/bin/planted 2>/dev/null; readlink $NETLAB_ROOTFS/bin/ping",
        CONFINEMENT_PROBES.replace('\'', r"'\''")
    ));
    let expected = "\
CapInh: 0000000000000000
CapPrm: 00000000a80425fb
CapEff: 00000000a80425fb
CapBnd: 00000000a80425fb
CapAmb: 0000000000000000
NoNewPrivs: 1
Seccomp: 2
mknod-block:refused
mknod-char:refused
mkfifo:allowed
sysctl-net:refused
drop-caches:refused
remount-bin-rw:refused
write-bin:refused
plant-bin:refused
remount-sys-rw:refused
mount-tmpfs:refused
unshare-net:refused
unshare-user:refused
sethostname:refused
/proc/kcore:masked
/proc/keys:masked
/proc/timer_list:masked
/proc/sched_debug:masked
/proc/acpi:masked
/proc/scsi:masked
/sys/firmware:masked
ping:allowed
httpd-port-80:allowed
dev-urandom:allowed
umount-proc:refused
busybox
";
    assert_eq!(ran.stdout, expected, "{}", ran.describe());
}

#[test]
fn a_container_with_a_network_of_its_own_is_ipv4_only_but_lo_keeps_its_ipv6() {
    // As Docker on a network without IPv6: off on eth0 (no link-local address, no multicast
    // for a bridge to flood to every container) and for interfaces to come; lo keeps ::1.
    let mut command = common::lab_script(
        "$BIN run --name c1 -- sh -c 'cd /proc/sys/net/ipv6/conf; \
         cat eth0/disable_ipv6 default/disable_ipv6 lo/disable_ipv6; \
         awk \"{print \\$6}\" /proc/net/if_inet6'",
    );
    command.env("BIN", paths().bin("solution03"));
    let ran = run(&mut command, Duration::from_secs(60));
    assert_eq!(ran.stdout, "1\n1\n0\nlo\n", "{}", ran.describe());
}
