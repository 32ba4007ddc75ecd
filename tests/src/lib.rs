//! Fixtures for the multi-process tests: real `registry-node` processes on 127.0.0.1 with
//! their own temporary data directories, and the real `talent-verify` binary.
//!
//! The binaries are found beside the test executable's target directory (`target/debug/`),
//! so `cargo build --workspace --bins` must run first; `scripts/test.sh` does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

/// How long a node may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The directory holding the workspace's binaries (`target/<profile>/`).
pub fn bin_dir() -> PathBuf {
    // current_exe = target/<profile>/deps/<test>-<hash>
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    dir.to_path_buf()
}

/// Path of a workspace binary, with a clear failure when it was not built.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// A running `registry-node serve` process, killed when dropped.
#[derive(Debug)]
pub struct Node {
    child: Child,
    /// Base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// The node's data directory.
    pub data_dir: PathBuf,
}

impl Node {
    /// Starts a development node on a free port with `data_dir`; stderr goes to
    /// `<data_dir>.log` so a failing test can show it.
    ///
    /// # Errors
    /// The process could not start, exited, or did not listen in time (the log is included).
    pub fn start(data_dir: &Path) -> anyhow::Result<Node> {
        let log_path = data_dir.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut child = Command::new(binary("registry-node"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data_dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("spawning registry-node")?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("registry-node: listening on ") {
                    let _ = sender.send(url.to_owned());
                }
                // Keep draining so the node never blocks on a full pipe.
            }
        });
        match receiver.recv_timeout(START_TIMEOUT) {
            Ok(url) => Ok(Node {
                child,
                url,
                data_dir: data_dir.to_path_buf(),
            }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("registry-node did not start ({status:?}):\n{log}")
            }
        }
    }

    /// Stops the node with SIGTERM and waits for it to exit.
    ///
    /// # Errors
    /// The signal could not be sent or the process could not be waited for.
    pub fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        Ok(self.child.wait()?)
    }

    /// Kills the node with SIGKILL (a crash) and waits for it.
    ///
    /// # Errors
    /// The process could not be killed or waited for.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// A URL on this node.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `talent-verify` with `args`, feeding `stdin`.
///
/// # Errors
/// The binary could not be run.
pub fn talent_verify(args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<Output> {
    use std::io::Write;
    let mut child = Command::new(binary("talent-verify"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .context("stdin is piped")?
            .write_all(bytes)?;
    }
    Ok(child.wait_with_output()?)
}

/// An HTTP client with timeouts, for talking to nodes.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// The example issuance requests in `docs/examples/`, one per credential type.
pub fn example_requests() -> Vec<(String, serde_json::Value)> {
    let dir = workspace_root().join("docs/examples");
    let mut examples: Vec<(String, serde_json::Value)> = std::fs::read_dir(&dir)
        .expect("docs/examples exists")
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_stem()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("readable example");
            (name, serde_json::from_str(&text).expect("example is JSON"))
        })
        .collect();
    examples.sort_by(|a, b| a.0.cmp(&b.0));
    examples
}
