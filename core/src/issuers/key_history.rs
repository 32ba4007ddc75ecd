//! The key history of a log's issuers: which key belongs to which identity (the chains of
//! rotations from the authority's trust anchor and from each accredited issuer's first key),
//! and whether a key may sign at a point of the log.

use chrono::{DateTime, Utc};

use crate::credential::format_datetime;
use talent_integrity::did::DidKey;

use super::authorisation::AuthorisationError;
use super::facts::When;
use super::registry::{EventKind, IssuerRegistry};

impl IssuerRegistry {
    /// The authority's current key (after every rotation applied so far that has taken
    /// effect at `now`).
    pub fn authority_key(&self, now: DateTime<Utc>) -> DidKey {
        let mut key = self.authority.clone();
        while let Some((next, from)) = self.rotation_of(&key, None) {
            if from > now {
                break;
            }
            key = next;
        }
        key
    }

    /// The authority's first key (the trust anchor).
    pub fn authority_root(&self) -> &DidKey {
        &self.authority
    }

    /// The authority's newest key: the end of its rotation chain, whether or not the last
    /// rotation has taken effect yet.
    pub fn latest_authority_key(&self) -> DidKey {
        let mut key = self.authority.clone();
        for _ in 0..=self.events.len() {
            match self.rotation_of(&key, None) {
                Some((next, _)) => key = next,
                None => break,
            }
        }
        key
    }

    /// Whether two keys belong to the same issuer (one is a rotated successor of the other).
    pub fn same_issuer(&self, a: &DidKey, b: &DidKey) -> bool {
        self.chain_root(a, None) == self.chain_root(b, None)
    }

    /// The logged rotation of `key` visible at `position`: (successor, effective from).
    pub(super) fn rotation_of(
        &self,
        key: &DidKey,
        position: Option<u64>,
    ) -> Option<(DidKey, DateTime<Utc>)> {
        self.visible(position).find_map(|event| match &event.kind {
            EventKind::Rotated {
                previous,
                next,
                from,
            } if previous == key => Some((next.clone(), *from)),
            _ => None,
        })
    }

    /// The latest time the log is known to have reached when it took the object at `when`:
    /// the admitting node's clock, and for a logged object the signing time of every
    /// history entry logged before it. `None` when neither is known.
    pub fn log_clock(&self, when: When) -> Option<DateTime<Utc>> {
        self.history_clock(when).max(when.admitted)
    }

    /// What every replay knows of when the log took the object: no earlier than the
    /// signing time of each history entry logged before it.
    pub(super) fn history_clock(&self, when: When) -> Option<DateTime<Utc>> {
        when.position.and_then(|position| {
            self.visible(Some(position))
                .filter_map(|event| event.logged)
                .max()
        })
    }

    /// The rotation that introduced `key`: (predecessor, effective from).
    pub(super) fn introduction_of(
        &self,
        key: &DidKey,
        position: Option<u64>,
    ) -> Option<(DidKey, DateTime<Utc>)> {
        self.visible(position).find_map(|event| match &event.kind {
            EventKind::Rotated {
                previous,
                next,
                from,
            } if next == key => Some((previous.clone(), *from)),
            _ => None,
        })
    }

    /// The first key of the chain `key` belongs to. Rotations never reuse a key, so the
    /// chain has no cycles; the bound guards against a corrupt history all the same.
    pub(super) fn chain_root(&self, key: &DidKey, position: Option<u64>) -> DidKey {
        let mut root = key.clone();
        for _ in 0..=self.events.len() {
            match self.introduction_of(&root, position) {
                Some((previous, _)) => root = previous,
                None => break,
            }
        }
        root
    }

    /// Whether `key` may sign at `when`: introduced (if a successor) and not yet retired.
    pub(super) fn check_key(&self, key: &DidKey, when: When) -> Result<(), AuthorisationError> {
        if let Some((_, from)) = self.introduction_of(key, when.position)
            && when.signed < from
        {
            return Err(AuthorisationError::KeyNotYetValid {
                key: key.to_string(),
                from: format_datetime(from),
                signed: format_datetime(when.signed),
            });
        }
        if let Some((successor, from)) = self.rotation_of(key, when.position)
            && (when.signed >= from || self.log_clock(when).is_some_and(|clock| clock >= from))
        {
            return Err(AuthorisationError::KeyRetired {
                key: key.to_string(),
                successor: successor.to_string(),
                retired: format_datetime(from),
                signed: format_datetime(when.signed),
            });
        }
        Ok(())
    }

    pub(super) fn is_authority_key(&self, key: &DidKey, position: Option<u64>) -> bool {
        self.chain_root(key, position) == self.authority
    }

    /// Whether `key` already appears in the history (as the authority, an accredited
    /// issuer, or a rotation's key).
    pub(super) fn is_known_key(&self, key: &DidKey, position: Option<u64>) -> bool {
        *key == self.authority
            || self.visible(position).any(|event| match &event.kind {
                EventKind::Accredited(accreditation) => accreditation.issuer == *key,
                EventKind::Rotated { previous, next, .. } => previous == key || next == key,
                EventKind::AccreditationStatus { .. }
                | EventKind::Agreement(_)
                | EventKind::AgreementStatus { .. } => false,
            })
    }
}
