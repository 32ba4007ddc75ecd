//! The shipped federation on free loopback ports, its members as processes, and reading
//! their federation status over HTTP.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;

use super::MEMBERS;
use crate::node::{self, NodeProcess};

const DEMO_FIRST_PORT: u16 = 7101;

/// How long a node may take to answer `/healthz` after it listens.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

/// The shipped federation rewritten onto free loopback ports, in a directory of its own that
/// also holds the members' data directories and logs.
#[derive(Debug)]
pub(super) struct Federation {
    pub(super) dir: PathBuf,
    pub(super) config: PathBuf,
    pub(super) keys: PathBuf,
    pub(super) endpoints: BTreeMap<&'static str, String>,
}

impl Federation {
    /// Writes `dir/federation.toml` from the shipped one with a free port per member.
    pub(super) fn prepare(shipped: &Path, dir: &Path) -> anyhow::Result<Federation> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let source = shipped.join("federation.toml");
        let mut text = std::fs::read_to_string(&source)
            .with_context(|| format!("reading {}", source.display()))?;
        // Hold every port until all are chosen, so the five differ.
        let listeners = MEMBERS
            .iter()
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<Vec<_>, _>>()
            .context("finding free ports on 127.0.0.1")?;
        let mut endpoints = BTreeMap::new();
        for ((position, member), listener) in MEMBERS.iter().enumerate().zip(&listeners) {
            let demo = format!("http://127.0.0.1:{}", DEMO_FIRST_PORT + position as u16);
            ensure!(
                text.matches(&format!("\"{demo}\"")).count() == 1,
                "{} does not hold the demo endpoint {demo} of {member} exactly once",
                source.display()
            );
            let endpoint = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
            text = text.replace(&format!("\"{demo}\""), &format!("\"{endpoint}\""));
            endpoints.insert(*member, endpoint);
        }
        drop(listeners);
        let config = dir.join("federation.toml");
        std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
        Ok(Federation {
            dir: dir.to_path_buf(),
            config,
            keys: shipped.join("dev-keys"),
            endpoints,
        })
    }

    pub(super) fn log_path(&self, member: &str) -> PathBuf {
        self.dir.join(format!("{member}.log"))
    }

    /// Spawns `member` with its data directory and log, returning once it listens.
    pub(super) fn spawn(&self, binary: &Path, member: &str) -> anyhow::Result<NodeProcess> {
        NodeProcess::start_member(
            binary,
            &self.config,
            member,
            &self.keys.join(member),
            &self.dir.join(member),
            &self.log_path(member),
        )
        .with_context(|| format!("starting member {member}"))
    }

    /// Starts `member` with an empty data directory and waits until it is healthy.
    pub(super) fn start(&self, binary: &Path, member: &str) -> anyhow::Result<NodeProcess> {
        let node = self.spawn(binary, member)?;
        let expected = self.endpoints.get(member).map_or("", String::as_str);
        ensure!(
            node.url == expected,
            "member {member} listens on {} instead of its endpoint {expected}",
            node.url
        );
        node::wait_healthy(&node.url, HEALTH_TIMEOUT)?;
        Ok(node)
    }
}

/// A blocking HTTP client for 127.0.0.1, authenticating with `node`'s admin token if given.
pub(super) fn http_client(timeout: Duration, node: Option<&NodeProcess>) -> anyhow::Result<Client> {
    Client::builder()
        .default_headers(node.map(NodeProcess::auth_headers).unwrap_or_default())
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(timeout)
        .build()
        .context("building the HTTP client")
}

/// `POST url` with a JSON body; the status and the body.
pub(super) fn post_json(
    client: &Client,
    url: &str,
    body: Vec<u8>,
) -> reqwest::Result<(StatusCode, Vec<u8>)> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()?;
    let status = response.status();
    Ok((status, response.bytes()?.to_vec()))
}

/// `GET {url}/api/v1/federation/status`.
pub(super) fn federation_status(client: &Client, url: &str) -> anyhow::Result<Value> {
    let endpoint = format!("{url}/api/v1/federation/status");
    let response = client
        .get(&endpoint)
        .send()
        .with_context(|| format!("GET {endpoint}"))?;
    let status = response.status();
    let bytes = response.bytes()?;
    ensure!(
        status.is_success(),
        "GET {endpoint} answered {status}: {}",
        String::from_utf8_lossy(&bytes)
            .chars()
            .take(300)
            .collect::<String>()
    );
    serde_json::from_slice(&bytes).with_context(|| format!("GET {endpoint}: not JSON"))
}

/// What a member's status says about one peer.
#[derive(Debug, Clone, Default)]
pub(super) struct PeerView {
    pub(super) mirrored: u64,
    pub(super) state: String,
    pub(super) last_error: Option<String>,
}

impl PeerView {
    pub(super) fn of(status: &Value, peer: &str) -> Option<PeerView> {
        let entry = status["peers"]
            .as_array()?
            .iter()
            .find(|entry| entry["id"] == peer)?;
        Some(PeerView {
            mirrored: entry["mirroredSize"].as_u64()?,
            state: entry["state"].as_str().unwrap_or("?").to_owned(),
            last_error: entry["lastError"].as_str().map(str::to_owned),
        })
    }
}

/// Stops the nodes with SIGTERM, printing how each exited.
pub(super) fn stop_all(nodes: Vec<(&str, NodeProcess)>) {
    for (member, node) in nodes {
        match node.stop() {
            Ok(status) => println!("{member} stopped with SIGTERM: {status}"),
            Err(error) => println!("{member}: {error:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sync::default_federation_dir;

    #[test]
    fn the_shipped_federation_is_rewritten_onto_free_ports() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let federation = Federation::prepare(&default_federation_dir(), dir.path())?;
        let text = std::fs::read_to_string(&federation.config)?;
        assert!(!text.contains("127.0.0.1:7101\""));
        assert_eq!(federation.endpoints.len(), MEMBERS.len());
        for endpoint in federation.endpoints.values() {
            assert!(text.contains(&format!("\"{endpoint}\"")));
        }
        Ok(())
    }

    #[test]
    fn peer_views_are_read_from_the_status() {
        let status = json!({"peers": [
            {"id": "cq-sc", "mirroredSize": 12, "state": "in-sync", "lastError": null},
        ]});
        let view = PeerView::of(&status, "cq-sc");
        assert_eq!(view.as_ref().map(|view| view.mirrored), Some(12));
        assert_eq!(view.map(|view| view.state).as_deref(), Some("in-sync"));
        assert!(PeerView::of(&status, "cd-hz").is_none());
    }
}
