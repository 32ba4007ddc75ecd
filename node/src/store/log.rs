//! The entries and stored hashes of a log (the own log or a mirror, see [`LogSpace`]), and
//! the durable append of a batch of the own log with everything its entries index.

use std::ops::Range;

use rocksdb::WriteBatch;
use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use talent_core::status_list::StatusSlot;
use talent_tlog::Hash;

use super::effects::EntryEffects;
use super::families::{CF_CREDENTIALS, CF_META, CF_PERSONAL, CF_PERSONAL_INDEX, CF_STATUS_SLOTS};
use super::meta::META_CHECKPOINT;
use super::slots::{SlotHolder, slot_holder_bytes};
use super::space::LogSpace;
use super::{Store, StoreError};

/// Bytes a scan of entries reads ahead: an entry bundle (256 entries) is a few hundred KiB.
const SCAN_READAHEAD: usize = 512 << 10;

/// One entry of an append.
#[derive(Debug)]
pub struct AppendedEntry<'a> {
    /// Entry bytes.
    pub entry: &'a [u8],
    /// The credential the entry is, indexed by id.
    pub credential_id: Option<CredentialId>,
    /// Local-only personal data of the credential.
    pub resident_id: Option<&'a ResidentIdNumber>,
    /// The status-list slot the credential uses.
    pub status_slot: Option<StatusSlot>,
    /// What it changes.
    pub effects: EntryEffects,
}

/// Everything one log batch writes.
#[derive(Debug)]
pub struct AppendBatch<'a> {
    /// Leaf index of the first entry.
    pub first_index: u64,
    /// The entries, in order.
    pub entries: Vec<AppendedEntry<'a>>,
    /// New stored hashes (stored-hash index, hash).
    pub hashes: &'a [(u64, Hash)],
    /// The signed checkpoint of the tree after the batch.
    pub checkpoint: &'a [u8],
}

impl Store {
    /// Appends a batch of this member's log durably, all or none.
    ///
    /// # Errors
    /// [`StoreError::Engine`] when the write fails; then nothing of the batch is stored.
    pub fn append(&self, append: &AppendBatch<'_>) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf_credentials = self.cf(CF_CREDENTIALS)?;
        let cf_personal = self.cf(CF_PERSONAL)?;
        let cf_index = self.cf(CF_PERSONAL_INDEX)?;
        let cf_slots = self.cf(CF_STATUS_SLOTS)?;
        self.put_log(
            &mut batch,
            LogSpace::Own,
            append.first_index,
            append.entries.iter().map(|entry| entry.entry),
            append.hashes,
        )?;
        for (offset, entry) in append.entries.iter().enumerate() {
            let index = append.first_index + offset as u64;
            if let Some(id) = entry.credential_id {
                let key = id.uuid().into_bytes();
                batch.put_cf(cf_credentials, key, index.to_be_bytes());
                if let Some(resident_id) = entry.resident_id {
                    batch.put_cf(cf_personal, key, self.personal.seal(id, resident_id));
                    batch.put_cf(cf_index, self.index_key(resident_id, id), []);
                }
                if let Some(slot) = entry.status_slot {
                    batch.put_cf(
                        cf_slots,
                        slot.to_key(),
                        slot_holder_bytes(&SlotHolder::Used(id)),
                    );
                }
            }
            self.put_effects(&mut batch, LogSpace::Own, index, entry.entry, entry.effects)?;
        }
        batch.put_cf(self.cf(CF_META)?, META_CHECKPOINT, append.checkpoint);
        // Crash before this returns: the WAL holds all of the batch or none of it.
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// Puts entries from `first_index` on and stored hashes of a log into `batch`.
    pub(super) fn put_log<'e>(
        &self,
        batch: &mut WriteBatch,
        space: LogSpace<'_>,
        first_index: u64,
        entries: impl Iterator<Item = &'e [u8]>,
        hashes: &[(u64, Hash)],
    ) -> Result<(), StoreError> {
        let cf_entries = self.cf(space.entries_cf())?;
        let cf_hashes = self.cf(space.hashes_cf())?;
        for (offset, entry) in entries.enumerate() {
            batch.put_cf(cf_entries, space.key(first_index + offset as u64), entry);
        }
        for (index, hash) in hashes {
            batch.put_cf(cf_hashes, space.key(*index), hash.0);
        }
        Ok(())
    }

    /// The entry at leaf `index` of a log.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn entry(&self, space: LogSpace<'_>, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get_cf(self.cf(space.entries_cf())?, space.key(index))?)
    }

    /// Whether the entry at leaf `index` of a log is exactly `bytes` (read in place, not
    /// copied): how a verifier tells the entry that is a presented credential from another
    /// entry carrying the same id.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn entry_is(
        &self,
        space: LogSpace<'_>,
        index: u64,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(space.entries_cf())?, space.key(index))?
            .is_some_and(|stored| stored.as_ref() == bytes))
    }

    /// The entries of a range of leaf indexes of a log, all of which must exist.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] when one is missing.
    pub fn entries(
        &self,
        space: LogSpace<'_>,
        range: Range<u64>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let cf = self.cf(space.entries_cf())?;
        let mut entries = Vec::with_capacity((range.end - range.start) as usize);
        // A scan reads each block once: caching it would only evict blocks that lookups
        // use, and reading ahead saves a read per block.
        let mut options = rocksdb::ReadOptions::default();
        options.fill_cache(false);
        options.set_readahead_size(SCAN_READAHEAD);
        let iterator = self.db.iterator_cf_opt(
            cf,
            options,
            rocksdb::IteratorMode::From(&space.key(range.start), rocksdb::Direction::Forward),
        );
        for (expected, item) in range.clone().zip(iterator) {
            let (key, value) = item?;
            if key.as_ref() != space.key(expected).as_slice() {
                return Err(StoreError::Corrupt {
                    key: space.describe("entries", expected),
                    reason: "missing".into(),
                });
            }
            entries.push(value.into_vec());
        }
        if entries.len() as u64 != range.end - range.start {
            return Err(StoreError::Corrupt {
                key: space.describe("entries", range.start + entries.len() as u64),
                reason: "missing".into(),
            });
        }
        Ok(entries)
    }

    /// Stored hashes of a log by stored-hash index (`None` where absent).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a value that is not 32 bytes.
    pub fn hashes(
        &self,
        space: LogSpace<'_>,
        indexes: &[u64],
    ) -> Result<Vec<Option<Hash>>, StoreError> {
        let name = space.hashes_cf();
        let cf = self.cf(name)?;
        let mut found: Vec<Option<Hash>> = Vec::with_capacity(indexes.len());
        // (position in `found`, index, key) of each hash not in the cache.
        let mut missing: Vec<(usize, u64, Vec<u8>)> = Vec::new();
        for (position, index) in indexes.iter().enumerate() {
            let key = (name, space.key(*index));
            let cached = self.hash_cache.get(&key);
            if cached.is_none() {
                missing.push((position, *index, key.1));
            }
            found.push(cached);
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let read = self
            .db
            .batched_multi_get_cf(cf, missing.iter().map(|(_, _, key)| key), false);
        for ((position, index, key), result) in missing.into_iter().zip(read) {
            let Some(bytes) = result? else {
                continue;
            };
            let array: [u8; 32] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                key: space.describe("hashes", index),
                reason: format!("{} bytes", bytes.len()),
            })?;
            self.hash_cache.insert((name, key), Hash(array));
            if let Some(slot) = found.get_mut(position) {
                *slot = Some(Hash(array));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use talent_core::status::CredentialStatus;

    use super::*;
    use crate::store::{MirrorAppend, PersonalKeys, SlotHolder};

    #[test]
    fn cached_hashes_stay_in_their_log_and_a_missing_hash_is_found_once_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
        let own = |first_index: u64, hashes: &[(u64, Hash)]| {
            store
                .append(&AppendBatch {
                    first_index,
                    entries: vec![],
                    hashes,
                    checkpoint: b"note",
                })
                .expect("writes");
        };
        own(0, &[(0, Hash([1; 32]))]);
        for _ in 0..2 {
            // The second read comes from the cache.
            assert_eq!(
                store.hashes(LogSpace::Own, &[0, 1]).expect("reads"),
                vec![Some(Hash([1; 32])), None]
            );
        }
        let mirror = LogSpace::Mirror("cd-hz");
        assert_eq!(store.hashes(mirror, &[0]).expect("reads"), vec![None]);
        own(1, &[(1, Hash([2; 32]))]);
        store
            .append_mirror(&MirrorAppend {
                member: "cd-hz",
                first_index: 0,
                entries: &[],
                hashes: &[(0, Hash([3; 32]))],
                logged: true,
            })
            .expect("writes");
        assert_eq!(
            store.hashes(LogSpace::Own, &[1, 0]).expect("reads"),
            vec![Some(Hash([2; 32])), Some(Hash([1; 32]))]
        );
        assert_eq!(
            store.hashes(mirror, &[0]).expect("reads"),
            vec![Some(Hash([3; 32]))]
        );
    }

    #[test]
    fn appended_batches_survive_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let id = CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
            store
                .append(&AppendBatch {
                    first_index: 0,
                    entries: vec![
                        AppendedEntry {
                            entry: b"{\"a\":1}",
                            credential_id: Some(id),
                            resident_id: Some(&resident),
                            status_slot: Some(StatusSlot { list: 0, index: 7 }),
                            effects: EntryEffects {
                                issuer_event: true,
                                status: Some((id, CredentialStatus::Suspended)),
                                status_slot: Some(StatusSlot { list: 0, index: 7 }),
                            },
                        },
                        AppendedEntry {
                            entry: b"{\"b\":2}",
                            credential_id: None,
                            resident_id: None,
                            status_slot: None,
                            effects: EntryEffects::default(),
                        },
                    ],
                    hashes: &[(0, Hash([1; 32]))],
                    checkpoint: b"note",
                })
                .expect("writes");
        }
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("reopens");
        assert_eq!(store.credential_index(id).expect("reads"), Some(0));
        assert_eq!(
            store.entries(LogSpace::Own, 0..2).expect("reads"),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert!(
            store.entries(LogSpace::Own, 0..3).is_err(),
            "a missing entry is an error"
        );
        assert_eq!(
            store.hashes(LogSpace::Own, &[0, 1]).expect("reads"),
            vec![Some(Hash([1; 32])), None]
        );
        assert!(store.has_personal_record(id).expect("reads"));
        assert_eq!(
            store.resident_id(id).expect("opens").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(
            store
                .credentials_with_resident_id(&resident)
                .expect("finds"),
            vec![id]
        );
        assert_eq!(
            store.issuer_events(LogSpace::Own, 2).expect("reads"),
            vec![(0, b"{\"a\":1}".to_vec())]
        );
        assert_eq!(
            store.issuer_events(LogSpace::Own, 0).expect("reads"),
            vec![]
        );
        assert_eq!(
            store.status(LogSpace::Own, id, 2).expect("reads"),
            Some((0, CredentialStatus::Suspended))
        );
        assert_eq!(store.status(LogSpace::Own, id, 0).expect("reads"), None);
        assert_eq!(
            store
                .status(LogSpace::Mirror("cd-hz"), id, 2)
                .expect("reads"),
            None
        );
        assert_eq!(store.checkpoint().expect("reads"), Some(b"note".to_vec()));
        let slot = StatusSlot { list: 0, index: 7 };
        assert_eq!(
            store.status_slot_holder(slot).expect("reads"),
            Some(SlotHolder::Used(id))
        );
        assert_eq!(
            store.status_bits(0).expect("reads"),
            vec![(7, CredentialStatus::Suspended)]
        );
        assert_eq!(store.status_bits(1).expect("reads"), vec![]);
        let other = StatusSlot { list: 1, index: 3 };
        store
            .reserve_status_slot(other, "did:key:z6Mk")
            .expect("writes");
        assert_eq!(
            store.status_slot_holder(other).expect("reads"),
            Some(SlotHolder::Reserved("did:key:z6Mk".into()))
        );
    }
}
