//! `registry-node demo` under a process manager: when the demo gets SIGTERM (systemd,
//! a container stopping) its five member processes stop too, and when the demo is killed
//! outright (SIGKILL, which it cannot catch) they still stop by themselves: none is left
//! running, holding its port and its data directory's lock.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use federation_tests::{Federation, MEMBERS, binary, wait_for, workspace_root};

/// How long the demo may take to start its members (their first start: keys, stores).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the members may take to be gone after the demo is stopped: the demo's grace
/// period for them (10 s) and some margin.
const GONE_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `registry-node demo` on free ports and the pids of its members.
struct Demo {
    child: Child,
    lines: Receiver<String>,
    /// Everything the demo printed so far, for failure messages.
    printed: Vec<String>,
    members: Vec<u32>,
}

impl Demo {
    /// Starts the demo over the shipped federation rewritten to free ports (its dev-only
    /// keys linked beside the rewritten configuration, where the demo looks for them) and
    /// waits until it has started all five members.
    fn start(dir: &Path) -> Demo {
        let federation = Federation::prepare(dir).expect("federation config");
        std::os::unix::fs::symlink(
            workspace_root().join("federation-config/chengdu-chongqing/dev-keys"),
            dir.join("dev-keys"),
        )
        .expect("dev keys linked");
        let log = std::fs::File::create(dir.join("demo.log")).expect("log file");
        let mut child = Command::new(binary("registry-node"))
            .arg("demo")
            .arg("--config")
            .arg(&federation.config)
            .arg("--data")
            .arg(dir.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("demo starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = Demo {
            child,
            lines,
            printed: Vec::new(),
            members: Vec::new(),
        };
        demo.wait_for_line(|line| line.contains("members are up"));
        demo.members = demo
            .printed
            .iter()
            .filter_map(|line| {
                let rest = &line[line.find("(pid ")? + 5..];
                rest[..rest.find(',')?].parse().ok()
            })
            .collect();
        assert_eq!(
            demo.members.len(),
            MEMBERS.len(),
            "one pid per member in {:?}",
            demo.printed
        );
        demo
    }

    /// Reads the demo's output until a line satisfies `wanted`.
    fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = wanted(&line);
                    self.printed.push(line);
                    if found {
                        return;
                    }
                }
                Err(error) => panic!("{error}; the demo printed {:#?}", self.printed),
            }
        }
    }

    /// The members still running.
    fn running_members(&self) -> Vec<u32> {
        self.members
            .iter()
            .copied()
            .filter(|pid| is_running(*pid))
            .collect()
    }

    /// Waits until no member runs.
    fn assert_members_gone(&self, after: &str) {
        wait_for(
            GONE_TIMEOUT,
            || self.running_members().is_empty().then_some(()),
            || {
                format!(
                    "members still running {after}: {:?}",
                    self.running_members()
                )
            },
        )
        .expect("every member stops");
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // A failed test must not leave the members running: they are this test's
        // processes (their pids were printed by the demo it started).
        for pid in self.running_members() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` runs (exists and is not a zombie waiting for its parent).
fn is_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // pid (comm) state …: the state follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

#[test]
fn sigterm_to_the_demo_stops_every_member_and_the_demo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut demo = Demo::start(dir.path());
    // The steady state a process manager stops: everything issued, verified, waiting.
    demo.wait_for_line(|line| line.starts_with("Try next"));
    assert_eq!(demo.running_members().len(), MEMBERS.len());
    let stopped_at = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    demo.assert_members_gone("after SIGTERM to the demo");
    let exit = wait_for(
        GONE_TIMEOUT,
        || demo.child.try_wait().ok().flatten(),
        || "the demo still runs".into(),
    )
    .expect("the demo exits");
    assert!(exit.success(), "the demo exits cleanly: {exit}");
    eprintln!(
        "demo and members stopped {:.1} s after SIGTERM",
        stopped_at.elapsed().as_secs_f64()
    );
}

#[test]
fn members_stop_by_themselves_when_the_demo_is_killed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut demo = Demo::start(dir.path());
    assert_eq!(demo.running_members().len(), MEMBERS.len());
    let killed_at = Instant::now();
    demo.child.kill().expect("SIGKILL");
    demo.child.wait().expect("reaped");
    demo.assert_members_gone("after SIGKILL of the demo");
    eprintln!(
        "members stopped {:.1} s after the demo was killed",
        killed_at.elapsed().as_secs_f64()
    );
}
