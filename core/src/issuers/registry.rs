//! The issuer history of one member's log: the events that change who may write to it
//! (accreditations, recognition agreements, status changes of either, key rotations),
//! recorded in log order by [`IssuerRegistry::apply`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::accreditation::Accreditation;
use crate::agreement::{Agreement, AgreementInForce, in_force};
use crate::credential::Namespace;
use crate::identifiers::CredentialId;
use crate::statement::{KeyRotation, StatusChange};
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

use super::facts::signing_time;

#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) position: u64,
    /// When the entry was signed: the log took it no earlier than this, give or take the
    /// admitting node's clock tolerance.
    pub(super) logged: Option<DateTime<Utc>>,
    pub(super) kind: EventKind,
}

#[derive(Debug, Clone)]
pub(super) enum EventKind {
    Accredited(Accreditation),
    AccreditationStatus {
        accreditation: CredentialId,
        status: CredentialStatus,
        from: DateTime<Utc>,
    },
    Rotated {
        previous: DidKey,
        next: DidKey,
        from: DateTime<Utc>,
    },
    /// A recognition agreement the authority logged.
    Agreement(Box<Agreement>),
    AgreementStatus {
        agreement: CredentialId,
        status: CredentialStatus,
        from: DateTime<Utc>,
    },
}

/// The issuer history of one member's log.
#[derive(Debug, Clone)]
pub struct IssuerRegistry {
    pub(super) member: String,
    pub(super) authority: DidKey,
    /// Where the member's node names the context and schemas now, then where it did before.
    namespaces: Vec<Namespace>,
    pub(super) events: Vec<Event>,
}

impl IssuerRegistry {
    /// An empty history for `member`, whose authority's first key is `authority` and whose
    /// node names the registry's context and schemas under `namespace` (both trust anchors
    /// from the federation configuration: the key and the member's endpoint).
    pub fn new(
        member: impl Into<String>,
        authority: DidKey,
        namespace: Namespace,
    ) -> IssuerRegistry {
        IssuerRegistry {
            member: member.into(),
            authority,
            namespaces: vec![namespace],
            events: Vec::new(),
        }
    }

    /// This registry, also accepting credentials named under `former`: the bases the
    /// member's node had before (the configuration's `former_endpoints`).
    #[must_use]
    pub fn with_former_namespaces(mut self, former: impl IntoIterator<Item = Namespace>) -> Self {
        self.namespaces.extend(former);
        self
    }

    /// The member.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// Where the member's credentials name the context and schemas now.
    pub fn namespace(&self) -> &Namespace {
        &self.namespaces[0]
    }

    /// Where the member's credentials may name the context and schemas (besides the legacy
    /// base): its node's namespace now, then those it had before. Verification checks it
    /// ([`crate::credential::check_namespace`]); admission into a log does not, so that no
    /// mirror refuses an entry over a URL.
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }

    /// Every accreditation logged so far, in log order.
    pub fn accreditations(&self) -> impl Iterator<Item = &Accreditation> {
        self.events.iter().filter_map(|event| match &event.kind {
            EventKind::Accredited(accreditation) => Some(accreditation),
            _ => None,
        })
    }

    /// The accreditation with this id, if logged.
    pub fn accreditation(&self, id: CredentialId) -> Option<&Accreditation> {
        self.accreditations().find(|a| a.id == id)
    }

    /// The recognition agreements logged below `position` (all when `None`), each with the
    /// end the log gives it: withdrawal (a status change to 03, 04, 06 or 07, from when it
    /// takes effect) or supersession by a later agreement.
    pub fn agreements(&self, position: Option<u64>) -> Vec<AgreementInForce> {
        let mut agreements = Vec::new();
        let mut withdrawals = BTreeMap::new();
        for event in self.visible(position) {
            match &event.kind {
                EventKind::Agreement(agreement) => agreements.push(agreement.as_ref().clone()),
                EventKind::AgreementStatus {
                    agreement,
                    status,
                    from,
                } if !matches!(
                    status,
                    CredentialStatus::Valid | CredentialStatus::Suspended
                ) =>
                {
                    withdrawals.entry(*agreement).or_insert(*from);
                }
                _ => {}
            }
        }
        in_force(agreements, &withdrawals)
    }

    pub(super) fn is_agreement(&self, id: CredentialId) -> bool {
        self.events.iter().any(
            |event| matches!(&event.kind, EventKind::Agreement(agreement) if agreement.id == id),
        )
    }

    pub(super) fn visible(&self, when: Option<u64>) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(move |event| when.is_none_or(|position| event.position < position))
    }

    /// Records an authorised entry at `position` if it changes the history: an
    /// accreditation, a recognition agreement, a status change of either, a key rotation. Returns
    /// whether it did (the caller persists those entries to rebuild the registry on start).
    /// Entries must be applied in log order; other entries are ignored.
    pub fn apply(&mut self, object: &Value, position: u64) -> bool {
        let signed = signing_time(object);
        let kind = if let Ok(accreditation) = Accreditation::from_credential(object) {
            Some(EventKind::Accredited(accreditation))
        } else if let Ok(agreement) = Agreement::from_credential(object) {
            Some(EventKind::Agreement(Box::new(agreement)))
        } else if let Ok(change) = StatusChange::from_json(object) {
            if self.accreditation(change.credential_id).is_some() {
                Some(EventKind::AccreditationStatus {
                    accreditation: change.credential_id,
                    status: change.status,
                    from: takes_effect(change.effective, signed),
                })
            } else {
                self.is_agreement(change.credential_id)
                    .then(|| EventKind::AgreementStatus {
                        agreement: change.credential_id,
                        status: change.status,
                        from: takes_effect(change.effective, signed),
                    })
            }
        } else if let Ok(rotation) = KeyRotation::from_json(object) {
            Some(EventKind::Rotated {
                previous: rotation.previous_key,
                next: rotation.next_key,
                from: takes_effect(rotation.effective, signed),
            })
        } else {
            None
        };
        match kind {
            Some(kind) => {
                self.events.push(Event {
                    position,
                    logged: signed,
                    kind,
                });
                true
            }
            None => false,
        }
    }
}

/// A change takes effect when it says, but never before it was signed.
fn takes_effect(effective: DateTime<Utc>, signed: Option<DateTime<Utc>>) -> DateTime<Utc> {
    signed.map_or(effective, |signed| effective.max(signed))
}
