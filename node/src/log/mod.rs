//! The member's transparency log on RocksDB: integrity check at start, the head (size,
//! root, signed checkpoint, frontier) in memory, and the [`sequencer`] that appends.
//!
//! Every entry, stored hash, credential index and the new signed checkpoint of a batch are
//! written in one synced `WriteBatch` (see [`crate::store::Store::append`]), so after a crash
//! the log is exactly at some acknowledged-or-later checkpoint, never in between.

pub mod recover;
pub mod sequencer;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ed25519_dalek::SigningKey;
use talent_integrity::keys::Sm2SigningKey;
use talent_tlog::Hash;
use talent_tlog::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use talent_tlog::merkle::{self, HashReader, InclusionProof, ProofError, TlogError};
use talent_tlog::sm2_note;
use talent_tlog::tile::{TILE_WIDTH, TilePath};
use talent_tlog::{bundle, merkle::frontier_indexes};

use crate::store::{LogSpace, Store, StoreError};

/// Why the log on disk cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LogOpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored checkpoint is not signed by this member's log key.
    #[error("stored checkpoint does not verify with this member's log key: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Entries, hashes and checkpoint disagree: the data directory is damaged.
    #[error("log data is corrupt: {0}")]
    Corrupt(String),
}

/// A checkpoint note of `origin` signed by `key`, and by `sm2` on a second line.
fn sign_note(
    origin: &str,
    key: &SigningKey,
    sm2: Option<&Sm2SigningKey>,
    size: u64,
    root: Hash,
) -> Result<Vec<u8>, CheckpointError> {
    match sm2 {
        Some(sm2) => checkpoint::sign_checkpoint_with_sm2(origin, size, root, key, sm2.as_sm2()),
        None => checkpoint::sign_checkpoint(origin, size, root, key),
    }
}

/// The current head of the log.
#[derive(Debug, Clone)]
pub struct LogHead {
    /// Number of entries.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed checkpoint note of this head.
    pub checkpoint: Arc<Vec<u8>>,
    /// Stored hashes of the perfect subtrees making up the tree (see
    /// [`merkle::frontier_indexes`]): all appending needs.
    pub frontier: HashMap<u64, Hash>,
}

/// The log of this member.
#[derive(Debug)]
pub struct Log {
    store: Arc<Store>,
    origin: String,
    key: SigningKey,
    vkey: String,
    /// The optional SM2 key of a second signature line on every checkpoint, with its
    /// verifier key.
    sm2: Option<(Sm2SigningKey, String)>,
    head: RwLock<LogHead>,
    /// Why the log refuses to append, while it does: a peer holds more of it than this
    /// node (a restore to an older state, found by the rollback check at start). Reads are served as usual.
    held: RwLock<Option<String>>,
    /// Signalled after every head change (the cosignature collector waits on it).
    head_changed: tokio::sync::Notify,
    /// Held by whoever appends (a sequencer batch, a recovery from a peer's mirror), so
    /// appends never interleave.
    appending: std::sync::Mutex<()>,
}

impl Log {
    /// Opens the log in `store`, verifying that the stored checkpoint is signed by `key`,
    /// that the stored hashes reproduce its root, and that the entries end where it says.
    /// An empty store gets a signed checkpoint of the empty tree.
    ///
    /// # Errors
    /// [`LogOpenError::Corrupt`] or [`LogOpenError::Checkpoint`] for a damaged or foreign
    /// data directory; [`LogOpenError::Store`].
    pub fn open(store: Arc<Store>, origin: &str, key: SigningKey) -> Result<Log, LogOpenError> {
        Log::open_with_sm2(store, origin, key, None)
    }

    /// Opens the log like [`Log::open`]; with `sm2`, every checkpoint it signs carries a
    /// second signature line by that key (`talent_tlog::sm2_note`). A stored head without
    /// that line (signed before the member named its SM2 key) is signed again, both lines,
    /// at the same size and root.
    ///
    /// # Errors
    /// As [`Log::open`].
    pub fn open_with_sm2(
        store: Arc<Store>,
        origin: &str,
        key: SigningKey,
        sm2: Option<Sm2SigningKey>,
    ) -> Result<Log, LogOpenError> {
        let vkey = checkpoint::verifier_key(origin, &key.verifying_key());
        let sm2 = sm2
            .map(|sm2| {
                let vkey = sm2_note::sm2_verifier_key(origin, sm2.verifying_key())
                    .map_err(CheckpointError::Sm2Key)?;
                Ok::<_, CheckpointError>((sm2, vkey))
            })
            .transpose()?;
        let sign = |size, root| sign_note(origin, &key, sm2.as_ref().map(|(k, _)| k), size, root);
        let head = match store.checkpoint()? {
            None => {
                if store.entry(LogSpace::Own, 0)?.is_some() {
                    return Err(LogOpenError::Corrupt(
                        "entries exist but no checkpoint does".into(),
                    ));
                }
                let root = merkle::root_from(0, &merkle::MapHashReader::default())
                    .map_err(|error| LogOpenError::Corrupt(error.to_string()))?;
                let note = sign(0, root)?;
                store.set_checkpoint(&note)?;
                LogHead {
                    size: 0,
                    root,
                    checkpoint: Arc::new(note),
                    frontier: HashMap::new(),
                }
            }
            Some(note) => {
                let verified = checkpoint::open_checkpoint(&note, origin, &vkey)?;
                let mut head = load_head(&store, LogSpace::Own, &verified)?;
                check_entries_end(&store, LogSpace::Own, head.size)?;
                let sm2_vkey = sm2.as_ref().map(|(_, vkey)| vkey.as_str());
                if sm2_vkey.is_some()
                    && checkpoint::open_checkpoint_with_sm2(&note, origin, &vkey, sm2_vkey).is_err()
                {
                    let note = sign(head.size, head.root)?;
                    store.set_checkpoint(&note)?;
                    head.checkpoint = Arc::new(note);
                }
                head
            }
        };
        Ok(Log {
            store,
            origin: origin.to_owned(),
            key,
            vkey,
            sm2,
            head: RwLock::new(head),
            held: RwLock::new(None),
            head_changed: tokio::sync::Notify::new(),
            appending: std::sync::Mutex::new(()),
        })
    }

    /// Refuses every append from now on, for `reason`, until [`Log::release`].
    pub fn hold(&self, reason: String) {
        tracing::warn!(%reason, "the log refuses new entries");
        *self
            .held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
    }

    /// Lets appends through again.
    pub fn release(&self) {
        let mut held = self
            .held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.take().is_some() {
            tracing::info!("the log takes new entries again");
        }
    }

    /// Why the log refuses appends, if it does.
    pub fn held(&self) -> Option<String> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The root of the current tree's first `size` leaves.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`] beyond the current size; the store failing.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        let head = self.head();
        if size > head.size {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                tree_size: head.size,
            });
        }
        merkle::root_from(size, &self.reader(&head))
    }

    /// Log origin (also the checkpoint key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The signed-note verifier key of the log.
    pub fn verifier_key(&self) -> &str {
        &self.vkey
    }

    /// The SM2 verifier key of the checkpoints' second signature line, if the log signs one.
    pub fn sm2_verifier_key(&self) -> Option<&str> {
        self.sm2.as_ref().map(|(_, vkey)| vkey.as_str())
    }

    /// Signs the checkpoint of `size` leaves with `root`: the Ed25519 line, and the SM2
    /// line when the log has an SM2 key.
    ///
    /// # Errors
    /// [`CheckpointError`] when the origin is not a key name.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<Vec<u8>, CheckpointError> {
        let sm2 = self.sm2.as_ref().map(|(key, _)| key);
        sign_note(&self.origin, &self.key, sm2, size, root)
    }

    /// A snapshot of the current head.
    pub fn head(&self) -> LogHead {
        // A poisoned lock means a sequencer panicked mid-update; the head it guards is only
        // replaced whole, so the value is still consistent.
        self.head
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_head(&self, head: LogHead) {
        *self
            .head
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = head;
        self.head_changed.notify_one();
    }

    /// Completes after the next head change (or at once if one happened since the last
    /// wait). Meant for one waiter.
    pub async fn changed(&self) {
        self.head_changed.notified().await;
    }

    /// This log's stored hashes, with `head`'s frontier in memory.
    fn reader<'a>(&'a self, head: &'a LogHead) -> StoreHashReader<'a> {
        StoreHashReader {
            store: &self.store,
            space: LogSpace::Own,
            overlay: &head.frontier,
        }
    }

    /// Inclusion proof of entry `index` in the current tree.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`], or the store failing.
    pub fn inclusion_proof(&self, index: u64) -> Result<(LogHead, InclusionProof), ProofError> {
        let head = self.head();
        let reader = self.reader(&head);
        let hashes = merkle::inclusion_proof_from(index, head.size, &reader)?;
        let proof = InclusionProof::new(index, head.size, &hashes);
        Ok((head, proof))
    }

    /// Inclusion proof of entry `index` in the tree of `size` leaves (≤ the current size).
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`], or the store failing.
    pub fn inclusion_proof_at(&self, index: u64, size: u64) -> Result<InclusionProof, ProofError> {
        let head = self.head();
        if size > head.size {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                tree_size: head.size,
            });
        }
        let reader = self.reader(&head);
        let hashes = merkle::inclusion_proof_from(index, size, &reader)?;
        Ok(InclusionProof::new(index, size, &hashes))
    }

    /// Consistency proof between two sizes of the current tree.
    ///
    /// # Errors
    /// [`ProofError::SizeRollback`], [`ProofError::Unavailable`].
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        let head = self.head();
        if new_size > head.size {
            return Err(ProofError::IndexOutOfRange {
                index: new_size,
                tree_size: head.size,
            });
        }
        let reader = self.reader(&head);
        merkle::consistency_proof_from(old_size, new_size, &reader)
    }

    /// The bytes of a tile or entry bundle, if the current tree has it.
    ///
    /// # Errors
    /// The store failing, or stored data missing (corruption).
    pub fn tile(&self, tile: TilePath) -> Result<Option<Vec<u8>>, StoreError> {
        let size = self.head().size;
        match tile {
            TilePath::Entries { .. } => {
                let range = tile.entry_range();
                if range.end > size {
                    return Ok(None);
                }
                let entries = self.store.entries(LogSpace::Own, range.clone())?;
                let mut out =
                    Vec::with_capacity(entries.iter().map(|entry| entry.len() + 2).sum::<usize>());
                for entry in &entries {
                    bundle::push_entry(&mut out, entry).map_err(|error| StoreError::Corrupt {
                        key: format!("entries/{}", range.start),
                        reason: error.to_string(),
                    })?;
                }
                Ok(Some(out))
            }
            TilePath::Hashes {
                level,
                index,
                width,
            } => {
                let available = size >> (u32::from(level) * 8);
                if index * TILE_WIDTH + u64::from(width) > available {
                    return Ok(None);
                }
                let reader = StoreHashReader {
                    store: &self.store,
                    space: LogSpace::Own,
                    overlay: &HashMap::new(),
                };
                tile.read_hashes(&reader)
                    .map(Some)
                    .map_err(|error| StoreError::Corrupt {
                        key: tile.to_string(),
                        reason: error.to_string(),
                    })
            }
        }
    }

    /// The entry at `index`, if the log has it.
    ///
    /// # Errors
    /// The store failing.
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        if index >= self.head().size {
            return Ok(None);
        }
        self.store.entry(LogSpace::Own, index)
    }
}

/// Reads a log's stored hashes from an in-memory overlay first, then RocksDB.
pub(crate) struct StoreHashReader<'a> {
    pub(crate) store: &'a Store,
    pub(crate) space: LogSpace<'a>,
    pub(crate) overlay: &'a HashMap<u64, Hash>,
}

impl HashReader for StoreHashReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, TlogError> {
        let missing: Vec<u64> = indexes
            .iter()
            .copied()
            .filter(|index| !self.overlay.contains_key(index))
            .collect();
        let mut loaded = if missing.is_empty() {
            Vec::new().into_iter()
        } else {
            self.store
                .hashes(self.space, &missing)
                .map_err(|_| TlogError::IndexesNotInTree)?
                .into_iter()
        };
        indexes
            .iter()
            .map(|index| match self.overlay.get(index) {
                Some(hash) => Ok(*hash),
                None => loaded.next().flatten().ok_or(TlogError::IndexesNotInTree),
            })
            .collect()
    }
}

/// The head of a log (own or mirrored) at a verified checkpoint, from its stored frontier
/// hashes, which must reproduce the checkpoint's root.
pub(crate) fn load_head(
    store: &Store,
    space: LogSpace<'_>,
    verified: &VerifiedCheckpoint,
) -> Result<LogHead, LogOpenError> {
    let size = verified.size();
    let indexes = frontier_indexes(size);
    let hashes = store.hashes(space, &indexes)?;
    let mut frontier = HashMap::new();
    for (index, hash) in indexes.iter().zip(hashes) {
        let hash = hash.ok_or_else(|| {
            LogOpenError::Corrupt(format!(
                "stored hash {index} of the checkpoint's tree (size {size}) is missing"
            ))
        })?;
        frontier.insert(*index, hash);
    }
    let root = merkle::root_from(
        size,
        &merkle::MapHashReader {
            hashes: frontier.clone(),
        },
    )
    .map_err(|error| LogOpenError::Corrupt(error.to_string()))?;
    if &root != verified.root() {
        return Err(LogOpenError::Corrupt(format!(
            "stored hashes give root {} but the checkpoint of size {size} says {}",
            merkle::format_hash(&root),
            merkle::format_hash(verified.root())
        )));
    }
    Ok(LogHead {
        size,
        root,
        checkpoint: Arc::new(verified.note().to_vec()),
        frontier,
    })
}

/// The last entry must exist, the next must not, and the last entry's leaf hash must match.
pub(crate) fn check_entries_end(
    store: &Store,
    space: LogSpace<'_>,
    size: u64,
) -> Result<(), LogOpenError> {
    if size > 0 {
        let last = store.entry(space, size - 1)?.ok_or_else(|| {
            LogOpenError::Corrupt(format!(
                "entry {} of the checkpoint's tree is missing",
                size - 1
            ))
        })?;
        let stored = store.hashes(space, &[merkle::leaf_stored_index(size - 1)])?;
        if stored.first().copied().flatten() != Some(merkle::record_hash(&last)) {
            return Err(LogOpenError::Corrupt(format!(
                "entry {} does not match its leaf hash",
                size - 1
            )));
        }
    }
    if store.entry(space, size)?.is_some() {
        return Err(LogOpenError::Corrupt(format!(
            "entry {size} exists beyond the checkpoint's tree"
        )));
    }
    Ok(())
}
