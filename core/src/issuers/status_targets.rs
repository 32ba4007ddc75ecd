//! The credentials of a log being replayed in order, as its status changes need them.

use std::collections::HashMap;

use crate::identifiers::CredentialId;
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

use super::admit::Admitted;
use super::status_target::StatusTarget;

/// The credentials of a log being replayed in order, as its status changes need them (each
/// credential's signer and current status): the audit, an issuer history and a mirror's
/// catch-up step keep one beside the registry.
#[derive(Debug, Clone, Default)]
pub struct StatusTargets {
    targets: HashMap<CredentialId, StatusTarget>,
}

impl StatusTargets {
    /// None yet.
    pub fn new() -> StatusTargets {
        StatusTargets::default()
    }

    /// The credential `id`, if recorded.
    pub fn get(&self, id: CredentialId) -> Option<StatusTarget> {
        self.targets.get(&id).cloned()
    }

    /// Records an admitted entry: a credential (`issued`: its id and signer) starts valid
    /// under its signer; a status change moves its credential, found here or else with
    /// `earlier` (entries replayed before this record began).
    pub fn record(
        &mut self,
        issued: Option<(CredentialId, &DidKey)>,
        admitted: &Admitted,
        earlier: impl FnOnce(CredentialId) -> Option<StatusTarget>,
    ) {
        if let Some((id, signer)) = issued {
            self.targets.insert(
                id,
                StatusTarget {
                    issuer: signer.clone(),
                    status: CredentialStatus::Valid,
                    set_by: None,
                },
            );
        }
        if let Some((id, status)) = admitted.status
            && let Some(mut target) = self.get(id).or_else(|| earlier(id))
        {
            target.status = status;
            target.set_by = admitted.authorisation.signing_key().cloned();
            self.targets.insert(id, target);
        }
    }
}
