//! Running the network tools (`ip`, `iptables`, `nsenter`) with errors that say what failed.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// Where the network tools live on Debian, Ubuntu and friends; ordinary users' PATH often
/// lacks the sbin directories.
pub const TOOL_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs `program args...`, returning its standard output; a failure carries its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    run_command(Command::new(program), program, args)
}

/// Runs `command` (made for `program`) with `args`, returning its standard output; a failure
/// carries its stderr.
pub fn run_command(mut command: Command, program: &str, args: &[&str]) -> Result<String> {
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {program}: is it installed?"))?;
    if !output.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs several `ip` commands in one process (`ip -batch -`): fast, and all-or-nothing
/// in its error reporting.
pub fn ip_batch(commands: &[String]) -> Result<()> {
    with_input("ip", &["-batch", "-"], &commands.join("\n"))
        .with_context(|| format!("(commands: {})", commands.join("; ")))
}

/// Runs `program args...` with `input` on its standard input (`iptables-restore`, `nft -f -`,
/// `ip -batch -`); a failure carries its stderr.
pub fn with_input(program: &str, args: &[&str], input: &str) -> Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {program}: is it installed?"))?;
    let mut stdin = child.stdin.take().context("the tool's stdin")?;
    stdin
        .write_all(input.as_bytes())
        .with_context(|| format!("writing to {program}"))?;
    drop(stdin);
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A command run in the network namespace of process (or thread) `pid`.
pub fn in_netns_of(pid: i32, program: &str) -> Command {
    let mut command = Command::new("nsenter");
    command
        .arg("-t")
        .arg(pid.to_string())
        .args(["-n", "--", program]);
    command
}

/// A command run inside a container, in all of its namespaces and its root filesystem,
/// with the container's own PATH (like `docker exec`): nsenter looks `program` up in the
/// container's root with the PATH it was given (one process fewer than `env PATH=...`).
/// nsenter itself is the lab host's, found there with that PATH (`/usr/bin`).
pub fn in_container(pid: i32, program: &str) -> Command {
    let mut command = Command::new("nsenter");
    command
        .env("PATH", CONTAINER_PATH)
        .arg("-t")
        .arg(pid.to_string())
        .args(["-m", "-u", "-i", "-n", "-p", "-r", "-w", "--", program]);
    command
}

/// The PATH of a program run inside a container.
const CONTAINER_PATH: &str = "/bin:/sbin:/usr/bin:/usr/sbin";

/// Writes a sysctl of the calling thread's network namespace.
pub fn set_sysctl(key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    std::fs::write(&path, value).with_context(|| format!("setting {key}={value}"))
}

/// Reads a sysctl of the calling thread's network namespace.
pub fn sysctl(key: &str) -> Result<String> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    Ok(std::fs::read_to_string(&path)
        .with_context(|| format!("reading {key}"))?
        .trim()
        .to_string())
}
