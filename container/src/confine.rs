//! What the container's command may do, applied after the learner's in-container hook (which
//! keeps every privilege networking needs, as a CNI plugin runs before the workload) and just
//! before `exec`. It follows Docker's default, in this order:
//!
//! 1. [`protect_kernel_files`]: `/proc/sys` and a few other kernel knobs read-only, kernel
//!    memory, keys and timer information masked (`/proc/kcore`, `/proc/keys`, ...);
//! 2. [`drop_capabilities`]: Docker's 14 capabilities, bounding set included, so no
//!    `CAP_SYS_ADMIN` (mount, sethostname, namespaces), `CAP_SYS_MODULE`, `CAP_SYS_RAWIO`,
//!    `CAP_NET_ADMIN`; root in the container is a much smaller root;
//! 3. `no_new_privs`: no setuid binary, no file capability gives anything back;
//! 4. [`install_seccomp`]: a filter that answers `EPERM` to the system calls a container has no
//!    business making (mount, keyctl, bpf, kexec, module loading, new namespaces, ...).

use anyhow::{bail, Context, Result};
use nix::mount::{mount, MsFlags};
use std::path::Path;

/// Made read-only in the container: kernel settings that are not the container's own.
const READ_ONLY: [&str; 5] = [
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/proc/irq",
    "/proc/bus",
    "/proc/fs",
];

/// Hidden from the container (`/dev/null` over a file, an empty read-only tmpfs over a
/// directory): the kernel's memory, its keyrings, its timers and hardware details.
const MASKED: [&str; 11] = [
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/latency_stats",
    "/proc/acpi",
    "/proc/scsi",
    "/proc/asound",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Runs inside the container's root, after `pivot_root`, while the runtime still has every
/// capability. Paths this kernel does not have are skipped; any other failure stops the
/// container (it would run less confined than it says).
pub fn protect_kernel_files() -> Result<()> {
    let none: Option<&str> = None;
    for path in READ_ONLY.map(Path::new) {
        if !path.exists() {
            continue;
        }
        mount(
            Some(path),
            path,
            none,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            none,
        )
        .with_context(|| format!("bind-mounting {} on itself", path.display()))?;
        crate::rootfs::remount_read_only(path)?;
    }
    for path in MASKED.map(Path::new) {
        let Ok(meta) = path.metadata() else {
            continue;
        };
        if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                Some("size=0"),
            )
        } else {
            mount(Some("/dev/null"), path, none, MsFlags::MS_BIND, none)
        }
        .with_context(|| format!("masking {}", path.display()))?;
    }
    Ok(())
}

/// Capability numbers (linux/capability.h) of Docker's default set.
mod cap {
    pub const CHOWN: u32 = 0;
    pub const DAC_OVERRIDE: u32 = 1;
    pub const FOWNER: u32 = 3;
    pub const FSETID: u32 = 4;
    pub const KILL: u32 = 5;
    pub const SETGID: u32 = 6;
    pub const SETUID: u32 = 7;
    pub const SETPCAP: u32 = 8;
    pub const NET_BIND_SERVICE: u32 = 10;
    pub const NET_RAW: u32 = 13;
    pub const SYS_CHROOT: u32 = 18;
    pub const MKNOD: u32 = 27;
    pub const AUDIT_WRITE: u32 = 29;
    pub const SETFCAP: u32 = 31;
}

/// Docker's default capabilities. `NET_RAW` is what `ping` needs, `NET_BIND_SERVICE` what a
/// server on port 80 needs. `MKNOD` stays as in Docker, where the device cgroup forbids
/// opening the nodes; here the seccomp filter refuses to make block or character devices.
const KEEP: [u32; 14] = [
    cap::CHOWN,
    cap::DAC_OVERRIDE,
    cap::FSETID,
    cap::FOWNER,
    cap::MKNOD,
    cap::NET_RAW,
    cap::SETGID,
    cap::SETUID,
    cap::SETFCAP,
    cap::SETPCAP,
    cap::NET_BIND_SERVICE,
    cap::SYS_CHROOT,
    cap::KILL,
    cap::AUDIT_WRITE,
];

/// The kept set as the kernel's bit mask (`CapEff` in `/proc/self/status`: 00000000a80425fb).
pub const KEPT_MASK: u64 = {
    let mut mask = 0u64;
    let mut i = 0;
    while i < KEEP.len() {
        mask |= 1 << KEEP[i];
        i += 1;
    }
    mask
};

/// Drops every capability outside [`KEEP`] from the bounding set (so `exec` cannot give it
/// back, even to root), then sets effective and permitted to [`KEEP`]. Inheritable and ambient
/// are emptied, as Docker does since CVE-2022-24769.
pub fn drop_capabilities() -> Result<()> {
    for cap in 0..64u32 {
        if KEEP.contains(&cap) {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let done = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
        if done != 0 {
            match nix::errno::Errno::last() {
                // Past the kernel's last capability.
                nix::errno::Errno::EINVAL => break,
                e => return Err(e).with_context(|| format!("dropping capability {cap}")),
            }
        }
    }
    // SAFETY: prctl with integer arguments only.
    let cleared = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // EINVAL: a kernel before 4.3, which has no ambient set.
    if cleared != 0 && nix::errno::Errno::last() != nix::errno::Errno::EINVAL {
        return Err(nix::errno::Errno::last()).context("clearing the ambient capabilities");
    }
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let low = Data {
        effective: KEPT_MASK as u32,
        permitted: KEPT_MASK as u32,
        inheritable: 0,
    };
    let high = Data {
        effective: (KEPT_MASK >> 32) as u32,
        permitted: (KEPT_MASK >> 32) as u32,
        inheritable: 0,
    };
    let data = [low, high];
    // SAFETY: capset(2) reads one header and two data structs of the layout declared above.
    let done =
        unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if done != 0 {
        return Err(nix::errno::Errno::last()).context("capset to Docker's default set");
    }
    Ok(())
}

/// `no_new_privs`: from here on, `exec` never grants more than the process has (setuid bits
/// and file capabilities are ignored). Seccomp without `CAP_SYS_ADMIN` requires it too.
pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(nix::errno::Errno::last()).context("PR_SET_NO_NEW_PRIVS");
    }
    Ok(())
}

/// The audit architecture the filter accepts: system calls of any other ABI (32-bit x86 on an
/// x86_64 kernel, for example) would have other numbers, so they end the process.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!(
    "the container's seccomp filter knows x86_64 and aarch64: add this architecture's \
     AUDIT_ARCH and system call lists in container/src/confine.rs"
);

/// System calls refused with `EPERM`, whatever their arguments: changing mounts (the new mount
/// API too), the kernel itself (modules, kexec, reboot, swap, the clock, accounting), its
/// larger attack surface (bpf, perf, io_uring, userfaultfd, keyrings), other namespaces,
/// file handles that escape a bind mount, and tracing (nothing in the busybox root needs it).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const DENIED: &[libc::c_long] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_open_by_handle_at,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_userfaultfd,
    libc::SYS_lookup_dcookie,
    libc::SYS_quotactl,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_fanotify_init,
    libc::SYS_syslog,
    libc::SYS_vhangup,
];

/// The same, for system calls only x86_64 has (port I/O, the old sysctl and NFS interfaces, uselib).
#[cfg(target_arch = "x86_64")]
const DENIED_ARCH: &[libc::c_long] = &[
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS__sysctl,
    libc::SYS_uselib,
    libc::SYS_nfsservctl,
];
#[cfg(target_arch = "aarch64")]
const DENIED_ARCH: &[libc::c_long] = &[];

/// `clone` flags that make new namespaces (Docker's mask): refused, like `unshare`.
/// `CLONE_NEWTIME` is not among them: in `clone`'s flags that bit is part of the exit signal.
const CLONE_NAMESPACES: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// The only `personality(2)` values allowed (Docker's): Linux, its 32-bit and uname-2.6
/// variants, and the query. Others switch on odd kernel behaviour (READ_IMPLIES_EXEC, ...).
const PERSONALITIES: [u32; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// Where `seccomp_data` keeps the system call number, the architecture and the low half of
/// each argument (little-endian 64-bit machines).
const NR: u32 = 0;
const ARCH: u32 = 4;
fn arg_low(i: u32) -> u32 {
    16 + 8 * i
}

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

const LOAD: u32 = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
const IF_EQUAL: u32 = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
const IF_ANY_BIT: u32 = libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K;
const IF_AT_LEAST: u32 = libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K;
const RETURN: u32 = libc::BPF_RET | libc::BPF_K;
const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA)
}

/// `S_IFMT` bits of a block or character device in `mknod`'s mode.
const DEVICE_TYPES: [u32; 2] = [libc::S_IFBLK, libc::S_IFCHR];

/// The filter, as classic BPF: check the architecture, refuse [`DENIED`] and [`DENIED_ARCH`],
/// `clone3` with `ENOSYS` (its flags are in memory a filter cannot read, so callers fall back
/// to `clone`, as under Docker), `clone` with namespace flags, device nodes from `mknod`, and
/// unusual personalities; allow everything else.
pub fn filter() -> Vec<libc::sock_filter> {
    let mut prog = vec![
        stmt(LOAD, ARCH),
        jump(IF_EQUAL, AUDIT_ARCH, 1, 0),
        stmt(RETURN, KILL),
        stmt(LOAD, NR),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        // The x32 ABI: the same architecture, numbers with bit 30 set.
        const X32_SYSCALL_BIT: u32 = 0x4000_0000;
        prog.push(jump(IF_AT_LEAST, X32_SYSCALL_BIT, 0, 1));
        prog.push(stmt(RETURN, errno(libc::EPERM)));
    }
    for &nr in DENIED.iter().chain(DENIED_ARCH) {
        prog.push(jump(IF_EQUAL, nr as u32, 0, 1));
        prog.push(stmt(RETURN, errno(libc::EPERM)));
    }
    prog.push(jump(IF_EQUAL, libc::SYS_clone3 as u32, 0, 1));
    prog.push(stmt(RETURN, errno(libc::ENOSYS)));
    // clone(flags, ...): the flags are the first argument on both architectures.
    prog.extend([
        jump(IF_EQUAL, libc::SYS_clone as u32, 0, 4),
        stmt(LOAD, arg_low(0)),
        jump(IF_ANY_BIT, CLONE_NAMESPACES, 0, 1),
        stmt(RETURN, errno(libc::EPERM)),
        stmt(RETURN, ALLOW),
    ]);
    // mknod(path, mode, dev) and mknodat(dirfd, path, mode, dev): no block or character
    // devices (FIFOs and sockets stay possible).
    #[cfg(target_arch = "x86_64")]
    let mknods = [(libc::SYS_mknod, 1), (libc::SYS_mknodat, 2)];
    #[cfg(target_arch = "aarch64")]
    let mknods = [(libc::SYS_mknodat, 2)];
    for (nr, mode) in mknods {
        prog.extend([
            jump(IF_EQUAL, nr as u32, 0, 6),
            stmt(LOAD, arg_low(mode)),
            stmt(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, libc::S_IFMT),
            jump(IF_EQUAL, DEVICE_TYPES[0], 2, 0),
            jump(IF_EQUAL, DEVICE_TYPES[1], 1, 0),
            stmt(RETURN, ALLOW),
            stmt(RETURN, errno(libc::EPERM)),
        ]);
    }
    // personality(persona): last, so that "not personality" falls through to the final allow.
    let count = PERSONALITIES.len() as u8;
    prog.push(jump(IF_EQUAL, libc::SYS_personality as u32, 0, count + 2));
    prog.push(stmt(LOAD, arg_low(0)));
    for (i, &persona) in PERSONALITIES.iter().enumerate() {
        // Allowed: jump over the remaining comparisons and the refusal, to the allow.
        prog.push(jump(IF_EQUAL, persona, count - i as u8, 0));
    }
    prog.push(stmt(RETURN, errno(libc::EPERM)));
    prog.push(stmt(RETURN, ALLOW));
    prog
}

/// Installs [`filter`] for this process and whatever it execs. Needs `no_new_privs` (or
/// `CAP_SYS_ADMIN`, which the container no longer has).
pub fn install_seccomp() -> Result<()> {
    let prog = filter();
    let Ok(len) = u16::try_from(prog.len()) else {
        bail!(
            "the seccomp filter has {} instructions, too many",
            prog.len()
        );
    };
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: the kernel copies the program; `prog` outlives the call.
    let done = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
            0,
            0,
        )
    };
    if done != 0 {
        return Err(nix::errno::Errno::last()).context("installing the seccomp filter");
    }
    Ok(())
}

/// Everything after the kernel files: capabilities, `no_new_privs`, seccomp, in that order
/// (dropping capabilities needs `CAP_SETPCAP`; the filter needs `no_new_privs`).
pub fn lock_down() -> Result<()> {
    drop_capabilities()?;
    set_no_new_privs()?;
    install_seccomp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_capabilities_are_dockers_default() {
        assert_eq!(KEPT_MASK, 0xa804_25fb);
    }

    #[test]
    fn every_jump_of_the_filter_lands_inside_it_and_it_ends_in_a_return() {
        let prog = filter();
        assert!(prog.len() < usize::from(u16::MAX));
        for (i, insn) in prog.iter().enumerate() {
            if u32::from(insn.code) & 0x07 == libc::BPF_JMP {
                for offset in [insn.jt, insn.jf] {
                    assert!(i + 1 + usize::from(offset) < prog.len(), "jump at {i}");
                }
            }
        }
        let last = prog.last().map(|insn| (u32::from(insn.code), insn.k));
        assert_eq!(last, Some((RETURN, ALLOW)));
    }

    /// The errno of a raw system call, or 0 when it succeeded.
    fn errno_of(result: libc::c_long) -> i32 {
        if result < 0 {
            nix::errno::Errno::last_raw()
        } else {
            0
        }
    }

    /// Installs the filter in a forked child and makes each call there; the child's exit
    /// status is the index of the first call that was answered otherwise than expected
    /// (0: all were). Only system calls, no allocation, in the child.
    #[test]
    fn the_filter_refuses_what_it_says_and_allows_the_rest() {
        let scratch = tempfile::tempdir().expect("a scratch directory");
        let dir = scratch.path().to_path_buf();
        let fifo =
            std::ffi::CString::new(dir.join("fifo").to_string_lossy().as_bytes()).expect("no NUL");
        let block =
            std::ffi::CString::new(dir.join("sda").to_string_lossy().as_bytes()).expect("no NUL");
        let target = c"/tmp";
        let tmpfs = c"tmpfs";
        let prog = filter();
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr().cast_mut(),
        };
        // SAFETY: the child makes raw system calls only, then _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: raw system calls with valid pointers that outlive them.
            unsafe {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(
                        libc::PR_SET_SECCOMP,
                        libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                        &fprog as *const libc::sock_fprog,
                        0,
                        0,
                    ) != 0
                {
                    libc::_exit(100);
                }
                // Each errno is read right after its call.
                let calls: [(i32, i32); 10] = [
                    (
                        errno_of(libc::syscall(
                            libc::SYS_mount,
                            tmpfs.as_ptr(),
                            target.as_ptr(),
                            tmpfs.as_ptr(),
                            0,
                            0,
                        )),
                        libc::EPERM,
                    ),
                    (
                        errno_of(libc::syscall(libc::SYS_unshare, libc::CLONE_NEWNET)),
                        libc::EPERM,
                    ),
                    (
                        errno_of(libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0)),
                        libc::EPERM,
                    ),
                    (errno_of(libc::syscall(libc::SYS_bpf, 0, 0, 0)), libc::EPERM),
                    (
                        errno_of(libc::syscall(libc::SYS_clone3, 0, 0)),
                        libc::ENOSYS,
                    ),
                    (
                        errno_of(libc::syscall(libc::SYS_personality, 0x0040_0000)),
                        libc::EPERM,
                    ),
                    (
                        errno_of(libc::syscall(libc::SYS_personality, 0xffff_ffffu32)),
                        0,
                    ),
                    (
                        errno_of(libc::syscall(
                            libc::SYS_mknodat,
                            libc::AT_FDCWD,
                            block.as_ptr(),
                            libc::S_IFBLK | 0o600,
                            libc::makedev(8, 0),
                        )),
                        libc::EPERM,
                    ),
                    (
                        errno_of(libc::syscall(
                            libc::SYS_mknodat,
                            libc::AT_FDCWD,
                            fifo.as_ptr(),
                            libc::S_IFIFO | 0o600,
                            0,
                        )),
                        0,
                    ),
                    (errno_of(libc::syscall(libc::SYS_getpid)), 0),
                ];
                for (i, (result, expected)) in calls.iter().enumerate() {
                    if result != expected {
                        libc::_exit(i as i32 + 1);
                    }
                }
                // clone with a namespace flag; were it allowed, the new child leaves at once.
                let cloned = libc::syscall(
                    libc::SYS_clone,
                    (libc::CLONE_NEWNET | libc::SIGCHLD) as libc::c_ulong,
                    0,
                    0,
                    0,
                    0,
                );
                if cloned == 0 {
                    libc::_exit(0);
                }
                if errno_of(cloned) != libc::EPERM {
                    libc::_exit(50);
                }
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            libc::WIFEXITED(status),
            "the child ended by a signal: {status}"
        );
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "exit status = the failing call's number (1-based), 50: clone, 100: installing"
        );
    }
}
