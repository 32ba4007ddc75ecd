//! Filling the source member's log with credentials through the batch endpoint, from a few
//! concurrent clients, and waiting for it to go idle afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::federation::{http_client, post_json};
use super::machine::{machine_busy_seconds, procfs_state};
use super::node_logs::log_tail;
use super::{PROGRESS_EVERY, SOURCE};
use crate::corpus::Example;
use crate::node::{self, NodeProcess};
use crate::procfs;
use crate::report::thousands;

/// Credentials per fill request (the node takes 1..=1,000 per batch).
pub(super) const FILL_BATCH: u64 = 1_000;

/// Concurrent clients filling the source's log.
pub(super) const FILL_CLIENTS: usize = 4;

/// How long one fill request may take.
const FILL_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Attempts at one fill batch before the benchmark gives up.
const FILL_ATTEMPTS: u32 = 50;

/// Pause before retrying a fill batch that was not acknowledged.
const FILL_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// How long the whole fill may take.
const FILL_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How long the source may take to go idle (compactions) after the fill.
const QUIESCE_MAX: Duration = Duration::from_secs(90);

/// Below this many cores used over a second, the source counts as idle.
const QUIESCE_CORES: f64 = 0.10;

/// What filling the source's log took.
#[derive(Debug, Default)]
pub(super) struct Fill {
    pub(super) acknowledged: u64,
    pub(super) elapsed: Duration,
    /// Answers other than 201 by status, failed requests by kind.
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) source_cores: Option<f64>,
    pub(super) bench_cores: Option<f64>,
    pub(super) machine_cores: Option<f64>,
}

impl Fill {
    pub(super) fn errors(&self) -> String {
        if self.errors.is_empty() {
            return "none".into();
        }
        self.errors
            .iter()
            .map(|(kind, count)| format!("{kind}×{count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The body of a batch of `size` requests starting at example `first`.
fn batch_body(examples: &[Example], first: usize, size: u64) -> anyhow::Result<Vec<u8>> {
    let credentials: Vec<&Value> = examples
        .iter()
        .map(|example| &example.body)
        .cycle()
        .skip(first)
        .take(size as usize)
        .collect();
    Ok(serde_json::to_vec(&json!({ "credentials": credentials }))?)
}

/// POSTs `entries` credentials to the source in batches of [`FILL_BATCH`] from
/// [`FILL_CLIENTS`] threads. A batch that is not acknowledged is retried.
pub(super) fn fill(
    source: &NodeProcess,
    log_path: &Path,
    examples: &[Example],
    entries: u64,
) -> anyhow::Result<Fill> {
    ensure!(!examples.is_empty(), "no example to issue");
    let batches = entries.div_ceil(FILL_BATCH);
    let size_of = |batch: u64| FILL_BATCH.min(entries - batch * FILL_BATCH);
    let first_of = |batch: u64| ((batch * FILL_BATCH) % examples.len() as u64) as usize;
    // The few distinct bodies, serialised once: a full batch starts at one of the first
    // `examples.len()` offsets, and the last batch may be shorter.
    let mut bodies: BTreeMap<(usize, u64), Vec<u8>> = BTreeMap::new();
    for batch in (0..batches.min(examples.len() as u64)).chain([batches - 1]) {
        let key = (first_of(batch), size_of(batch));
        if let std::collections::btree_map::Entry::Vacant(slot) = bodies.entry(key) {
            slot.insert(batch_body(examples, key.0, key.1)?);
        }
    }
    let endpoint = format!("{}/api/v1/credentials:batch", source.url);
    println!(
        "filling {SOURCE}: {} credentials as {} POSTs of ≤ {FILL_BATCH} to {endpoint} from {FILL_CLIENTS} clients …",
        thousands(entries as f64),
        thousands(batches as f64)
    );
    let next = AtomicU64::new(0);
    let acknowledged = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let errors = Mutex::new(BTreeMap::<String, u64>::new());
    let count_error = |kind: String| {
        *errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(kind)
            .or_default() += 1;
    };
    let source_cpu = source.cpu_seconds();
    let bench_cpu = procfs::cpu_seconds("self");
    let machine_cpu = machine_busy_seconds();
    let started = Instant::now();
    let deadline = started + FILL_DEADLINE;
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..FILL_CLIENTS)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let client = http_client(FILL_REQUEST_TIMEOUT, Some(source))?;
                    loop {
                        let batch = next.fetch_add(1, Ordering::Relaxed);
                        if batch >= batches || stop.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        let size = size_of(batch);
                        let body = bodies
                            .get(&(first_of(batch), size))
                            .context("internal: no body for a batch")?;
                        let mut attempt = 0;
                        loop {
                            attempt += 1;
                            if stop.load(Ordering::Relaxed) {
                                // Another client failed, or the fill ran out of time.
                                return Ok(());
                            }
                            if Instant::now() >= deadline {
                                stop.store(true, Ordering::Relaxed);
                                bail!("the fill did not finish within {FILL_DEADLINE:?}");
                            }
                            match post_json(&client, &endpoint, body.clone()) {
                                Ok((StatusCode::CREATED, _)) => {
                                    acknowledged.fetch_add(size, Ordering::Relaxed);
                                    break;
                                }
                                Ok((status, answer)) => {
                                    count_error(status.as_u16().to_string());
                                    if attempt >= FILL_ATTEMPTS {
                                        stop.store(true, Ordering::Relaxed);
                                        bail!(
                                            "batch {batch} was refused {attempt} times, last with {status}: {}",
                                            String::from_utf8_lossy(&answer)
                                                .chars()
                                                .take(300)
                                                .collect::<String>()
                                        );
                                    }
                                }
                                Err(error) => {
                                    count_error(node::transport_kind(&error).into());
                                    if attempt >= FILL_ATTEMPTS {
                                        stop.store(true, Ordering::Relaxed);
                                        let state = procfs_state(source.pid());
                                        bail!(
                                            "batch {batch} failed {attempt} times ({SOURCE} is {state}), last: {:#}",
                                            anyhow::Error::from(error)
                                        );
                                    }
                                }
                            }
                            std::thread::sleep(FILL_RETRY_PAUSE);
                        }
                    }
                })
            })
            .collect();
        let mut last_print = (Instant::now(), 0u64);
        while !workers.iter().all(|worker| worker.is_finished())
            && started.elapsed() < FILL_DEADLINE + FILL_REQUEST_TIMEOUT
        {
            std::thread::sleep(Duration::from_millis(100));
            if last_print.0.elapsed() >= PROGRESS_EVERY {
                let done = acknowledged.load(Ordering::Relaxed);
                let window = last_print.0.elapsed().as_secs_f64();
                println!(
                    "  {:>6.1} s: {} acknowledged ({} credentials/s over the last {window:.0} s)",
                    started.elapsed().as_secs_f64(),
                    thousands(done as f64),
                    thousands(done.saturating_sub(last_print.1) as f64 / window)
                );
                last_print = (Instant::now(), done);
            }
        }
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a fill client panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    for result in results {
        result.map_err(|error| {
            error.context(format!(
                "filling {SOURCE} (pid {}, {}); the end of its log: {}",
                source.pid(),
                procfs_state(source.pid()),
                log_tail(log_path, 3)
            ))
        })?;
    }
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    ensure!(
        acknowledged == entries,
        "the fill stopped after {} of {} credentials (deadline {FILL_DEADLINE:?})",
        thousands(acknowledged as f64),
        thousands(entries as f64)
    );
    let cores = |before: Option<f64>, after: Option<f64>| {
        Some((after? - before?) / elapsed.as_secs_f64().max(1e-9))
    };
    Ok(Fill {
        acknowledged,
        elapsed,
        errors: errors
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        source_cores: cores(source_cpu, source.cpu_seconds()),
        bench_cores: cores(bench_cpu, procfs::cpu_seconds("self")),
        machine_cores: cores(machine_cpu, machine_busy_seconds()),
    })
}

/// Waits until `node` uses less than [`QUIESCE_CORES`] over a second (RocksDB flushes and
/// compactions after the fill would otherwise compete with the follower), at most
/// [`QUIESCE_MAX`]; returns the time waited.
pub(super) fn wait_idle(node: &NodeProcess) -> Duration {
    let started = Instant::now();
    let step = Duration::from_secs(1);
    for _ in 0..QUIESCE_MAX.as_secs() {
        let Some(before) = node.cpu_seconds() else {
            break;
        };
        std::thread::sleep(step);
        let Some(after) = node.cpu_seconds() else {
            break;
        };
        if (after - before) / step.as_secs_f64() < QUIESCE_CORES {
            break;
        }
    }
    started.elapsed()
}
