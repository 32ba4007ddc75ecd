//! Recovery of a restored member's log from its peers' mirrors: when a peer holds a
//! checkpoint of this member's log, signed by its own log key, larger than the log here (a
//! restore from an older backup), the entries in between are fetched from that peer's
//! verified mirror (`GET /api/v1/federation/mirrors/{member}/entries`, signed, this member
//! only), checked and appended, so the log grows back into the very tree it had signed.
//!
//! The entries are checked three ways before anything is written: together with the local
//! tree they must reproduce the signed checkpoint's root exactly (a peer cannot forge an
//! entry: the root is signed by this log's key), each must verify and be admitted by the
//! own issuer registry as the mirror's sync admits a peer's (signatures by this member's
//! authority and the issuers it accredited), and the log must not have moved meanwhile.
//! They are then appended as one durable batch through [`Log::append_recovered`], which
//! writes everything a sequencer batch does (credential index, status-list slots,
//! statuses, issuer events, hashes and the signed checkpoint); the issuer registry and the
//! touched status lists follow.
//!
//! The full resident ID numbers (the `personal` column family, encrypted, local-only) of
//! credentials issued after the backup are not in the log and no peer has them: they are
//! lost. Those credentials still verify; only the search by full ID number misses them.
//!
//! Bounded: at most [`MAX_RECOVERED_ENTRIES`] entries and [`MAX_RECOVERED_BYTES`] bytes,
//! fetched [`MAX_MIRRORED_ENTRIES`] per request, within [`RECOVERY_DEADLINE`]; a larger gap
//! keeps the log held (restore a newer backup).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use talent_core::identifiers::CredentialId;
use talent_core::issuers::StatusTargets;
use talent_core::log_entry;
use talent_core::status_list::StatusSlot;
use talent_tlog::Hash;
use talent_tlog::bundle::{self, BundleError};
use talent_tlog::merkle::{self, TreeExtension};

use crate::federation::client::{ClientError, MAX_MIRRORED_ENTRIES, PeerClient};
use crate::issuers::{self, Issuers};
use crate::log::Log;
use crate::log::recover::RecoverAppendError;
use crate::log::sequencer::PendingEntry;
use crate::status_lists::StatusLists;
use crate::store::{EntryEffects, LogSpace, Store, StoreError};

/// Most entries one recovery appends.
pub const MAX_RECOVERED_ENTRIES: u64 = 65_536;
/// Most entry bytes one recovery holds (they are appended in one batch).
pub const MAX_RECOVERED_BYTES: usize = 128 << 20;
/// How long fetching the entries from one peer may take in all.
pub const RECOVERY_DEADLINE: Duration = Duration::from_secs(300);

/// Why a recovery from one peer did not happen. Nothing of it is in the log.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The gap is larger than one recovery takes.
    #[error(
        "{missing} entries are missing, more than the {MAX_RECOVERED_ENTRIES} a recovery takes; restore a newer backup"
    )]
    TooFar {
        /// Entries missing.
        missing: u64,
    },
    /// The entries are larger than one recovery holds.
    #[error(
        "the missing entries are larger than the {MAX_RECOVERED_BYTES} bytes a recovery holds; restore a newer backup"
    )]
    TooLarge,
    /// The peer did not answer usefully.
    #[error(transparent)]
    Peer(#[from] ClientError),
    /// The peer's verified mirror does not hold the entries.
    #[error("the peer's mirror does not hold entries {start}..{end}")]
    NotMirrored {
        /// First entry asked for.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// The peer's answer is not an entry bundle of the entries asked for.
    #[error("the peer's bundle of entries from {start} is malformed: {error}")]
    Malformed {
        /// First entry asked for.
        start: u64,
        /// Why.
        error: BundleError,
    },
    /// Fetching took longer than [`RECOVERY_DEADLINE`].
    #[error("fetching the entries took longer than {RECOVERY_DEADLINE:?}")]
    TimedOut,
    /// An entry is not one this log can hold (bad signature, signer not allowed): the
    /// peer served something else than what this log signed.
    #[error("entry {index} is not acceptable in this log: {reason}")]
    BadEntry {
        /// Its leaf index.
        index: u64,
        /// Why.
        reason: String,
    },
    /// The entries do not reproduce the signed root, or the log moved, or the write failed.
    #[error(transparent)]
    Append(#[from] RecoverAppendError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checking task panicked.
    #[error("the recovery task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What a recovery needs beside the log.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The store (credential lookups for status changes).
    pub store: Arc<Store>,
    /// Issuer registries; the own one admits the entries and is replaced after them.
    pub issuers: Arc<Issuers>,
    /// The status lists: slots of the recovered credentials, lists to re-sign.
    pub status_lists: Arc<StatusLists>,
    /// Signs this member's requests to its peers.
    pub client: PeerClient,
}

impl Recovery {
    /// Fetches the entries the log lacks up to the checkpoint of `size` entries with
    /// `root` (signed by the log's own key, held by the peer at `endpoint`), checks them
    /// and appends them. Returns how many were appended.
    ///
    /// # Errors
    /// [`RecoveryError`]; the log is unchanged then.
    pub async fn recover(
        &self,
        log: &Arc<Log>,
        endpoint: &str,
        size: u64,
        root: Hash,
    ) -> Result<u64, RecoveryError> {
        let from = log.head().size;
        let missing = size.saturating_sub(from);
        if missing == 0 {
            return Ok(0);
        }
        if missing > MAX_RECOVERED_ENTRIES {
            return Err(RecoveryError::TooFar { missing });
        }
        let entries = tokio::time::timeout(RECOVERY_DEADLINE, self.fetch(endpoint, from, size))
            .await
            .map_err(|_| RecoveryError::TimedOut)??;
        let recovery = self.clone();
        let log = Arc::clone(log);
        tokio::task::spawn_blocking(move || {
            recovery.check_and_append(&log, from, entries, size, root)
        })
        .await?
    }

    /// Entries `from..to` of this member's log from the peer's mirror, a bundle at a time.
    async fn fetch(
        &self,
        endpoint: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Vec<u8>>, RecoveryError> {
        let mut entries = Vec::with_capacity((to - from) as usize);
        let mut bytes = 0usize;
        let mut start = from;
        while start < to {
            let count = (to - start).min(MAX_MIRRORED_ENTRIES);
            let bundle = self
                .client
                .mirrored_entries(endpoint, start, count)
                .await?
                .ok_or(RecoveryError::NotMirrored { start, end: to })?;
            let decoded = bundle::decode(&bundle, count as usize)
                .map_err(|error| RecoveryError::Malformed { start, error })?;
            for entry in decoded {
                bytes += entry.len();
                if bytes > MAX_RECOVERED_BYTES {
                    return Err(RecoveryError::TooLarge);
                }
                entries.push(entry.to_vec());
            }
            start += count;
        }
        Ok(entries)
    }

    /// Checks the fetched entries (root first: it is cheap and decisive) and appends them.
    fn check_and_append(
        &self,
        log: &Log,
        from: u64,
        entries: Vec<Vec<u8>>,
        size: u64,
        root: Hash,
    ) -> Result<u64, RecoveryError> {
        reproduces(log, &entries, size, root)?;
        let verified = verify(from, &entries)?;
        let mut registry = talent_core::issuers::IssuerRegistry::clone(&self.issuers.own());
        let mut in_batch = StatusTargets::new();
        let mut slots: HashMap<CredentialId, StatusSlot> = HashMap::new();
        let mut touched = BTreeSet::new();
        let mut issuer_events = false;
        let mut pending = Vec::with_capacity(entries.len());
        for (offset, (bytes, entry)) in entries.into_iter().zip(verified).enumerate() {
            let index = from + offset as u64;
            let store_error = std::cell::RefCell::new(None);
            let from_store = |id: CredentialId| {
                issuers::status_target(&self.store, LogSpace::Own, id, u64::MAX)
                    .map_err(|error| *store_error.borrow_mut() = Some(error))
                    .ok()
                    .flatten()
            };
            let admitted = registry
                .admit(entry.admissible(), &entry.signer, index, &mut |id| {
                    in_batch.get(id).or_else(|| from_store(id))
                })
                .map_err(|error| RecoveryError::BadEntry {
                    index,
                    reason: format!("not admitted: {error}"),
                });
            if let Some(error) = store_error.borrow_mut().take() {
                return Err(error.into());
            }
            let admitted = admitted?;
            in_batch.record(entry.issued(), &admitted, from_store);
            if let Some(error) = store_error.borrow_mut().take() {
                return Err(error.into());
            }
            let credential_id = entry.issued().map(|(id, _)| id);
            let status_slot = match credential_id {
                Some(id) => {
                    let slot = self.slot_in(&bytes);
                    if let Some(slot) = slot {
                        slots.insert(id, slot);
                    }
                    slot
                }
                None => None,
            };
            let target_slot = match admitted.status {
                Some((target, _)) => match slots.get(&target) {
                    Some(slot) => Some(*slot),
                    None => self.slot_of_logged(target)?,
                },
                None => None,
            };
            touched.extend(target_slot.map(|slot| slot.list));
            issuer_events |= admitted.issuer_event;
            pending.push(PendingEntry {
                entry: bytes,
                credential_id,
                // Local-only personal data is not in the log: it cannot be recovered.
                resident_id: None,
                status_slot,
                effects: EntryEffects {
                    issuer_event: admitted.issuer_event,
                    status: admitted.status,
                    status_slot: target_slot,
                },
            });
        }
        let appended = pending.len() as u64;
        log.append_recovered(&pending, size, root)?;
        if issuer_events {
            self.issuers.replace(registry);
        }
        for list in touched {
            self.status_lists.touch(list);
        }
        Ok(appended)
    }

    /// The status-list slot a logged credential names in this member's lists.
    fn slot_in(&self, bytes: &[u8]) -> Option<StatusSlot> {
        let credential: Value = serde_json::from_slice(bytes).ok()?;
        self.status_lists.slot_of_logged(&credential).ok().flatten()
    }

    /// The slot of a credential already in the own log.
    fn slot_of_logged(&self, id: CredentialId) -> Result<Option<StatusSlot>, StoreError> {
        let Some(index) = self.store.credential_index(id)? else {
            return Ok(None);
        };
        Ok(self
            .store
            .entry(LogSpace::Own, index)?
            .and_then(|bytes| self.slot_in(&bytes)))
    }
}

/// Whether `entries` after the log's current tree make the tree of `size` entries with
/// `root`.
fn reproduces(log: &Log, entries: &[Vec<u8>], size: u64, root: Hash) -> Result<(), RecoveryError> {
    let head = log.head();
    let failed = |error: &dyn std::fmt::Display| {
        RecoveryError::Append(RecoverAppendError::Failed(error.to_string()))
    };
    let mut tree = TreeExtension::new(head.size, &head.frontier).map_err(|error| failed(&error))?;
    for entry in entries {
        tree.push(entry).map_err(|error| failed(&error))?;
    }
    let found = tree.root().map_err(|error| failed(&error))?;
    if tree.size() != size || found != root {
        return Err(RecoverAppendError::RootMismatch {
            size,
            expected: merkle::format_hash(&root),
            found: merkle::format_hash(&found),
        }
        .into());
    }
    Ok(())
}

/// Verifies every entry as the mirrors verify a peer's (canonical, signed by its issuer).
fn verify(from: u64, entries: &[Vec<u8>]) -> Result<Vec<log_entry::MirrorEntry>, RecoveryError> {
    log_entry::verify_all(entries).map_err(|(offset, error)| RecoveryError::BadEntry {
        index: from + offset as u64,
        reason: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PersonalKeys;
    use ed25519_dalek::SigningKey;

    /// Entries a peer serves must make exactly the signed tree (not reordered, not short)
    /// and be entries this log can hold (signed objects), or nothing is appended.
    #[test]
    fn entries_that_do_not_make_the_signed_tree_or_do_not_verify_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(dir.path(), PersonalKeys::for_tests()).expect("store"));
        let log = Log::open(
            store,
            "recovery.test.example/log",
            SigningKey::from_bytes(&[7; 32]),
        )
        .expect("log");
        let entries = vec![b"{\"a\":1}".to_vec(), b"{\"a\":2}".to_vec()];
        let mut signed = TreeExtension::new(0, &HashMap::new()).expect("tree");
        for entry in &entries {
            signed.push(entry).expect("push");
        }
        let root = signed.root().expect("root");
        reproduces(&log, &entries, 2, root).expect("the signed entries make the tree");
        let swapped = [entries[1].clone(), entries[0].clone()];
        for (what, served) in [("reordered", &swapped[..]), ("short", &entries[..1])] {
            assert!(
                matches!(
                    reproduces(&log, served, 2, root),
                    Err(RecoveryError::Append(RecoverAppendError::RootMismatch {
                        size: 2,
                        ..
                    }))
                ),
                "{what}"
            );
        }
        // They make the tree but are no signed objects: refused, naming the entry.
        assert!(matches!(
            verify(5, &entries),
            Err(RecoveryError::BadEntry { index: 5, .. })
        ));
        assert_eq!(log.head().size, 0, "nothing appended");
    }
}
