//! Full resident ID numbers of own credentials, kept only here: sealed in `personal`, found
//! by their keyed hash in `personal_index` (see [`super::personal`]), the check that the
//! loaded keys are the ones that sealed them, and the migration of plaintext an older
//! version stored.

use rocksdb::WriteBatch;
use talent_core::identifiers::{CredentialId, ResidentIdNumber};

use super::families::{CF_META, CF_PERSONAL, CF_PERSONAL_INDEX, COLUMN_FAMILIES};
use super::meta::META_PERSONAL_KEY_CHECK;
use super::personal::{INDEX_TAG_BYTES, PersonalKeys, Stored};
use super::{Store, StoreError, hex};

impl Store {
    /// Refuses keys that did not seal this store's personal data, writing nothing (a
    /// read-only open of a backup).
    pub(super) fn verify_personal_keys(&self) -> Result<(), StoreError> {
        match self.db.get_cf(self.cf(CF_META)?, META_PERSONAL_KEY_CHECK)? {
            Some(check) if !self.personal.matches_key_check(&check) => {
                Err(StoreError::PersonalKeysMismatch)
            }
            _ => Ok(()),
        }
    }

    /// Refuses keys that did not seal this store's personal data; records them in a store
    /// that has no record yet (a new store, or one from before encryption).
    pub(super) fn check_personal_keys(&self) -> Result<(), StoreError> {
        let cf_meta = self.cf(CF_META)?;
        match self.db.get_cf(cf_meta, META_PERSONAL_KEY_CHECK)? {
            Some(check) if self.personal.matches_key_check(&check) => Ok(()),
            Some(_) => Err(StoreError::PersonalKeysMismatch),
            None => {
                // A store without a check holds no sealed value: anything sealed is written
                // after the check (this function runs before any write).
                let mut batch = WriteBatch::default();
                batch.put_cf(cf_meta, META_PERSONAL_KEY_CHECK, self.personal.key_check());
                self.db.write_opt(batch, &Self::synced())?;
                Ok(())
            }
        }
    }

    /// Seals and indexes every `personal` value still in plaintext, then flushes every
    /// column family (so no live WAL file holds the plaintext) and rewrites the `personal`
    /// family's files (so no live table file does); RocksDB deletes the files they replace.
    pub(super) fn seal_plaintext_personal_data(&self) -> Result<(), StoreError> {
        /// Values sealed per synced write.
        const CHUNK: usize = 1024;
        let cf_personal = self.cf(CF_PERSONAL)?;
        let cf_index = self.cf(CF_PERSONAL_INDEX)?;
        let mut batch = WriteBatch::default();
        let mut in_batch = 0;
        let mut sealed = 0usize;
        for item in self
            .db
            .iterator_cf(cf_personal, rocksdb::IteratorMode::Start)
        {
            let (key, value) = item?;
            let Stored::Plaintext(text) = PersonalKeys::classify(&value) else {
                continue;
            };
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("personal/{}", hex(&key)),
                reason: reason.into(),
            };
            let uuid = uuid::Uuid::from_slice(&key).map_err(|_| corrupt("key is not a UUID"))?;
            let id = CredentialId::from_uuid(uuid);
            let resident: ResidentIdNumber = text
                .parse()
                .map_err(|_| corrupt("plaintext value is not a resident ID number"))?;
            batch.put_cf(cf_personal, &key, self.personal.seal(id, &resident));
            batch.put_cf(cf_index, self.index_key(&resident, id), []);
            in_batch += 1;
            if in_batch == CHUNK {
                self.db
                    .write_opt(std::mem::take(&mut batch), &Self::synced())?;
                sealed += in_batch;
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            self.db.write_opt(batch, &Self::synced())?;
            sealed += in_batch;
        }
        if sealed == 0 {
            return Ok(());
        }
        let families = COLUMN_FAMILIES
            .iter()
            .map(|name| self.cf(name))
            .collect::<Result<Vec<_>, _>>()?;
        let mut flush = rocksdb::FlushOptions::default();
        flush.set_wait(true);
        self.db.flush_cfs_opt(&families, &flush)?;
        self.db.flush_wal(true)?;
        let mut compaction = rocksdb::CompactOptions::default();
        compaction.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
        compaction.set_exclusive_manual_compaction(true);
        self.db
            .compact_range_cf_opt(cf_personal, None::<&[u8]>, None::<&[u8]>, &compaction);
        tracing::info!(
            sealed,
            "sealed the full ID numbers an older version stored in plaintext"
        );
        Ok(())
    }

    /// The `personal_index` key of `resident` held by credential `id`.
    pub(super) fn index_key(&self, resident: &ResidentIdNumber, id: CredentialId) -> Vec<u8> {
        let mut key = Vec::with_capacity(INDEX_TAG_BYTES + 16);
        key.extend_from_slice(&self.personal.index_tag(resident));
        key.extend_from_slice(&id.uuid().into_bytes());
        key
    }

    /// Whether the local table holds a full ID number for the credential.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn has_personal_record(&self, id: CredentialId) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_PERSONAL)?, id.uuid().into_bytes())?
            .is_some())
    }

    /// The full resident ID number the local table holds for the credential (never logged,
    /// never sent to peers; the console uses it to find a person's credentials). It is
    /// decrypted here; to find who holds a number, [`Store::credentials_with_resident_id`]
    /// and [`Store::holds_resident_id`] need no decryption.
    ///
    /// # Errors
    /// [`StoreError::Engine`]; [`StoreError::Corrupt`] for a value that does not open
    /// under the personal-data key for this credential (altered, or moved from another).
    pub fn resident_id(&self, id: CredentialId) -> Result<Option<String>, StoreError> {
        let Some(value) = self
            .db
            .get_pinned_cf(self.cf(CF_PERSONAL)?, id.uuid().into_bytes())?
        else {
            return Ok(None);
        };
        self.personal
            .open(id, &value)
            .map(Some)
            .map_err(|error| StoreError::Corrupt {
                key: format!("personal/{id}"),
                reason: error.to_string(),
            })
    }

    /// The credentials whose local table entry holds `resident`'s full ID number, found by
    /// its keyed hash (nothing is decrypted), in credential-id order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credentials_with_resident_id(
        &self,
        resident: &ResidentIdNumber,
    ) -> Result<Vec<CredentialId>, StoreError> {
        let prefix = self.personal.index_tag(resident);
        let mut found = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(self.cf(CF_PERSONAL_INDEX)?, prefix)
        {
            let (key, _) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let uuid =
                uuid::Uuid::from_slice(&key[prefix.len()..]).map_err(|_| StoreError::Corrupt {
                    key: "personal_index".into(),
                    reason: "key is not tag + UUID".into(),
                })?;
            found.push(CredentialId::from_uuid(uuid));
        }
        Ok(found)
    }

    /// Whether the local table holds `resident`'s full ID number for credential `id`, by
    /// its keyed hash (nothing is decrypted).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn holds_resident_id(
        &self,
        id: CredentialId,
        resident: &ResidentIdNumber,
    ) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_PERSONAL_INDEX)?, self.index_key(resident, id))?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rocksdb::{DB, Options};

    use super::*;
    use crate::store::{AppendBatch, AppendedEntry, EntryEffects};

    /// Every file under `dir` whose bytes contain `needle`.
    fn files_containing(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("lists") {
                    pending.push(entry.expect("entry").path());
                }
            } else if std::fs::read(&path)
                .expect("reads")
                .windows(needle.len())
                .any(|window| window == needle)
            {
                found.push(path);
            }
        }
        found
    }

    #[test]
    fn plaintext_of_an_older_version_is_sealed_and_indexed_at_open_and_no_file_keeps_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let in_table =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let in_wal =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e").expect("id");
        let first: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        let second: ResidentIdNumber = "510107199003071236".parse().expect("valid id");
        {
            // The layout the version before encryption wrote: the ID number as the value,
            // one in a table file, one only in the WAL.
            let mut options = Options::default();
            options.create_if_missing(true);
            options.create_missing_column_families(true);
            let families = COLUMN_FAMILIES
                .iter()
                .filter(|name| **name != CF_PERSONAL_INDEX);
            let legacy = DB::open_cf(&options, dir.path(), families).expect("opens");
            let personal = legacy.cf_handle(CF_PERSONAL).expect("family");
            legacy
                .put_cf(
                    personal,
                    in_table.uuid().into_bytes(),
                    first.expose_for_local_storage(),
                )
                .expect("writes");
            legacy.flush_cf(personal).expect("flushes");
            legacy
                .put_cf(
                    personal,
                    in_wal.uuid().into_bytes(),
                    second.expose_for_local_storage(),
                )
                .expect("writes");
        }
        for resident in [&first, &second] {
            let bytes = resident.expose_for_local_storage().as_bytes();
            assert!(
                !files_containing(dir.path(), bytes).is_empty(),
                "the legacy store holds {resident:?} in plaintext"
            );
        }
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("migrates");
            for resident in [&first, &second] {
                let bytes = resident.expose_for_local_storage().as_bytes();
                assert_eq!(
                    files_containing(dir.path(), bytes),
                    Vec::<std::path::PathBuf>::new(),
                    "plaintext left after the migration"
                );
            }
            assert_eq!(
                store.resident_id(in_table).expect("opens").as_deref(),
                Some(first.expose_for_local_storage())
            );
            assert_eq!(
                store.credentials_with_resident_id(&second).expect("finds"),
                vec![in_wal]
            );
            assert!(store.holds_resident_id(in_table, &first).expect("reads"));
            assert!(!store.holds_resident_id(in_wal, &first).expect("reads"));
        }
        // Reopened: nothing left to migrate, the same keys still open the values.
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("reopens");
        assert_eq!(
            store.resident_id(in_wal).expect("opens").as_deref(),
            Some(second.expose_for_local_storage())
        );
    }

    #[test]
    fn other_keys_are_refused_and_a_value_moved_to_another_credential_does_not_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let owner =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let other =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e").expect("id");
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
            store
                .append(&AppendBatch {
                    first_index: 0,
                    entries: vec![AppendedEntry {
                        entry: b"{}",
                        credential_id: Some(owner),
                        resident_id: Some(&resident),
                        status_slot: None,
                        effects: EntryEffects::default(),
                    }],
                    hashes: &[],
                    checkpoint: b"note",
                })
                .expect("writes");
            let cf = store.cf(CF_PERSONAL).expect("family");
            let sealed = store
                .db
                .get_cf(cf, owner.uuid().into_bytes())
                .expect("reads")
                .expect("stored");
            store
                .db
                .put_cf(cf, other.uuid().into_bytes(), sealed)
                .expect("writes");
            assert!(matches!(
                store.resident_id(other),
                Err(StoreError::Corrupt { .. })
            ));
            assert!(store.has_personal_record(other).expect("reads"));
            assert!(!store.holds_resident_id(other, &resident).expect("reads"));
        }
        let (encryption, index) = PersonalKeys::generate();
        assert!(matches!(
            Store::open(dir.path(), PersonalKeys::new(&encryption, &index)),
            Err(StoreError::PersonalKeysMismatch)
        ));
    }
}
