//! A closed-loop load level: N clients, released together, each sending one request at a
//! time until the level's duration or request budget is spent. What they saw is merged
//! into one [`Stats`]; a [`Level`] is one row of a benchmark's table.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::procfs;
use crate::report::{millis, thousands};

/// What the clients of one level saw.
#[derive(Debug, Default)]
pub struct Stats {
    /// Latency of every successful request, in microseconds (sorted once the level ends).
    pub latencies_us: Vec<u32>,
    /// What the successes did: credentials acknowledged, verdicts verified.
    pub units: u64,
    /// Requests that did not succeed, by kind (`503`, `200 not verified`, `timeout`, …).
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    /// A success: the request sent at `sent` did `units`.
    pub fn success(&mut self, sent: Instant, units: u64) {
        let latency = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.push(latency);
        self.units += units;
    }

    /// A request that did not succeed, as `kind`.
    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.units += other.units;
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
    }

    /// `none`, or e.g. `503×12, timeout×1`.
    pub fn errors(&self) -> String {
        if self.errors.is_empty() {
            return "none".into();
        }
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|(kind, count)| format!("{kind}×{count}"))
            .collect();
        parts.join(", ")
    }

    /// Nearest-rank percentile of the latencies (sorted by [`run_level`]).
    pub fn percentile(&self, fraction: f64) -> Option<Duration> {
        let sorted = &self.latencies_us;
        let last = sorted.len().checked_sub(1)?;
        let rank = (fraction * sorted.len() as f64).ceil() as usize;
        let index = rank.saturating_sub(1).min(last);
        sorted
            .get(index)
            .map(|&micros| Duration::from_micros(u64::from(micros)))
    }
}

/// Runs `clients` clients made by `client(index)`, which wait on `start` (for `clients + 1`)
/// once connected. Returns the time from the common start to the last client's end, and
/// what they saw, latencies sorted.
///
/// # Errors
/// A client task failed, or the level overran `duration` by more than twice
/// `request_timeout` and ten seconds.
pub async fn run_level<F, Fut>(
    clients: usize,
    start: &Barrier,
    duration: Duration,
    request_timeout: Duration,
    mut client: F,
) -> anyhow::Result<(Duration, Stats)>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Stats> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for index in 0..clients {
        tasks.spawn(client(index));
    }
    start.wait().await;
    let started = Instant::now();
    let guard = duration + 2 * request_timeout + Duration::from_secs(10);
    let mut total = Stats::default();
    let joined = tokio::time::timeout(guard, async {
        while let Some(result) = tasks.join_next().await {
            total.merge(result.context("a client task failed")?);
        }
        anyhow::Ok(())
    })
    .await;
    match joined {
        Ok(result) => result?,
        Err(_) => {
            tasks.abort_all();
            bail!("the {clients}-client level did not finish within {guard:?}");
        }
    }
    total.latencies_us.sort_unstable();
    Ok((started.elapsed(), total))
}

/// One level's result.
#[derive(Debug)]
pub struct Level {
    /// Concurrent clients.
    pub clients: usize,
    /// From the common start to the last client's end.
    pub elapsed: Duration,
    /// What they saw.
    pub stats: Stats,
    /// Cores the node used meanwhile, when known.
    pub node_cores: Option<f64>,
    /// Cores the benchmark used meanwhile, when known.
    pub bench_cores: Option<f64>,
}

impl Level {
    /// Runs a level of `clients` with `run` (a [`run_level`]), measuring the cores the node
    /// (`node_cpu`: its CPU seconds so far, when known) and this process used meanwhile.
    ///
    /// # Errors
    /// As `run`.
    pub fn measure(
        clients: usize,
        node_cpu: impl Fn() -> Option<f64>,
        run: impl FnOnce() -> anyhow::Result<(Duration, Stats)>,
    ) -> anyhow::Result<Level> {
        let (node_before, bench_before) = (node_cpu(), procfs::cpu_seconds("self"));
        let (elapsed, stats) = run()?;
        let cores = |before: Option<f64>, after: Option<f64>| {
            Some((after? - before?) / elapsed.as_secs_f64().max(1e-9))
        };
        Ok(Level {
            clients,
            elapsed,
            stats,
            node_cores: cores(node_before, node_cpu()),
            bench_cores: cores(bench_before, procfs::cpu_seconds("self")),
        })
    }

    /// A line as the level finishes, so a long run shows progress: clients, `unit`/s,
    /// p99 and errors.
    pub fn progress(&self, unit: &str) -> String {
        format!(
            "  {}: {} {unit}/s, p99 {} ms, errors: {}",
            crate::report::count(self.clients as u64, "client", "clients"),
            thousands(self.per_second()),
            self.stats.percentile(0.99).map_or("—".into(), millis),
            self.stats.errors()
        )
    }

    /// Units (credentials, verified verdicts) per second.
    pub fn per_second(&self) -> f64 {
        self.stats.units as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The table row: clients, units/s, p50, p99 and max latency, units, errors, node CPU,
    /// bench CPU.
    pub fn row(&self) -> Vec<String> {
        let latency = |fraction: f64| self.stats.percentile(fraction).map_or("—".into(), millis);
        let cores = |value: Option<f64>| value.map_or("—".into(), |cores| format!("{cores:.2}"));
        vec![
            self.clients.to_string(),
            thousands(self.per_second()),
            latency(0.50),
            latency(0.99),
            latency(1.0),
            thousands(self.stats.units as f64),
            self.stats.errors(),
            cores(self.node_cores),
            cores(self.bench_cores),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let stats = Stats {
            latencies_us: (1..=100).collect(),
            ..Stats::default()
        };
        assert_eq!(stats.percentile(0.50), Some(Duration::from_micros(50)));
        assert_eq!(stats.percentile(0.99), Some(Duration::from_micros(99)));
        assert_eq!(stats.percentile(1.0), Some(Duration::from_micros(100)));
        assert_eq!(Stats::default().percentile(0.5), None);
    }

    #[test]
    fn errors_read_as_kinds_with_counts() {
        let mut stats = Stats::default();
        assert_eq!(stats.errors(), "none");
        stats.error("503");
        stats.error("503");
        stats.error("timeout");
        assert_eq!(stats.errors(), "503×2, timeout×1");
    }
}
