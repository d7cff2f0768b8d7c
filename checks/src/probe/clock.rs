//! The learner's clock: how long a step binary has taken, not counting what a busy machine
//! made it wait. A limit like "a container starts within 8 s" is about the learner's code,
//! so it counts the time the step binary's processes wait for something (all of them asleep:
//! a lock, a pipe, a child, a sleep) and the CPU time they use, but not the time they wait
//! for a CPU (runnable) or inside the kernel (uninterruptible, `D`: the global RTNL lock that
//! every lab on the machine shares, a namespace being torn down). On a quiet machine the two
//! clocks agree; on a loaded one, a correct step binary is never called hung.

use std::fs;
use std::time::{Duration, Instant};

/// How often the processes are looked at.
const EVERY: Duration = Duration::from_millis(25);

/// How much longer than the limit, by the wall clock, a step binary may take before the
/// machine itself is said to be too busy to judge it.
pub const BUSY_FACTOR: u32 = 4;

/// A step binary's processes, sampled now and then.
pub struct LearnerClock {
    root: i32,
    started: Instant,
    sampled: Instant,
    cpu_ticks: u64,
    spent: Duration,
}

/// What the processes of a tree are doing now.
struct Sample {
    /// Every one asleep (or stopped, or a zombie): waiting for something of their own.
    asleep: bool,
    /// The CPU time all of them have used, in clock ticks.
    cpu_ticks: u64,
}

impl LearnerClock {
    /// The clock of the process `root` and its descendants, from now.
    pub fn start(root: i32) -> LearnerClock {
        let now = Instant::now();
        LearnerClock {
            root,
            started: now,
            sampled: now,
            cpu_ticks: sample(root).cpu_ticks,
            spent: Duration::ZERO,
        }
    }

    /// The learner's time so far (sampled at most every [`EVERY`]).
    pub fn spent(&mut self) -> Duration {
        let now = Instant::now();
        let interval = now - self.sampled;
        if interval >= EVERY {
            let sample = sample(self.root);
            let used = ticks(sample.cpu_ticks.saturating_sub(self.cpu_ticks));
            self.spent += if sample.asleep {
                interval.max(used)
            } else {
                used.min(interval)
            };
            self.cpu_ticks = sample.cpu_ticks;
            self.sampled = now;
        }
        self.spent
    }

    /// The learner's time at the last sample.
    pub fn spent_so_far(&self) -> Duration {
        self.spent
    }

    /// The time by the wall clock.
    pub fn wall(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether the learner's time has reached `limit`: a hang of theirs.
    pub fn learner_over(&mut self, limit: Duration) -> bool {
        self.spent() >= limit
    }

    /// Whether the wall clock has gone [`BUSY_FACTOR`] times past `limit` while the learner's
    /// time has not reached it: the machine is too busy to judge.
    pub fn machine_over(&self, limit: Duration) -> bool {
        self.wall() >= limit * BUSY_FACTOR
    }
}

/// [`START_LIMIT`](super::START_LIMIT) on the learner's clock of one step binary, for the
/// checks that wait for a container in their own loop (a lock held, a process paused): past
/// it, the learner's hang; past [`BUSY_FACTOR`] times it by the wall clock first, a machine
/// too busy to judge.
pub struct StartClock(LearnerClock);

impl StartClock {
    /// The clock of the step binary `step_pid` (and its descendants), from now.
    pub fn of(step_pid: i32) -> StartClock {
        StartClock(LearnerClock::start(step_pid))
    }

    /// Whether the learner's time has reached the start limit, without judging the machine.
    pub fn learner_over(&mut self) -> bool {
        self.0.learner_over(super::START_LIMIT)
    }

    /// Whether the wall clock has gone past what a busy machine is allowed.
    pub fn machine_over(&self) -> bool {
        self.0.machine_over(super::START_LIMIT)
    }

    /// Ok while the wait may go on; past the limit, the outcome while `doing`: the learner's
    /// hang, or the machine too busy to judge.
    pub fn over(&mut self, doing: &str) -> Result<(), super::Outcome> {
        if self.learner_over() {
            Err(super::process::hang(doing, super::START_LIMIT, "", ""))
        } else if self.machine_over() {
            Err(super::process::busy(doing, &self.0))
        } else {
            Ok(())
        }
    }

    /// The machine was too busy while `doing`.
    pub fn busy(&self, doing: &str) -> super::Outcome {
        super::process::busy(doing, &self.0)
    }
}

/// Clock ticks as a duration (the kernel's USER_HZ, 100 on Linux).
fn ticks(n: u64) -> Duration {
    Duration::from_millis(n * 10)
}

/// `root` and its descendants, through each task's `children`.
fn tree(root: i32) -> Vec<i32> {
    let mut all = vec![root];
    let mut next = 0;
    while next < all.len() && all.len() < 512 {
        let pid = all[next];
        next += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            if let Ok(children) = fs::read_to_string(path) {
                all.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<i32>().ok()),
                );
            }
        }
    }
    all
}

/// The state and CPU time of `root`'s tree.
fn sample(root: i32) -> Sample {
    let mut sample = Sample {
        asleep: true,
        cpu_ticks: 0,
    };
    for pid in tree(root) {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((state, utime, stime)) = parse_stat(&stat) else {
            continue;
        };
        if !matches!(state, 'S' | 'T' | 't' | 'Z' | 'X' | 'I') {
            sample.asleep = false;
        }
        sample.cpu_ticks += utime + stime;
    }
    sample
}

/// A `/proc/PID/stat` line's state, utime and stime (the fields after the command's `)`).
fn parse_stat(stat: &str) -> Option<(char, u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // After `)`: state is field 3 of the line, utime 14, stime 15.
    Some((
        state,
        fields.get(11)?.parse().ok()?,
        fields.get(12)?.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_state_and_cpu_time() {
        let line = "4242 (step 05 (a)) S 1 4242 4242 0 -1 4194560 120 0 0 0 7 3 0 0 20 0 1 0 \
                    5000 1000000 200 18446744073709551615";
        assert_eq!(parse_stat(line), Some(('S', 7, 3)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_sleeping_process_spends_the_learners_time_and_its_own_tree_is_found() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let me = std::process::id() as i32;
        assert!(tree(me).contains(&(child.id() as i32)));
        let mut clock = LearnerClock::start(child.id() as i32);
        std::thread::sleep(Duration::from_millis(120));
        let spent = clock.spent();
        let _ = child.kill();
        let _ = child.wait();
        // Asleep the whole time: all of it is the learner's.
        assert!(spent >= Duration::from_millis(100), "{spent:?}");
        assert!(!clock.machine_over(Duration::from_secs(1)));
    }
}
