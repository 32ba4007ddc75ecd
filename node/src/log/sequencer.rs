//! The sequencer: one task that appends submitted entries to the log in batches (group
//! commit) and acknowledges each submission only after its batch is durable.
//!
//! Submissions wait in a bounded queue (a full queue is refused at once with
//! [`SequenceError::Busy`], which the API turns into 503 + `Retry-After`). The task takes
//! everything queued, up to `max_batch_entries`, optionally waiting `max_batch_delay` for
//! more, and commits it as one synced RocksDB `WriteBatch`. While one batch is being
//! written, the next accumulates, so batches grow with load without adding latency when
//! the node is idle. A submission is never split across batches.
//!
//! The task is a [`crate::worker`]: at its stop signal it refuses new submissions
//! ([`SequenceError::Stopped`]), commits and answers every one already queued, and only then
//! returns, so every submission the node accepted is answered, once durable or with the
//! reason it is not.

use std::sync::Arc;
use std::time::Duration;

use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use talent_tlog::merkle::{InclusionProof, ProofError, TreeExtension};
use tokio::sync::{mpsc, oneshot};

use super::{Log, LogHead};
use crate::metrics::LogMetrics;
use crate::store::{AppendBatch, AppendedEntry};
use crate::worker::{Worker, Workers};

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most entries one batch commits (a larger single submission still commits whole).
    pub max_batch_entries: usize,
    /// How long the sequencer waits for more submissions after the first (0: commit what is
    /// queued at once).
    pub max_batch_delay: Duration,
    /// Submissions that may wait; beyond this the node answers 503.
    pub queue_capacity: usize,
}

impl Default for BatchConfig {
    fn default() -> BatchConfig {
        BatchConfig {
            max_batch_entries: 4096,
            max_batch_delay: Duration::ZERO,
            queue_capacity: 1024,
        }
    }
}

/// One entry to append.
#[derive(Debug)]
pub struct PendingEntry {
    /// Entry bytes (JCS of a signed object).
    pub entry: Vec<u8>,
    /// The credential the entry is, to index it by id.
    pub credential_id: Option<CredentialId>,
    /// The local-only full ID number of the credential's subject.
    pub resident_id: Option<ResidentIdNumber>,
    /// The status-list slot the credential uses.
    pub status_slot: Option<talent_core::status_list::StatusSlot>,
    /// What the entry changes beside the log (issuer history, a status).
    pub effects: crate::store::EntryEffects,
}

impl PendingEntry {
    /// The entry as a log batch writes it.
    pub fn appended(&self) -> AppendedEntry<'_> {
        AppendedEntry {
            entry: &self.entry,
            credential_id: self.credential_id,
            resident_id: self.resident_id.as_ref(),
            status_slot: self.status_slot,
            effects: self.effects,
        }
    }
}

/// Where an entry landed.
#[derive(Debug, Clone)]
pub struct Appended {
    /// Its leaf index.
    pub index: u64,
    /// The checkpoint of the batch that made it durable.
    pub checkpoint: Arc<Vec<u8>>,
    /// Its inclusion proof under that checkpoint.
    pub proof: InclusionProof,
}

/// Why a submission was not appended. Nothing of it is in the log.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SequenceError {
    /// The queue is full: retry shortly.
    #[error("the log is busy; retry shortly")]
    Busy,
    /// The sequencer has stopped (shutdown).
    #[error("the log is shutting down")]
    Stopped,
    /// The log refuses new entries (the rollback check at start): a peer holds more of it than this
    /// node, or the peers have not confirmed a restored log yet.
    #[error("the log takes no new entries: {0}")]
    Held(String),
    /// The batch could not be committed; the log was reloaded from disk.
    #[error("appending to the log failed: {0}")]
    Failed(String),
}

struct Submission {
    entries: Vec<PendingEntry>,
    reply: oneshot::Sender<Result<Vec<Appended>, SequenceError>>,
}

/// Handle to submit entries to the sequencer task.
#[derive(Debug, Clone)]
pub struct Sequencer {
    sender: mpsc::Sender<Submission>,
    /// The log, for its hold ([`Log::held`]).
    log: Arc<Log>,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Sequencer {
    /// Starts the sequencer of `log` as the worker `sequencer` of `workers`, counting its
    /// batches in `metrics`.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(
        log: Arc<Log>,
        config: BatchConfig,
        workers: &mut Workers,
        metrics: LogMetrics,
    ) -> Sequencer {
        let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let held = Arc::clone(&log);
        workers.spawn("sequencer", move |worker| {
            run(log, config, receiver, worker, metrics)
        });
        Sequencer { sender, log: held }
    }

    /// Whether the sequencer still takes submissions (it stops only at the node's stop, or
    /// when its task died).
    pub fn is_running(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Appends `entries` as one unit and waits until they are durable.
    ///
    /// # Errors
    /// [`SequenceError::Busy`] when the queue is full, [`SequenceError::Stopped`],
    /// [`SequenceError::Failed`] when the commit failed (nothing was appended),
    /// [`SequenceError::Held`] while the log refuses new entries.
    pub async fn append(&self, entries: Vec<PendingEntry>) -> Result<Vec<Appended>, SequenceError> {
        if let Some(reason) = self.log.held() {
            return Err(SequenceError::Held(reason));
        }
        let (reply, receive) = oneshot::channel();
        self.sender
            .try_send(Submission { entries, reply })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SequenceError::Busy,
                mpsc::error::TrySendError::Closed(_) => SequenceError::Stopped,
            })?;
        receive.await.map_err(|_| SequenceError::Stopped)?
    }
}

/// The sequencer task: batches and commits submissions until it is asked to stop and has
/// answered every submission queued by then.
async fn run(
    log: Arc<Log>,
    config: BatchConfig,
    mut receiver: mpsc::Receiver<Submission>,
    mut worker: Worker,
    metrics: LogMetrics,
) {
    let mut closed = false;
    loop {
        let first = tokio::select! {
            // The stop first, so a steady stream of submissions cannot hold it off; closing
            // loses nothing: `recv` still yields every submission queued, then `None`.
            biased;
            () = worker.stopped(), if !closed => {
                receiver.close();
                closed = true;
                continue;
            }
            first = receiver.recv() => first,
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        let mut count = batch[0].entries.len();
        let deadline = tokio::time::Instant::now() + config.max_batch_delay;
        while count < config.max_batch_entries {
            let next = if config.max_batch_delay.is_zero() {
                receiver.try_recv().ok()
            } else {
                tokio::time::timeout_at(deadline, receiver.recv())
                    .await
                    .ok()
                    .flatten()
            };
            let Some(submission) = next else { break };
            count += submission.entries.len();
            batch.push(submission);
        }
        let (entries, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|submission| (submission.entries, submission.reply))
            .unzip();
        let sizes: Vec<usize> = entries.iter().map(Vec::len).collect();
        let flat: Vec<PendingEntry> = entries.into_iter().flatten().collect();
        let committing = Arc::clone(&log);
        let committed = metrics.clone();
        let result = tokio::task::spawn_blocking(move || commit(&committing, flat, &committed))
            .await
            .unwrap_or_else(|error| Err(SequenceError::Failed(error.to_string())));
        match result {
            Ok(appended) => {
                worker.succeeded();
                let mut rest = appended.into_iter();
                for (reply, size) in replies.into_iter().zip(sizes) {
                    let _ = reply.send(Ok(rest.by_ref().take(size).collect()));
                }
            }
            Err(error) => {
                tracing::error!(%error, "log batch failed; nothing of it was acknowledged");
                // Not retried: each submitter has its answer and may submit again. The
                // delay is not waited for either.
                let _ = worker.failed(&error);
                metrics.failed();
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

impl Log {
    /// `head`'s tree extended by `entries`, in memory.
    pub(super) fn extended(
        head: &LogHead,
        entries: &[PendingEntry],
    ) -> Result<TreeExtension, String> {
        let mut tree =
            TreeExtension::new(head.size, &head.frontier).map_err(|error| error.to_string())?;
        for pending in entries {
            tree.push(&pending.entry)
                .map_err(|error| error.to_string())?;
        }
        Ok(tree)
    }

    /// Writes `entries`, which extend `head` to `tree` (of root `root`), as one durable
    /// batch under `checkpoint`, then makes that the head. Call under the append lock. The
    /// new frontier comes from memory before the write: a crash before this returns leaves
    /// none of the batch on disk, after it all of it (the head is reloaded at the next
    /// start).
    pub(super) fn write_extension(
        &self,
        head: &LogHead,
        entries: &[PendingEntry],
        tree: &TreeExtension,
        root: talent_tlog::Hash,
        checkpoint: Arc<Vec<u8>>,
    ) -> Result<(), String> {
        let frontier = tree.frontier().map_err(|error| error.to_string())?;
        let batch = AppendBatch {
            first_index: head.size,
            entries: entries.iter().map(PendingEntry::appended).collect(),
            hashes: tree.added_hashes(),
            checkpoint: &checkpoint,
        };
        self.store
            .append(&batch)
            .map_err(|error| error.to_string())?;
        self.set_head(LogHead {
            size: tree.size(),
            root,
            checkpoint,
            frontier,
        });
        Ok(())
    }
}

/// Appends one batch durably and returns where each entry landed; counts the batch and
/// the time of its synced write in `metrics`.
fn commit(
    log: &Log,
    entries: Vec<PendingEntry>,
    metrics: &LogMetrics,
) -> Result<Vec<Appended>, SequenceError> {
    let _appending = log
        .appending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Held after these were queued: they wait no longer than the hold.
    if let Some(reason) = log.held() {
        return Err(SequenceError::Held(reason));
    }
    let head = log.head();
    let failed = |error: &dyn std::fmt::Display| SequenceError::Failed(error.to_string());
    let tree = Log::extended(&head, &entries).map_err(SequenceError::Failed)?;
    let size = tree.size();
    let root = tree.root().map_err(|error| failed(&error))?;
    let note = log
        .sign_checkpoint(size, root)
        .map_err(|error| failed(&error))?;

    // Proofs come from memory, so they are computed before the write: after it, nothing
    // can fail.
    let checkpoint = Arc::new(note);
    let appended = (head.size..size)
        .map(|index| {
            Ok(Appended {
                index,
                checkpoint: Arc::clone(&checkpoint),
                proof: tree.inclusion_proof(index)?,
            })
        })
        .collect::<Result<Vec<_>, ProofError>>()
        .map_err(|error| failed(&error))?;
    // Nobody is acknowledged before the batch is on disk.
    let writing = std::time::Instant::now();
    log.write_extension(&head, &entries, &tree, root, checkpoint)
        .map_err(SequenceError::Failed)?;
    metrics.committed(entries.len(), writing.elapsed().as_secs_f64());
    Ok(appended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EntryEffects, PersonalKeys, Store};
    use crate::worker::BackoffPolicy;
    use ed25519_dalek::SigningKey;

    fn entry(index: usize) -> PendingEntry {
        PendingEntry {
            entry: format!("{{\"entry\":{index}}}").into_bytes(),
            credential_id: None,
            resident_id: None,
            status_slot: None,
            effects: EntryEffects::default(),
        }
    }

    /// Submissions queued when the stop comes are committed and answered before the
    /// sequencer returns; a submission after the stop is refused, not lost.
    #[tokio::test(flavor = "current_thread")]
    async fn at_the_stop_every_queued_submission_is_answered_once_durable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(dir.path(), PersonalKeys::for_tests()).expect("store"));
        let key = SigningKey::from_bytes(&[7; 32]);
        let log =
            Arc::new(Log::open(Arc::clone(&store), "registry.test.example/log", key).expect("log"));
        let mut workers = Workers::new(BackoffPolicy::NODE);
        let config = BatchConfig {
            max_batch_entries: 3,
            ..BatchConfig::default()
        };
        let metrics = crate::metrics::Metrics::new().expect("metrics");
        let sequencer =
            Sequencer::start(Arc::clone(&log), config, &mut workers, metrics.log.clone());
        let submitted: Vec<_> = (0..20)
            .map(|index| {
                let sequencer = sequencer.clone();
                tokio::spawn(async move { sequencer.append(vec![entry(index)]).await })
            })
            .collect();
        // On this one thread the submitters run at this yield and queue their entries; the
        // sequencer has committed nothing yet when it is told to stop.
        tokio::task::yield_now().await;
        assert_eq!(log.head().size, 0, "nothing committed before the stop");
        let stopped = workers.stop(Duration::from_secs(30)).await;
        assert_eq!(stopped.drained, ["sequencer"]);
        let mut indexes = Vec::new();
        for answer in submitted {
            let appended = answer
                .await
                .expect("submitter")
                .expect("appended, not refused");
            indexes.extend(appended.iter().map(|appended| appended.index));
        }
        indexes.sort_unstable();
        assert_eq!(indexes, (0..20).collect::<Vec<u64>>(), "each answered once");
        assert_eq!(log.head().size, 20);
        assert!(matches!(
            sequencer.append(vec![entry(20)]).await,
            Err(SequenceError::Stopped)
        ));
        drop(log);
        // Durable: a reopened log holds all twenty.
        let reopened = Log::open(
            store,
            "registry.test.example/log",
            SigningKey::from_bytes(&[7; 32]),
        )
        .expect("reopens");
        assert_eq!(reopened.head().size, 20);
    }

    /// A log with an SM2 key signs both lines on every checkpoint; a head stored before the
    /// key was named gains the line when the log is reopened with it; an Ed25519-only log's
    /// checkpoints have one line.
    #[tokio::test(flavor = "current_thread")]
    async fn an_sm2_log_signs_every_checkpoint_twice() {
        use talent_integrity::keys::Sm2SigningKey;
        use talent_tlog::checkpoint::{open_checkpoint_with_sm2, sign_checkpoint};
        const ORIGIN: &str = "registry.test.example/log";
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(dir.path(), PersonalKeys::for_tests()).expect("store"));
        let key = SigningKey::from_bytes(&[7; 32]);
        let plain = Log::open(Arc::clone(&store), ORIGIN, key.clone()).expect("log");
        let head = plain.head();
        assert_eq!(
            *head.checkpoint,
            sign_checkpoint(ORIGIN, 0, head.root, &key).expect("signs"),
            "Ed25519-only: the checkpoint is the one-line note"
        );
        drop(plain);

        let sm2 = Sm2SigningKey::from_bytes(&[9; 32]).expect("an SM2 key");
        let log = Arc::new(
            Log::open_with_sm2(Arc::clone(&store), ORIGIN, key.clone(), Some(sm2))
                .expect("reopens with SM2"),
        );
        let vkey = log.verifier_key().to_owned();
        let sm2_vkey = log.sm2_verifier_key().expect("an SM2 vkey").to_owned();
        let opens = |note: &[u8]| open_checkpoint_with_sm2(note, ORIGIN, &vkey, Some(&sm2_vkey));
        opens(&log.head().checkpoint).expect("the stored head gained the SM2 line");
        let mut workers = Workers::new(BackoffPolicy::NODE);
        let sequencer = Sequencer::start(
            Arc::clone(&log),
            BatchConfig::default(),
            &mut workers,
            crate::metrics::Metrics::new().expect("metrics").log,
        );
        let appended = sequencer
            .append(vec![entry(0), entry(1)])
            .await
            .expect("appended");
        let verified = opens(&appended[0].checkpoint).expect("both lines");
        assert_eq!(verified.size(), 2);
        let text = String::from_utf8(appended[0].checkpoint.to_vec()).expect("UTF-8");
        assert_eq!(
            text.matches(&format!("\u{2014} {ORIGIN} ")).count(),
            2,
            "{text}"
        );
        workers.stop(Duration::from_secs(30)).await;
    }
}
