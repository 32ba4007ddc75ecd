//! The `meta` column family: named values of the member (its identity, the authority it
//! issues as, the checkpoints of its log, the personal-data key check).

use rocksdb::WriteBatch;

use super::families::CF_META;
use super::{Store, StoreError};

/// Meta key naming the authority DID the stored data was issued with.
pub const META_AUTHORITY_DID: &str = "authority_did";

/// Meta key naming the member id the data belongs to.
pub const META_MEMBER_ID: &str = "member_id";

/// Meta key of the latest signed checkpoint.
pub(super) const META_CHECKPOINT: &str = "checkpoint";

/// Meta key of the personal-data key check ([`super::PersonalKeys::key_check`]).
pub(super) const META_PERSONAL_KEY_CHECK: &str = "personal_key_check";

/// Meta key of the own log's newest checkpoint that carries the witness quorum, with its
/// cosignatures.
pub const META_WITNESSED_CHECKPOINT: &str = "witnessed_checkpoint";

impl Store {
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
