//! Witnessing, both ways (C2SP `tlog-witness`, `cosignature/v1`):
//!
//! - [`Witness`]: this member cosigns peers' checkpoints submitted to its
//!   `POST /log/add-checkpoint`, after checking the log signature and a consistency proof
//!   from the last checkpoint it cosigned for that log (checked and recorded atomically).
//! - [`Collector`]: after each batch this member submits its own new checkpoint to every
//!   peer's witness and keeps the cosignatures, which `GET /log/checkpoint` serves attached.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use talent_core::federation::{Federation, Member};
use talent_tlog::checkpoint;
use talent_tlog::cosignature::{self, CosignatureError, Cosigner, CosignerKey};
use talent_tlog::merkle::ProofError;
use talent_tlog::witness::{
    self, AddCheckpointRequest, CheckpointSubmission, OpenedSubmission, WitnessError,
    WitnessOutcome, WitnessRecord, WitnessedLog,
};

use super::client::{AddCheckpointReply, ClientError, PeerClient};
use super::witnessed::{Witnessed, WitnessedError};
use crate::log::Log;
use crate::store::{META_WITNESSED_CHECKPOINT, Store, StoreError};

/// Why an add-checkpoint request was not cosigned.
#[derive(Debug, thiserror::Error)]
pub enum AddCheckpointError {
    /// The witness protocol refused it (status from [`WitnessError::http_status`]).
    #[error(transparent)]
    Witness(#[from] WitnessError),
    /// The store failed; nothing was cosigned.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// This member as a witness of its peers' logs.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    logs: Vec<WitnessedLog>,
    store: Arc<Store>,
    /// Check and record must be atomic per the spec; one lock for all origins is enough at
    /// federation scale (a handful of logs, one request per batch each).
    lock: Mutex<()>,
}

impl Witness {
    /// A witness cosigning with `cosigner` for every member of `federation` but `me`.
    pub fn new(
        cosigner: Cosigner,
        federation: &Federation,
        me: &str,
        store: Arc<Store>,
    ) -> Witness {
        let logs = federation
            .members()
            .iter()
            .filter(|member| member.id.as_str() != me)
            .map(|member| WitnessedLog {
                origin: member.log_origin.clone(),
                log_vkey: member.log_vkey.clone(),
                log_sm2_vkey: member.log_sm2_vkey.clone(),
            })
            .collect();
        Witness {
            cosigner,
            logs,
            store,
            lock: Mutex::new(()),
        }
    }

    /// This witness's `cosignature/v1` key.
    pub fn key(&self) -> CosignerKey {
        self.cosigner.key()
    }

    /// Opens a parsed submission: its checkpoint must be signed by a log this member
    /// witnesses (every member's but its own).
    ///
    /// # Errors
    /// The C2SP errors of the log signature ([`CheckpointSubmission::open`]).
    pub fn open(&self, submission: CheckpointSubmission) -> Result<OpenedSubmission, WitnessError> {
        submission.open(&self.logs)
    }

    /// Handles one opened `add-checkpoint` request at time `now`; returns the cosignature
    /// lines. Blocking (RocksDB): call from a blocking task.
    ///
    /// # Errors
    /// [`AddCheckpointError`]; `RootMismatch` and `BadConsistencyProof` carry both signed
    /// checkpoints for the caller to keep as evidence.
    pub fn add_checkpoint(
        &self,
        opened: &OpenedSubmission,
        now: u64,
    ) -> Result<Vec<u8>, AddCheckpointError> {
        let origin = opened.checkpoint().origin();
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let previous = self.record(origin)?;
        let WitnessOutcome::Cosigned {
            record,
            cosignature,
        } = witness::decide(opened, previous.as_ref(), &self.cosigner, now)?;
        // Persisted before answering: a restarted witness never cosigns an older tree.
        self.store.set_witness_record(origin, &record.checkpoint)?;
        Ok(cosignature)
    }

    /// The last record for `origin`, re-verified with the log's configured key.
    fn record(&self, origin: &str) -> Result<Option<WitnessRecord>, AddCheckpointError> {
        let Some(note) = self.store.witness_record(origin)? else {
            return Ok(None);
        };
        let log = self
            .logs
            .iter()
            .find(|log| log.origin == origin)
            .ok_or_else(|| WitnessError::UnknownOrigin {
                origin: origin.to_owned(),
            })?;
        let verified = checkpoint::open_checkpoint_with_sm2(
            &note,
            origin,
            &log.log_vkey,
            log.log_sm2_vkey.as_deref(),
        )
        .map_err(|error| StoreError::Corrupt {
            key: format!("witness/{origin}"),
            reason: error.to_string(),
        })?;
        Ok(Some(WitnessRecord {
            size: verified.size(),
            root: *verified.root(),
            checkpoint: note,
        }))
    }
}

/// The cosignatures collected for this member's current checkpoint.
#[derive(Debug, Default, Clone)]
struct Gathered {
    checkpoint: Arc<Vec<u8>>,
    /// Witness name → its cosignature line for `checkpoint`.
    lines: BTreeMap<String, Vec<u8>>,
}

/// What one collection round got.
#[derive(Debug)]
pub struct Collected {
    /// Cosignatures the checkpoint had before the round.
    pub before: usize,
    /// Cosignatures it has after.
    pub cosigners: usize,
    /// Why the peers that gave none did not.
    pub refused: Vec<CosignRequestError>,
}

/// The own checkpoint an inclusion proof is given under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofCheckpoint {
    /// Its tree size (the proof's).
    pub size: u64,
    /// The signed note with the cosignatures held for it.
    pub note: Vec<u8>,
    /// Whether they meet the witness quorum.
    pub witnessed: bool,
}

/// Why the collector cannot start.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// This member is not in the federation.
    #[error("{member} is not a member of {federation}")]
    NotAMember {
        /// This member's id.
        member: String,
        /// The federation's id.
        federation: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored witnessed checkpoint does not verify (a damaged or foreign directory).
    #[error("the stored witnessed checkpoint: {0}")]
    Witnessed(#[from] WitnessedError),
}

/// Why a peer's witness gave no cosignature in a round.
#[derive(Debug, thiserror::Error)]
pub enum CosignRequestError {
    /// The peer's configured witness key is malformed.
    #[error("{member}'s witness key: {error}")]
    WitnessKey {
        /// The peer.
        member: String,
        /// Why.
        error: CosignatureError,
    },
    /// The peer's witness cosigned a larger tree of this log than it now has.
    #[error(
        "{member}'s witness cosigned a tree of {cosigned} entries but this log has {size}: this log lost data"
    )]
    LostData {
        /// The peer.
        member: String,
        /// The size it cosigned.
        cosigned: u64,
        /// This log's size.
        size: u64,
    },
    /// No consistency proof could be made from the size it cosigned.
    #[error("the consistency proof: {0}")]
    Proof(#[from] ProofError),
    /// The peer is unreachable or its answer cannot be read.
    #[error(transparent)]
    Peer(#[from] ClientError),
    /// Its cosignature lines are malformed or do not verify.
    #[error("{member}'s cosignature: {error}")]
    Cosignature {
        /// The peer.
        member: String,
        /// Why.
        error: CosignatureError,
    },
    /// Its answer holds no cosignature by its own witness key.
    #[error("{member}'s answer holds no cosignature by its witness key")]
    NotByItsKey {
        /// The peer.
        member: String,
    },
    /// It refused.
    #[error("{member} refused to cosign: {status} {body}")]
    Refused {
        /// The peer.
        member: String,
        /// The HTTP status.
        status: u16,
        /// The start of its answer.
        body: String,
    },
    /// Its cosigned size moved again while this member caught up with it.
    #[error("{member} keeps changing its cosigned size")]
    SizeKeepsChanging {
        /// The peer.
        member: String,
    },
}

/// Collects peers' cosignatures on this member's checkpoints.
#[derive(Debug)]
pub struct Collector {
    peers: Vec<Member>,
    /// Peer id → the size its witness last cosigned (learned from its answers).
    cosigned_sizes: Mutex<HashMap<String, u64>>,
    collected: RwLock<Gathered>,
    /// Cosignatures a checkpoint needs to be witnessed.
    quorum: usize,
    /// The newest own checkpoint that had the quorum, with its cosignatures: kept in the
    /// store, because the newest checkpoint lacks the quorum while witnesses are down.
    witnessed: RwLock<Option<Witnessed>>,
    store: Arc<Store>,
}

impl Collector {
    /// A collector asking every member of `federation` but `me`, holding the witnessed
    /// checkpoint stored in `store`.
    ///
    /// # Errors
    /// `me` is not a member, the store fails, or the stored witnessed checkpoint does not
    /// verify (a damaged or foreign data directory).
    pub fn new(
        federation: &Federation,
        me: &str,
        store: Arc<Store>,
    ) -> Result<Collector, CollectorError> {
        let member = federation
            .member(me)
            .ok_or_else(|| CollectorError::NotAMember {
                member: me.to_owned(),
                federation: federation.id.clone(),
            })?;
        let witnessed = match store.meta(META_WITNESSED_CHECKPOINT)? {
            None => None,
            Some(note) => Some(Witnessed::open(
                note.as_bytes(),
                member,
                &federation.cosigners_of(me),
                federation.witness_quorum,
            )?),
        };
        Ok(Collector {
            peers: federation
                .members()
                .iter()
                .filter(|member| member.id.as_str() != me)
                .cloned()
                .collect(),
            cosigned_sizes: Mutex::new(HashMap::new()),
            collected: RwLock::new(Gathered::default()),
            quorum: federation.witness_quorum,
            witnessed: RwLock::new(witnessed),
            store,
        })
    }

    /// The own checkpoint to prove entry `index` under: the current one (`head`) with the
    /// cosignatures collected for it when they meet the quorum, else the newest witnessed
    /// one when it contains the entry, else the current one (an entry logged after the
    /// last witnessed checkpoint: not yet witnessed by a quorum).
    pub fn checkpoint_for(&self, head: &crate::log::LogHead, index: u64) -> ProofCheckpoint {
        let current = |witnessed| ProofCheckpoint {
            size: head.size,
            note: self.with_cosignatures(&head.checkpoint),
            witnessed,
        };
        if self.cosigner_count(&head.checkpoint) >= self.quorum {
            return current(true);
        }
        match self.witnessed() {
            Some(held) if held.covers(index) => ProofCheckpoint {
                size: held.size,
                note: held.note.as_ref().clone(),
                witnessed: true,
            },
            _ => current(false),
        }
    }

    /// How many cosignatures were collected for exactly `note`.
    fn cosigner_count(&self, note: &Arc<Vec<u8>>) -> usize {
        let collected = self
            .collected
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if collected.checkpoint == *note {
            collected.lines.len()
        } else {
            0
        }
    }

    /// How many witnesses it asks.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// The newest own checkpoint that had the witness quorum, with its cosignatures.
    pub fn witnessed(&self) -> Option<Witnessed> {
        self.witnessed
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Keeps `head`'s checkpoint, with the cosignatures collected for it, as the witnessed
    /// one when they meet the quorum and it is newer (or better cosigned) than the one
    /// held: durably first, so a restart never forgets a witnessed checkpoint it served.
    async fn keep_witnessed(&self, head: &crate::log::LogHead) {
        let cosigners = self.cosigners_of(&head.checkpoint).len();
        let note = Arc::new(self.with_cosignatures(&head.checkpoint));
        let mut next = self.witnessed();
        if !Witnessed::advance(&mut next, head.size, &note, cosigners, self.quorum) {
            return;
        }
        let Some(next) = next else {
            return;
        };
        let store = Arc::clone(&self.store);
        let text = next.text();
        let stored = tokio::task::spawn_blocking(move || {
            store.set_meta(&[(META_WITNESSED_CHECKPOINT, &text)])
        })
        .await;
        match stored {
            Ok(Ok(())) => {
                let mut witnessed = self
                    .witnessed
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                // Another round may have kept a newer one meanwhile.
                let newer = witnessed.as_ref().is_none_or(|held| {
                    next.size > held.size
                        || (next.size == held.size && next.cosigners > held.cosigners)
                });
                if newer {
                    *witnessed = Some(next);
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "the witnessed checkpoint was not stored");
            }
            Err(error) => {
                tracing::error!(%error, "the witnessed checkpoint was not stored");
            }
        }
    }

    /// `note` with every cosignature collected for exactly that checkpoint attached.
    pub fn with_cosignatures(&self, note: &Arc<Vec<u8>>) -> Vec<u8> {
        let collected = self
            .collected
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if collected.checkpoint != *note || collected.lines.is_empty() {
            return note.as_ref().clone();
        }
        let lines: Vec<u8> = collected.lines.values().flatten().copied().collect();
        cosignature::attach(note, &lines).unwrap_or_else(|_| note.as_ref().clone())
    }

    /// Names of the peers whose cosignature on `note` was collected.
    pub fn cosigners_of(&self, note: &Arc<Vec<u8>>) -> Vec<String> {
        let collected = self
            .collected
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if collected.checkpoint == *note {
            collected.lines.keys().cloned().collect()
        } else {
            Vec::new()
        }
    }

    /// Asks every peer's witness to cosign the log's current checkpoint, concurrently,
    /// sending it with the cosignatures collected so far (so witnesses' mirrors get the
    /// cosigned copy too).
    pub async fn collect(&self, log: &Log, client: &PeerClient) -> Collected {
        let head = log.head();
        {
            let mut collected = self
                .collected
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if collected.checkpoint != head.checkpoint {
                *collected = Gathered {
                    checkpoint: Arc::clone(&head.checkpoint),
                    lines: BTreeMap::new(),
                };
            }
        }
        let bare = &head.checkpoint;
        let with_cosignatures = Arc::new(self.with_cosignatures(bare));
        let (note, size) = (&with_cosignatures, head.size);
        let requests = self.peers.iter().map(|peer| async move {
            (peer, self.submit(log, client, peer, note, bare, size).await)
        });
        let results = futures_util::future::join_all(requests).await;
        let collected_before = self.cosigners_of(&head.checkpoint).len();
        let mut refused = Vec::new();
        for (peer, result) in results {
            match result {
                Ok(line) => {
                    let mut collected = self
                        .collected
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if collected.checkpoint == head.checkpoint {
                        collected.lines.insert(peer.witness_name.clone(), line);
                    }
                }
                Err(error) => {
                    tracing::debug!(peer = peer.id.as_str(), %error, "no cosignature");
                    refused.push(error);
                }
            }
        }
        let cosigners = self.cosigners_of(&head.checkpoint).len();
        if cosigners > collected_before || self.witnessed().is_none() {
            self.keep_witnessed(&head).await;
        }
        Collected {
            before: collected_before,
            cosigners,
            refused,
        }
    }

    async fn submit(
        &self,
        log: &Log,
        client: &PeerClient,
        peer: &Member,
        note: &Arc<Vec<u8>>,
        bare: &Arc<Vec<u8>>,
        size: u64,
    ) -> Result<Vec<u8>, CosignRequestError> {
        let member = || peer.id.as_str().to_owned();
        let key = CosignerKey::from_vkey(&peer.witness_vkey).map_err(|error| {
            CosignRequestError::WitnessKey {
                member: member(),
                error,
            }
        })?;
        let mut old = self.known_size(peer);
        // Two rounds: the first may only teach us the size the witness holds.
        for _ in 0..2 {
            if old > size {
                return Err(CosignRequestError::LostData {
                    member: member(),
                    cosigned: old,
                    size,
                });
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                log.consistency_proof(old, size)?
            };
            let request = AddCheckpointRequest {
                old_size: old,
                proof,
                checkpoint: note.as_ref().clone(),
            };
            match client.add_checkpoint(&peer.endpoint, &request).await? {
                AddCheckpointReply::Cosigned(lines) => {
                    let malformed = |error| CosignRequestError::Cosignature {
                        member: member(),
                        error,
                    };
                    let attached = cosignature::attach(bare, &lines).map_err(malformed)?;
                    let verified =
                        cosignature::verify_cosignatures(&attached, std::slice::from_ref(&key))
                            .map_err(malformed)?;
                    if verified.is_empty() {
                        return Err(CosignRequestError::NotByItsKey { member: member() });
                    }
                    self.set_known_size(peer, size);
                    let own_line = lines
                        .split_inclusive(|byte| *byte == b'\n')
                        .find(|line| {
                            std::str::from_utf8(line).is_ok_and(|text| {
                                text.starts_with(&format!("\u{2014} {} ", peer.witness_name))
                            })
                        })
                        .map(<[u8]>::to_vec)
                        .unwrap_or(lines);
                    return Ok(own_line);
                }
                AddCheckpointReply::SizeConflict(latest) => {
                    self.set_known_size(peer, latest);
                    old = latest;
                }
                AddCheckpointReply::Refused(status, body) => {
                    return Err(CosignRequestError::Refused {
                        member: member(),
                        status,
                        body,
                    });
                }
            }
        }
        Err(CosignRequestError::SizeKeepsChanging { member: member() })
    }

    fn known_size(&self, peer: &Member) -> u64 {
        self.cosigned_sizes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(peer.id.as_str())
            .copied()
            .unwrap_or(0)
    }

    fn set_known_size(&self, peer: &Member, size: u64) {
        self.cosigned_sizes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(peer.id.as_str().to_owned(), size);
    }
}
