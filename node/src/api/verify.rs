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
use talent_core::credential::{CredentialView, VerifiedCredential};
use talent_core::identifiers::CredentialId;
use talent_core::issuers::IssuerRegistry;
use talent_core::recognition::Presented;
use talent_core::schema::SchemaKind;
use talent_core::status::CredentialStatus;
use talent_core::verify::{
    CheckpointMemo, IssuerContext, LeafText, LogContext, LogEvidence, PreparedCredential,
    StatusFact, Verdict, VerifyOptions, check_signatures, prepare_credential,
};
use talent_integrity::did::KeyCache;
use talent_tlog::cosignature::CosignerKey;
use talent_tlog::merkle::InclusionProof;
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
                member: &found.member,
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
    /// The member whose log this is.
    member: String,
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
    /// The member whose issuer registry judges the credential: the log that holds its
    /// bytes, or (when none does, and the verdict fails inclusion) its claimed region.
    member: String,
    /// The log that holds exactly the presented credential, if any.
    log_member: Option<String>,
    position: Option<u64>,
    evidence: Evidence,
    status: Option<StatusFact>,
}

/// The logs this node holds with an entry carrying the presented credential's id. An id
/// alone proves nothing (another member's log may carry a different credential under the
/// same id); [`Holders::matching`] picks the entry whose bytes are the credential's.
struct Holders {
    id: CredentialId,
    /// Leaf index in the own log.
    own: Option<u64>,
    /// (member, leaf index) in verified mirrors. Read only when needed: when the own log
    /// holds the id, its entry is nearly always the presented credential.
    mirrors: Option<Vec<(String, u64)>>,
}

/// The log entry that is exactly the presented credential.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Match {
    /// The own log's entry at this index.
    Own(u64),
    /// This member's mirrored entry at this index.
    Mirror(String, u64),
}

impl Holders {
    /// The logs holding the credential's id (`None` for a credential without a valid id).
    fn of(state: &AppState, credential: &Value) -> Result<Option<Holders>, ApiError> {
        let Some(id) = credential_id(credential) else {
            return Ok(None);
        };
        let own = state.store.credential_index(id)?;
        let mirrors = match own {
            Some(_) => None,
            None => Some(verified_mirror_holders(state, id)?),
        };
        Ok(Some(Holders { id, own, mirrors }))
    }

    /// Whether any log holds the id: then the inclusion check will need the leaf text.
    fn any(&self) -> bool {
        self.own.is_some() || self.mirrors.as_ref().is_some_and(|found| !found.is_empty())
    }

    /// The entry whose bytes are `canonical` (the presented credential's canonical text,
    /// which is what its log entry holds), considering every log that holds the id.
    fn matching(
        &mut self,
        state: &AppState,
        canonical: Option<&[u8]>,
    ) -> Result<Option<Match>, ApiError> {
        let Some(canonical) = canonical else {
            return Ok(None);
        };
        if let Some(index) = self.own
            && state.store.entry_is(LogSpace::Own, index, canonical)?
        {
            return Ok(Some(Match::Own(index)));
        }
        if self.mirrors.is_none() {
            self.mirrors = Some(verified_mirror_holders(state, self.id)?);
        }
        for (member, index) in self.mirrors.iter().flatten() {
            if state
                .store
                .entry_is(LogSpace::Mirror(member), *index, canonical)?
            {
                return Ok(Some(Match::Mirror(member.clone(), *index)));
            }
        }
        Ok(None)
    }

    /// Every log holding the id, for an answer that says so.
    fn describe(&self, state: &AppState) -> String {
        let mut found: Vec<String> = Vec::new();
        if let Some(index) = self.own {
            found.push(format!("{} entry {index}", state.log.origin()));
        }
        for (member, index) in self.mirrors.iter().flatten() {
            found.push(format!("{member}'s log entry {index}"));
        }
        found.join(", ")
    }
}

/// (member, leaf index) of every verified mirror entry carrying credential id `id`.
fn verified_mirror_holders(
    state: &AppState,
    id: CredentialId,
) -> Result<Vec<(String, u64)>, ApiError> {
    let Some(federation) = &state.federation else {
        return Ok(Vec::new());
    };
    Ok(state
        .store
        .mirror_credential(id)?
        .into_iter()
        .filter(|(member, index)| {
            federation
                .mirrors
                .verified_size(member)
                .is_some_and(|size| *index < size)
        })
        .collect())
}

/// The evidence for a presented credential: an inclusion proof of the log entry that is
/// exactly this credential (`found`), under the own checkpoint or a mirrored one. The
/// issuer registry and the status come from that log, never from the credential's claimed
/// region.
fn locate(
    state: &AppState,
    credential: &Value,
    require_quorum: bool,
    holders: Option<&Holders>,
    found: Option<Match>,
) -> Result<Located, ApiError> {
    let region = credential["credentialSubject"]["region"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let missing = |reason: String| Located {
        member: region.clone(),
        log_member: None,
        position: None,
        evidence: Evidence::Missing(reason),
        status: None,
    };
    let Some(holders) = holders else {
        return Ok(missing("the credential has no valid id".into()));
    };
    let id = holders.id;
    let quorum = |federation: &crate::federation::FederationNode| {
        if require_quorum {
            federation.config.witness_quorum
        } else {
            0
        }
    };
    match found {
        Some(Match::Own(index)) => {
            let internal =
                |error: talent_tlog::merkle::ProofError| ApiError::Internal(error.into());
            // The index is written with the entry, the head moves just after: an entry
            // this fresh is not in a signed tree yet (no proof), which is not a failure of
            // the node.
            if index >= state.log.head().size {
                return Ok(missing(format!(
                    "{id} is being logged at {} entry {index}: not yet in a signed checkpoint; ask again",
                    state.log.origin()
                )));
            }
            let (head, mut proof) = state.log.inclusion_proof(index).map_err(internal)?;
            let (checkpoint, cosigners, quorum) = match &state.federation {
                // With the quorum required, under the newest witnessed checkpoint when
                // the current one lacks it (an issuance during an outage).
                Some(federation) if require_quorum => {
                    let under = federation.collector.checkpoint_for(&head, index);
                    if under.size != head.size {
                        proof = state
                            .log
                            .inclusion_proof_at(index, under.size)
                            .map_err(internal)?;
                    }
                    (
                        under.note,
                        federation.cosigners_for(state.member.id.as_str()),
                        quorum(federation),
                    )
                }
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
            let member = state.member.id.as_str().to_owned();
            Ok(Located {
                member: member.clone(),
                log_member: Some(member),
                position: Some(index),
                status: Some(status),
                evidence: Evidence::Found(Box::new(FoundEvidence {
                    member: state.member.id.as_str().to_owned(),
                    origin: state.member.log_origin.clone(),
                    log_vkey: state.member.log_vkey.clone(),
                    checkpoint,
                    proof,
                    cosigners,
                    quorum,
                    confirmed_at: Some(now),
                })),
            })
        }
        Some(Match::Mirror(holder, index)) => {
            let federation = state.federation.as_ref().ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "a mirror matched on a node without mirrors"
                ))
            })?;
            let member = federation.config.member(&holder).ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("mirror of {holder}, not a member"))
            })?;
            let found = federation
                .mirrors
                .evidence(member, index, require_quorum)
                .map_err(|error| ApiError::Internal(error.into()))?
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("{holder} entry {index} is not verified"))
                })?;
            // The status as of everything mirrored, whichever checkpoint proves inclusion.
            let mut status = status_fact(state, LogSpace::Mirror(&holder), id, found.head_size)?;
            status.as_of = DateTime::from_timestamp(found.confirmed_at, 0);
            Ok(Located {
                member: holder.clone(),
                log_member: Some(holder),
                position: Some(found.proof.leaf_index),
                status: Some(status),
                evidence: Evidence::Found(Box::new(FoundEvidence {
                    member: member.id.as_str().to_owned(),
                    origin: member.log_origin.clone(),
                    log_vkey: member.log_vkey.clone(),
                    checkpoint: found.checkpoint.as_ref().clone(),
                    proof: found.proof,
                    cosigners: federation.cosigners_for(member.id.as_str()),
                    quorum: quorum(federation),
                    confirmed_at: DateTime::from_timestamp(found.confirmed_at, 0),
                })),
            })
        }
        None if holders.any() => Ok(missing(format!(
            "{id} is held by {}, but none of these entries is this credential: what was presented is not what was logged",
            holders.describe(state)
        ))),
        None => {
            let Some(federation) = &state.federation else {
                return Ok(missing(format!(
                    "{id} is not in {}, and this node mirrors no other logs",
                    state.log.origin()
                )));
            };
            Ok(missing(match federation.config.member(&region) {
                Some(member) => {
                    let mirrored = federation
                        .mirrors
                        .verified_size(member.id.as_str())
                        .unwrap_or(0);
                    format!(
                        "{id} is not among the {mirrored} entries of {} ({}) mirrored here",
                        member.log_origin, member.name_zh
                    )
                }
                None => format!(
                    "{id} is in no log this node holds, and its region {region:?} is not a member of {}",
                    federation.config.id
                ),
            }))
        }
    }
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
type Job = (Request, oneshot::Sender<Result<Checked, ApiError>>);

/// One request waiting for its batch.
struct Request {
    state: AppState,
    credential: Value,
    require_quorum: bool,
    /// Whether to answer with the verified credential (recognition was asked).
    keep_verified: bool,
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
    async fn verify(&self, request: Request) -> Result<Checked, ApiError> {
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
        match Holders::of(&request.state, &request.credential) {
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
            prepare_credential(&request.credential, &request.state.schemas, &mut keys, leaf)
        })
        .collect();
    check_signatures(&mut prepared);
    let located: Vec<Result<Ready, ApiError>> = requests
        .iter()
        .zip(holders)
        .zip(&prepared)
        .map(|((request, mut holders), prepared)| {
            let state = &request.state;
            let found = match &mut holders {
                Some(holders) => holders.matching(state, prepared.canonical())?,
                None => None,
            };
            let located = locate(
                state,
                &request.credential,
                request.require_quorum,
                holders.as_ref(),
                found,
            )?;
            let registry = state.issuers.registry(&located.member);
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
    located: Vec<Result<Ready, ApiError>>,
    replies: Vec<oneshot::Sender<Result<Checked, ApiError>>>,
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
            schemas: &request.state.schemas,
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
struct Checked {
    verdict: Verdict,
    /// The member whose log holds exactly the presented credential, if any.
    log_member: Option<String>,
    /// The credential, when it verified and recognition was asked.
    verified: Option<VerifiedCredential>,
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
        keep_verified: region.is_some(),
    };
    let Checked {
        verdict,
        log_member,
        verified,
    } = state.verifier.verify(request).await?;
    let recognition = match (region, asked) {
        (Some(region), Some(credential)) => {
            let state = state.clone();
            let recognition = tokio::task::spawn_blocking(move || {
                // The issuing member is the log that holds the credential; a credential
                // no log holds is not valid, and its claimed region only names it.
                let issuing = log_member.unwrap_or_else(|| {
                    CredentialView::of(&credential)
                        .region()
                        .unwrap_or_default()
                        .to_owned()
                });
                let presented = match &verified {
                    Some(credential) => Presented::Verified(credential),
                    None => Presented::NotVerified {
                        credential: &credential,
                        issuing: &issuing,
                    },
                };
                crate::recognition::recognise(&state, presented, &region)
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
        keep_verified: false,
    };
    let verdict = verifier.verify(request).await?.verdict;
    let status = if verdict.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, AppJson(verdict)))
}
