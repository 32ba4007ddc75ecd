//! What an entry changes beside its log, indexed per log space: the entries that changed
//! the issuer history (replayed on start) and the statuses that status changes set.

use rocksdb::WriteBatch;
use talent_core::identifiers::CredentialId;
use talent_core::status::CredentialStatus;
use talent_core::status_list::StatusSlot;

use super::families::{CF_ISSUER_EVENTS, CF_STATUS_BITS, CF_STATUSES};
use super::space::LogSpace;
use super::{Store, StoreError};

/// What an admitted entry changes beside the log itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryEffects {
    /// It changed the issuer history: kept apart to rebuild the registry on start.
    pub issuer_event: bool,
    /// The status a status change sets: (credential, status).
    pub status: Option<(CredentialId, CredentialStatus)>,
    /// The status-list slot of that credential, when this member publishes its status
    /// (own credentials only).
    pub status_slot: Option<StatusSlot>,
}

impl Store {
    pub(super) fn put_effects(
        &self,
        batch: &mut WriteBatch,
        space: LogSpace<'_>,
        index: u64,
        entry: &[u8],
        effects: EntryEffects,
    ) -> Result<(), StoreError> {
        if effects.issuer_event {
            let mut key = space.prefix();
            key.extend_from_slice(&index.to_be_bytes());
            batch.put_cf(self.cf(CF_ISSUER_EVENTS)?, key, entry);
        }
        if let Some((id, status)) = effects.status {
            batch.put_cf(
                self.cf(CF_STATUSES)?,
                space.status_key(id, index),
                status.code(),
            );
            if let (LogSpace::Own, Some(slot)) = (space, effects.status_slot) {
                batch.put_cf(self.cf(CF_STATUS_BITS)?, slot.to_key(), status.code());
            }
        }
        Ok(())
    }

    /// The entries of a log that changed its issuer history, below leaf `below` (a mirror's
    /// verified size: entries above it are not verified yet), in log order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn issuer_events(
        &self,
        space: LogSpace<'_>,
        below: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let prefix = space.prefix();
        let mut found = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(self.cf(CF_ISSUER_EVENTS)?, &prefix)
        {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let index: [u8; 8] =
                key[prefix.len()..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt {
                        key: space.describe("issuer_events", 0),
                        reason: "key is not prefix + 8 bytes".into(),
                    })?;
            let index = u64::from_be_bytes(index);
            if index < below {
                found.push((index, value.to_vec()));
            }
        }
        Ok(found)
    }

    /// The leaf indexes of a credential's logged status changes below leaf `below`, in order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status_changes(
        &self,
        space: LogSpace<'_>,
        id: CredentialId,
        below: u64,
    ) -> Result<Vec<u64>, StoreError> {
        Ok(self
            .status_records(space, id, below)?
            .into_iter()
            .map(|(index, _)| index)
            .collect())
    }

    /// A credential's latest logged status below leaf `below`: (leaf index of the change,
    /// status); `None` when no change is logged (the credential is as issued).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status(
        &self,
        space: LogSpace<'_>,
        id: CredentialId,
        below: u64,
    ) -> Result<Option<(u64, CredentialStatus)>, StoreError> {
        Ok(self.status_records(space, id, below)?.pop())
    }

    /// Every status a credential's logged changes set below leaf `below`, in log order.
    fn status_records(
        &self,
        space: LogSpace<'_>,
        id: CredentialId,
        below: u64,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreError> {
        let mut prefix = space.prefix();
        prefix.extend_from_slice(&id.uuid().into_bytes());
        let mut found = Vec::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_STATUSES)?, &prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("statuses/{id}"),
                reason: reason.into(),
            };
            let index: [u8; 8] = key[prefix.len()..]
                .try_into()
                .map_err(|_| corrupt("key is not prefix + 8 bytes"))?;
            let index = u64::from_be_bytes(index);
            let status = std::str::from_utf8(&value)
                .ok()
                .and_then(|code| code.parse().ok())
                .ok_or_else(|| corrupt("not a status code"))?;
            if index < below {
                found.push((index, status));
            }
        }
        Ok(found)
    }
}
