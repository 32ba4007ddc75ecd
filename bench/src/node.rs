//! A `registry-node serve` process a benchmark starts for itself: on 127.0.0.1 with a free
//! port and a temporary data directory (the issue benchmark's development member), or as a
//! member of a federation listening on its configured loopback endpoint (the sync
//! benchmark); stopped with SIGTERM at the end (and killed if the benchmark stops early).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::procfs::{self, Memory};

/// How long the node may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the node may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running node, killed when dropped unless [`NodeProcess::stop`] ended it.
#[derive(Debug)]
pub struct NodeProcess {
    child: Option<Child>,
    pid: u32,
    /// Base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// An admin operator token created before the start, for issuing.
    pub token: String,
}

impl NodeProcess {
    /// Starts `binary serve --listen 127.0.0.1:0 --data data_dir EXTRA…`, its stderr
    /// appended to `log_path`, and waits for the `listening on` line.
    ///
    /// # Errors
    /// The process could not start, or exited or stayed silent past the start timeout.
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        log_path: &Path,
        extra: &[String],
    ) -> anyhow::Result<NodeProcess> {
        NodeProcess::start_with_env(binary, data_dir, log_path, extra, &[])
    }

    /// [`NodeProcess::start`] with the environment variables `envs` added (the secrets a
    /// node reads from its environment).
    ///
    /// # Errors
    /// As [`NodeProcess::start`].
    pub fn start_with_env(
        binary: &Path,
        data_dir: &Path,
        log_path: &Path,
        extra: &[String],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<NodeProcess> {
        let mut args: Vec<OsString> = ["serve", "--listen", "127.0.0.1:0", "--data"]
            .into_iter()
            .map(OsString::from)
            .collect();
        args.push(data_dir.into());
        args.extend(extra.iter().map(OsString::from));
        NodeProcess::spawn(binary, &args, data_dir, log_path, envs)
    }

    /// Starts federation member `member`: `binary serve --config CONFIG --member MEMBER
    /// --keys-from KEYS --data DATA_DIR`, its stderr appended to `log_path`. The node listens
    /// on the member's endpoint in `config` (which should be a loopback address); waits for
    /// the `listening on` line like [`NodeProcess::start`].
    ///
    /// # Errors
    /// As [`NodeProcess::start`].
    pub fn start_member(
        binary: &Path,
        config: &Path,
        member: &str,
        keys_from: &Path,
        data_dir: &Path,
        log_path: &Path,
    ) -> anyhow::Result<NodeProcess> {
        let args: Vec<OsString> = vec![
            "serve".into(),
            "--config".into(),
            config.into(),
            "--member".into(),
            member.into(),
            "--keys-from".into(),
            keys_from.into(),
            "--data".into(),
            data_dir.into(),
        ];
        NodeProcess::spawn(binary, &args, data_dir, log_path, &[])
    }

    /// Starts `binary ARGS…`, its stderr appended to `log_path`, and waits for the
    /// `listening on` line.
    fn spawn(
        binary: &Path,
        args: &[OsString],
        data_dir: &Path,
        log_path: &Path,
        envs: &[(&str, &str)],
    ) -> anyhow::Result<NodeProcess> {
        let created = Command::new(binary)
            .args([
                "token", "create", "--role", "admin", "--name", "bench", "--data",
            ])
            .arg(data_dir)
            .output()
            .with_context(|| format!("running {} token create", binary.display()))?;
        if !created.status.success() {
            bail!(
                "registry-node token create failed: {}",
                String::from_utf8_lossy(&created.stderr)
            );
        }
        let token = String::from_utf8(created.stdout)?.trim().to_owned();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let mut child = Command::new(binary)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("the node's stdout is piped")?;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("registry-node: listening on ") {
                    // Nobody listens any more once start-up gave up; nothing to do then.
                    let _ = sender.send(url.trim().to_owned());
                }
                // Keep draining so the node never blocks on a full pipe.
            }
        });
        let mut node = NodeProcess {
            child: Some(child),
            pid,
            url: String::new(),
            token,
        };
        match receiver.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                node.url = url;
                Ok(node)
            }
            Err(_) => {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                bail!(
                    "registry-node did not report its address within {START_TIMEOUT:?}; its log:\n{log}"
                )
            }
        }
    }

    /// Headers that authenticate as the node's admin operator.
    pub fn auth_headers(&self) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(value) = format!("Bearer {}", self.token).parse() {
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        headers
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its resident memory now and at peak.
    pub fn memory(&self) -> Option<Memory> {
        procfs::memory(self.pid)
    }

    /// CPU time it has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        procfs::cpu_seconds(&self.pid.to_string())
    }

    /// Sends SIGTERM and waits for the exit, killing the process if it does not exit in time.
    ///
    /// # Errors
    /// The signal could not be sent, the process could not be waited for, or it had to be
    /// killed.
    pub fn stop(mut self) -> anyhow::Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("the node was already stopped");
        };
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("running kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {} failed ({status})", self.pid);
        }
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        child.wait()?;
        bail!("registry-node did not exit within {STOP_TIMEOUT:?} of SIGTERM and was killed")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Best effort on an early exit of the benchmark: nothing else to do on failure.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `GET {url}/healthz` answers 2xx.
///
/// # Errors
/// No healthy answer within `timeout` (the last problem is included).
pub fn wait_healthy(url: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()?;
    let health = format!("{url}/healthz");
    let started = Instant::now();
    loop {
        let problem = match client.get(&health).send() {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => format!("answered {}", response.status()),
            Err(error) => error.to_string(),
        };
        if started.elapsed() >= timeout {
            bail!("{health} is not healthy after {timeout:?}: {problem}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How a request to a node failed below HTTP: `timeout`, `connect` or `transport`.
pub fn transport_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    }
}
