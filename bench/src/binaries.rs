//! Finding and running the workspace binaries the benchmarks measure.
//!
//! They are looked up beside the `talent-bench` executable (`target/release/` for
//! `cargo run --release`), so the benchmark always measures binaries of the same profile.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The command that builds what the benchmarks run.
pub const BUILD_HINT: &str = "cargo build --release -p registry-node -p talent-verify";

/// Path of the workspace binary `name` beside this executable.
///
/// # Errors
/// The executable's directory is unknown, or the binary was not built.
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the talent-bench executable")?;
    let dir = exe
        .parent()
        .with_context(|| format!("{} has no parent directory", exe.display()))?;
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: build it first with `{BUILD_HINT}` \
             (the benchmark runs the binaries beside itself, in {})",
            path.display(),
            dir.display()
        );
    }
    Ok(path)
}

/// A finished process and how long it ran, from spawn to exit.
#[derive(Debug)]
pub struct Timed {
    /// Exit status and captured output.
    pub output: Output,
    /// Wall-clock time from just before spawning to its exit.
    pub wall: Duration,
}

/// Runs `command` to completion, capturing stdout and stderr, killing it after `deadline`.
///
/// # Errors
/// The process could not start, or it was still running at the deadline (it is killed).
pub fn run_with_deadline(mut command: Command, deadline: Duration) -> anyhow::Result<Timed> {
    let program = command.get_program().to_string_lossy().into_owned();
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let pid = child.id();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // The receiver only goes away after a timeout, when the result no longer matters.
        let _ = sender.send((child.wait_with_output(), started.elapsed()));
    });
    match receiver.recv_timeout(deadline) {
        Ok((output, wall)) => Ok(Timed {
            output: output.with_context(|| format!("waiting for {program}"))?,
            wall,
        }),
        Err(_) => {
            // Best effort: the process may have exited in between; the error below stands.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            bail!("{program} did not finish within {deadline:?} and was killed")
        }
    }
}
