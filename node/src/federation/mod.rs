//! This member's part in the federation: it mirrors every peer's log
//! ([`sync`], [`mirror`]), witnesses their checkpoints and collects their cosignatures on
//! its own ([`witness`]), signs its requests to them ([`client`]), and keeps evidence when
//! one misbehaves.
//!
//! Sync from each peer and the cosignature collection run as [`crate::worker`]s: each
//! stops at the node's stop signal (a round in progress is dropped at its next await
//! point; everything they write is crash-safe, so nothing is lost), and each retries a
//! failed round after the workers' one backoff.
//!
//! Why one file: the runtime ([`FederationNode`]) owns the peer table that starting the
//! workers, answering the status and keeping evidence all read; they change together.

pub mod client;
pub mod mirror;
pub mod sync;
pub mod witness;
pub mod witnessed;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use talent_core::federation::{Federation, Member};
use talent_tlog::checkpoint::VerifiedCheckpoint;
use talent_tlog::cosignature::{self, CosignatureError, CosignerKey};
use talent_tlog::witness::{CheckpointSubmission, OpenedSubmission, WitnessError, WitnessRecord};
use tokio::sync::Notify;

use self::client::{ClientError, PeerClient};
use self::mirror::{MirrorOpenError, Mirrors};
use self::sync::{EvidenceKind, SyncError, Unavailable, sync_once};
use self::witness::{AddCheckpointError, Collector, CollectorError, Witness};
use crate::log::Log;
use crate::metrics::{FederationMetrics, PeerSample};
use crate::store::{Store, StoreError};
use crate::worker::{Pause, Worker, WorkerHealth, Workers};

/// How often a peer is polled when it announces nothing.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Why this member's witness did not cosign a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum WitnessRequestError {
    /// The C2SP witness checks or the store refused it.
    #[error(transparent)]
    Witness(#[from] AddCheckpointError),
    /// Sync from the log's member is halted: evidence of misbehaviour is held.
    #[error("sync from {0} is halted on evidence of misbehaviour; nothing of it is cosigned")]
    Halted(String),
    /// Its entries could not be fetched and verified yet (retry later).
    #[error("the checkpoint's entries could not be verified yet: {0}")]
    NotVerified(String),
    /// An internal failure.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why the federation runtime cannot start.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// A stored mirror does not verify or cannot be read.
    #[error(transparent)]
    Mirror(#[from] MirrorOpenError),
    /// This member's witness name is not a valid key name.
    #[error("witness name: {0}")]
    WitnessName(#[from] CosignatureError),
    /// The cosignature collector cannot start.
    #[error(transparent)]
    Collector(#[from] CollectorError),
    /// The HTTP client cannot be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where sync from one peer stands (`state` of the status endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerState {
    /// Not yet through a first round since the start.
    Syncing,
    /// The last round found the mirror at the peer's newest checkpoint.
    InSync,
    /// The last round failed; it is retried.
    Unreachable,
    /// Evidence of misbehaviour is held: no more sync from it until a restart without it.
    Halted,
}

impl PeerState {
    /// The state's name, as the status endpoint and the metrics show it.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerState::Syncing => "syncing",
            PeerState::InSync => "in-sync",
            PeerState::Unreachable => "unreachable",
            PeerState::Halted => "halted",
        }
    }
}

/// What this member knows of one peer right now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    /// Where sync from it stands.
    pub state: PeerState,
    /// The last error, when unreachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The federation runtime of this member.
#[derive(Debug)]
pub struct FederationNode {
    /// The federation configuration (trust anchor).
    pub config: Arc<Federation>,
    /// This member.
    pub me: Member,
    /// Mirrors of the peers' logs.
    pub mirrors: Mirrors,
    /// This member as a witness.
    pub witness: Witness,
    /// Cosignatures collected on this member's checkpoints.
    pub collector: Collector,
    store: Arc<Store>,
    /// Issuer registries of every log (the mirrors' are updated by sync).
    pub issuers: Arc<crate::issuers::Issuers>,
    client: PeerClient,
    wake: HashMap<String, Arc<Notify>>,
    /// One sync round at a time per peer (its task, or a witness request catching up).
    sync_locks: HashMap<String, tokio::sync::Mutex<()>>,
    status: Mutex<HashMap<String, PeerStatus>>,
    /// The node's workers, for the status endpoint (set when they start).
    workers: OnceLock<Vec<Arc<WorkerHealth>>>,
    /// Counts the cosignatures collected.
    metrics: FederationMetrics,
}

impl FederationNode {
    /// The client signing this member's requests to its peers.
    pub fn client(&self) -> &PeerClient {
        &self.client
    }

    /// Builds the runtime (no tasks yet: see [`FederationNode::start`]).
    ///
    /// # Errors
    /// A stored mirror does not verify, or the HTTP client cannot be built.
    /// `peer_roots` are trusted for peers' HTTPS endpoints beside the public web roots.
    pub fn new(
        config: Arc<Federation>,
        me: Member,
        store: Arc<Store>,
        issuers: Arc<crate::issuers::Issuers>,
        witness_key: ed25519_dalek::SigningKey,
        peer_roots: &[reqwest::Certificate],
        metrics: FederationMetrics,
    ) -> Result<FederationNode, FederationError> {
        let id = me.id.as_str().to_owned();
        let mirrors = Mirrors::open(Arc::clone(&store), &config, &id)?;
        let cosigner = cosignature::Cosigner::new(&me.witness_name, witness_key.clone())?;
        let witness = Witness::new(cosigner, &config, &id, Arc::clone(&store));
        let collector = Collector::new(&config, &id, Arc::clone(&store))?;
        let client = PeerClient::new(&id, witness_key, peer_roots)?;
        let wake = config
            .peers_of(&me.id)
            .map(|peer| (peer.id.as_str().to_owned(), Arc::new(Notify::new())))
            .collect();
        let sync_locks = config
            .peers_of(&me.id)
            .map(|peer| (peer.id.as_str().to_owned(), tokio::sync::Mutex::new(())))
            .collect();
        let mut status = HashMap::new();
        for peer in config.peers_of(&me.id) {
            let halted = store
                .evidence(peer.id.as_str())?
                .iter()
                .any(|bytes| halts(bytes));
            status.insert(
                peer.id.as_str().to_owned(),
                PeerStatus {
                    state: if halted {
                        PeerState::Halted
                    } else {
                        PeerState::Syncing
                    },
                    last_error: None,
                },
            );
        }
        Ok(FederationNode {
            config,
            me,
            mirrors,
            witness,
            collector,
            store,
            issuers,
            client,
            wake,
            sync_locks,
            status: Mutex::new(status),
            workers: OnceLock::new(),
            metrics,
        })
    }

    /// Starts the workers of the federation in `workers`: sync from each peer
    /// (`sync <peer>`) and the cosignature collector (`cosignatures`). The status endpoint
    /// shows their health and that of `others` (the node's other workers).
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start(
        self: &Arc<Self>,
        log: Arc<Log>,
        workers: &mut Workers,
        others: Vec<Arc<WorkerHealth>>,
    ) {
        let mut health = others;
        for peer in self.config.peers_of(&self.me.id) {
            let node = Arc::clone(self);
            let peer = peer.clone();
            health.push(
                workers.spawn(format!("sync {}", peer.id.as_str()), |worker| async move {
                    node.run_peer(peer, worker).await;
                }),
            );
        }
        let node = Arc::clone(self);
        health.push(workers.spawn("cosignatures", |worker| async move {
            node.run_collector(log, worker).await;
        }));
        let _ = self.workers.set(health);
    }

    /// Wakes the sync task of `member` (a push hint: it announced a new checkpoint).
    pub fn announce(&self, member: &str) {
        if let Some(wake) = self.wake.get(member) {
            wake.notify_one();
        }
    }

    /// The federation's witnesses other than `member`'s own, as cosigner keys.
    pub fn cosigners_for(&self, member: &str) -> Vec<CosignerKey> {
        self.config.cosigners_of(member)
    }

    /// Records a peer's sync state; `halted` is final (only a restart re-reads it from the
    /// evidence), so a round that finishes after a halt cannot clear it.
    fn set_status(&self, member: &str, state: PeerState, last_error: Option<String>) {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if status
            .get(member)
            .is_some_and(|current| current.state == PeerState::Halted)
        {
            return;
        }
        status.insert(member.to_owned(), PeerStatus { state, last_error });
    }

    fn status_of(&self, member: &str) -> Option<PeerStatus> {
        self.status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(member)
            .cloned()
    }

    /// The worker `sync <peer>`: a round at each announcement and every
    /// [`POLL_INTERVAL`], a failed round retried after the backoff, until the stop.
    async fn run_peer(&self, peer: Member, mut worker: Worker) {
        let id = peer.id.as_str().to_owned();
        let Some(wake) = self.wake.get(&id).cloned() else {
            return;
        };
        loop {
            if self
                .status_of(&id)
                .is_some_and(|status| status.state == PeerState::Halted)
            {
                // Sync from a member caught misbehaving stays stopped until an operator
                // has looked at the evidence and restarted the node without it.
                worker.stopped().await;
                return;
            }
            // A round in progress is dropped at the stop: what it wrote beyond the
            // verified size is never read, as after a crash.
            let round = tokio::select! {
                () = worker.stopped() => return,
                round = self.sync_round(&peer, None) => round,
            };
            let wait = match round {
                Ok(progress) => {
                    if progress.to > progress.from {
                        tracing::info!(peer = %id, from = progress.from, to = progress.to, "mirrored");
                    }
                    self.set_status(&id, PeerState::InSync, None);
                    worker.succeeded();
                    POLL_INTERVAL
                }
                Err(SyncError::Transient(error)) => {
                    tracing::debug!(peer = %id, %error, "sync round failed");
                    self.set_status(&id, PeerState::Unreachable, Some(error.to_string()));
                    worker.failed(&error)
                }
                Err(SyncError::Misbehaviour(evidence)) => {
                    tracing::error!(peer = %id, kind = %evidence.kind, detail = %evidence.detail, "peer misbehaved; sync from it stopped");
                    self.keep_evidence(&id, &evidence);
                    self.set_status(&id, PeerState::Halted, Some(evidence.detail.clone()));
                    let _ = worker.failed(&SyncError::Misbehaviour(evidence));
                    continue;
                }
            };
            if worker.pause(wait, wake.notified()).await == Pause::Stopped {
                return;
            }
        }
    }

    /// One sync round against `peer` (to `target`, or to what it publishes), serialised with
    /// every other round against it.
    async fn sync_round(
        &self,
        peer: &Member,
        target: Option<VerifiedCheckpoint>,
    ) -> Result<sync::SyncProgress, SyncError> {
        let id = peer.id.as_str();
        let Some(lock) = self.sync_locks.get(id) else {
            return Err(SyncError::Transient(Unavailable::NotAPeer {
                member: id.to_owned(),
            }));
        };
        let _round = lock.lock().await;
        let cosigners = self.cosigners_for(id);
        let progress = sync_once(
            &self.store,
            &self.mirrors,
            &self.issuers,
            &self.client,
            peer,
            &cosigners,
            self.config.witness_quorum,
            target,
        )
        .await?;
        Ok(progress)
    }

    /// `POST /log/add-checkpoint`: verify, then cosign, so no member cosigns a log it has
    /// not verified. The body is parsed and its checkpoint opened once, here. A checkpoint
    /// beyond this member's verified mirror is first synced to — its entries fetched and
    /// verified, its root recomputed — and only then handed to the witness
    /// ([`Self::add_checkpoint`]).
    ///
    /// # Errors
    /// [`WitnessRequestError`].
    pub async fn witness_request(
        self: &Arc<Self>,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, WitnessRequestError> {
        let submission = CheckpointSubmission::parse(&body).map_err(AddCheckpointError::from)?;
        drop(body);
        let opened = self
            .witness
            .open(submission)
            .map_err(AddCheckpointError::from)?;
        // Opened with the key of a log this member witnesses: every member's but its own.
        if let Some(member) = self.member_of(&opened) {
            let id = member.id.as_str();
            if self
                .status_of(id)
                .is_some_and(|status| status.state == PeerState::Halted)
            {
                return Err(WitnessRequestError::Halted(id.to_owned()));
            }
            let held = self.mirrors.head(id).map_or(0, |head| head.size);
            if opened.checkpoint().size() > held {
                match self
                    .sync_round(&member, Some(opened.checkpoint().clone()))
                    .await
                {
                    Ok(_) => {}
                    Err(SyncError::Transient(error)) => {
                        return Err(WitnessRequestError::NotVerified(error.to_string()));
                    }
                    Err(SyncError::Misbehaviour(evidence)) => {
                        self.keep_evidence(id, &evidence);
                        self.halt(id, evidence.detail.clone());
                        return Err(WitnessRequestError::Halted(id.to_owned()));
                    }
                }
            }
        }
        let node = Arc::clone(self);
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        tokio::task::spawn_blocking(move || node.add_checkpoint(&opened, now))
            .await
            .map_err(|error| WitnessRequestError::Internal(error.to_string()))?
            .map_err(WitnessRequestError::from)
    }

    /// The peer whose log signed an opened submission.
    fn member_of(&self, opened: &OpenedSubmission) -> Option<Member> {
        self.config
            .member_by_origin(opened.checkpoint().origin())
            .filter(|member| member.id != self.me.id)
            .cloned()
    }

    /// This member as a witness: cosigns a peer's opened checkpoint
    /// (`POST /log/add-checkpoint`).
    ///
    /// Beyond the C2SP checks against the last cosigned checkpoint, a checkpoint must agree
    /// with the verified mirror of that log: a witness never cosigns a view that contradicts
    /// the one it holds. A conflict is kept as evidence and halts sync from the member.
    /// Blocking (RocksDB).
    ///
    /// # Errors
    /// [`AddCheckpointError`].
    pub fn add_checkpoint(
        &self,
        opened: &OpenedSubmission,
        now: u64,
    ) -> Result<Vec<u8>, AddCheckpointError> {
        let member = self.member_of(opened);
        let received = opened.checkpoint();
        if let Some(member) = &member
            && let Some(head) = self.mirrors.head(member.id.as_str())
            && let Ok(Some(held_root)) = self.mirrors.root_at(member.id.as_str(), received.size())
            && held_root != *received.root()
        {
            let previous = WitnessRecord {
                size: head.size,
                root: head.root,
                checkpoint: head.checkpoint.as_ref().clone(),
            };
            let error = WitnessError::RootMismatch {
                previous,
                received: received.note().to_vec(),
            };
            self.fork_evidence(member, &error, received.size());
            return Err(error.into());
        }
        match self.witness.add_checkpoint(opened, now) {
            Ok(cosignature) => {
                if let Some(member) = &member {
                    self.adopt_cosignatures(member, received);
                    // A new checkpoint of that log: pull it now instead of at the next poll.
                    self.announce(member.id.as_str());
                }
                Ok(cosignature)
            }
            Err(AddCheckpointError::Witness(error)) => {
                if let (Some(member), WitnessError::RootMismatch { .. }) = (&member, &error) {
                    self.fork_evidence(member, &error, received.size());
                }
                Err(error.into())
            }
            Err(error) => Err(error),
        }
    }

    /// Keeps `received` as the mirror's copy of `member`'s checkpoint when it is the same
    /// tree the mirror verified, with more verified cosignatures.
    fn adopt_cosignatures(&self, member: &Member, received: &VerifiedCheckpoint) {
        let id = member.id.as_str();
        // Serialised with sync rounds, so a head they move forward is never replaced by an
        // older one. Called from a blocking task, where blocking on the lock is allowed.
        let Some(lock) = self.sync_locks.get(id) else {
            return;
        };
        let _round = lock.blocking_lock();
        let Some(head) = self.mirrors.head(id) else {
            return;
        };
        if received.size() != head.size || *received.root() != head.root {
            return;
        }
        let note = received.note();
        let cosigners = self.cosigners_for(id);
        let count = |note: &[u8]| {
            cosignature::verify_cosignatures(note, &cosigners).map_or(0, |found| found.len())
        };
        let cosigned = count(note);
        if cosigned <= count(&head.checkpoint) {
            return;
        }
        let mut head = mirror::MirrorHead {
            checkpoint: Arc::new(note.to_vec()),
            confirmed_at: chrono::Utc::now().timestamp(),
            ..head
        };
        head.witness(cosigned, self.config.witness_quorum);
        if self.store.set_mirror_state(id, &head.state()).is_ok() {
            self.mirrors.set_head(id, head);
        }
    }

    /// Keeps a fork as evidence against `member` and halts sync from it: `error` holds the
    /// tree held here and the checkpoint (of `received_size` entries) it submitted.
    fn fork_evidence(&self, member: &Member, error: &WitnessError, received_size: u64) {
        let WitnessError::RootMismatch { previous, received } = error else {
            return;
        };
        let detail = format!(
            "submitted for cosigning a tree of {received_size} entries that contradicts the tree of {} entries held here",
            previous.size
        );
        self.keep_evidence(
            member.id.as_str(),
            &serde_json::json!({
                "kind": EvidenceKind::Fork,
                "detail": detail,
                "checkpoints": [
                    String::from_utf8_lossy(&previous.checkpoint),
                    String::from_utf8_lossy(received),
                ],
            }),
        );
        self.halt(member.id.as_str(), detail);
    }

    /// Stops syncing from `member` (evidence against it was just kept).
    pub fn halt(&self, member: &str, detail: String) {
        self.set_status(member, PeerState::Halted, Some(detail));
    }

    /// Stores evidence against `member` ([`sync::keep_evidence`]).
    pub fn keep_evidence(&self, member: &str, evidence: &impl Serialize) {
        sync::keep_evidence(&self.store, member, evidence);
    }

    /// The worker `cosignatures`: a collection round after each batch and every
    /// [`POLL_INTERVAL`], until the stop. Its last error is a peer's refusal of the last
    /// round; a round that all witnesses refused waits the backoff instead (a new batch
    /// still starts one at once).
    async fn run_collector(&self, log: Arc<Log>, mut worker: Worker) {
        loop {
            let round = tokio::select! {
                () = worker.stopped() => return,
                round = self.collector.collect(&log, &self.client) => round,
            };
            self.metrics.collected(
                round.cosigners.saturating_sub(round.before),
                round.refused.len(),
            );
            // New cosignatures on an unchanged checkpoint: send it round once more at once,
            // so every witness's mirror holds the cosigned copy without waiting for a poll.
            if round.cosigners > round.before {
                continue;
            }
            let wait = match round.refused.first() {
                None => {
                    worker.succeeded();
                    POLL_INTERVAL
                }
                Some(error) => {
                    let delay = worker.failed(error);
                    if round.refused.len() < self.collector.peer_count() {
                        // Some witnesses answered: their peers' retries go at the poll.
                        POLL_INTERVAL
                    } else {
                        delay.max(POLL_INTERVAL)
                    }
                }
            };
            if worker.pause(wait, log.changed()).await == Pause::Stopped {
                return;
            }
        }
    }

    /// The peers whose sync is halted on evidence.
    pub fn halted_peers(&self) -> Vec<String> {
        let status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut halted: Vec<String> = status
            .iter()
            .filter(|(_, status)| status.state == PeerState::Halted)
            .map(|(peer, _)| peer.clone())
            .collect();
        halted.sort();
        halted
    }

    /// Each peer's mirror as the metrics show it. Blocking: the evidence is read from the
    /// store (an unreadable record counts; a store failure counts none).
    pub fn peer_samples(&self) -> Vec<PeerSample> {
        let now = chrono::Utc::now().timestamp();
        self.config
            .peers_of(&self.me.id)
            .map(|peer| {
                let id = peer.id.as_str();
                let mirror = self.mirrors.head(id);
                PeerSample {
                    peer: id.to_owned(),
                    state: self
                        .status_of(id)
                        .map_or(PeerState::Syncing, |status| status.state)
                        .as_str(),
                    mirrored_entries: mirror.as_ref().map_or(0, |mirror| mirror.size),
                    age_seconds: mirror
                        .as_ref()
                        .filter(|mirror| mirror.confirmed_at > 0)
                        .map(|mirror| now - mirror.confirmed_at),
                    evidence: self
                        .store
                        .evidence(id)
                        .map_or(0, |records| records.len() as u64),
                }
            })
            .collect()
    }

    /// The federation status: this member's log and cosigners, and every peer's mirror.
    ///
    /// # Errors
    /// The store failing.
    pub fn status(&self, log: &Log) -> Result<Value, StoreError> {
        let head = log.head();
        let now = chrono::Utc::now().timestamp();
        let mut peers = Vec::new();
        for peer in self.config.peers_of(&self.me.id) {
            let id = peer.id.as_str();
            let mirror = self.mirrors.head(id);
            let status = self.status_of(id);
            let evidence: Vec<Value> = self
                .store
                .evidence(id)?
                .iter()
                .filter_map(|bytes| serde_json::from_slice(bytes).ok())
                .map(redact_entry)
                .collect();
            let cosigners = mirror
                .as_ref()
                .and_then(|mirror| {
                    cosignature::verify_cosignatures(&mirror.checkpoint, &self.cosigners_for(id))
                        .ok()
                })
                .map(|found| found.into_iter().map(|c| c.name).collect::<Vec<_>>())
                .unwrap_or_default();
            peers.push(serde_json::json!({
                "id": id,
                "nameZh": peer.name_zh,
                "nameEn": peer.name_en,
                "endpoint": peer.endpoint,
                "state": status.as_ref().map_or(PeerState::Syncing, |s| s.state),
                "lastError": status.and_then(|s| s.last_error),
                "mirroredSize": mirror.as_ref().map_or(0, |m| m.size),
                "witnessedSize": mirror.as_ref().and_then(|m| m.witnessed.as_ref()).map(|w| w.size),
                "checkpoint": mirror.as_ref().map(|m| String::from_utf8_lossy(&m.checkpoint).into_owned()),
                "confirmedAt": mirror.as_ref().filter(|m| m.confirmed_at > 0).map(|m| m.confirmed_at),
                "ageSeconds": mirror.as_ref().filter(|m| m.confirmed_at > 0).map(|m| now - m.confirmed_at),
                "cosigners": cosigners,
                "evidence": evidence,
            }));
        }
        Ok(serde_json::json!({
            "federation": self.config.id,
            "member": self.me.id.as_str(),
            "witnessQuorum": self.config.witness_quorum,
            "log": {
                "origin": log.origin(),
                "size": head.size,
                "cosigners": self.collector.cosigners_of(&head.checkpoint),
                "witnessedSize": self.collector.witnessed().map(|w| w.size),
            },
            "peers": peers,
            "workers": self.workers.get().map_or_else(Vec::new, |workers| {
                workers
                    .iter()
                    .map(|worker| serde_json::json!({
                        "name": worker.name(),
                        "lastError": worker.last_error(),
                    }))
                    .collect()
            }),
        }))
    }
}

/// Whether stored evidence halts sync from its member: every kind of misbehaviour does,
/// except a credential id held already ([`sync::DuplicateId`], see there why). Evidence
/// that cannot be read halts, as does a kind this version does not know.
fn halts(evidence: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind {
        kind: EvidenceKind,
    }
    serde_json::from_slice::<Kind>(evidence).map_or(true, |evidence| evidence.kind.halts())
}

/// Evidence as shown by the status endpoint: an offending entry may hold personal data, so
/// only its index and SHA-256 are shown; the stored evidence keeps the bytes.
fn redact_entry(mut evidence: Value) -> Value {
    if let Some(entry) = evidence.get_mut("entry")
        && let Some([index, bytes]) = entry.as_array().map(Vec::as_slice)
    {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes.as_str().unwrap_or_default().as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        *entry = serde_json::json!({"index": index, "sha256": hex});
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_id_is_the_one_evidence_that_does_not_halt() {
        assert!(!halts(br#"{"kind":"duplicate-id","entry":[0,"{}"]}"#));
        for kind in ["rollback", "fork", "inconsistent-entries", "bad-entry"] {
            assert!(
                halts(format!(r#"{{"kind":"{kind}"}}"#).as_bytes()),
                "{kind}"
            );
        }
        assert!(halts(b"not JSON"), "unreadable evidence halts, as before");
    }

    /// The states and kinds are shown and stored as the strings they always were (the
    /// status endpoint, docs/api.yaml and stored evidence read them).
    #[test]
    fn states_and_kinds_keep_their_strings() {
        let states = [
            (PeerState::Syncing, "syncing"),
            (PeerState::InSync, "in-sync"),
            (PeerState::Unreachable, "unreachable"),
            (PeerState::Halted, "halted"),
        ];
        for (state, text) in states {
            assert_eq!(serde_json::json!(state), text);
            assert_eq!(state.as_str(), text);
        }
        let kinds = [
            (EvidenceKind::Rollback, "rollback"),
            (EvidenceKind::Fork, "fork"),
            (EvidenceKind::InconsistentEntries, "inconsistent-entries"),
            (EvidenceKind::BadEntry, "bad-entry"),
            (EvidenceKind::DuplicateId, "duplicate-id"),
        ];
        for (kind, text) in kinds {
            assert_eq!(serde_json::json!(kind), text);
            assert_eq!(kind.as_str(), text);
            assert_eq!(kind.to_string(), text);
            let read: EvidenceKind = serde_json::from_value(text.into()).expect("reads");
            assert_eq!(read, kind);
        }
        assert!(halts(br#"{"kind":"unheard-of"}"#), "an unknown kind halts");
    }
}
