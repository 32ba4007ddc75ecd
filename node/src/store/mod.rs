//! The node's durable state in RocksDB.
//!
//! Column families and key encodings live here and nowhere else:
//!
//! | column family | key | value |
//! |---|---|---|
//! | `entries` | leaf index (u64, big-endian) | entry bytes (JCS of a signed object) |
//! | `hashes` | stored-hash index (u64, big-endian, see `tlog_tiles::stored_hash_index`) | 32-byte hash |
//! | `credentials` | credential UUID (16 bytes; UUIDv7 sorts by time) | leaf index of its entry |
//! | `personal` | credential UUID | full resident ID number (never synced, never logged) |
//! | `meta` | UTF-8 name | value: member identity, the signed checkpoint |
//!
//! A log append is one `WriteBatch` with a synced WAL ([`Store::append`]): a write that
//! returned `Ok` survives a crash or power loss, and a crash mid-write leaves none of the
//! batch visible.

use std::ops::Range;
use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};
use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use talent_core::tlog::Hash;
use thiserror::Error;

const CF_ENTRIES: &str = "entries";
const CF_HASHES: &str = "hashes";
const CF_CREDENTIALS: &str = "credentials";
const CF_PERSONAL: &str = "personal";
const CF_META: &str = "meta";
const COLUMN_FAMILIES: [&str; 5] = [CF_ENTRIES, CF_HASHES, CF_CREDENTIALS, CF_PERSONAL, CF_META];

/// Meta key naming the authority DID the stored data was issued with.
pub const META_AUTHORITY_DID: &str = "authority_did";
/// Meta key naming the member id the data belongs to.
pub const META_MEMBER_ID: &str = "member_id";
/// Meta key of the latest signed checkpoint.
const META_CHECKPOINT: &str = "checkpoint";

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// RocksDB refused to open the directory or failed an operation.
    #[error("RocksDB: {0}")]
    Engine(#[from] rocksdb::Error),
    /// A column family that `open` creates is missing: the store is not usable.
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
    /// Stored bytes are not what this version wrote.
    #[error("stored record {key} is corrupt: {reason}")]
    Corrupt {
        /// Which record.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// One entry of an append.
#[derive(Debug)]
pub struct AppendedEntry<'a> {
    /// Entry bytes.
    pub entry: &'a [u8],
    /// The credential the entry is, indexed by id.
    pub credential_id: Option<CredentialId>,
    /// Local-only personal data of the credential.
    pub resident_id: Option<&'a ResidentIdNumber>,
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

/// The node's RocksDB store.
#[derive(Debug)]
pub struct Store {
    db: DB,
}

impl Store {
    /// Opens (creating if needed) the store in `path`.
    ///
    /// # Errors
    /// [`StoreError::Engine`] when RocksDB cannot open the directory (locked by another
    /// process, corrupt, permission denied).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Detect corruption on open rather than serving bad data later. A torn last WAL
        // record can only be a batch that was never acknowledged (every acknowledged batch
        // was synced whole), so it is dropped; corruption anywhere else refuses to open.
        options.set_paranoid_checks(true);
        options.set_wal_recovery_mode(rocksdb::DBRecoveryMode::TolerateCorruptedTailRecords);
        let descriptors = COLUMN_FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&options, path, descriptors)?;
        Ok(Store { db })
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::MissingColumnFamily(name))
    }

    fn synced() -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        options
    }

    /// Appends a log batch durably, all or none.
    ///
    /// # Errors
    /// [`StoreError::Engine`] when the write fails; then nothing of the batch is stored.
    pub fn append(&self, append: &AppendBatch<'_>) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf_entries = self.cf(CF_ENTRIES)?;
        let cf_hashes = self.cf(CF_HASHES)?;
        let cf_credentials = self.cf(CF_CREDENTIALS)?;
        let cf_personal = self.cf(CF_PERSONAL)?;
        for (offset, entry) in append.entries.iter().enumerate() {
            let index = append.first_index + offset as u64;
            batch.put_cf(cf_entries, index.to_be_bytes(), entry.entry);
            if let Some(id) = entry.credential_id {
                let key = id.uuid().into_bytes();
                batch.put_cf(cf_credentials, key, index.to_be_bytes());
                if let Some(resident_id) = entry.resident_id {
                    batch.put_cf(cf_personal, key, resident_id.expose_for_local_storage());
                }
            }
        }
        for (index, hash) in append.hashes {
            batch.put_cf(cf_hashes, index.to_be_bytes(), hash.0);
        }
        batch.put_cf(self.cf(CF_META)?, META_CHECKPOINT, append.checkpoint);
        // Crash before this returns: the WAL holds all of the batch or none of it.
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// The entry at leaf `index`.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_ENTRIES)?, index.to_be_bytes())?)
    }

    /// The entries of a range of leaf indexes, all of which must exist.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] when one is missing.
    pub fn entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        let cf = self.cf(CF_ENTRIES)?;
        let mut entries = Vec::with_capacity((range.end - range.start) as usize);
        let iterator = self.db.iterator_cf(
            cf,
            rocksdb::IteratorMode::From(&range.start.to_be_bytes(), rocksdb::Direction::Forward),
        );
        for (expected, item) in range.clone().zip(iterator) {
            let (key, value) = item?;
            if key.as_ref() != expected.to_be_bytes() {
                return Err(StoreError::Corrupt {
                    key: format!("entries/{expected}"),
                    reason: "missing".into(),
                });
            }
            entries.push(value.to_vec());
        }
        if entries.len() as u64 != range.end - range.start {
            return Err(StoreError::Corrupt {
                key: format!("entries/{}", range.start + entries.len() as u64),
                reason: "missing".into(),
            });
        }
        Ok(entries)
    }

    /// Stored hashes by stored-hash index (`None` where absent).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a value that is not 32 bytes.
    pub fn hashes(&self, indexes: &[u64]) -> Result<Vec<Option<Hash>>, StoreError> {
        let cf = self.cf(CF_HASHES)?;
        let keys: Vec<[u8; 8]> = indexes.iter().map(|index| index.to_be_bytes()).collect();
        self.db
            .batched_multi_get_cf(cf, &keys, false)
            .into_iter()
            .zip(indexes)
            .map(|(result, index)| match result? {
                None => Ok(None),
                Some(bytes) => {
                    let array: [u8; 32] =
                        bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                            key: format!("hashes/{index}"),
                            reason: format!("{} bytes", bytes.len()),
                        })?;
                    Ok(Some(Hash(array)))
                }
            })
            .collect()
    }

    /// The leaf index of a credential's entry, if stored.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credential_index(&self, id: CredentialId) -> Result<Option<u64>, StoreError> {
        match self
            .db
            .get_pinned_cf(self.cf(CF_CREDENTIALS)?, id.uuid().into_bytes())?
        {
            None => Ok(None),
            Some(bytes) => {
                let array: [u8; 8] =
                    bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                        key: format!("credentials/{id}"),
                        reason: "index is not 8 bytes".into(),
                    })?;
                Ok(Some(u64::from_be_bytes(array)))
            }
        }
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

    /// The latest signed checkpoint.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_META)?, META_CHECKPOINT)?)
    }

    /// Stores the checkpoint of the empty log (the first start); later checkpoints are
    /// written by [`Store::append`].
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_checkpoint(&self, note: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META)?, META_CHECKPOINT, note);
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// A meta value.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a non-UTF-8 value.
    pub fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.db.get_cf(self.cf(CF_META)?, name)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt {
                    key: format!("meta/{name}"),
                    reason: "not UTF-8".into(),
                }),
        }
    }

    /// Sets meta values durably, all or none.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_meta(&self, values: &[(&str, &str)]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf = self.cf(CF_META)?;
        for (name, value) in values {
            batch.put_cf(cf, name, value);
        }
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_batches_survive_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let id = CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        {
            let store = Store::open(dir.path()).expect("opens");
            store
                .append(&AppendBatch {
                    first_index: 0,
                    entries: vec![
                        AppendedEntry {
                            entry: b"{\"a\":1}",
                            credential_id: Some(id),
                            resident_id: Some(&resident),
                        },
                        AppendedEntry {
                            entry: b"{\"b\":2}",
                            credential_id: None,
                            resident_id: None,
                        },
                    ],
                    hashes: &[(0, Hash([1; 32]))],
                    checkpoint: b"note",
                })
                .expect("writes");
        }
        let store = Store::open(dir.path()).expect("reopens");
        assert_eq!(store.credential_index(id).expect("reads"), Some(0));
        assert_eq!(
            store.entries(0..2).expect("reads"),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert!(store.entries(0..3).is_err(), "a missing entry is an error");
        assert_eq!(
            store.hashes(&[0, 1]).expect("reads"),
            vec![Some(Hash([1; 32])), None]
        );
        assert!(store.has_personal_record(id).expect("reads"));
        assert_eq!(store.checkpoint().expect("reads"), Some(b"note".to_vec()));
    }

    #[test]
    fn second_open_of_same_directory_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _first = Store::open(dir.path()).expect("opens");
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::Engine(_))
        ));
    }
}
