//! Pulling a peer's log into its mirror: checkpoint → log signature → entry bundles for the
//! new range → every entry verified (canonical, signed by its issuer, issuer allowed in that
//! log) → root recomputed from the verified frontier plus the new entries, which both proves
//! the new checkpoint consistent with the one held and that the entries are the log's →
//! mirror state moved forward in one synced write.
//!
//! Anything that proves misbehaviour (a smaller tree than one the peer signed before, two
//! signed trees of the same size with different roots, entries that do not hash to the signed
//! root, an entry with a bad signature or from an issuer not allowed there) stops sync from
//! that peer with [`SyncError::Misbehaviour`]; the caller keeps the evidence. Everything else
//! (network, 5xx, unsigned garbage) is [`SyncError::Transient`] and retried.
//!
//! Why one file: one round's stages (fetch, verify, admit and write) and the errors
//! and evidence they produce ([`Unavailable`], [`Misbehaviour`], [`DuplicateId`]) are read
//! together.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use talent_core::federation::Member;
use talent_core::identifiers::CredentialId;
use talent_core::issuers::{IssuerRegistry, StatusTargets};
use talent_core::log_entry;
use talent_tlog::Hash;
use talent_tlog::bundle::{self, BundleError};
use talent_tlog::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use talent_tlog::cosignature::{self, CosignatureError, CosignerKey};
use talent_tlog::merkle::{self, ProofError, TreeExtension};
use talent_tlog::tile::{TILE_WIDTH, TilePath};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::client::{ClientError, PeerClient};
use super::mirror::{MirrorHead, MirrorSizes, Mirrors};
use crate::issuers::{self, Issuers};
use crate::store::{
    CredentialLocations, EntryEffects, LogSpace, MirrorAppend, MirrorRecord, Store, StoreError,
};

/// Entries verified and written per step of a catch-up (a few entry bundles).
const ENTRIES_PER_STEP: u64 = 4 * TILE_WIDTH;
/// Steps a catch-up stage may finish ahead of the next one: enough to ride out one slow
/// step, few enough to keep a catch-up's memory at a few megabytes.
const STAGE_QUEUE: usize = 2;
/// KiB of fetched entries a catch-up holds at most, waiting in its stages: about a hundred
/// steps of real entries, three steps of the largest a peer may serve.
const IN_FLIGHT_KIB: u32 = 192 << 10;

/// The kinds of evidence kept against a peer, as stored and shown (`kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// It served a smaller tree than one it signed before.
    Rollback,
    /// It signed two trees that cannot both be its log.
    Fork,
    /// The entries it served do not hash to the root it signed.
    InconsistentEntries,
    /// An entry it logged is not acceptable (bad signature, issuer not allowed there).
    BadEntry,
    /// An entry carries a credential id held already ([`DuplicateId`]; does not halt).
    DuplicateId,
}

impl EvidenceKind {
    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Rollback => "rollback",
            EvidenceKind::Fork => "fork",
            EvidenceKind::InconsistentEntries => "inconsistent-entries",
            EvidenceKind::BadEntry => "bad-entry",
            EvidenceKind::DuplicateId => "duplicate-id",
        }
    }

    /// Whether evidence of this kind halts sync from the peer: every misbehaviour does
    /// but a duplicate id (see [`DuplicateId`] why).
    pub fn halts(self) -> bool {
        self != EvidenceKind::DuplicateId
    }
}

impl std::fmt::Display for EvidenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a peer did wrong, with the signed material that shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Misbehaviour {
    /// Any kind but [`EvidenceKind::DuplicateId`].
    pub kind: EvidenceKind,
    /// What was found, in words.
    pub detail: String,
    /// The signed checkpoints involved: what this member held, then what the peer served.
    pub checkpoints: Vec<String>,
    /// The offending entry, for `bad-entry`: its index and bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<(u64, String)>,
}

/// A peer's entry carrying a credential id that another log this node holds (its own, an
/// earlier entry of the same log, or another verified mirror) already carried when it
/// arrived: kept as evidence, shown with the misbehaviour evidence, but not a reason to
/// halt. The entry is otherwise valid under the peer's own issuer registry, and two members
/// can log one id honestly (a delegated issuer accredited at both, a race before either
/// mirrored the other); halting would let one delegated issuer stop a whole member's log
/// from being mirrored and witnessed. Verifiers never rely on "an entry with this id": they
/// pick the entry whose bytes are the presented credential (`api::verify`), so the second
/// entry cannot shadow the first.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateId {
    /// Always [`EvidenceKind::DuplicateId`].
    pub kind: EvidenceKind,
    /// What was found, in words.
    pub detail: String,
    /// The credential id.
    pub credential_id: String,
    /// The entries already held with that id: (member, leaf index).
    pub held_by: Vec<(String, u64)>,
    /// The checkpoint the entry was verified under.
    pub checkpoints: Vec<String>,
    /// The peer's entry: its index and bytes (the status endpoint shows only its SHA-256).
    pub entry: (u64, String),
}

/// Most [`DuplicateId`] records one round reports: a hostile peer could log any number of
/// copied ids, and each record holds an entry of up to 64 KiB.
const MAX_DUPLICATES_PER_ROUND: usize = 16;

/// Most `duplicate-id` records kept against one member (each holds an entry of up to
/// 64 KiB); later ones are only logged.
const MAX_DUPLICATE_EVIDENCE: usize = 64;

/// Stores evidence against `member` in `store`, once: the same misbehaviour seen again (a
/// fork resubmitted, an entry seen again) is not kept twice, and `duplicate-id` records stop
/// at [`MAX_DUPLICATE_EVIDENCE`]. A failure to store is logged.
pub fn keep_evidence(store: &Store, member: &str, evidence: &impl Serialize) {
    let mut record = serde_json::to_value(evidence).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut record {
        map.insert("member".into(), member.into());
        map.insert(
            "detectedAt".into(),
            talent_core::credential::format_datetime(chrono::Utc::now()).into(),
        );
    }
    let duplicate_id = EvidenceKind::DuplicateId.as_str();
    let same = |held: &serde_json::Value| {
        held["kind"] == record["kind"]
            && held["entry"] == record["entry"]
            && (record["kind"] == duplicate_id || held["checkpoints"] == record["checkpoints"])
    };
    if let Ok(held) = store.evidence(member) {
        let held: Vec<serde_json::Value> = held
            .iter()
            .filter_map(|bytes| serde_json::from_slice(bytes).ok())
            .collect();
        if held.iter().any(same) {
            return;
        }
        // Evidence that does not halt sync could otherwise grow without end.
        if record["kind"] == duplicate_id
            && held
                .iter()
                .filter(|held| held["kind"] == duplicate_id)
                .count()
                >= MAX_DUPLICATE_EVIDENCE
        {
            tracing::warn!(
                member,
                "{MAX_DUPLICATE_EVIDENCE} duplicate-id records held already; this one is not kept"
            );
            return;
        }
    }
    let bytes = serde_json::to_vec(&record).unwrap_or_default();
    if let Err(error) = store.add_evidence(member, &bytes) {
        tracing::error!(%error, member, "could not store evidence");
    }
}

/// Why a sync round stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Retry later: the peer is unreachable, answered an error, or served something that is
    /// not signed and so proves nothing.
    #[error(transparent)]
    Transient(#[from] Unavailable),
    /// The peer misbehaved: stop syncing from it and keep the evidence.
    #[error("{}: {}", .0.kind, .0.detail)]
    Misbehaviour(Box<Misbehaviour>),
}

/// Why a sync round must be tried again later. Nothing of it proves misbehaviour.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The peer is unreachable or answered an error.
    #[error(transparent)]
    Peer(#[from] ClientError),
    /// The member is not a peer of this one.
    #[error("{member} is not a peer")]
    NotAPeer {
        /// The member.
        member: String,
    },
    /// No issuer registry is held for the peer's log.
    #[error("{member} has no issuer registry")]
    NoRegistry {
        /// The peer.
        member: String,
    },
    /// Its checkpoint is not signed by its log key (unsigned, it proves nothing).
    #[error("{member} served a checkpoint that does not verify: {error}")]
    BadCheckpoint {
        /// The peer.
        member: String,
        /// Why.
        error: CheckpointError,
    },
    /// A trusted witness's cosignature line on its checkpoint does not verify.
    #[error("{member} served a checkpoint with a bad cosignature: {error}")]
    BadCosignature {
        /// The peer.
        member: String,
        /// Why.
        error: CosignatureError,
    },
    /// The mirror's root at a size could not be read.
    #[error("{member}: the mirror's root at {size} could not be read")]
    MirrorRoot {
        /// The peer.
        member: String,
        /// The size.
        size: u64,
    },
    /// An entry bundle it served is malformed.
    #[error("{member}: entry bundle {tile} is malformed: {error}")]
    MalformedBundle {
        /// The peer.
        member: String,
        /// The bundle's tile index.
        tile: u64,
        /// Why.
        error: BundleError,
    },
    /// It does not serve an entry bundle its own checkpoint covers.
    #[error("{member} has no entry bundle {tile} of width {width} under its own checkpoint")]
    MissingBundle {
        /// The peer.
        member: String,
        /// The bundle's tile index.
        tile: u64,
        /// Its width.
        width: u64,
    },
    /// Its bundles held fewer entries than asked for.
    #[error("{member}: the entry bundles held {held} of entries {from}..{to}")]
    ShortBundles {
        /// The peer.
        member: String,
        /// Entries held.
        held: usize,
        /// First entry asked for.
        from: u64,
        /// End of the range asked for.
        to: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mirror's tree could not be computed (its stored hashes are incomplete).
    #[error("the mirror's tree: {0}")]
    Tree(#[from] ProofError),
    /// A bundle could not be rebuilt from a full one.
    #[error("rebuilding a partial bundle: {0}")]
    Bundle(#[from] BundleError),
    /// A task of the round panicked or was cancelled.
    #[error("a sync task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<ClientError> for SyncError {
    fn from(error: ClientError) -> SyncError {
        SyncError::Transient(error.into())
    }
}

impl From<StoreError> for SyncError {
    fn from(error: StoreError) -> SyncError {
        SyncError::Transient(error.into())
    }
}

impl From<ProofError> for SyncError {
    fn from(error: ProofError) -> SyncError {
        SyncError::Transient(error.into())
    }
}

impl From<tokio::task::JoinError> for SyncError {
    fn from(error: tokio::task::JoinError) -> SyncError {
        SyncError::Transient(error.into())
    }
}

/// What a successful round did.
#[derive(Debug, Clone)]
pub struct SyncProgress {
    /// Mirrored size before.
    pub from: u64,
    /// Mirrored size after.
    pub to: u64,
    /// Entries whose credential id another log held already (at most
    /// [`MAX_DUPLICATES_PER_ROUND`]), to keep as evidence.
    pub duplicates: Vec<DuplicateId>,
}

fn note_text(note: &[u8]) -> String {
    String::from_utf8_lossy(note).into_owned()
}

/// One sync round against `peer`: brings its mirror up to `target` (a checkpoint the peer
/// submitted for cosigning, its log signature verified already) or, without one, to the
/// checkpoint the peer publishes. The caller serialises rounds of one peer.
///
/// # Errors
/// [`SyncError`].
#[allow(clippy::too_many_arguments)]
pub async fn sync_once(
    store: &Arc<Store>,
    mirrors: &Mirrors,
    issuers: &Issuers,
    client: &PeerClient,
    peer: &Member,
    cosigners: &[CosignerKey],
    quorum: usize,
    target: Option<VerifiedCheckpoint>,
) -> Result<SyncProgress, SyncError> {
    let id = peer.id.as_str();
    let head = mirrors.head(id).ok_or_else(|| Unavailable::NotAPeer {
        member: id.to_owned(),
    })?;
    let pushed = target.is_some();
    let served = match target {
        Some(verified) => verified,
        None => {
            let note = client.checkpoint(&peer.endpoint).await?;
            checkpoint::open_checkpoint_with_sm2(
                &note,
                &peer.log_origin,
                &peer.log_vkey,
                peer.log_sm2_vkey.as_deref(),
            )
            .map_err(|error| Unavailable::BadCheckpoint {
                member: id.to_owned(),
                error,
            })?
        }
    };
    let note = served.note().to_vec();
    // A trusted witness's line that does not verify makes the note unusable as evidence
    // of witnessing; it proves nothing against the log either, so it is only retried.
    let served_cosigners = cosignature::verify_cosignatures(&note, cosigners)
        .map_err(|error| Unavailable::BadCosignature {
            member: id.to_owned(),
            error,
        })?
        .len();
    let held = || note_text(&head.checkpoint);
    if served.size() < head.size && pushed {
        // A pushed checkpoint waits for its turn behind other rounds of this peer, which
        // may have mirrored a newer one meanwhile: an older signed tree is no rollback then,
        // as long as it is a prefix of the one held.
        return match mirrors.root_at(id, served.size()) {
            Ok(Some(root)) if root == *served.root() => Ok(SyncProgress {
                from: head.size,
                to: head.size,
                duplicates: Vec::new(),
            }),
            Ok(Some(_)) => Err(misbehaviour(
                EvidenceKind::Fork,
                format!(
                    "signed a tree of {} entries that is not a prefix of its tree of {}",
                    served.size(),
                    head.size
                ),
                vec![held(), note_text(&note)],
                None,
            )),
            Ok(None) | Err(_) => Err(SyncError::Transient(Unavailable::MirrorRoot {
                member: id.to_owned(),
                size: served.size(),
            })),
        };
    }
    if served.size() < head.size {
        return Err(misbehaviour(
            EvidenceKind::Rollback,
            format!(
                "served a tree of {} entries after signing one of {}",
                served.size(),
                head.size
            ),
            vec![held(), note_text(&note)],
            None,
        ));
    }
    let now = chrono::Utc::now().timestamp();
    if served.size() == head.size {
        if *served.root() != head.root {
            return Err(misbehaviour(
                EvidenceKind::Fork,
                format!("signed two different trees of {} entries", served.size()),
                vec![held(), note_text(&note)],
                None,
            ));
        }
        let witnessing = Witnessing {
            trusted: cosigners,
            quorum,
            served: served_cosigners,
        };
        confirm(store, mirrors, id, head, note, now, &witnessing)?;
        return Ok(SyncProgress {
            from: served.size(),
            to: served.size(),
            duplicates: Vec::new(),
        });
    }
    let from = head.size;
    let logged = is_logged(served.size() - from);
    let registry = issuers
        .registry(id)
        .ok_or_else(|| Unavailable::NoRegistry {
            member: id.to_owned(),
        })?;
    let (to, registry, duplicates) = catch_up(
        store,
        mirrors,
        client,
        peer,
        &head,
        &served,
        registry.as_ref().clone(),
        logged,
    )
    .await?;
    let verified_root = to.1;
    if verified_root != *served.root() {
        return Err(misbehaviour(
            EvidenceKind::InconsistentEntries,
            format!(
                "the entries it served hash to {} but its checkpoint of {} entries says {}; either the entries were forged or the checkpoint is not an extension of the one held",
                merkle::format_hash(&verified_root),
                served.size(),
                merkle::format_hash(served.root())
            ),
            vec![held(), note_text(&note)],
            None,
        ));
    }
    let mut new_head = MirrorHead {
        size: served.size(),
        root: verified_root,
        checkpoint: Arc::new(note),
        confirmed_at: now,
        frontier: to.0,
        witnessed: head.witnessed.clone(),
    };
    new_head.witness(served_cosigners, quorum);
    let state = new_head.state();
    let write_store = Arc::clone(store);
    let member = id.to_owned();
    // Synced: the WAL is sequential, so this also makes the catch-up's logged steps durable;
    // unlogged steps are flushed to disk first.
    tokio::task::spawn_blocking(move || {
        if !logged {
            write_store.flush_mirrors()?;
        }
        write_store.set_mirror_state(&member, &state)
    })
    .await??;
    // The evidence before the new head: whoever sees the new size sees what it brought.
    for duplicate in &duplicates {
        tracing::warn!(peer = %id, credential = %duplicate.credential_id, index = duplicate.entry.0, "a peer's entry carries a credential id held already; evidence kept, sync goes on");
        keep_evidence(store, id, duplicate);
    }
    issuers.replace(registry);
    mirrors.set_head(id, new_head);
    Ok(SyncProgress {
        from,
        to: served.size(),
        duplicates,
    })
}

/// The witnesses a round counts cosignatures of, and how many the served note has.
struct Witnessing<'a> {
    trusted: &'a [CosignerKey],
    quorum: usize,
    /// Verified cosignatures on the served note.
    served: usize,
}

/// Records that the held checkpoint is still the peer's newest (keeping the copy with more
/// cosignatures, which becomes the witnessed one when it has the quorum).
fn confirm(
    store: &Arc<Store>,
    mirrors: &Mirrors,
    id: &str,
    mut head: MirrorHead,
    note: Vec<u8>,
    now: i64,
    witnessing: &Witnessing<'_>,
) -> Result<(), SyncError> {
    // The same tree, possibly with more cosignatures (the served ones verified by the
    // caller; the held note's verified when it was taken).
    let held = cosignature::verify_cosignatures(&head.checkpoint, witnessing.trusted)
        .map_or(0, |found| found.len());
    let cosigners = if witnessing.served > held {
        head.checkpoint = Arc::new(note);
        witnessing.served
    } else {
        held
    };
    head.confirmed_at = now;
    head.witness(cosigners, witnessing.quorum);
    store.set_mirror_state(id, &head.state())?;
    mirrors.set_head(id, head);
    Ok(())
}

fn misbehaviour(
    kind: EvidenceKind,
    detail: String,
    checkpoints: Vec<String>,
    entry: Option<(u64, String)>,
) -> SyncError {
    SyncError::Misbehaviour(Box::new(Misbehaviour {
        kind,
        detail,
        checkpoints,
        entry,
    }))
}

/// Whether a catch-up of `entries` entries writes its steps through the WAL. One of more
/// than a step skips it, and flushes once at the end instead: the WAL would copy every
/// entry once more, while a flush per round of a few entries would make many tiny files.
fn is_logged(entries: u64) -> bool {
    entries <= ENTRIES_PER_STEP
}

/// The new frontier and root of a mirror after a catch-up.
type Extended = (HashMap<u64, Hash>, Hash);

/// What a catch-up returns: the new frontier and root, the peer's issuer registry after
/// the new entries, and the entries that carried an id held already.
type CaughtUp = (Extended, IssuerRegistry, Vec<DuplicateId>);

/// Fetches, verifies, admits and writes (unsynced, above the verified size; through the WAL
/// when `logged`, see [`is_logged`]) the entries from the held size up to the served
/// checkpoint; returns the new frontier and root, and the
/// peer's issuer registry after them.
#[allow(clippy::too_many_arguments)]
async fn catch_up(
    store: &Arc<Store>,
    mirrors: &Mirrors,
    client: &PeerClient,
    peer: &Member,
    head: &MirrorHead,
    served: &VerifiedCheckpoint,
    registry: IssuerRegistry,
    logged: bool,
) -> Result<CaughtUp, SyncError> {
    let target = served.size();
    let step_end = |from: u64| (from + ENTRIES_PER_STEP).min(target);
    let note = Arc::new(served.note().to_vec());
    // A pipeline of three stages joined by short queues: steps are fetched, verified (every
    // core) and then admitted and written (one thread, in log order). Each stage runs ahead
    // of the next by up to STAGE_QUEUE steps instead of all three waiting for the slowest
    // at every step, so the cores stay busy while one stage waits for the peer or the disk.
    // Each step holds its size from the budget until it is written: however large a peer's
    // entries, a catch-up holds at most IN_FLIGHT_KIB plus the step being fetched.
    let budget = Arc::new(Semaphore::new(IN_FLIGHT_KIB as usize));
    let (fetched_tx, fetched_rx) =
        mpsc::channel::<(u64, Vec<Vec<u8>>, OwnedSemaphorePermit)>(STAGE_QUEUE);
    let (verified_tx, mut verified_rx) =
        mpsc::channel::<(VerifiedStep, OwnedSemaphorePermit)>(STAGE_QUEUE);
    let fetching = async move {
        for from in (head.size..target).step_by(ENTRIES_PER_STEP as usize) {
            let entries = fetch_step(client, peer, from, step_end(from), target).await?;
            let kib = entries.iter().map(Vec::len).sum::<usize>().div_ceil(1024);
            let kib = u32::try_from(kib)
                .unwrap_or(u32::MAX)
                .clamp(1, IN_FLIGHT_KIB);
            let Ok(permit) = Arc::clone(&budget).acquire_many_owned(kib).await else {
                break;
            };
            if fetched_tx.send((from, entries, permit)).await.is_err() {
                break; // A later stage stopped; its error is the one to report.
            }
        }
        Ok::<(), SyncError>(())
    };
    let verifying = {
        let note = Arc::clone(&note);
        async move {
            // One step per thread, as many steps at once as cores: a thread that finishes
            // its step takes the next instead of waiting for a slower half of the same one.
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            let received = futures_util::stream::unfold(fetched_rx, |mut receiver| async move {
                receiver.recv().await.map(|step| (step, receiver))
            });
            let mut steps = std::pin::pin!(
                received
                    .map(|(from, entries, permit)| {
                        let step_note = Arc::clone(&note);
                        tokio::task::spawn_blocking(move || {
                            verify_entries(from, &entries, &step_note).map(|verified| {
                                let step = VerifiedStep {
                                    first: from,
                                    entries,
                                    verified,
                                };
                                (step, permit)
                            })
                        })
                    })
                    .buffered(threads)
            );
            while let Some(step) = steps.next().await {
                let step = step??;
                if verified_tx.send(step).await.is_err() {
                    break;
                }
            }
            Ok::<(), SyncError>(())
        }
    };
    let applying = async move {
        let mut frontier = head.frontier.clone();
        let mut root = None;
        let mut registry = registry;
        let mut duplicates = Vec::new();
        while let Some((step, permit)) = verified_rx.recv().await {
            let step_store = Arc::clone(store);
            let step_peer = peer.clone();
            let step_note = Arc::clone(&note);
            // The other logs as verified now: an id they hold is a duplicate.
            let held = mirrors.held_logs();
            // The registry and the duplicates travel with the step to its thread and
            // come back.
            let ((new_frontier, new_root), step_registry, step_duplicates) =
                tokio::task::spawn_blocking(move || {
                    apply_step(
                        &step_store,
                        &step_peer,
                        &frontier,
                        step,
                        &step_note,
                        &mut registry,
                        logged,
                        &held,
                        &mut duplicates,
                    )
                    .map(|extended| (extended, registry, duplicates))
                })
                .await??;
            drop(permit);
            frontier = new_frontier;
            root = Some(new_root);
            registry = step_registry;
            duplicates = step_duplicates;
        }
        Ok::<_, SyncError>((frontier, root, registry, duplicates))
    };
    let (fetched, verified, applied) = tokio::join!(fetching, verifying, applying);
    // A later stage's error concerns an earlier step than an earlier stage's: it wins.
    let (frontier, root, registry, duplicates) = applied?;
    verified?;
    fetched?;
    let root = match root {
        Some(root) => root,
        None => merkle::root_from(
            head.size,
            &merkle::MapHashReader {
                hashes: frontier.clone(),
            },
        )?,
    };
    Ok(((frontier, root), registry, duplicates))
}

/// A fetched step whose entries' signatures verified, waiting to be admitted and written.
struct VerifiedStep {
    first: u64,
    entries: Vec<Vec<u8>>,
    verified: Vec<log_entry::MirrorEntry>,
}

/// Fetches the entries `from..to` of a log of `target` entries, bundle by bundle.
async fn fetch_step(
    client: &PeerClient,
    peer: &Member,
    from: u64,
    to: u64,
    target: u64,
) -> Result<Vec<Vec<u8>>, SyncError> {
    // The step's bundles are fetched concurrently: one round trip, not one per bundle.
    let tiles: Vec<u64> = (from / TILE_WIDTH..to.div_ceil(TILE_WIDTH)).collect();
    let bundles = futures_util::future::try_join_all(tiles.iter().map(|&tile_index| {
        let width = (target - tile_index * TILE_WIDTH).min(TILE_WIDTH);
        async move {
            fetch_bundle(client, peer, tile_index, width)
                .await
                .map(|bundle| (tile_index, width, bundle))
        }
    }))
    .await?;
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity((to - from) as usize);
    for (tile_index, width, bundle) in bundles {
        let tile_start = tile_index * TILE_WIDTH;
        let decoded = bundle::decode(&bundle, width as usize).map_err(|error| {
            Unavailable::MalformedBundle {
                member: peer.id.as_str().to_owned(),
                tile: tile_index,
                error,
            }
        })?;
        let wanted = from.max(tile_start)..to.min(tile_start + width);
        entries.extend(
            decoded
                .into_iter()
                .skip((wanted.start - tile_start) as usize)
                .take((wanted.end - wanted.start) as usize)
                .map(<[u8]>::to_vec),
        );
    }
    if entries.len() as u64 != to - from {
        return Err(SyncError::Transient(Unavailable::ShortBundles {
            member: peer.id.as_str().to_owned(),
            held: entries.len(),
            from,
            to,
        }));
    }
    Ok(entries)
}

async fn fetch_bundle(
    client: &PeerClient,
    peer: &Member,
    tile_index: u64,
    width: u64,
) -> Result<Vec<u8>, SyncError> {
    // At most TILE_WIDTH, which fits: the callers take the width from a tile's range.
    let width16 = u16::try_from(width.min(TILE_WIDTH)).unwrap_or(u16::MAX);
    let path = TilePath::Entries {
        index: tile_index,
        width: width16,
    };
    if let Some(bytes) = client.tile(&peer.endpoint, path).await? {
        return Ok(bytes);
    }
    // A log may drop a partial bundle once the full one exists (C2SP tlog-tiles).
    if width < TILE_WIDTH
        && let Some(bytes) = client
            .tile(
                &peer.endpoint,
                TilePath::Entries {
                    index: tile_index,
                    width: TILE_WIDTH as u16,
                },
            )
            .await?
    {
        let full = bundle::decode(&bytes, TILE_WIDTH as usize).map_err(|error| {
            Unavailable::MalformedBundle {
                member: peer.id.as_str().to_owned(),
                tile: tile_index,
                error,
            }
        })?;
        let mut partial = Vec::new();
        for entry in full.into_iter().take(width as usize) {
            bundle::push_entry(&mut partial, entry).map_err(Unavailable::Bundle)?;
        }
        return Ok(partial);
    }
    Err(SyncError::Transient(Unavailable::MissingBundle {
        member: peer.id.as_str().to_owned(),
        tile: tile_index,
        width,
    }))
}

/// Admits one verified step's entries in log order against the peer's issuer registry,
/// extends the tree and writes them above the verified size. Returns the frontier and root
/// after them; an entry whose credential id a log in `held` (or an earlier entry of this
/// log) already holds is added to `duplicates`.
#[allow(clippy::too_many_arguments)]
fn apply_step(
    store: &Store,
    peer: &Member,
    frontier: &HashMap<u64, Hash>,
    step: VerifiedStep,
    checkpoint_note: &[u8],
    registry: &mut IssuerRegistry,
    logged: bool,
    held: &MirrorSizes,
    duplicates: &mut Vec<DuplicateId>,
) -> Result<Extended, SyncError> {
    let VerifiedStep {
        first,
        entries,
        verified,
    } = step;
    let member = peer.id.as_str();
    // Credentials of this step are not in the store yet: status changes find them here.
    let mut in_step = StatusTargets::new();
    // Nor are their ids: a second entry of this step with one of them is found here.
    let mut ids_in_step: HashMap<CredentialId, u64> = HashMap::new();
    // Where the step's credential ids are held already, read in one pass.
    let ids: Vec<CredentialId> = verified
        .iter()
        .filter_map(|entry| entry.issued().map(|(id, _)| id))
        .collect();
    let mut locations = store.credential_locations(&ids)?.into_iter();
    let mut records = Vec::with_capacity(entries.len());
    for (offset, (bytes, entry)) in entries.into_iter().zip(verified).enumerate() {
        let index = first + offset as u64;
        let store_error = std::cell::RefCell::new(None);
        let from_store = |id: CredentialId| {
            issuers::status_target(store, LogSpace::Mirror(member), id, u64::MAX)
                .map_err(|error| *store_error.borrow_mut() = Some(error))
                .ok()
                .flatten()
        };
        let result = registry.admit(entry.admissible(), &entry.signer, index, &mut |id| {
            in_step.get(id).or_else(|| from_store(id))
        });
        if let Some(error) = store_error.borrow_mut().take() {
            return Err(error.into());
        }
        let admitted = match result {
            Ok(admitted) => admitted,
            Err(error) => {
                return Err(misbehaviour(
                    EvidenceKind::BadEntry,
                    format!("entry {index} is not acceptable: not admitted: {error}"),
                    vec![note_text(checkpoint_note)],
                    Some((index, String::from_utf8_lossy(&bytes).into_owned())),
                ));
            }
        };
        in_step.record(entry.issued(), &admitted, from_store);
        if let Some(error) = store_error.borrow_mut().take() {
            return Err(error.into());
        }
        let mut credential_id = entry.issued().map(|(id, _)| id);
        if let Some(id) = credential_id {
            let located = locations.next().unwrap_or_default();
            let holders = holders_of(store, member, (id, located), index, held, &ids_in_step)?;
            if !holders.is_empty() {
                // A log holding one id twice keeps its first entry under that id.
                if holders.iter().any(|(holder, _)| holder == member) {
                    credential_id = None;
                }
                if duplicates.len() < MAX_DUPLICATES_PER_ROUND {
                    duplicates.push(duplicate_id(
                        member,
                        id,
                        index,
                        &bytes,
                        holders,
                        checkpoint_note,
                    ));
                } else {
                    tracing::warn!(peer = member, %id, index, "another entry with an id held already; not kept as evidence beyond {MAX_DUPLICATES_PER_ROUND} a round");
                }
            }
            ids_in_step.entry(id).or_insert(index);
        }
        records.push(MirrorRecord {
            entry: bytes,
            credential_id,
            effects: EntryEffects {
                issuer_event: admitted.issuer_event,
                status: admitted.status,
                // Only the issuing member publishes status lists.
                status_slot: None,
            },
        });
    }
    let mut tree = TreeExtension::new(first, frontier)?;
    for record in &records {
        tree.push(&record.entry)?;
    }
    store.append_mirror(&MirrorAppend {
        member,
        first_index: first,
        entries: &records,
        hashes: tree.added_hashes(),
        logged,
    })?;
    let root = tree.root()?;
    let frontier = tree.frontier()?;
    Ok((frontier, root))
}

/// Every log this node holds with an entry carrying credential `id` before entry `index`
/// of `member`'s log arrived: (member, leaf index). The own log counts whole, another
/// mirror up to its verified size, `member`'s own log below `index` (its earlier steps of
/// this catch-up are written already, its entries of this step are in `in_step`).
fn holders_of(
    store: &Store,
    member: &str,
    (id, located): (CredentialId, CredentialLocations),
    index: u64,
    held: &MirrorSizes,
    in_step: &HashMap<CredentialId, u64>,
) -> Result<Vec<(String, u64)>, SyncError> {
    let mut holders = Vec::new();
    if let Some(own) = located.own {
        holders.push((held.me.clone(), own));
    }
    if let Some(earlier) = in_step.get(&id) {
        holders.push((member.to_owned(), *earlier));
    }
    let bound = |holder: &str| {
        if holder == member {
            index
        } else {
            held.verified.get(holder).copied().unwrap_or(0)
        }
    };
    if located.mirrors.is_empty() {
        return Ok(holders);
    }
    for holder in store.confirm_mirror_holders(id, located.mirrors, bound)? {
        if !holders.contains(&holder) {
            holders.push(holder);
        }
    }
    Ok(holders)
}

fn duplicate_id(
    member: &str,
    id: CredentialId,
    index: u64,
    bytes: &[u8],
    held_by: Vec<(String, u64)>,
    checkpoint_note: &[u8],
) -> DuplicateId {
    let held: Vec<String> = held_by
        .iter()
        .map(|(holder, at)| format!("entry {at} of {holder}'s log"))
        .collect();
    DuplicateId {
        kind: EvidenceKind::DuplicateId,
        detail: format!(
            "entry {index} of {member}'s log carries credential id {id}, which {} already carried here; it is mirrored (valid under {member}'s issuer registry), and verifiers rely only on the entry whose bytes are the presented credential",
            held.join(" and ")
        ),
        credential_id: id.to_string(),
        held_by,
        checkpoints: vec![note_text(checkpoint_note)],
        entry: (index, String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Verifies a step's entries (everything but the signatures one by one, then the
/// signatures in one Ed25519 batch); returns them verified or the first bad entry.
fn verify_entries(
    first: u64,
    entries: &[Vec<u8>],
    checkpoint_note: &[u8],
) -> Result<Vec<log_entry::MirrorEntry>, SyncError> {
    log_entry::verify_all(entries).map_err(|(position, error)| {
        let index = first + position as u64;
        misbehaviour(
            EvidenceKind::BadEntry,
            format!("entry {index} is not acceptable: {error}"),
            vec![note_text(checkpoint_note)],
            Some((
                index,
                String::from_utf8_lossy(&entries[position]).into_owned(),
            )),
        )
    })
}
