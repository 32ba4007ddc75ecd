//! Fixtures for the multi-process tests: real `registry-node` processes on 127.0.0.1 with
//! their own temporary data directories, and the real `talent-verify` binary.
//!
//! The binaries are found beside the test executable's target directory (`target/debug/`),
//! so `cargo build --workspace --bins` must run first; `scripts/test.sh` does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

pub mod browser;
pub mod byzantine;
pub mod cli;

pub use cli::{talent_verify, talent_verify_with_env};

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
    /// An admin operator token created for the test (`registry-node token create`).
    pub admin_token: String,
}

impl Node {
    /// Starts a development node on a free port with `data_dir`; stderr goes to
    /// `<data_dir>.log` so a failing test can show it.
    ///
    /// # Errors
    /// The process could not start, exited, or did not listen in time (the log is included).
    pub fn start(data_dir: &Path) -> anyhow::Result<Node> {
        Node::start_with(data_dir, &["--listen", "127.0.0.1:0"])
    }

    /// Starts `registry-node serve --data <data_dir> <args…>` and waits until it listens.
    ///
    /// # Errors
    /// As [`Node::start`].
    pub fn start_with<S: AsRef<std::ffi::OsStr>>(
        data_dir: &Path,
        args: &[S],
    ) -> anyhow::Result<Node> {
        let mut command = Command::new(binary("registry-node"));
        command.arg("serve");
        Node::launch(command, data_dir, args, "info")
    }

    /// Starts `registry-node serve --data <data_dir> <args…>` with the environment
    /// variables `envs` added (secrets a node reads from its environment).
    ///
    /// # Errors
    /// As [`Node::start`].
    pub fn start_with_env<S: AsRef<std::ffi::OsStr>>(
        data_dir: &Path,
        args: &[S],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<Node> {
        let mut command = Command::new(binary("registry-node"));
        command.arg("serve");
        command.envs(envs.iter().copied());
        Node::launch(command, data_dir, args, "info")
    }

    /// Starts `registry-node serve --data <data_dir> <args…>` allowed `soft` open files,
    /// and at most `hard` (RLIMIT_NOFILE, set by `sh`'s `ulimit` before the node starts).
    ///
    /// # Errors
    /// As [`Node::start`].
    pub fn start_with_descriptor_limit<S: AsRef<std::ffi::OsStr>>(
        data_dir: &Path,
        args: &[S],
        soft: u64,
        hard: u64,
    ) -> anyhow::Result<Node> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"ulimit -S -n "$0" && ulimit -H -n "$1" && shift && exec "$@""#)
            .arg(soft.to_string())
            .arg(hard.to_string())
            .arg(binary("registry-node"))
            .arg("serve");
        Node::launch(command, data_dir, args, "info")
    }

    /// Starts `registry-node serve --data <data_dir> <args…>` logging what `RUST_LOG=filter`
    /// lets through, and waits until it listens.
    ///
    /// # Errors
    /// As [`Node::start`].
    pub fn start_with_log_filter<S: AsRef<std::ffi::OsStr>>(
        data_dir: &Path,
        args: &[S],
        filter: &str,
    ) -> anyhow::Result<Node> {
        let mut command = Command::new(binary("registry-node"));
        command.arg("serve");
        Node::launch(command, data_dir, args, filter)
    }

    /// Runs `command` (which starts a node) with `args`, `--data <data_dir>` and
    /// `RUST_LOG=filter`, and waits until it listens.
    fn launch<S: AsRef<std::ffi::OsStr>>(
        mut command: Command,
        data_dir: &Path,
        args: &[S],
        filter: &str,
    ) -> anyhow::Result<Node> {
        let admin_token = create_token(data_dir, "admin", None, "tests")?;
        let log_path = data_dir.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let mut child = command
            .args(args)
            .arg("--data")
            .arg(data_dir)
            .env("RUST_LOG", filter)
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
                admin_token,
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
        self.terminate()?;
        Ok(self.child.wait()?)
    }

    /// Sends SIGTERM without waiting for the node to exit.
    ///
    /// # Errors
    /// The signal could not be sent.
    pub fn terminate(&self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status()?;
        anyhow::ensure!(status.success(), "kill -TERM {pid}: {status}");
        Ok(())
    }

    /// Waits at most `within` for the node to exit.
    ///
    /// # Errors
    /// It is still running then, or could not be waited for.
    pub fn wait_exit(&mut self, within: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if std::time::Instant::now() >= deadline {
                bail!("registry-node still runs {within:?} after it was asked to stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of the node's `/proc/<pid>/status`, e.g. `VmHWM` (peak resident memory) in kB.
    ///
    /// # Errors
    /// The file cannot be read or has no such line.
    pub fn status_kb(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|line| {
                let value = line.strip_prefix(field)?.strip_prefix(':')?;
                value.trim().trim_end_matches("kB").trim().parse().ok()
            })
            .with_context(|| format!("no {field} in /proc/{}/status", self.pid()))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates an operator token in `data_dir` with `registry-node token create`; returns it.
///
/// # Errors
/// The command fails.
pub fn create_token(
    data_dir: &Path,
    role: &str,
    issuer: Option<&str>,
    name: &str,
) -> anyhow::Result<String> {
    let mut command = Command::new(binary("registry-node"));
    command
        .args(["token", "create", "--role", role, "--name", name, "--data"])
        .arg(data_dir);
    if let Some(issuer) = issuer {
        command.args(["--issuer", issuer]);
    }
    let output = command
        .output()
        .context("running registry-node token create")?;
    if !output.status.success() {
        bail!(
            "registry-node token create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// An HTTP client like [`client`] that sends `token` as the operator bearer token.
pub fn client_with_token(token: &str) -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .default_headers(headers)
        .build()
        .expect("HTTP client")
}

/// An HTTP client with timeouts, for talking to nodes.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        // No connection reuse: a node may close a connection after refusing a request (e.g.
        // 413 before reading the body), and a pooled connection would fail the next request.
        .pool_max_idle_per_host(0)
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

/// The ids of the demo federation's members, in configuration order.
pub const MEMBERS: [&str; 5] = ["cq-sc", "cd-hz", "cq-hrss", "sc-hrss", "bj-zgc"];

/// A free TCP port on 127.0.0.1 for a member endpoint that must be known before the member
/// starts. It is picked below Linux's ephemeral range (32768–60999), so a node started
/// meanwhile with `--listen 127.0.0.1:0`, or any outgoing connection, cannot take it.
///
/// # Errors
/// No port could be bound.
pub fn free_port() -> anyhow::Result<u16> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // One seed per process: successive calls walk a permutation of the range (7919 is prime
    // to 12,000), so two tests preparing federations at once never get the same port.
    static SEED: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        std::process::id()
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos())
    });
    for _ in 0..1000 {
        let step = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + (seed.wrapping_add(step.wrapping_mul(7919)) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port in 20000–31999")
}

/// The shipped Chengdu–Chongqing federation, rewritten to listen on free ports: its
/// `federation.toml` (in `dir`) and the member endpoints. Members are started on demand
/// with their dev-only keys.
#[derive(Debug)]
pub struct Federation {
    /// Directory holding the config and the members' data.
    pub dir: PathBuf,
    /// Path of the rewritten federation.toml.
    pub config: PathBuf,
    /// Member id → endpoint URL.
    pub endpoints: std::collections::BTreeMap<String, String>,
}

impl Federation {
    /// Writes the config into `dir` with a free port per member.
    ///
    /// # Errors
    /// The shipped config cannot be read or the new one written.
    pub fn prepare(dir: &Path) -> anyhow::Result<Federation> {
        let shipped = workspace_root().join("federation-config/chengdu-chongqing/federation.toml");
        let mut text = std::fs::read_to_string(&shipped)?;
        let mut endpoints = std::collections::BTreeMap::new();
        for (position, member) in MEMBERS.iter().enumerate() {
            let demo = format!("http://127.0.0.1:{}", 7101 + position);
            anyhow::ensure!(
                text.contains(&demo),
                "{} does not hold the demo endpoint {demo} of {member}",
                shipped.display()
            );
            let endpoint = format!("http://127.0.0.1:{}", free_port()?);
            text = text.replace(&demo, &endpoint);
            endpoints.insert((*member).to_owned(), endpoint);
        }
        let config = dir.join("federation.toml");
        std::fs::write(&config, text)?;
        Ok(Federation {
            dir: dir.to_path_buf(),
            config,
            endpoints,
        })
    }

    /// The data directory of `member`.
    pub fn data_dir(&self, member: &str) -> PathBuf {
        self.dir.join(member)
    }

    /// Starts `member` (`serve --config … --member … --keys-from <dev keys>`).
    ///
    /// # Errors
    /// As [`Node::start`].
    pub fn start(&self, member: &str) -> anyhow::Result<Node> {
        let keys = workspace_root()
            .join("federation-config/chengdu-chongqing/dev-keys")
            .join(member);
        let config = self.config.to_string_lossy().into_owned();
        let keys = keys.to_string_lossy().into_owned();
        Node::start_with(
            &self.data_dir(member),
            &[
                "--config",
                &config,
                "--member",
                member,
                "--keys-from",
                &keys,
            ],
        )
    }

    /// The endpoint of `member`.
    pub fn endpoint(&self, member: &str) -> &str {
        self.endpoints.get(member).map_or("", String::as_str)
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout` with the
/// last state `describe` gives.
///
/// # Errors
/// The timeout passed.
pub fn wait_for<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> anyhow::Result<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if std::time::Instant::now() > deadline {
            bail!("timed out after {timeout:?}: {}", describe());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Node {
    /// The size of the node's current checkpoint (`GET /log/checkpoint`, second line).
    ///
    /// # Panics
    /// When the node does not answer with a checkpoint (a test failure).
    pub fn checkpoint_size(&self) -> u64 {
        let text = client()
            .get(self.at("/log/checkpoint"))
            .send()
            .expect("GET checkpoint")
            .text()
            .expect("text");
        text.lines()
            .nth(1)
            .and_then(|line| line.parse().ok())
            .expect("checkpoint size line")
    }

    /// Waits until this node's mirror of `member` holds `size` entries.
    ///
    /// # Errors
    /// Not within `timeout` (the last peer status is in the error).
    pub fn wait_mirrored(&self, member: &str, size: u64, timeout: Duration) -> anyhow::Result<()> {
        wait_for(
            timeout,
            || {
                (peer_status(&self.url, member)["mirroredSize"].as_u64() == Some(size))
                    .then_some(())
            },
            || format!("{}", peer_status(&self.url, member)),
        )
    }

    /// What the node says about itself (`GET /api/v1/member`).
    ///
    /// # Panics
    /// When the node does not answer with JSON (a test failure).
    pub fn member(&self) -> serde_json::Value {
        client()
            .get(self.at("/api/v1/member"))
            .send()
            .expect("GET /api/v1/member")
            .json()
            .expect("member JSON")
    }

    /// A client that authenticates as the test's admin operator.
    pub fn client(&self) -> reqwest::blocking::Client {
        client_with_token(&self.admin_token)
    }

    /// Issues one credential (`POST /api/v1/credentials`), asserting 201; returns the signed
    /// credential.
    ///
    /// # Panics
    /// When the node does not answer 201 with JSON (a test failure).
    pub fn issue(&self, body: &serde_json::Value) -> serde_json::Value {
        let response = self
            .client()
            .post(self.at("/api/v1/credentials"))
            .json(body)
            .send()
            .expect("issue request");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        response.json::<serde_json::Value>().expect("JSON")["credential"].clone()
    }
}

/// The verdict of `POST {url}/api/v1/verify` (200 or 400, same body), optionally requiring
/// the federation's witness quorum.
///
/// # Panics
/// When the node does not answer with JSON (a test failure).
pub fn verify_at(
    url: &str,
    credential: &serde_json::Value,
    require_quorum: bool,
) -> serde_json::Value {
    client()
        .post(format!("{url}/api/v1/verify"))
        .json(&serde_json::json!({"credential": credential, "requireQuorum": require_quorum}))
        .send()
        .expect("verify request")
        .json()
        .expect("verdict JSON")
}

/// `GET {url}/api/v1/federation/status`.
///
/// # Panics
/// When the node does not answer with JSON (a test failure).
pub fn federation_status(url: &str) -> serde_json::Value {
    client()
        .get(format!("{url}/api/v1/federation/status"))
        .send()
        .expect("status request")
        .json()
        .expect("status JSON")
}

/// What the member at `url` reports about peer `id` (`Null` if not listed).
pub fn peer_status(url: &str, id: &str) -> serde_json::Value {
    federation_status(url)["peers"]
        .as_array()
        .and_then(|peers| peers.iter().find(|peer| peer["id"] == id))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}
