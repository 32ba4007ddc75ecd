//! The node's durable state in RocksDB.
//!
//! Column families and key encodings live here and nowhere else:
//!
//! | column family | key | value |
//! |---|---|---|
//! | `credentials` | credential UUID (16 bytes, big-endian: UUIDv7 sorts by time) | JCS bytes of the signed VC |
//! | `personal` | credential UUID | full resident ID number (never synced, never logged) |
//! | `meta` | UTF-8 name | UTF-8 value (member identity the data belongs to) |
//!
//! Every write is one `WriteBatch` with a synced WAL: a write that returned `Ok` survives a
//! crash or power loss, and a crash mid-write leaves none of the batch visible.

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};
use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use thiserror::Error;

const CF_CREDENTIALS: &str = "credentials";
const CF_PERSONAL: &str = "personal";
const CF_META: &str = "meta";
const COLUMN_FAMILIES: [&str; 3] = [CF_CREDENTIALS, CF_PERSONAL, CF_META];

/// Meta key naming the authority DID the stored data was issued with.
pub const META_AUTHORITY_DID: &str = "authority_did";
/// Meta key naming the member id the data belongs to.
pub const META_MEMBER_ID: &str = "member_id";

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

/// One credential to store: its id, signed JCS bytes and the local-only personal data.
#[derive(Debug)]
pub struct StoredCredential<'a> {
    /// Credential id.
    pub id: CredentialId,
    /// JCS bytes of the signed VC.
    pub signed_jcs: &'a [u8],
    /// The full resident ID number, when the request carried one.
    pub resident_id: Option<&'a ResidentIdNumber>,
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
        // Detect corruption on open rather than serving bad data later.
        options.set_paranoid_checks(true);
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

    /// Stores credentials durably, all or none.
    ///
    /// # Errors
    /// [`StoreError::Engine`] when the write fails; then nothing of the batch is stored.
    pub fn put_credentials(&self, credentials: &[StoredCredential<'_>]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf_credentials = self.cf(CF_CREDENTIALS)?;
        let cf_personal = self.cf(CF_PERSONAL)?;
        for credential in credentials {
            let key = credential.id.uuid().into_bytes();
            batch.put_cf(cf_credentials, key, credential.signed_jcs);
            if let Some(resident_id) = credential.resident_id {
                batch.put_cf(cf_personal, key, resident_id.expose_for_local_storage());
            }
        }
        // Crash before this returns: the WAL holds all of the batch or none of it.
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// The signed JCS bytes of a credential, if stored.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn credential(&self, id: CredentialId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get_cf(self.cf(CF_CREDENTIALS)?, id.uuid().into_bytes())?)
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

    /// Number of stored credentials (a full scan: for tests and the console, not hot paths).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn credential_count(&self) -> Result<u64, StoreError> {
        let mut count = 0;
        for item in self
            .db
            .iterator_cf(self.cf(CF_CREDENTIALS)?, rocksdb::IteratorMode::Start)
        {
            item?;
            count += 1;
        }
        Ok(count)
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
    fn credentials_survive_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let id = CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        {
            let store = Store::open(dir.path()).expect("opens");
            store
                .put_credentials(&[StoredCredential {
                    id,
                    signed_jcs: b"{\"a\":1}",
                    resident_id: Some(&resident),
                }])
                .expect("writes");
        }
        let store = Store::open(dir.path()).expect("reopens");
        assert_eq!(
            store.credential(id).expect("reads"),
            Some(b"{\"a\":1}".to_vec())
        );
        assert!(store.has_personal_record(id).expect("reads"));
        assert_eq!(store.credential_count().expect("counts"), 1);
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
