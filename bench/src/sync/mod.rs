//! `talent-bench sync`: how fast a fresh federation member catches up a peer's log,
//! verifying every entry, and how long a new credential takes to become verifiable (with a
//! quorum of cosignatures) at another member; next to the Ed25519 verify limits measured in
//! the same run.
//!
//! Both parts run the shipped Chengdu–Chongqing federation (`federation-config/`) with its
//! development keys, rewritten onto free loopback ports, as release `registry-node`
//! processes with temporary data directories:
//!
//! 1. *Catch-up*: `cq-sc` alone is filled with N credentials through
//!    `POST /api/v1/credentials:batch`; then `cd-hz` is started with an empty store and timed
//!    from its spawn until its federation status shows the whole of `cq-sc`'s log mirrored.
//! 2. *Propagation*: a new five-member federation; credentials are issued at `cq-sc` one at a
//!    time, and each is polled at `cd-hz` with `POST /api/v1/verify` until it verifies.

mod catch_up;
mod federation;
mod fill;
mod machine;
mod node_logs;
mod propagation;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::binaries;
use crate::corpus;
use crate::limits::{self, Parallel};
use crate::procfs::Machine;
use crate::report::{self, Table, millis, thousands};
use catch_up::catch_up;
use federation::Federation;
use propagation::propagation;

/// Issue 4's catch-up target on 2 cores, entries/s.
const TARGET_ENTRIES_PER_SECOND: f64 = 40_000.0;

/// Issue 4's propagation target, p99 issue → verified at a peer with five members.
const TARGET_PROPAGATION_P99: Duration = Duration::from_secs(1);

/// Signatures per batch of the Ed25519 batch-verification limit.
const VERIFY_BATCH: usize = 64;

/// The members of the shipped federation, in configuration order: the demo endpoint of the
/// member at position i is `http://127.0.0.1:{DEMO_FIRST_PORT + i}`.
const MEMBERS: [&str; 5] = ["cq-sc", "cd-hz", "cq-hrss", "sc-hrss", "bj-zgc"];

/// The member whose log is caught up and where credentials are issued.
const SOURCE: &str = "cq-sc";

/// The member that catches up, and where propagated credentials are verified.
const FOLLOWER: &str = "cd-hz";

/// A progress line during the fill and the catch-up every so often.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Timeout of one status, issue or verify request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `talent-bench sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Entries the source member's log holds before the fresh member catches up (0 skips
    /// the catch-up).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub entries: u64,
    /// Credentials issued one at a time to measure propagation (0 skips it).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub propagation_samples: u64,
    /// Where to create the members' data and logs [default: the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Keep the scratch directory (data and node logs) instead of deleting it at the end.
    #[arg(long)]
    pub keep_scratch: bool,
    /// Directory of issuance request bodies to send.
    #[arg(long, value_name = "DIR", default_value_os_t = corpus::default_examples_dir())]
    pub examples: PathBuf,
    /// The federation to run: a directory with `federation.toml` (members on the demo ports
    /// 7101–7105, rewritten to free ports) and `dev-keys/<member>/`.
    #[arg(long, value_name = "DIR", default_value_os_t = default_federation_dir())]
    pub federation: PathBuf,
}

/// `federation-config/chengdu-chongqing/` of the workspace this binary was built from.
fn default_federation_dir() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench
        .parent()
        .unwrap_or(bench)
        .join("federation-config")
        .join("chengdu-chongqing")
}

/// Nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], fraction: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

/// The limits measured in this run.
#[derive(Debug)]
struct Limits {
    threads: usize,
    verify_one: Parallel,
    verify_all: Parallel,
    batch_all: Parallel,
}

impl Limits {
    fn measure(threads: usize) -> anyhow::Result<Limits> {
        Ok(Limits {
            threads,
            verify_one: limits::ed25519_verify(1)?,
            verify_all: limits::ed25519_verify(threads)?,
            batch_all: limits::ed25519_batch_verify(threads, VERIFY_BATCH)?,
        })
    }

    fn table(&self) -> Table {
        let on_threads = report::count(self.threads as u64, "thread", "threads");
        let mut table = Table::new(&["limit measured in this run", "per second", "each"]);
        table.row(vec![
            "Ed25519 verify of 64 bytes, 1 core".into(),
            thousands(self.verify_one.per_second()),
            format!("{:.1} µs", 1e6 / self.verify_one.per_second().max(1e-9)),
        ]);
        table.row(vec![
            format!("Ed25519 verify of 64 bytes, {on_threads}"),
            thousands(self.verify_all.per_second()),
            String::new(),
        ]);
        table.row(vec![
            format!("Ed25519 batch verify (batches of {VERIFY_BATCH}), {on_threads}"),
            thousands(self.batch_all.per_second()),
            String::new(),
        ]);
        table
    }
}

/// Runs the benchmark and prints its tables.
///
/// # Errors
/// A node could not be started or reached, the fill failed, or a limit could not be
/// measured. A catch-up or propagation that does not finish in time is reported, not an
/// error.
pub fn run(args: &SyncArgs) -> anyhow::Result<()> {
    let binary = binaries::sibling("registry-node")?;
    let machine = Machine::current();
    println!("{}", report::header("sync", &machine));
    let examples = corpus::load_examples(&args.examples)?;
    let mut scratch = tempfile::Builder::new();
    // Kept on request even when the benchmark stops early, for the node logs.
    scratch
        .prefix("talent-bench-sync-")
        .disable_cleanup(args.keep_scratch);
    let scratch = match &args.scratch {
        Some(parent) => scratch.tempdir_in(parent),
        None => scratch.tempdir(),
    }
    .context("creating the scratch directory")?;
    // Check the federation can be prepared before spending time on the limits.
    Federation::prepare(&args.federation, &scratch.path().join("config-check"))?;

    println!("measuring limits (about 3 s) …");
    let limits = Limits::measure(machine.cores)?;
    print!("{}", limits.table().render());

    let catch_up = if args.entries > 0 {
        Some(catch_up(args, &binary, &examples, scratch.path())?)
    } else {
        None
    };
    let propagation = if args.propagation_samples > 0 {
        Some(propagation(args, &binary, &examples, scratch.path())?)
    } else {
        None
    };

    println!();
    println!("summary");
    print!("{}", limits.table().render());
    if let Some(catch_up) = &catch_up {
        print!("{}", catch_up.table(&limits).render());
    }
    if let Some(propagation) = &propagation {
        print!("{}", propagation.table().render());
    }
    if let Some(catch_up) = &catch_up {
        let rate = catch_up.entries_per_second();
        println!(
            "catch-up: {} entries/s = {:.0} % of the Ed25519 batch-verify limit and {:.0} % of \
             the single-verify limit on {}; target (issue 4): ≥ {} entries/s on 2 cores \
             ({} entries in ≤ {:.1} s).",
            rate.map_or("—".into(), thousands),
            100.0 * rate.unwrap_or(0.0) / limits.batch_all.per_second().max(1e-9),
            100.0 * rate.unwrap_or(0.0) / limits.verify_all.per_second().max(1e-9),
            report::count(limits.threads as u64, "thread", "threads"),
            thousands(TARGET_ENTRIES_PER_SECOND),
            thousands(catch_up.target as f64),
            catch_up.target as f64 / TARGET_ENTRIES_PER_SECOND,
        );
        if catch_up.reached.is_some() && catch_up.first_progress == catch_up.reached {
            println!(
                "note: {FOLLOWER}'s status showed 0 entries of {SOURCE} mirrored until the whole \
                 log was: mirroredSize only moves at the end of a sync round."
            );
        }
    }
    if let Some(propagation) = &propagation {
        println!(
            "propagation: p99 {} ms issue → verified with quorum at {FOLLOWER} over {} \
             ({} timed out); target (issue 4): p99 ≤ {} ms with five members.",
            propagation
                .quorum_percentile(0.99)
                .map_or("—".into(), millis),
            report::count(propagation.samples.len() as u64, "sample", "samples"),
            propagation.timeouts(),
            TARGET_PROPAGATION_P99.as_millis()
        );
    }
    if args.keep_scratch {
        println!("scratch directory kept: {}", scratch.path().display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&sorted, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&sorted, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
