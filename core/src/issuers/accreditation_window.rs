//! Whether an accreditation covers a credential: inside its window, neither withdrawn nor
//! suspended at any time the log knows the credential by, and within its scope.

use chrono::{DateTime, Utc};

use crate::accreditation::Accreditation;
use crate::credential::format_datetime;
use crate::identifiers::CredentialId;
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

use super::authorisation::AccreditationProblem;
use super::facts::{Facts, When};
use super::registry::{EventKind, IssuerRegistry};

impl IssuerRegistry {
    /// Whether the issuer `key` belongs to (any key of it, retired or not: an issuer token
    /// stays bound to its first key) holds an accreditation in force at `now`: inside its
    /// window, neither withdrawn nor suspended.
    pub fn accredited_at(&self, key: &DidKey, now: DateTime<Utc>) -> bool {
        let when = When {
            position: None,
            signed: now,
            admitted: None,
        };
        self.accreditations_of(key, None)
            .iter()
            .any(|accreditation| {
                accreditation.valid_from <= now
                    && accreditation.valid_until.is_none_or(|until| now < until)
                    && self
                        .accreditation_status(accreditation.id, when)
                        .0
                        .is_valid()
            })
    }

    /// Accreditations of the identity `key` belongs to, visible at `position`, newest first.
    pub(super) fn accreditations_of(
        &self,
        key: &DidKey,
        position: Option<u64>,
    ) -> Vec<&Accreditation> {
        let root = self.chain_root(key, position);
        let mut found: Vec<&Accreditation> = self
            .visible(position)
            .filter_map(|event| match &event.kind {
                EventKind::Accredited(accreditation)
                    if self.chain_root(&accreditation.issuer, position) == root =>
                {
                    Some(accreditation)
                }
                _ => None,
            })
            .collect();
        found.reverse();
        found
    }

    /// The status of an accreditation for an object at `when`, and since when: the first
    /// that is not valid of its status at the signing time, at the latest time log order
    /// gives (the signing time or the history's clock), and for the admitting node at its
    /// clock too; else valid.
    ///
    /// A suspension can be lifted, so the status is not monotone in time: each time is
    /// checked on its own, and the admitting node checks every time a replay checks (and
    /// one more), so a replay never refuses an entry its node admitted.
    pub(super) fn accreditation_status(
        &self,
        id: CredentialId,
        when: When,
    ) -> (CredentialStatus, Option<DateTime<Utc>>) {
        let at = |time: DateTime<Utc>| {
            let mut status = (CredentialStatus::Valid, None);
            for event in self.visible(when.position) {
                if let EventKind::AccreditationStatus {
                    accreditation,
                    status: next,
                    from,
                } = &event.kind
                    && *accreditation == id
                    && *from <= time
                {
                    status = (*next, Some(*from));
                }
            }
            status
        };
        let by_order = self.history_clock(when).map(|clock| clock.max(when.signed));
        let by_node = when
            .admitted
            .map(|admitted| admitted.max(by_order.unwrap_or(when.signed)));
        std::iter::once(when.signed)
            .chain(by_order)
            .chain(by_node)
            .map(at)
            .find(|(status, _)| !status.is_valid())
            .unwrap_or((CredentialStatus::Valid, None))
    }

    pub(super) fn covers(
        &self,
        accreditation: &Accreditation,
        credential: &Facts<'_>,
        when: When,
    ) -> Result<(), AccreditationProblem> {
        let signed = format_datetime(when.signed);
        if when.signed < accreditation.valid_from {
            return Err(AccreditationProblem::NotYetValid {
                from: format_datetime(accreditation.valid_from),
                signed,
            });
        }
        if let Some(until) = accreditation.valid_until
            && (when.signed >= until || self.log_clock(when).is_some_and(|clock| clock >= until))
        {
            return Err(AccreditationProblem::Expired {
                until: format_datetime(until),
                signed,
            });
        }
        if let (status, Some(since)) = self.accreditation_status(accreditation.id, when)
            && !status.is_valid()
        {
            return Err(AccreditationProblem::Withdrawn {
                status,
                since: format_datetime(since),
                signed,
            });
        }
        accreditation
            .scope
            .check(credential.credential_type, credential.subject)
            .map_err(AccreditationProblem::Scope)?;
        // What the issuer signs lasts no longer than its authority to sign it.
        if let Some(until) = accreditation.valid_until
            && credential.valid_until.is_none_or(|end| end > until)
        {
            return Err(AccreditationProblem::OutlastsAccreditation {
                until: format_datetime(until),
                credential_until: credential.valid_until.map(format_datetime),
            });
        }
        Ok(())
    }
}
