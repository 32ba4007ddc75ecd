//! The batch scheduler: concurrent verifications on one thread are verified together, their
//! signatures as one Ed25519 batch, their checkpoints through a per-thread memo.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use talent_core::credential::VerifiedCredential;
use talent_core::issuers::IssuerRegistry;
use talent_core::verify::{
    CheckpointMemo, IssuerContext, LeafText, PreparedCredential, Verdict, VerifyOptions,
    check_signatures, prepare_credential,
};
use talent_integrity::did::KeyCache;
use thread_local::ThreadLocal;
use tokio::sync::oneshot;

use super::locate::{Holders, Located, locate};
use super::{Sources, VerificationError};
use crate::metrics::{Outcome, VerificationMetrics};

/// How many requests one Ed25519 batch takes at most: enough to amortise the batch, few
/// enough that the requests answered first are not held long behind the rest of a turn.
/// On 2 cores, when batches went to blocking threads, 32 gave more requests/s and a lower
/// p99 than 64 in 14 of 15 alternated pairs, and 16 gave fewer than 32; with per-thread
/// turns 64 made no consistent difference (docs/benchmarks.md).
const MAX_BATCH: usize = 32;

/// A request waiting for its batch, and where its answer goes.
type Job = (Request, oneshot::Sender<Result<Checked, VerificationError>>);

/// One request waiting for its batch.
pub(super) struct Request {
    /// What the request is verified against.
    pub(super) sources: Sources,
    /// The presented credential.
    pub(super) credential: Value,
    /// Whether the log evidence must carry the witness quorum.
    pub(super) require_quorum: bool,
    /// Whether to answer with the verified credential (recognition was asked).
    pub(super) keep_verified: bool,
}

/// Verifies concurrent requests together, on the thread that read them.
///
/// A handler adds its request to its thread's current turn; the first request of a turn
/// spawns the task that verifies it, and that task first lets every task already woken on
/// the thread run (`yield_now`). On a server thread (see the `server` module) a turn thus holds
/// every request read in one turn of its event loop. The turn's requests are verified in
/// batches of at most `MAX_BATCH` (32), their signatures as one Ed25519 batch
/// (`talent_core::verify::check_signatures`); every other check runs per request exactly
/// as [`talent_core::verify::verify_credential`] would, so each verdict is the one a
/// request verified alone gets. Under light load a turn holds one request and nothing
/// waits; under load a turn holds what arrived while the previous one was verified.
///
/// On a multi-threaded runtime it stays correct: a turn is then the requests of one worker
/// thread, and its task verifies them on whichever worker runs it.
///
/// The thread verifies in place rather than handing batches to blocking threads: the
/// evidence it reads is RocksDB point reads, nearly always from memory, and keeping a
/// request on one core was worth 45 % more requests/s on 2 cores (docs/benchmarks.md).
#[derive(Default)]
pub struct Batcher {
    turns: ThreadLocal<Arc<Turn>>,
    /// Where verdicts are counted by outcome (none in tests that build a bare batcher).
    metrics: Option<VerificationMetrics>,
}

// Not derived: the waiting requests are not worth printing.
impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    /// A batcher that counts every verdict in `metrics`.
    pub fn counted(metrics: VerificationMetrics) -> Batcher {
        Batcher {
            turns: ThreadLocal::new(),
            metrics: Some(metrics),
        }
    }

    /// The verdict for one request, verified in its thread's next turn.
    pub(super) async fn verify(&self, request: Request) -> Result<Checked, VerificationError> {
        let (reply, answer) = oneshot::channel();
        let turn = self.turns.get_or_default();
        if turn.add((request, reply)) {
            tokio::spawn(verify_turn(ScheduledTurn(Some(Arc::clone(turn)))));
        }
        let checked = answer.await.unwrap_or(Err(VerificationError::BatchFailed));
        if let Some(metrics) = &self.metrics {
            metrics.count(match &checked {
                Ok(checked) if checked.verdict.verified => Outcome::Verified,
                Ok(_) => Outcome::NotVerified,
                Err(_) => Outcome::Error,
            });
        }
        checked
    }
}

/// The requests of one thread waiting for their turn to be verified.
#[derive(Default)]
struct Turn {
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    jobs: Vec<Job>,
    /// Whether a task to verify them is spawned and has not taken them yet.
    scheduled: bool,
}

impl Turn {
    /// Adds a request; true when it is the turn's first, whose handler spawns the task.
    fn add(&self, job: Job) -> bool {
        let mut waiting = self.lock();
        waiting.jobs.push(job);
        !std::mem::replace(&mut waiting.scheduled, true)
    }

    /// The requests of the turn; the next request starts a new one.
    fn take(&self) -> Vec<Job> {
        let mut waiting = self.lock();
        waiting.scheduled = false;
        std::mem::take(&mut waiting.jobs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // Nothing panics while the lock is held; a poisoned one still holds whole jobs.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A turn whose task is spawned. Dropped before it ran (its runtime shutting down), it
/// takes its requests anyway, so they fail at once and the thread's next request starts a
/// new turn instead of waiting behind one that never comes.
struct ScheduledTurn(Option<Arc<Turn>>);

impl ScheduledTurn {
    fn take(&mut self) -> Vec<Job> {
        self.0.take().map(|turn| turn.take()).unwrap_or_default()
    }
}

impl Drop for ScheduledTurn {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Verifies a turn once the tasks already woken on this thread have added their requests,
/// one batch at a time, letting the answered handlers write their responses in between.
async fn verify_turn(mut turn: ScheduledTurn) {
    tokio::task::yield_now().await;
    let mut jobs = turn.take().into_iter();
    loop {
        let batch: Vec<Job> = jobs.by_ref().take(MAX_BATCH).collect();
        if batch.is_empty() {
            break;
        }
        verify_batch(batch);
        if jobs.len() > 0 {
            tokio::task::yield_now().await;
        }
    }
}

/// Verifies one batch and answers each request. A request whose evidence cannot be read
/// is answered with its error alone.
///
/// Each credential is prepared first, keeping its canonical text when a log holds its id:
/// that text is the log entry's bytes, so the entry the verdict relies on is picked by
/// comparing it with every entry carrying the id ([`Holders::matching`]), and the
/// inclusion check hashes the same text as the leaf.
fn verify_batch(batch: Vec<Job>) {
    let mut requests = Vec::with_capacity(batch.len());
    let mut holders = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for (request, reply) in batch {
        match Holders::of(&request.sources.logs, &request.credential) {
            Ok(found) => {
                requests.push(request);
                holders.push(found);
                replies.push(reply);
            }
            Err(error) => {
                // The requester may have gone; nothing to do then.
                let _ = reply.send(Err(error));
            }
        }
    }
    let mut keys = KeyCache::new();
    let mut prepared: Vec<PreparedCredential<'_>> = requests
        .iter()
        .zip(&holders)
        .map(|(request, holders)| {
            let leaf = if holders.as_ref().is_some_and(Holders::any) {
                LeafText::Keep
            } else {
                LeafText::Skip
            };
            prepare_credential(
                &request.credential,
                &request.sources.schemas,
                &mut keys,
                leaf,
            )
        })
        .collect();
    check_signatures(&mut prepared);
    let located: Vec<Result<Ready, VerificationError>> = requests
        .iter()
        .zip(holders)
        .zip(&prepared)
        .map(|((request, mut holders), prepared)| {
            let sources = &request.sources;
            let found = match &mut holders {
                Some(holders) => holders.matching(&sources.logs, prepared.canonical())?,
                None => None,
            };
            let located = locate(
                &sources.logs,
                &request.credential,
                request.require_quorum,
                holders.as_ref(),
                found,
            )?;
            let registry = sources.issuers.registry(&located.member);
            Ok((located, registry))
        })
        .collect();
    let now = Utc::now();
    CHECKPOINTS.with_borrow_mut(|checkpoints| {
        answer_batch(prepared, &requests, located, replies, now, checkpoints);
    });
}

/// A request's evidence and the issuer registry of the log it was found in.
type Ready = (Located, Option<Arc<IssuerRegistry>>);

thread_local! {
    /// Checkpoints checked on this thread, kept from batch to batch: a log's
    /// checkpoint changes only when it grows, and checking its signature and cosignatures
    /// again is an Ed25519 verification each (the memo gives exactly their results).
    static CHECKPOINTS: std::cell::RefCell<CheckpointMemo> =
        std::cell::RefCell::new(CheckpointMemo::new());
}

/// Finishes and sends the verdicts of a batch whose signatures are checked.
fn answer_batch(
    prepared: Vec<PreparedCredential<'_>>,
    requests: &[Request],
    located: Vec<Result<Ready, VerificationError>>,
    replies: Vec<oneshot::Sender<Result<Checked, VerificationError>>>,
    now: DateTime<Utc>,
    checkpoints: &mut CheckpointMemo,
) {
    for (((prepared, request), located), reply) in
        prepared.into_iter().zip(requests).zip(located).zip(replies)
    {
        let (located, registry) = match located {
            Ok(ready) => ready,
            Err(error) => {
                let _ = reply.send(Err(error));
                continue;
            }
        };
        let issuers = match &registry {
            Some(registry) => IssuerContext::Registry {
                registry,
                position: located.position,
            },
            None => IssuerContext::Missing(format!(
                "region {:?} is not a member this node knows",
                located.member
            )),
        };
        let options = VerifyOptions {
            now,
            schemas: &request.sources.schemas,
            log: located.evidence.context(),
            issuers,
            status: located.status.clone(),
        };
        let (verdict, verified) = if request.keep_verified {
            let verification = prepared.conclude_with(&options, checkpoints);
            (verification.verdict, verification.verified)
        } else {
            (prepared.finish_with(&options, checkpoints), None)
        };
        let _ = reply.send(Ok(Checked {
            verdict,
            log_member: located.log_member,
            verified,
        }));
    }
}

/// A verdict and the log it relied on.
#[derive(Debug)]
pub(super) struct Checked {
    /// The verdict.
    pub(super) verdict: Verdict,
    /// The member whose log holds exactly the presented credential, if any.
    pub(super) log_member: Option<String>,
    /// The credential, when it verified and recognition was asked.
    pub(super) verified: Option<VerifiedCredential>,
}
