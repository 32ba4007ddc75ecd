//! `talent-bench verify-api`: `POST /api/v1/verify` requests/s and latency of a
//! `registry-node` under C concurrent connections, next to the Ed25519 verify and
//! batch-verify limits measured in the same run.
//!
//! The benchmark starts its own development node, issues a set of credentials through it
//! (so each is in the node's log and gets a full verdict: schema, proof, issuer, validity,
//! authority, status and inclusion), then runs one level per client count: C tasks, each
//! with its own connection, POST `{"credential": …}` one request at a time for a fixed
//! duration. An answer counts when it is a 200 whose verdict says `"verified":true`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::binaries;
use crate::closed_loop::{self, Level, Stats};
use crate::corpus;
use crate::http1;
use crate::limits::{self, Parallel};
use crate::node::{self, NodeProcess};
use crate::procfs::{self, Machine};
use crate::report::{self, Table, millis, thousands};

/// Issue 6's target for `POST /api/v1/verify`: requests/s, at p99 ≤ 10 ms.
const TARGET_REQUESTS_PER_SECOND: f64 = 25_000.0;
/// Issue 6's latency bound, p99.
const TARGET_P99: Duration = Duration::from_millis(10);
/// Signatures per batch of the batch-verification limit (the node's largest batch).
const VERIFY_BATCH: usize = 64;
/// How long one request may take before it counts as a timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client waits after a failed request before its next one.
const ERROR_PAUSE: Duration = Duration::from_millis(10);
/// How long the node may take to become healthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// Most concurrent clients of one level.
const MAX_CLIENTS: usize = 4096;
/// The endpoint measured.
const VERIFY_PATH: &str = "/api/v1/verify";
/// Most credentials the node issues per batch request.
const ISSUE_BATCH: u64 = 1000;

/// `talent-bench verify-api`.
#[derive(Debug, clap::Args)]
pub struct VerifyApiArgs {
    /// Concurrent client counts to measure, one level each.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    pub clients: Vec<usize>,
    /// Duration of each level, in seconds.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Credentials to issue and then verify, cycled through by the clients.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub credentials: u64,
    /// Most requests of one level, whatever the duration.
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_requests: u64,
    /// Extra argument for the `registry-node serve` the benchmark starts (repeatable).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub node_arg: Vec<String>,
    /// Directory of issuance request bodies to issue credentials from.
    #[arg(long, value_name = "DIR", default_value_os_t = corpus::default_examples_dir())]
    pub examples: PathBuf,
    /// Where to create the node's data [default: the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
}

/// Everything the clients of one level share.
#[derive(Debug)]
struct Load {
    /// The node's address.
    address: SocketAddr,
    /// `POST /api/v1/verify` requests with `{"credential": …}` bodies, cycled through.
    requests: Vec<Vec<u8>>,
    duration: Duration,
    /// Requests sent so far by all clients, against `max_requests`.
    sent: AtomicU64,
    max_requests: u64,
    /// Releases the clients together once each has its connection.
    start: Barrier,
}

/// Runs the benchmark and prints its tables.
///
/// # Errors
/// The node could not be started or reached, the credentials could not be issued, or a
/// level did not finish.
pub fn run(args: &VerifyApiArgs) -> anyhow::Result<()> {
    if let Some(bad) = args
        .clients
        .iter()
        .find(|&&clients| clients == 0 || clients > MAX_CLIENTS)
    {
        bail!("--clients {bad}: each count must be 1..={MAX_CLIENTS}");
    }
    let binary = binaries::sibling("registry-node")?;
    let machine = Machine::current();
    println!("{}", report::header("verify-api", &machine));
    let examples = corpus::load_examples(&args.examples)?;
    let mut scratch = tempfile::Builder::new();
    scratch.prefix("talent-bench-verify-api-");
    let scratch = match &args.scratch {
        Some(parent) => scratch.tempdir_in(parent),
        None => scratch.tempdir(),
    }
    .context("creating the scratch directory")?;

    // The limits first, on a machine the node does not load yet.
    println!(
        "measuring limits (about {} s) …",
        3 * limits::CPU_BUDGET.as_secs()
    );
    let threads = procfs::available_cores();
    let verify_one_core = limits::ed25519_verify(1)?;
    let verify_all_cores = limits::ed25519_verify(threads)?;
    let batch_all_cores = limits::ed25519_batch_verify(threads, VERIFY_BATCH)?;

    let data = scratch.path().join("node-data");
    let log = scratch.path().join("node.log");
    let node = NodeProcess::start(&binary, &data, &log, &args.node_arg)?;
    println!(
        "started {} serve (pid {}) at {}, data in {}",
        binary.display(),
        node.pid(),
        node.url,
        data.display()
    );
    node::wait_healthy(&node.url, HEALTH_TIMEOUT)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    println!(
        "issuing {} credentials …",
        thousands(args.credentials as f64)
    );
    let credentials = runtime.block_on(issue(&node, &examples, args.credentials))?;
    let payloads: Vec<Vec<u8>> = credentials
        .iter()
        .map(|credential| serde_json::to_vec(&json!({ "credential": credential })))
        .collect::<Result<_, _>>()?;
    let endpoint = format!("{}{VERIFY_PATH}", node.url);
    runtime.block_on(check_one(&endpoint, &payloads))?;
    let address: SocketAddr = node
        .url
        .strip_prefix("http://")
        .and_then(|authority| authority.parse().ok())
        .with_context(|| format!("the node's URL {} is not http://IP:PORT", node.url))?;
    let requests: Vec<Vec<u8>> = payloads
        .iter()
        .map(|body| http1::post_request(&address, VERIFY_PATH, "application/json", body))
        .collect();
    // The clients run on one thread, as `wrk` does: the node gets the other core.
    let load_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the load generator's runtime")?;

    println!("{} s per level, POST {endpoint} …", args.seconds);
    let mut levels = Vec::new();
    for &clients in &args.clients {
        let load = Arc::new(Load {
            address,
            requests: requests.clone(),
            duration: Duration::from_secs(args.seconds),
            sent: AtomicU64::new(0),
            max_requests: args.max_requests,
            start: Barrier::new(clients + 1),
        });
        let clients_load = Arc::clone(&load);
        let level = Level::measure(
            clients,
            || node.cpu_seconds(),
            || {
                load_runtime.block_on(closed_loop::run_level(
                    clients,
                    &load.start,
                    load.duration,
                    REQUEST_TIMEOUT,
                    move |index| client(Arc::clone(&clients_load), index),
                ))
            },
        )?;
        println!("{}", level.progress("requests"));
        levels.push(level);
    }
    let memory = node.memory();
    let stopped = node.stop()?;

    println!();
    println!("summary");
    let mut table = Table::new(&[
        "clients",
        "verified requests/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "verified",
        "errors",
        "node CPU",
        "bench CPU",
    ]);
    for level in &levels {
        table.row(level.row());
    }
    print!("{}", table.render());
    let on_threads = report::count(threads as u64, "thread", "threads");
    let mut limits_table = Table::new(&["limit measured in this run", "per second", "each"]);
    limits_table.row(vec![
        "Ed25519 verify of 64 bytes, 1 core".into(),
        thousands(verify_one_core.per_second()),
        format!("{:.1} µs", 1e6 / verify_one_core.per_second().max(1e-9)),
    ]);
    limits_table.row(vec![
        format!("Ed25519 verify of 64 bytes, {on_threads}"),
        thousands(verify_all_cores.per_second()),
        String::new(),
    ]);
    limits_table.row(vec![
        format!("Ed25519 batch verify (batches of {VERIFY_BATCH}), {on_threads}"),
        thousands(batch_all_cores.per_second()),
        String::new(),
    ]);
    print!("{}", limits_table.render());
    if let Some(memory) = memory {
        println!(
            "registry-node at the end: VmRSS {:.1} MiB (peak VmHWM {:.1} MiB)",
            memory.rss_kib as f64 / 1024.0,
            memory.peak_kib as f64 / 1024.0
        );
    }
    println!("registry-node stopped with SIGTERM: {stopped}");
    summarise(&levels, &batch_all_cores);
    if machine.cores <= 2 {
        println!(
            "note: the load generator shares the {} cores with the node (see the CPU columns).",
            machine.cores
        );
    }
    Ok(())
}

/// The target line: the best level against issue 6.
fn summarise(levels: &[Level], batch: &Parallel) {
    let best = levels
        .iter()
        .max_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    if let Some(best) = best {
        println!(
            "best level: {} clients, {} verified requests/s ({:.0} % of the batch-verify \
             limit), p99 {} ms.",
            best.clients,
            thousands(best.per_second()),
            100.0 * best.per_second() / batch.per_second().max(1e-9),
            best.stats.percentile(0.99).map_or("—".into(), millis),
        );
    }
    println!(
        "target (issue 6): ≥ {} requests/s at p99 ≤ {} ms.",
        thousands(TARGET_REQUESTS_PER_SECOND),
        TARGET_P99.as_millis()
    );
}

/// Issues `count` credentials at the node (batches of up to 1,000, the types cycled) and
/// returns the signed credentials.
///
/// # Errors
/// A batch was not answered 201 with its credentials.
async fn issue(
    node: &NodeProcess,
    examples: &[corpus::Example],
    count: u64,
) -> anyhow::Result<Vec<Value>> {
    let client = reqwest::Client::builder()
        .default_headers(node.auth_headers())
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let endpoint = format!("{}/api/v1/credentials:batch", node.url);
    let mut credentials = Vec::new();
    let mut bodies = examples.iter().map(|example| &example.body).cycle();
    while (credentials.len() as u64) < count {
        let size = ISSUE_BATCH.min(count - credentials.len() as u64);
        let batch: Vec<&Value> = bodies.by_ref().take(size as usize).collect();
        let response = client
            .post(&endpoint)
            .json(&json!({ "credentials": batch }))
            .send()
            .await
            .with_context(|| format!("POST {endpoint}"))?;
        let status = response.status();
        let body: Value = response.json().await.context("the batch answer")?;
        ensure!(
            status == StatusCode::CREATED,
            "POST {endpoint} answered {status}: {body}"
        );
        let results = body["results"].as_array().context("no results array")?;
        for result in results {
            credentials.push(result["credential"].clone());
        }
        ensure!(
            !results.is_empty(),
            "POST {endpoint} issued nothing: {body}"
        );
    }
    Ok(credentials)
}

/// Checks that the first credential verifies, so the levels measure verified answers.
///
/// # Errors
/// It does not, or the node could not be reached.
async fn check_one(endpoint: &str, payloads: &[Vec<u8>]) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let payload = payloads
        .first()
        .context("no credential was issued")?
        .clone();
    let response = client
        .post(endpoint)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(payload)
        .send()
        .await
        .with_context(|| format!("POST {endpoint}"))?;
    let status = response.status();
    let verdict: Value = response.json().await.context("the verdict")?;
    ensure!(
        status == StatusCode::OK && verdict["verified"] == true,
        "a credential just issued does not verify ({status}): {verdict}"
    );
    Ok(())
}

/// Whether a verdict body says `"verified":true` (the node writes compact JSON), without
/// parsing it: the load generator shares the cores with the node.
fn says_verified(body: &[u8]) -> bool {
    const VERIFIED: &[u8] = b"\"verified\":true";
    body.windows(VERIFIED.len())
        .any(|window| window == VERIFIED)
}

/// One client: opens its connection, waits for the common start, then sends one request at
/// a time until the duration is over or the level's request budget is spent. A failed
/// connection is opened again after a pause.
async fn client(load: Arc<Load>, index: usize) -> Stats {
    let mut stats = Stats::default();
    // Connect before the clock starts, so connection set-up is not in a latency.
    let mut connection = http1::Connection::open(load.address).await;
    load.start.wait().await;
    let deadline = Instant::now() + load.duration;
    let mut next = index;
    while Instant::now() < deadline && load.sent.fetch_add(1, Ordering::Relaxed) < load.max_requests
    {
        let open = match &mut connection {
            Ok(open) => open,
            Err(failure) => {
                stats.error(format!("connect: {failure:#}"));
                tokio::time::sleep(ERROR_PAUSE).await;
                connection = http1::Connection::open(load.address).await;
                continue;
            }
        };
        let request = &load.requests[next % load.requests.len()];
        next += 1;
        let sent = Instant::now();
        let outcome = match tokio::time::timeout(REQUEST_TIMEOUT, open.send(request)).await {
            Ok(Ok(response)) if response.status == 200 && says_verified(response.body) => {
                stats.success(sent, 1);
                continue;
            }
            Ok(Ok(response)) if response.status == 200 => Ok("200 not verified".to_owned()),
            Ok(Ok(response)) => Ok(response.status.to_string()),
            Ok(Err(failure)) => Err(format!("{failure:#}")),
            Err(_) => Err("timeout".to_owned()),
        };
        match outcome {
            Ok(kind) => stats.error(kind),
            Err(kind) => {
                // The connection is unusable after a failed exchange: open a new one.
                stats.error(kind);
                connection = http1::Connection::open(load.address).await;
            }
        }
        tokio::time::sleep(ERROR_PAUSE).await;
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_verified_verdict() {
        assert!(says_verified(br#"{"verified":true,"credential":{}}"#));
        assert!(!says_verified(br#"{"verified":false,"checks":[]}"#));
    }
}
