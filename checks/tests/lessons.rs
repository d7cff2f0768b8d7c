//! The commands a lesson shows work, against the step's solution.
//!
//! In each `steps/NN-*/README.md`, fenced blocks whose info string is `console` hold commands
//! after a prompt: `container# ` (typed in a container of the step's solution) or `lab# ` (typed
//! on the lab host while such a container runs); other lines are their output and are not
//! compared (numbers differ from run to run). A lesson may say how its container is started
//! with a comment `<!-- lesson-run: OPTIONS -- COMMAND -->` (the default: `-- sleep 30`), and
//! name a lab command to retry until it succeeds before its commands run, for a server in the
//! container to be up: `<!-- lesson-ready: COMMAND -->`. All of a lesson's commands run in one lab
//! (`checker run ... /bin/sh -c SCRIPT`): a container `lesson` is started in the background,
//! the `lab#` commands run with `set -e`, then `lesson` is stopped and the `container#` commands
//! run, also with `set -e`, in a second container `lesson2`. One container at a time: until a
//! bridge (step 05), every container gets the same subnet on a host link of its own, and a
//! second container at once gets no replies (the host routes them to the first one's link).

mod common;

use common::{paths, run, step, Ran};
use std::path::Path;
use std::time::Duration;

/// Where a lesson's command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Lab,
    Container,
}

/// One command of a lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Typed {
    prompt: Prompt,
    text: String,
    /// Its line in the lesson (1-based), for messages.
    line: usize,
}

impl Typed {
    fn shown(&self) -> String {
        let prompt = match self.prompt {
            Prompt::Lab => "lab#",
            Prompt::Container => "container#",
        };
        format!("README.md:{}: {prompt} {}", self.line, self.text)
    }
}

/// The commands of the `console` blocks of a Markdown text. A command whose line ends with a
/// backslash goes on over the next lines.
fn commands(markdown: &str) -> Vec<Typed> {
    let mut found = Vec::new();
    // The opening fence of the block we are in (its character and length), and whether it is
    // a console block.
    let mut fence: Option<(char, usize, bool)> = None;
    let mut pending: Option<Typed> = None;
    for (index, raw) in markdown.lines().enumerate() {
        let line = raw.trim_start();
        let fence_char = line.chars().next().filter(|c| *c == '`' || *c == '~');
        let run_length = fence_char.map_or(0, |c| line.chars().take_while(|x| *x == c).count());
        match (fence, fence_char) {
            (None, Some(c)) if run_length >= 3 => {
                let info = line[run_length..].trim();
                let console = info.split_whitespace().next() == Some("console");
                fence = Some((c, run_length, console));
                continue;
            }
            (Some((c, n, _)), Some(d))
                if c == d && run_length >= n && line[run_length..].trim().is_empty() =>
            {
                fence = None;
                if let Some(typed) = pending.take() {
                    found.push(typed);
                }
                continue;
            }
            _ => {}
        }
        let Some((_, _, true)) = fence else { continue };
        if let Some(mut typed) = pending.take() {
            typed.text.push('\n');
            typed.text.push_str(raw);
            if raw.ends_with('\\') {
                pending = Some(typed);
            } else {
                found.push(typed);
            }
            continue;
        }
        let (prompt, text) = if let Some(text) = raw.strip_prefix("container# ") {
            (Prompt::Container, text)
        } else if let Some(text) = raw.strip_prefix("lab# ") {
            (Prompt::Lab, text)
        } else {
            continue;
        };
        let typed = Typed {
            prompt,
            text: text.to_string(),
            line: index + 1,
        };
        if text.ends_with('\\') {
            pending = Some(typed);
        } else {
            found.push(typed);
        }
    }
    found.extend(pending);
    found
}

/// `text` as one word for /bin/sh.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Runs `commands` one after the other with `set -e`; when one fails, the shell says which
/// (on stderr, `lesson command failed ...`) before it exits.
fn steps_script(commands: &[Typed]) -> String {
    let mut script = String::from(
        "set -e\n\
         current=''\n\
         trap 'status=$?; [ \"$status\" -eq 0 ] || echo \"lesson command failed (exit status \
         $status): $current\" >&2' EXIT\n",
    );
    for typed in commands {
        script.push_str(&format!(
            "current={}\necho \"$current\"\n{}\n",
            quote(&typed.shown()),
            typed.text
        ));
    }
    script.push_str("current=''\n");
    script
}

/// The text of the lesson's comment `<!-- NAME: TEXT -->`, if it has one.
fn directive(markdown: &str, name: &str) -> Option<String> {
    markdown.lines().find_map(|line| {
        line.trim()
            .strip_prefix("<!-- ")?
            .strip_prefix(name)?
            .strip_prefix(':')?
            .strip_suffix("-->")
            .map(|text| text.trim().to_string())
    })
}

/// How the lesson's background container is started.
struct Setup {
    /// What follows `run --name lesson`.
    run: String,
    /// A lab command to retry until it succeeds before the `lab#` commands.
    ready: Option<String>,
}

impl Setup {
    fn of(markdown: &str) -> Setup {
        Setup {
            run: directive(markdown, "lesson-run").unwrap_or_else(|| "-- sleep 30".to_string()),
            ready: directive(markdown, "lesson-ready"),
        }
    }
}

/// The script run on the lab host. On it, the step's own binary (`learner`: `step07`, as
/// `cargo xtask lab` puts it on PATH) is the solution, for `lab#` commands that start more
/// containers (`step07 run --net container:lesson ...`).
fn lab_script(solution: &Path, learner: &str, setup: &Setup, commands: &[Typed]) -> String {
    let lab: Vec<Typed> = commands
        .iter()
        .filter(|c| c.prompt == Prompt::Lab)
        .cloned()
        .collect();
    let inside: Vec<Typed> = commands
        .iter()
        .filter(|c| c.prompt == Prompt::Container)
        .cloned()
        .collect();
    let mut script = format!(
        "set -e\n\
         SOLUTION={solution}\n\
         {learner}() {{ \"$SOLUTION\" \"$@\"; }}\n\
         \"$SOLUTION\" run --name lesson {run} &\n\
         background=$!\n\
         trap 'kill $background 2>/dev/null || true' EXIT\n\
         tries=0\n\
         until [ -s \"$NETLAB_STATE/containers/lesson/pid\" ]; do\n\
           if ! kill -0 $background 2>/dev/null || [ $tries -ge 1000 ]; then\n\
             echo 'lesson: the container lesson did not start' >&2; exit 1\n\
           fi\n\
           tries=$((tries + 1)); sleep 0.01\n\
         done\n",
        solution = quote(&solution.display().to_string()),
        run = setup.run,
    );
    if let Some(ready) = &setup.ready {
        script.push_str(&format!(
            "tries=0\n\
             until {ready} >/dev/null 2>&1; do\n\
               if [ $tries -ge 100 ]; then echo 'lesson: not ready: {ready}' >&2; exit 1; fi\n\
               tries=$((tries + 1)); sleep 0.05\n\
             done\n"
        ));
    }
    if !lab.is_empty() {
        // In a subshell, so that its EXIT trap reports the failing command.
        script.push_str(&format!("(\n{})\n", steps_script(&lab)));
    }
    script.push_str("kill $background\nwait $background || true\n");
    if !inside.is_empty() {
        script.push_str(&format!(
            "\"$SOLUTION\" run --name lesson2 -- /bin/sh -ec {}\n",
            quote(&steps_script(&inside))
        ));
    }
    script.push_str("trap - EXIT\n");
    script
}

/// Runs a lesson's commands against `solution` (standing in for the step's binary `learner`)
/// in a fresh lab.
fn run_lesson(solution: &Path, learner: &str, setup: &Setup, commands: &[Typed]) -> Ran {
    let mut command = common::lab_script(&lab_script(solution, learner, setup, commands));
    run(&mut command, Duration::from_secs(120))
}

fn lesson_commands_work(step: &'static checks::catalog::Step) {
    let number = &step.decl.id;
    let file = step.decl.lesson(&paths().root);
    let markdown = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("step {number} has no lesson at {}: {e}", file.display()));
    let found = commands(&markdown);
    assert!(
        !found.is_empty(),
        "{} shows no command: expected `container# ` or `lab# ` lines in ```console blocks",
        file.display()
    );
    let solution = paths().bin(&step.decl.binary(true));
    let learner = step.decl.binary(false);
    let ran = run_lesson(&solution, &learner, &Setup::of(&markdown), &found);
    let failed = ran
        .stderr
        .lines()
        .find(|l| l.contains("lesson command failed") || l.starts_with("lesson:"))
        .unwrap_or("(no command reported failing: see the output)");
    assert_eq!(
        ran.code,
        0,
        "a command of {} fails against the solution:\n  {failed}\n{}",
        file.display(),
        ran.describe()
    );
}

/// Every declared step's lesson shows commands, and they work against its solution.
#[test]
fn every_lessons_commands_work() {
    common::for_every_step(lesson_commands_work);
}

const SAMPLE: &str = r#"# A lesson

```console
container# ip link
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536
lab# test -e "/proc/$(cat $NETLAB_STATE/containers/lesson/pid)/ns/net"
```

Not a console block:

```text
container# false
```

````console
container# echo 'one' \
  two
```
lab# ip -br addr show dev eth0
````
"#;

#[test]
fn commands_come_only_from_console_blocks() {
    let found = commands(SAMPLE);
    let shown: Vec<(Prompt, &str, usize)> = found
        .iter()
        .map(|t| (t.prompt, t.text.as_str(), t.line))
        .collect();
    assert_eq!(
        shown,
        [
            (Prompt::Container, "ip link", 4),
            (
                Prompt::Lab,
                r#"test -e "/proc/$(cat $NETLAB_STATE/containers/lesson/pid)/ns/net""#,
                6
            ),
            (Prompt::Container, "echo 'one' \\\n  two", 16),
            (Prompt::Lab, "ip -br addr show dev eth0", 19),
        ]
    );
}

#[test]
fn the_runner_runs_a_sample_lesson() {
    let solution = paths().bin(&step("01").decl.binary(true));
    let ran = run_lesson(&solution, "step01", &Setup::of(SAMPLE), &commands(SAMPLE));
    assert_eq!(ran.code, 0, "{}", ran.describe());
    // The container's commands ran in a container, the lab's on the lab host.
    assert!(ran.stdout.contains("one two"), "{}", ran.describe());
    assert!(ran.stdout.contains("198.51.100.2/24"), "{}", ran.describe());
    assert!(
        ran.stdout.contains("container# ip link\n1: lo:"),
        "{}",
        ran.describe()
    );
}

#[test]
fn the_runner_names_the_command_that_fails() {
    let solution = paths().bin(&step("01").decl.binary(true));
    for (line, prompt) in [
        ("lab# false", "lab#"),
        ("container# ping -c 1 -W 1 203.0.113.80", "container#"),
    ] {
        let markdown = format!("```console\ncontainer# true\n{line}\ncontainer# echo after\n```\n");
        let ran = run_lesson(
            &solution,
            "step01",
            &Setup::of(&markdown),
            &commands(&markdown),
        );
        assert_ne!(ran.code, 0, "{line} should fail:\n{}", ran.describe());
        let named = format!("lesson command failed (exit status 1): README.md:3: {prompt}");
        assert!(
            ran.stderr.contains(&named),
            "{line}: the failure is not named:\n{}",
            ran.describe()
        );
        if prompt == "container#" {
            assert!(
                !ran.stdout.contains("\nafter"),
                "the commands went on after a failure:\n{}",
                ran.describe()
            );
        }
    }
}
