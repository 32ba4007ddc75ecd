//! Verification endpoints: the registry's own `POST /api/v1/verify` and the VC-API
//! compatible `POST /credentials/verify`. Both run the one pipeline of `talent_core::verify`,
//! concurrent requests on one server thread together (see [`Batcher`]).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::Value;
use talent_core::did::KeyCache;
use talent_core::identifiers::CredentialId;
use talent_core::issuers::IssuerRegistry;
use talent_core::schema::SchemaKind;
use talent_core::status::CredentialStatus;
use talent_core::tlog::cosignature::CosignerKey;
use talent_core::tlog::merkle::InclusionProof;
use talent_core::verify::{
    CheckpointMemo, IssuerContext, LeafText, LogContext, LogEvidence, PreparedCredential,
    StatusFact, Verdict, VerifyOptions, check_signatures, prepare_credential,
};
use thread_local::ThreadLocal;
use tokio::sync::oneshot;

use crate::store::LogSpace;

use super::error::{ApiError, AppJson};
use crate::state::AppState;

/// Routes of this resource. Both verify through the node's one [`Batcher`]
/// (`AppState::verifier`), which the console shares.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verify", post(verify))
        .route("/credentials/verify", post(verify_vc_api))
}

/// The log evidence this node holds for a presented credential: an inclusion proof under
/// its own checkpoint when it issued it, or under its mirror of the issuing member's log.
enum Evidence {
    Found(Box<FoundEvidence>),
    Missing(String),
}

impl Evidence {
    /// What the verification pipeline is told about the credential's log.
    fn context(&self) -> LogContext<'_> {
        match self {
            Evidence::Found(found) => LogContext::Evidence(LogEvidence {
                origin: &found.origin,
                log_vkey: &found.log_vkey,
                checkpoint: &found.checkpoint,
                proof: &found.proof,
                cosigners: &found.cosigners,
                quorum: found.quorum,
                confirmed_at: found.confirmed_at,
            }),
            Evidence::Missing(reason) => LogContext::Missing(reason.clone()),
        }
    }
}

struct FoundEvidence {
    origin: String,
    log_vkey: String,
    checkpoint: Vec<u8>,
    proof: InclusionProof,
    cosigners: Vec<CosignerKey>,
    quorum: usize,
    confirmed_at: Option<DateTime<Utc>>,
}

fn credential_id(credential: &Value) -> Option<CredentialId> {
    credential["id"]
        .as_str()
        .and_then(|id| id.parse::<CredentialId>().ok())
}

/// Where the node found the credential: whose log, at which leaf, with what evidence.
struct Located {
    member: String,
    position: Option<u64>,
    evidence: Evidence,
    status: Option<StatusFact>,
}

/// Finds the credential by id in the own log, else in a mirror; evidence is built under the
/// held checkpoint. The id alone decides where to look: a delegated issuer's credential is
/// in its accrediting member's log, whoever signed it.
fn locate(state: &AppState, credential: &Value, require_quorum: bool) -> Result<Located, ApiError> {
    let region = credential["credentialSubject"]["region"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let Some(id) = credential_id(credential) else {
        return Ok(Located {
            member: region,
            position: None,
            evidence: Evidence::Missing("the credential has no valid id".into()),
            status: None,
        });
    };
    let quorum = |federation: &crate::federation::FederationNode| {
        if require_quorum {
            federation.config.witness_quorum
        } else {
            0
        }
    };
    if let Some(index) = state.store.credential_index(id)? {
        let (head, proof) = state
            .log
            .inclusion_proof(index)
            .map_err(|error| ApiError::Internal(error.into()))?;
        let (checkpoint, cosigners, quorum) = match &state.federation {
            Some(federation) => (
                federation.collector.with_cosignatures(&head.checkpoint),
                federation.cosigners_for(state.member.id.as_str()),
                quorum(federation),
            ),
            None => (head.checkpoint.as_ref().clone(), Vec::new(), 0),
        };
        let mut status = status_fact(state, LogSpace::Own, id, head.size)?;
        // The own log's head is current by definition: its status is as of now.
        let now = Utc::now();
        status.as_of = Some(now);
        return Ok(Located {
            member: state.member.id.as_str().to_owned(),
            position: Some(index),
            status: Some(status),
            evidence: Evidence::Found(Box::new(FoundEvidence {
                origin: state.member.log_origin.clone(),
                log_vkey: state.member.log_vkey.clone(),
                checkpoint,
                proof,
                cosigners,
                quorum,
                confirmed_at: Some(now),
            })),
        });
    }
    let Some(federation) = &state.federation else {
        return Ok(Located {
            member: region,
            position: None,
            status: None,
            evidence: Evidence::Missing(format!(
                "{id} is not in {}, and this node mirrors no other logs",
                state.log.origin()
            )),
        });
    };
    let holders = state.store.mirror_credential(id)?;
    for (holder, _) in &holders {
        let Some(member) = federation.config.member(holder) else {
            continue;
        };
        if let Some(found) = federation
            .mirrors
            .find(member, id)
            .map_err(|error| ApiError::Internal(error.into()))?
        {
            let mut status =
                status_fact(state, LogSpace::Mirror(holder), id, found.proof.tree_size)?;
            status.as_of = DateTime::from_timestamp(found.confirmed_at, 0);
            return Ok(Located {
                member: holder.clone(),
                position: Some(found.proof.leaf_index),
                status: Some(status),
                evidence: Evidence::Found(Box::new(FoundEvidence {
                    origin: member.log_origin.clone(),
                    log_vkey: member.log_vkey.clone(),
                    checkpoint: found.checkpoint.as_ref().clone(),
                    proof: found.proof,
                    cosigners: federation.cosigners_for(member.id.as_str()),
                    quorum: quorum(federation),
                    confirmed_at: DateTime::from_timestamp(found.confirmed_at, 0),
                })),
            });
        }
    }
    let reason = match federation.config.member(&region) {
        Some(member) => {
            let mirrored = federation
                .mirrors
                .head(member.id.as_str())
                .map_or(0, |head| head.size);
            format!(
                "{id} is not among the {mirrored} entries of {} ({}) mirrored here",
                member.log_origin, member.name_zh
            )
        }
        None => format!(
            "{id} is in no log this node holds, and its region {region:?} is not a member of {}",
            federation.config.id
        ),
    };
    Ok(Located {
        member: region,
        position: None,
        evidence: Evidence::Missing(reason),
        status: None,
    })
}

/// The credential's status in a log as of `size` entries.
fn status_fact(
    state: &AppState,
    space: LogSpace<'_>,
    id: CredentialId,
    size: u64,
) -> Result<StatusFact, ApiError> {
    let found = state.store.status(space, id, size)?;
    Ok(StatusFact {
        status: found.map_or(CredentialStatus::Valid, |(_, status)| status),
        changed_at: found.map(|(index, _)| index),
        as_of_size: size,
        as_of: None,
        max_age_seconds: None,
        problem: None,
    })
}

/// How many requests one Ed25519 batch takes at most: enough to amortise the batch, few
/// enough that the requests answered first are not held long behind the rest of a turn.
/// On 2 cores, when batches went to blocking threads, 32 gave more requests/s and a lower
/// p99 than 64 in 14 of 15 alternated pairs, and 16 gave fewer than 32; with per-thread
/// turns 64 made no consistent difference (docs/benchmarks.md).
const MAX_BATCH: usize = 32;

/// A request waiting for its batch, and where its answer goes.
type Job = (Request, oneshot::Sender<Result<Verdict, ApiError>>);

/// One request waiting for its batch.
struct Request {
    state: AppState,
    credential: Value,
    require_quorum: bool,
}

/// Verifies concurrent requests together, on the thread that read them.
///
/// A handler adds its request to its thread's current turn; the first request of a turn
/// spawns the task that verifies it, and that task first lets every task already woken on
/// the thread run (`yield_now`). On a server thread ([`crate::server`]) a turn thus holds
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
}

// Not derived: a waiting request holds the state that holds this batcher.
impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    /// The verdict for one request, verified in its thread's next turn.
    async fn verify(&self, request: Request) -> Result<Verdict, ApiError> {
        let (reply, answer) = oneshot::channel();
        let turn = self.turns.get_or_default();
        if turn.add((request, reply)) {
            tokio::spawn(verify_turn(ScheduledTurn(Some(Arc::clone(turn)))));
        }
        answer
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a verification batch failed")))?
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
fn verify_batch(batch: Vec<Job>) {
    let mut ready = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for (request, reply) in batch {
        match locate(&request.state, &request.credential, request.require_quorum) {
            Ok(located) => {
                let registry = request.state.issuers.registry(&located.member);
                ready.push((request, located, registry));
                replies.push(reply);
            }
            Err(error) => {
                // The requester may have gone; nothing to do then.
                let _ = reply.send(Err(error));
            }
        }
    }
    let mut keys = KeyCache::new();
    let mut prepared: Vec<PreparedCredential<'_>> = ready
        .iter()
        .map(|(request, located, _)| {
            let leaf = LeafText::for_log(&located.evidence.context());
            prepare_credential(&request.credential, &request.state.schemas, &mut keys, leaf)
        })
        .collect();
    check_signatures(&mut prepared);
    let now = Utc::now();
    CHECKPOINTS.with_borrow_mut(|checkpoints| {
        answer_batch(prepared, &ready, replies, now, checkpoints);
    });
}

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
    ready: &[(Request, Located, Option<Arc<IssuerRegistry>>)],
    replies: Vec<oneshot::Sender<Result<Verdict, ApiError>>>,
    now: DateTime<Utc>,
    checkpoints: &mut CheckpointMemo,
) {
    for ((prepared, (request, located, registry)), reply) in
        prepared.into_iter().zip(ready).zip(replies)
    {
        let issuers = match registry {
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
            schemas: &request.state.schemas,
            log: located.evidence.context(),
            issuers,
            status: located.status.clone(),
        };
        let _ = reply.send(Ok(prepared.finish_with(&options, checkpoints)));
    }
}

/// A verdict and, when a region was asked about, the recognition answer there.
#[derive(Debug)]
pub struct Answer {
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the credential is recognised in the region asked about.
    pub recognition: Option<talent_core::recognition::Recognition>,
}

/// Verifies `credential` at this node (in its thread's next turn, see [`Batcher`]) and,
/// with `region`, answers whether it is recognised there: the one path of
/// `POST /api/v1/verify` and the console's verification page.
///
/// # Errors
/// [`ApiError::MemberNotFound`] for a region this node holds no log of; storage errors.
pub async fn answer(
    state: &AppState,
    credential: Value,
    require_quorum: bool,
    region: Option<String>,
) -> Result<Answer, ApiError> {
    // Kept only when recognition is asked: the batch takes the credential.
    let asked = region.as_ref().map(|_| credential.clone());
    let request = Request {
        state: state.clone(),
        credential,
        require_quorum,
    };
    let verdict = state.verifier.verify(request).await?;
    let valid = verdict.verified;
    let recognition = match (region, asked) {
        (Some(region), Some(credential)) => {
            let state = state.clone();
            let recognition = tokio::task::spawn_blocking(move || {
                crate::recognition::recognise(&state, &credential, valid, &region)
            })
            .await
            .map_err(|error| ApiError::Internal(error.into()))?
            .map_err(|error| match error {
                crate::recognition::RecognitionError::UnknownRegion(region) => {
                    ApiError::MemberNotFound(region)
                }
                crate::recognition::RecognitionError::Store(error) => error.into(),
            })?;
            Some(recognition)
        }
        _ => None,
    };
    Ok(Answer {
        verdict,
        recognition,
    })
}

/// `POST /api/v1/verify` with `{"credential": …, "asRegion"?: ID}`: 200 with the verdict,
/// whatever it says; with `asRegion`, the verdict also answers whether the credential is
/// recognised in that region (`recognition`).
async fn verify(
    State(state): State<AppState>,
    AppJson(mut body): AppJson<Value>,
) -> Result<AppJson<VerifyAnswer>, ApiError> {
    state
        .schemas
        .validate(SchemaKind::VerifyRequest, &body)
        .map_err(ApiError::SchemaViolation)?;
    let require_quorum = body["requireQuorum"].as_bool().unwrap_or(false);
    let credential = body
        .get_mut("credential")
        .map(Value::take)
        .unwrap_or_default();
    let region = body["asRegion"].as_str().map(str::to_owned);
    let Answer {
        verdict,
        recognition,
    } = answer(&state, credential, require_quorum, region).await?;
    Ok(AppJson(VerifyAnswer {
        verdict,
        recognition,
    }))
}

/// The body of `POST /api/v1/verify`: the verdict's members, and `recognition` when a
/// region was asked about. Written straight to the response, not built as a `Value` first.
#[derive(Debug, serde::Serialize)]
struct VerifyAnswer {
    #[serde(flatten)]
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    recognition: Option<talent_core::recognition::Recognition>,
}

/// `POST /credentials/verify` (W3C VC-API) with `{"verifiableCredential": …}`: 200 when
/// verified, 400 with the same verdict body when not.
async fn verify_vc_api(
    State(state): State<AppState>,
    AppJson(mut body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(credential) = body
        .get_mut("verifiableCredential")
        .filter(|c| c.is_object())
    else {
        return Err(ApiError::InvalidJson(
            "body must be {\"verifiableCredential\": {…}}".into(),
        ));
    };
    let verifier = Arc::clone(&state.verifier);
    let request = Request {
        state,
        credential: credential.take(),
        require_quorum: false,
    };
    let verdict = verifier.verify(request).await?;
    let status = if verdict.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, AppJson(verdict)))
}
