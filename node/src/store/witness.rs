//! What this member keeps as a witness and judge of its peers: the checkpoint it last
//! cosigned per log, and the evidence of misbehaviour it holds against each member.

use rocksdb::WriteBatch;

use super::families::{CF_EVIDENCE, CF_WITNESS};
use super::space::LogSpace;
use super::{Store, StoreError};

impl Store {
    /// The record of the checkpoint this member last cosigned for log `origin`.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn witness_record(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_WITNESS)?, origin)?)
    }

    /// Durably replaces the witness record of `origin` (before the cosignature is sent).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_witness_record(&self, origin: &str, record: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_WITNESS)?, origin, record);
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// Durably stores a piece of evidence against `member` (JSON), after any already held.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn add_evidence(&self, member: &str, evidence: &[u8]) -> Result<(), StoreError> {
        let held = self.evidence(member)?.len() as u64;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_EVIDENCE)?,
            LogSpace::Mirror(member).key(held),
            evidence,
        );
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// The evidence held against `member`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn evidence(&self, member: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut prefix = member.as_bytes().to_vec();
        prefix.push(0);
        let mut found = Vec::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_EVIDENCE)?, &prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            found.push(value.to_vec());
        }
        Ok(found)
    }
}
