//! `talent-bench issue`: issuance throughput and acknowledgement latency of a
//! `registry-node` under C concurrent clients, next to the limits that bound it (Ed25519
//! signs/s, synced RocksDB commits/s) measured in the same run.
//!
//! Each client is a task that POSTs an issuance request and waits for the answer before
//! sending the next, for a fixed duration; a 201 is an acknowledgement (the node answers it
//! only once the credential is durably stored) and its latency is recorded. Any other
//! answer is counted by status, and the client pauses briefly before its next request.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::binaries;
use crate::closed_loop::{self, Level, Stats};
use crate::corpus::{self, Example};
use crate::limits::{self, Commits, Rate};
use crate::node::{self, NodeProcess};
use crate::procfs::Machine;
use crate::report::{self, Table, millis, thousands};

/// Issue 3's throughput target at 256 clients, durable credentials/s.
const TARGET_CREDENTIALS_PER_SECOND: f64 = 20_000.0;
/// How long one request may take before it counts as a timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client waits after an answer other than 201 before its next request.
const ERROR_PAUSE: Duration = Duration::from_millis(10);
/// How long the node may take to become healthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// Most concurrent clients of one level.
const MAX_CLIENTS: usize = 4096;

/// `talent-bench issue`.
#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// Concurrent client counts to measure, one level each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,256")]
    pub clients: Vec<usize>,
    /// Duration of each level, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Measure this running node (http://127.0.0.1:PORT) instead of starting one.
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
    /// Admin or issuer operator token for --node (a node the benchmark starts gets one).
    #[arg(long, value_name = "TOKEN", requires = "node")]
    pub token: Option<String>,
    /// POST batches of K requests to `/api/v1/credentials:batch` instead of single requests.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: Option<u64>,
    /// Most requests of one level, whatever the duration.
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_requests: u64,
    /// Extra argument for the `registry-node serve` the benchmark starts (repeatable), e.g.
    /// `--node-arg=--batch-max-delay-ms=1`.
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        conflicts_with = "node"
    )]
    pub node_arg: Vec<String>,
    /// Directory of issuance request bodies to send.
    #[arg(long, value_name = "DIR", default_value_os_t = corpus::default_examples_dir())]
    pub examples: PathBuf,
    /// Where to create the node's data and the RocksDB probe [default: the system temp
    /// dir]. With --node, put it on the node's filesystem so the commit limit applies.
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
}

/// Everything the clients of one level share.
#[derive(Debug)]
struct Load {
    client: reqwest::Client,
    url: String,
    health_url: String,
    /// Request bodies, serialised, cycled through.
    payloads: Vec<Vec<u8>>,
    /// Credentials one 201 acknowledges.
    credentials_per_request: u64,
    duration: Duration,
    /// Requests sent so far by all clients, against `max_requests`.
    sent: AtomicU64,
    max_requests: u64,
    /// Releases the clients together once each has its connection.
    start: Barrier,
}

const LEVEL_TITLES: [&str; 9] = [
    "clients",
    "credentials/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "acknowledged",
    "errors",
    "node CPU",
    "bench CPU",
];

/// Checks that a `--node` URL points at this machine and returns it without a final `/`.
fn loopback_url(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--node {url:?}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback || parsed.scheme() != "http" {
        bail!("--node must be an http:// URL on 127.0.0.1 (the benchmark only loads this machine)");
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The serialised bodies to cycle through: single requests, or batches of `k` starting at
/// each example in turn.
fn payloads(examples: &[Example], batch: Option<u64>) -> anyhow::Result<Vec<Vec<u8>>> {
    let bodies: Vec<&Value> = examples.iter().map(|example| &example.body).collect();
    match batch {
        None => bodies
            .iter()
            .map(|body| Ok(serde_json::to_vec(body)?))
            .collect(),
        Some(k) => (0..bodies.len())
            .map(|first| {
                let credentials: Vec<&Value> = bodies
                    .iter()
                    .cycle()
                    .skip(first)
                    .take(k as usize)
                    .copied()
                    .collect();
                Ok(serde_json::to_vec(&json!({ "credentials": credentials }))?)
            })
            .collect(),
    }
}

/// Runs the benchmark and prints its tables.
///
/// # Errors
/// The node could not be started or reached, a limit could not be measured, or a level
/// did not finish.
pub fn run(args: &IssueArgs) -> anyhow::Result<()> {
    if let Some(bad) = args
        .clients
        .iter()
        .find(|&&clients| clients == 0 || clients > MAX_CLIENTS)
    {
        bail!("--clients {bad}: each count must be 1..={MAX_CLIENTS}");
    }
    // Check what can be checked before spending time on the limits.
    let external_url = args.node.as_deref().map(loopback_url).transpose()?;
    let node_binary = match external_url {
        Some(_) => None,
        None => Some(binaries::sibling("registry-node")?),
    };
    let machine = Machine::current();
    println!("{}", report::header("issue", &machine));
    let examples = corpus::load_examples(&args.examples)?;
    let payloads = payloads(&examples, args.batch)?;
    let mut scratch = tempfile::Builder::new();
    scratch.prefix("talent-bench-issue-");
    let scratch = match &args.scratch {
        Some(parent) => scratch.tempdir_in(parent),
        None => scratch.tempdir(),
    }
    .context("creating the scratch directory")?;

    println!(
        "measuring limits (about {} s) …",
        (limits::CPU_BUDGET + limits::COMMIT_BUDGET).as_secs()
    );
    let sign = limits::ed25519_sign()?;
    let commits = limits::synced_commits(&scratch.path().join("commit-probe"))?;
    print!("{}", limits_table(&sign, &commits, scratch.path()).render());

    let started_node = match node_binary {
        None => None,
        Some(binary) => {
            let data = scratch.path().join("node-data");
            let log = scratch.path().join("node.log");
            let node = NodeProcess::start(&binary, &data, &log, &args.node_arg)?;
            println!(
                "started {} serve{}{} (pid {}) at {}, data in {}",
                binary.display(),
                if args.node_arg.is_empty() { "" } else { " " },
                args.node_arg.join(" "),
                node.pid(),
                node.url,
                data.display()
            );
            Some(node)
        }
    };
    let url = match (external_url, &started_node) {
        (Some(url), _) => url,
        (None, Some(node)) => node.url.clone(),
        (None, None) => bail!("no node to measure"),
    };
    node::wait_healthy(&url, HEALTH_TIMEOUT)?;
    let token = match (&args.token, &started_node) {
        (Some(token), _) => token.clone(),
        (None, Some(node)) => node.token.clone(),
        (None, None) => {
            bail!("--node needs --token (create one with `registry-node token create`)")
        }
    };
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .context("--token is not a valid header value")?,
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (endpoint, per_request) = match args.batch {
        Some(k) => (format!("{url}/api/v1/credentials:batch"), k),
        None => (format!("{url}/api/v1/credentials"), 1),
    };
    let skip_reason = match args.batch {
        Some(_) => runtime.block_on(probe_batch(&endpoint, &payloads, &auth))?,
        None => None,
    };

    let mut levels = Vec::new();
    if let Some(reason) = &skip_reason {
        println!("{reason}");
    } else {
        println!(
            "{} s per level, POST {endpoint} ({}) …",
            args.seconds,
            report::count(
                per_request,
                "credential per request",
                "credentials per request"
            )
        );
        for &clients in &args.clients {
            let load = Arc::new(Load {
                client: reqwest::Client::builder()
                    .default_headers(auth.clone())
                    .no_proxy()
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(clients)
                    .timeout(REQUEST_TIMEOUT)
                    .build()?,
                url: endpoint.clone(),
                health_url: format!("{url}/healthz"),
                payloads: payloads.clone(),
                credentials_per_request: per_request,
                duration: Duration::from_secs(args.seconds),
                sent: AtomicU64::new(0),
                max_requests: args.max_requests,
                start: Barrier::new(clients + 1),
            });
            let clients_load = Arc::clone(&load);
            let level = Level::measure(
                clients,
                || started_node.as_ref().and_then(NodeProcess::cpu_seconds),
                || {
                    runtime.block_on(closed_loop::run_level(
                        clients,
                        &load.start,
                        load.duration,
                        REQUEST_TIMEOUT,
                        move |index| client(Arc::clone(&clients_load), index),
                    ))
                },
            )?;
            println!("{}", level.progress("credentials"));
            levels.push(level);
        }
    }

    let memory = started_node.as_ref().and_then(NodeProcess::memory);
    let stopped = started_node.map(NodeProcess::stop).transpose()?;

    println!();
    println!("summary");
    if !levels.is_empty() {
        let mut table = Table::new(&LEVEL_TITLES);
        for level in &levels {
            table.row(level.row());
        }
        print!("{}", table.render());
    }
    print!("{}", limits_table(&sign, &commits, scratch.path()).render());
    if let Some(memory) = memory {
        println!(
            "registry-node at the end: VmRSS {:.1} MiB (peak VmHWM {:.1} MiB)",
            memory.rss_kib as f64 / 1024.0,
            memory.peak_kib as f64 / 1024.0
        );
    }
    if let Some(status) = stopped {
        println!("registry-node stopped with SIGTERM: {status}");
    }
    let per_commit = (TARGET_CREDENTIALS_PER_SECOND / commits.rate.per_second().max(1e-9)).ceil();
    println!(
        "one synced commit per credential caps issuance at {} credentials/s; {} credentials/s \
         needs ≥ {} credentials per commit. Signing alone caps at {} credentials/s per core.",
        thousands(commits.rate.per_second()),
        thousands(TARGET_CREDENTIALS_PER_SECOND),
        thousands(per_commit),
        thousands(sign.per_second()),
    );
    println!(
        "targets (issue 3): ≥ {} durable credentials/s at 256 clients with p99 ≤ 50 ms; \
         p99 ≤ 5 ms at 1 client.",
        thousands(TARGET_CREDENTIALS_PER_SECOND)
    );
    if machine.cores <= 2 && !levels.is_empty() {
        println!(
            "note: the load generator shares the {} cores with the node (see the CPU columns).",
            machine.cores
        );
    }
    Ok(())
}

fn limits_table(sign: &Rate, commits: &Commits, dir: &std::path::Path) -> Table {
    let mut table = Table::new(&["limit measured in this run", "per second", "each"]);
    table.row(vec![
        "Ed25519 sign of 64 bytes, 1 core".into(),
        thousands(sign.per_second()),
        format!("{:.1} µs", sign.mean().as_secs_f64() * 1e6),
    ]);
    table.row(vec![
        format!(
            "synced RocksDB commit, WriteBatch of {} KiB ({})",
            commits.batch_bytes / 1024,
            dir.display()
        ),
        thousands(commits.rate.per_second()),
        format!("{} ms", millis(commits.rate.mean())),
    ]);
    table
}

/// Sends one batch to see whether the batch endpoint exists; the reason to skip if not.
///
/// # Errors
/// The node could not be reached.
async fn probe_batch(
    endpoint: &str,
    payloads: &[Vec<u8>],
    auth: &reqwest::header::HeaderMap,
) -> anyhow::Result<Option<String>> {
    let client = reqwest::Client::builder()
        .default_headers(auth.clone())
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let payload = payloads.first().context("no batch payload")?.clone();
    let response = client
        .post(endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(payload)
        .send()
        .await
        .with_context(|| format!("probing {endpoint}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    Ok(match status {
        StatusCode::CREATED => None,
        StatusCode::NOT_FOUND => Some(format!(
            "note: {endpoint} answered 404 — the batch endpoint is not built in this node yet; \
             batch levels skipped."
        )),
        other => Some(format!(
            "note: {endpoint} answered {other} to a batch probe, not 201; batch levels skipped. \
             Body: {}",
            body.chars().take(300).collect::<String>()
        )),
    })
}

/// One client: opens its connection, waits for the common start, then sends one request at
/// a time until the duration is over or the level's request budget is spent.
async fn client(load: Arc<Load>, index: usize) -> Stats {
    let mut stats = Stats::default();
    // Connect before the clock starts, so connection set-up is not an acknowledgement.
    match load.client.get(&load.health_url).send().await {
        Ok(response) => {
            // Drain the body so the connection returns to the pool.
            let _ = response.bytes().await;
        }
        Err(error) => stats.error(node::transport_kind(&error)),
    }
    load.start.wait().await;
    let deadline = Instant::now() + load.duration;
    let mut next = index;
    while Instant::now() < deadline && load.sent.fetch_add(1, Ordering::Relaxed) < load.max_requests
    {
        let payload = load.payloads[next % load.payloads.len()].clone();
        next += 1;
        let sent = Instant::now();
        let answer = match load
            .client
            .post(&load.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await
        {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|_| status)
            }
            Err(error) => Err(error),
        };
        match answer {
            Ok(StatusCode::CREATED) => stats.success(sent, load.credentials_per_request),
            Ok(status) => {
                stats.error(status.as_u16().to_string());
                tokio::time::sleep(ERROR_PAUSE).await;
            }
            Err(error) => {
                stats.error(node::transport_kind(&error));
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_nodes() {
        assert_eq!(
            loopback_url("http://127.0.0.1:8080/").ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(loopback_url("http://localhost:8080").is_ok());
        assert!(loopback_url("http://192.0.2.1:8080").is_err());
        assert!(loopback_url("https://127.0.0.1:8443").is_err());
    }
}
