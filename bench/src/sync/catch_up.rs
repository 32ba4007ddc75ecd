//! The catch-up part: fill the source, then time a fresh follower mirroring its log.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::federation::{Federation, PeerView, federation_status, http_client, stop_all};
use super::fill::{FILL_BATCH, FILL_CLIENTS, Fill, fill, wait_idle};
use super::machine::{dir_bytes, machine_busy_seconds, procfs_state};
use super::node_logs::{log_tail, report_logs};
use super::{FOLLOWER, Limits, PROGRESS_EVERY, REQUEST_TIMEOUT, SOURCE, SyncArgs, mib, seconds};
use crate::corpus::Example;
use crate::procfs::Memory;
use crate::report::{Table, thousands};

/// How often the follower's status is read during the catch-up.
const CATCH_UP_POLL: Duration = Duration::from_millis(150);

/// How long the catch-up may take in all.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The catch-up is reported as stalled when the mirrored size stays the same this long.
const CATCH_UP_STALL: Duration = Duration::from_secs(180);

/// Consecutive failed status reads after which the follower counts as gone.
const STATUS_FAILURES: u32 = 100;

/// What the catch-up part measured.
#[derive(Debug)]
pub(super) struct CatchUp {
    /// The source's log size, which the follower had to mirror.
    pub(super) target: u64,
    pub(super) fill: Fill,
    /// Time the source took to go idle after the fill.
    pub(super) quiesce: Duration,
    /// From the follower's spawn to its `listening on` line.
    pub(super) listening: Duration,
    /// From the spawn to the first status showing entries mirrored.
    pub(super) first_progress: Option<Duration>,
    /// From the spawn to the status showing the whole log mirrored.
    pub(super) reached: Option<Duration>,
    /// Why it did not finish, if it did not.
    pub(super) unfinished: Option<String>,
    /// The follower's last view of the source.
    pub(super) last_view: PeerView,
    /// Cores the follower used from spawn to the end of the catch-up.
    pub(super) follower_cores: Option<f64>,
    /// Cores the source used serving it, over the same time.
    pub(super) source_cores: Option<f64>,
    /// Cores the whole machine was busy over the same time (all processes).
    pub(super) machine_cores: Option<f64>,
    /// The follower's memory at the end.
    pub(super) follower_memory: Option<Memory>,
}

impl CatchUp {
    pub(super) fn entries_per_second(&self) -> Option<f64> {
        self.reached
            .map(|reached| self.target as f64 / reached.as_secs_f64().max(1e-9))
    }

    pub(super) fn table(&self, limits: &Limits) -> Table {
        let cores = |value: Option<f64>| value.map_or("—".into(), |cores| format!("{cores:.2}"));
        let mut table = Table::new(&["catch-up", "value"]);
        table.row(vec![
            format!(
                "fill of {SOURCE}: credentials, {FILL_CLIENTS} clients × batches of {FILL_BATCH}"
            ),
            thousands(self.fill.acknowledged as f64),
        ]);
        table.row(vec![
            "fill: credentials/s (wall time)".into(),
            format!(
                "{} ({})",
                thousands(
                    self.fill.acknowledged as f64 / self.fill.elapsed.as_secs_f64().max(1e-9)
                ),
                seconds(self.fill.elapsed)
            ),
        ]);
        table.row(vec![
            format!("fill: {SOURCE} / bench / machine (all processes) CPU cores"),
            format!(
                "{} / {} / {}",
                cores(self.fill.source_cores),
                cores(self.fill.bench_cores),
                cores(self.fill.machine_cores)
            ),
        ]);
        table.row(vec![
            "fill: answers other than 201 (retried)".into(),
            self.fill.errors(),
        ]);
        table.row(vec![
            format!("{SOURCE} idle again after the fill"),
            seconds(self.quiesce),
        ]);
        table.row(vec![
            format!("{FOLLOWER} spawn → listening"),
            seconds(self.listening),
        ]);
        table.row(vec![
            format!("{FOLLOWER} spawn → first entries mirrored"),
            self.first_progress.map_or("—".into(), seconds),
        ]);
        table.row(vec![
            format!(
                "{FOLLOWER} spawn → mirroredSize of {SOURCE} = {}",
                thousands(self.target as f64)
            ),
            match (&self.reached, &self.unfinished) {
                (Some(reached), _) => seconds(*reached),
                (None, Some(why)) => format!("not reached: {why}"),
                (None, None) => "not reached".into(),
            },
        ]);
        table.row(vec![
            "catch-up entries/s (from spawn)".into(),
            self.entries_per_second().map_or("—".into(), thousands),
        ]);
        let rate = self.entries_per_second().unwrap_or(0.0);
        table.row(vec![
            format!("… of the batch-verify limit ({} threads)", limits.threads),
            format!(
                "{:.0} %",
                100.0 * rate / limits.batch_all.per_second().max(1e-9)
            ),
        ]);
        table.row(vec![
            format!("… of the single-verify limit ({} threads)", limits.threads),
            format!(
                "{:.0} %",
                100.0 * rate / limits.verify_all.per_second().max(1e-9)
            ),
        ]);
        table.row(vec![
            format!("{FOLLOWER} CPU cores (spawn → done)"),
            cores(self.follower_cores),
        ]);
        table.row(vec![
            format!("{SOURCE} CPU cores serving it"),
            cores(self.source_cores),
        ]);
        table.row(vec![
            "machine CPU busy over the catch-up, all processes, cores".into(),
            cores(self.machine_cores),
        ]);
        table.row(vec![
            format!("{FOLLOWER} VmRSS at the end / peak VmHWM"),
            self.follower_memory.map_or("—".into(), |memory| {
                format!("{} / {}", mib(memory.rss_kib), mib(memory.peak_kib))
            }),
        ]);
        table.row(vec![
            format!("{FOLLOWER}'s last view of {SOURCE}"),
            format!(
                "{} mirrored, {}{}",
                thousands(self.last_view.mirrored as f64),
                self.last_view.state,
                self.last_view
                    .last_error
                    .as_deref()
                    .map_or(String::new(), |error| format!(" ({error})"))
            ),
        ]);
        table
    }
}

/// The catch-up part: fill the source, then time a fresh follower mirroring it.
pub(super) fn catch_up(
    args: &SyncArgs,
    binary: &Path,
    examples: &[Example],
    scratch: &Path,
) -> anyhow::Result<CatchUp> {
    println!();
    println!(
        "catch-up: {} entries in {SOURCE}'s log, then a fresh {FOLLOWER} mirrors them",
        thousands(args.entries as f64)
    );
    let federation = Federation::prepare(&args.federation, &scratch.join("catch-up"))?;
    let client = http_client(REQUEST_TIMEOUT, None)?;
    let source = federation.start(binary, SOURCE)?;
    println!(
        "started {SOURCE} (pid {}) at {}, data and logs in {}",
        source.pid(),
        source.url,
        federation.dir.display()
    );
    let before = federation_status(&client, &source.url)?["log"]["size"]
        .as_u64()
        .context("the status of the source has no log size")?;
    let fill = fill(
        &source,
        &federation.log_path(SOURCE),
        examples,
        args.entries,
    )?;
    let target = federation_status(&client, &source.url)?["log"]["size"]
        .as_u64()
        .context("the status of the source has no log size")?;
    if target != before + args.entries {
        println!(
            "note: {SOURCE}'s log holds {} entries, not {} + {}: the follower has to mirror {}",
            thousands(target as f64),
            thousands(before as f64),
            thousands(args.entries as f64),
            thousands(target as f64)
        );
    }
    println!(
        "filled: {} credentials acknowledged in {} ({} credentials/s); {SOURCE}'s log holds {} entries",
        thousands(fill.acknowledged as f64),
        seconds(fill.elapsed),
        thousands(fill.acknowledged as f64 / fill.elapsed.as_secs_f64().max(1e-9)),
        thousands(target as f64)
    );
    let quiesce = wait_idle(&source);
    println!("{SOURCE} idle after {}", seconds(quiesce));

    let source_cpu = source.cpu_seconds();
    let machine_cpu = machine_busy_seconds();
    let spawned = Instant::now();
    let follower = federation.spawn(binary, FOLLOWER)?;
    let listening = spawned.elapsed();
    println!(
        "started {FOLLOWER} (pid {}) at {} after {}; polling its status every {} ms …",
        follower.pid(),
        follower.url,
        seconds(listening),
        CATCH_UP_POLL.as_millis()
    );

    let mut first_progress = None;
    let mut reached = None;
    let mut unfinished = None;
    let mut last_view = PeerView::default();
    let mut failures = 0u32;
    let mut last_change = Instant::now();
    let mut last_print = (
        Instant::now(),
        (follower.cpu_seconds(), machine_busy_seconds()),
    );
    let max_polls = CATCH_UP_DEADLINE.as_millis() / CATCH_UP_POLL.as_millis() + 1;
    for _ in 0..max_polls {
        match federation_status(&client, &follower.url).and_then(|status| {
            PeerView::of(&status, SOURCE).context("the follower's status does not list the source")
        }) {
            Ok(view) => {
                // One reading for both, so a log mirrored in a single round shows as such.
                let seen = spawned.elapsed();
                failures = 0;
                if view.mirrored != last_view.mirrored {
                    last_change = Instant::now();
                }
                if view.mirrored > 0 && first_progress.is_none() {
                    first_progress = Some(seen);
                }
                last_view = view;
                if last_view.mirrored >= target {
                    reached = Some(seen);
                    break;
                }
            }
            Err(error) => {
                failures += 1;
                if failures >= STATUS_FAILURES {
                    unfinished = Some(format!(
                        "{failures} status reads failed in a row ({FOLLOWER} is {}, the end of \
                         its log: {}), the last: {error:#}",
                        procfs_state(follower.pid()),
                        log_tail(&federation.log_path(FOLLOWER), 3)
                    ));
                    break;
                }
            }
        }
        if last_print.0.elapsed() >= PROGRESS_EVERY {
            // mirroredSize moves at the end of a sync round; the data on disk and the CPU
            // show the progress within one.
            let window = last_print.0.elapsed().as_secs_f64();
            let cpu = (follower.cpu_seconds(), machine_busy_seconds());
            let rate = |now: Option<f64>, then: Option<f64>| {
                now.zip(then).map_or("—".into(), |(now, then)| {
                    format!("{:.2}", (now - then) / window)
                })
            };
            println!(
                "  {:>6.1} s: {} mirrored, {}; {FOLLOWER}: {} cores over the last {window:.0} s \
                 (machine: {}), RSS {}, data {}",
                spawned.elapsed().as_secs_f64(),
                thousands(last_view.mirrored as f64),
                last_view.state,
                rate(cpu.0, last_print.1.0),
                rate(cpu.1, last_print.1.1),
                follower
                    .memory()
                    .map_or("—".into(), |memory| mib(memory.rss_kib)),
                mib(dir_bytes(&federation.dir.join(FOLLOWER)) / 1024)
            );
            last_print = (Instant::now(), cpu);
        }
        if last_change.elapsed() >= CATCH_UP_STALL {
            unfinished = Some(format!(
                "stalled at {} entries for {} s",
                thousands(last_view.mirrored as f64),
                CATCH_UP_STALL.as_secs()
            ));
            break;
        }
        if spawned.elapsed() >= CATCH_UP_DEADLINE {
            break;
        }
        std::thread::sleep(CATCH_UP_POLL);
    }
    if reached.is_none() && unfinished.is_none() {
        unfinished = Some(format!(
            "deadline of {} s passed",
            CATCH_UP_DEADLINE.as_secs()
        ));
    }
    let elapsed = spawned.elapsed().as_secs_f64().max(1e-9);
    let follower_cores = follower.cpu_seconds().map(|cpu| cpu / elapsed);
    let source_cores = source
        .cpu_seconds()
        .zip(source_cpu)
        .map(|(after, before)| (after - before) / elapsed);
    let machine_cores = machine_busy_seconds()
        .zip(machine_cpu)
        .map(|(after, before)| (after - before) / elapsed);
    let follower_memory = follower.memory();
    match (&reached, &unfinished) {
        (Some(time), _) => println!(
            "{FOLLOWER} mirrored all {} entries of {SOURCE} {} after its spawn",
            thousands(target as f64),
            seconds(*time)
        ),
        (None, Some(why)) => println!("{FOLLOWER} did not catch up: {why}"),
        (None, None) => {}
    }

    stop_all(vec![(FOLLOWER, follower), (SOURCE, source)]);
    report_logs(&federation, &[SOURCE, FOLLOWER]);
    Ok(CatchUp {
        target,
        fill,
        quiesce,
        listening,
        first_progress,
        reached,
        unfinished,
        last_view,
        follower_cores,
        source_cores,
        machine_cores,
        follower_memory,
    })
}
