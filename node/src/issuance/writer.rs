//! The log write: signed objects are admitted in order by the own log's issuer registry and
//! appended as one durable unit through the sequencer; only then are they answered, the
//! registry replaced (for history-changing entries) and touched status lists re-signed.

use chrono::Utc;
use serde_json::Value;
use talent_core::credential::CredentialType;
use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use talent_core::issuers::{AdmitError, Admitted, IssuerRegistry, StatusTarget};
use talent_core::status_list::StatusSlot;
use talent_integrity::did::DidKey;

use super::gate::Gate;
use super::{IssuanceService, IssueError, IssuedCredential};
use crate::issuers as registries;
use crate::log::sequencer::PendingEntry;
use crate::store::{EntryEffects, LogSpace};

/// A signed object waiting for the log.
pub(super) struct Signed {
    /// Its id.
    pub(super) id: CredentialId,
    /// The signed object.
    pub(super) object: Value,
    /// Its log entry (JCS) bytes.
    pub(super) entry: Vec<u8>,
    /// The key that signed it.
    pub(super) signer: DidKey,
    /// The type of a credential (indexed by id); `None` for a statement.
    pub(super) credential_type: Option<CredentialType>,
    /// The full ID number of a credential's subject, for the local table.
    pub(super) resident_id: Option<ResidentIdNumber>,
    /// The status-list slot the credential uses.
    pub(super) status_slot: Option<StatusSlot>,
}

impl IssuanceService {
    /// Admits and appends one signed object.
    pub(super) async fn append_one(
        &self,
        gate: &Gate<'_>,
        signed: Signed,
    ) -> Result<IssuedCredential, IssueError> {
        single(self.admit_and_append(gate, vec![signed]).await?)
    }

    /// Admits signed objects in order against the own log's issuer registry and appends
    /// them as one durable unit, under `gate`.
    ///
    /// Talent credentials only read the history, so they share the gate and are judged
    /// against every event logged so far. Anything else (accreditations, agreements,
    /// statements) holds the gate alone: no other append runs, so its leaf index is known
    /// before the append and the history it changes is current for everyone after it.
    pub(super) async fn admit_and_append(
        &self,
        gate: &Gate<'_>,
        signed: Vec<Signed>,
    ) -> Result<Vec<IssuedCredential>, IssueError> {
        let talent_only = signed
            .iter()
            .all(|item| item.credential_type.is_some_and(CredentialType::is_talent));
        if !talent_only && !gate.exclusive {
            return Err(IssueError::Internal(
                "a history-changing entry reached the log without the exclusive gate".into(),
            ));
        }
        let own = self.issuers.own();
        let first = self.log.head().size;
        // The log's time of admission: withdrawals, rotations and expiry in effect now refuse
        // an entry whatever its proof.created claims.
        let now = Some(Utc::now());
        // Talent credentials cannot change the history: judge them against the shared
        // registry. Anything else is admitted into a copy that replaces it once durable.
        let (admitted, working) = if talent_only {
            let admitted =
                self.admit_all(&signed, first, |object, signer, position, targets| {
                    own.check_at(object, signer, position, now, targets)
                })?;
            (admitted, None)
        } else {
            let mut working = IssuerRegistry::clone(&own);
            let admitted =
                self.admit_all(&signed, first, |object, signer, position, targets| {
                    working.admit_at(object, signer, position, now, targets)
                })?;
            (admitted, Some(working))
        };
        let changed = working.filter(|_| admitted.iter().any(|item| item.issuer_event));
        let mut touched_lists = Vec::new();
        let mut pending = Vec::with_capacity(signed.len());
        let mut issued = Vec::with_capacity(signed.len());
        for (item, admitted) in signed.into_iter().zip(admitted) {
            let target_slot = match admitted.status {
                Some((target, _)) => self.slot_of_logged(target)?,
                None => None,
            };
            touched_lists.extend(target_slot.map(|slot| slot.list));
            pending.push(PendingEntry {
                // The bytes stay with the answer too: they are the credential as logged.
                entry: item.entry.clone(),
                credential_id: item.credential_type.map(|_| item.id),
                resident_id: item.resident_id,
                status_slot: item.status_slot,
                effects: EntryEffects {
                    issuer_event: admitted.issuer_event,
                    status: admitted.status,
                    status_slot: target_slot,
                },
            });
            issued.push((
                item.id,
                item.object,
                item.entry,
                admitted.authorisation.describe(),
            ));
        }
        let appended = self
            .sequencer
            .append(pending)
            .await
            .map_err(IssueError::Log)?;
        if let Some(registry) = changed {
            self.issuers.replace(registry);
        }
        for list in touched_lists {
            self.status_lists.touch(list);
        }
        Ok(issued
            .into_iter()
            .zip(appended)
            .map(
                |((id, credential, entry, authorisation), log)| IssuedCredential {
                    id,
                    credential,
                    entry,
                    log,
                    authorisation,
                },
            )
            .collect())
    }

    /// Admits `signed` in order as the entries from `first` on, through `admit` (a
    /// registry's `admit` or `check`); all or none.
    fn admit_all(
        &self,
        signed: &[Signed],
        first: u64,
        mut admit: impl FnMut(
            &Value,
            &DidKey,
            u64,
            &mut dyn FnMut(CredentialId) -> Option<StatusTarget>,
        ) -> Result<Admitted, AdmitError>,
    ) -> Result<Vec<Admitted>, IssueError> {
        let mut admitted = Vec::with_capacity(signed.len());
        let mut refused = Vec::new();
        for (offset, item) in signed.iter().enumerate() {
            let store = &self.store;
            let mut failure = None;
            let result = admit(
                &item.object,
                &item.signer,
                first + offset as u64,
                &mut |id| match registries::status_target(store, LogSpace::Own, id, u64::MAX) {
                    Ok(target) => target,
                    Err(error) => {
                        failure = Some(error);
                        None
                    }
                },
            );
            if let Some(error) = failure {
                return Err(error.into());
            }
            match result {
                Ok(item) => admitted.push(item),
                Err(error) => refused.push((offset, IssueError::NotAdmitted(error))),
            }
        }
        match refused.len() {
            0 => Ok(admitted),
            1 if signed.len() == 1 => Err(refused.remove(0).1),
            _ => Err(IssueError::Batch(refused)),
        }
    }

    /// The status-list slot of a credential in the own log, if it has one of ours.
    fn slot_of_logged(&self, id: CredentialId) -> Result<Option<StatusSlot>, IssueError> {
        let Some(index) = self.store.credential_index(id)? else {
            return Ok(None);
        };
        let Some(bytes) = self.store.entry(LogSpace::Own, index)? else {
            return Ok(None);
        };
        let credential: Value =
            serde_json::from_slice(&bytes).map_err(|error| IssueError::Internal(error.into()))?;
        // A credential logged without (or with foreign) entries has no bit to set.
        Ok(self.status_lists.slot_of_logged(&credential).ok().flatten())
    }
}

/// The one entry of a single-entry append.
pub(super) fn single(mut issued: Vec<IssuedCredential>) -> Result<IssuedCredential, IssueError> {
    issued
        .pop()
        .ok_or_else(|| IssueError::Internal("the log acknowledged no entry".into()))
}
