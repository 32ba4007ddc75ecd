//! Status-list slots: who holds each (an issuer's reservation, or the credential that uses
//! it), and the current status of own credentials by slot, which the published status
//! lists are made of.

use talent_core::identifiers::CredentialId;
use talent_core::status::CredentialStatus;
use talent_core::status_list::StatusSlot;

use super::families::{CF_STATUS_BITS, CF_STATUS_SLOTS};
use super::{Store, StoreError};

/// Who holds a status-list slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotHolder {
    /// Reserved for a credential this issuer (a DID) will sign and submit.
    Reserved(String),
    /// Used by this logged credential.
    Used(CredentialId),
}

impl Store {
    /// Reserves a status-list slot for a credential `issuer` will sign and submit, durably.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn reserve_status_slot(&self, slot: StatusSlot, issuer: &str) -> Result<(), StoreError> {
        self.db.put_cf_opt(
            self.cf(CF_STATUS_SLOTS)?,
            slot.to_key(),
            slot_holder_bytes(&SlotHolder::Reserved(issuer.to_owned())),
            &Self::synced(),
        )?;
        Ok(())
    }

    /// Who holds a status-list slot, if anyone.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status_slot_holder(&self, slot: StatusSlot) -> Result<Option<SlotHolder>, StoreError> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_STATUS_SLOTS)?, slot.to_key())? else {
            return Ok(None);
        };
        let corrupt = || StoreError::Corrupt {
            key: format!("status_slots/{}/{}", slot.list, slot.index),
            reason: "not r:<issuer> or c:<credential id>".into(),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| corrupt())?;
        match text.split_at_checked(2) {
            Some(("r:", issuer)) => Ok(Some(SlotHolder::Reserved(issuer.to_owned()))),
            Some(("c:", id)) => id
                .parse()
                .map(|id| Some(SlotHolder::Used(id)))
                .map_err(|_| corrupt()),
            _ => Err(corrupt()),
        }
    }

    /// The issuer of every status-list slot reserved and not yet used, one item per slot
    /// (a scan of every slot handed out: the reservation bound loads it once).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn reserved_status_slots(&self) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_STATUS_SLOTS)?, rocksdb::IteratorMode::Start)
        {
            let (_, value) = item?;
            if let Some(issuer) = value.strip_prefix(b"r:") {
                found.push(String::from_utf8_lossy(issuer).into_owned());
            }
        }
        Ok(found)
    }

    /// The current status of every own credential in status list `list` whose status
    /// changed: (index, status), in index order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status_bits(&self, list: u32) -> Result<Vec<(u32, CredentialStatus)>, StoreError> {
        let prefix = list.to_be_bytes();
        let mut found = Vec::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_STATUS_BITS)?, prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let corrupt = || StoreError::Corrupt {
                key: format!("status_bits/{list}"),
                reason: "not slot -> status code".into(),
            };
            let slot = StatusSlot::from_key(&key).ok_or_else(corrupt)?;
            let status = std::str::from_utf8(&value)
                .ok()
                .and_then(|code| code.parse().ok())
                .ok_or_else(corrupt)?;
            found.push((slot.index, status));
        }
        Ok(found)
    }
}

/// The stored value of a slot's holder: `r:<issuer>` or `c:<credential id>`.
pub(super) fn slot_holder_bytes(holder: &SlotHolder) -> Vec<u8> {
    match holder {
        SlotHolder::Reserved(issuer) => format!("r:{issuer}").into_bytes(),
        SlotHolder::Used(id) => format!("c:{id}").into_bytes(),
    }
}
