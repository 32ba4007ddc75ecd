//! Who may write what to one member's log: the member's authority and its key history, the
//! delegated issuers it accredited, their scopes, withdrawals and key rotations.
//!
//! An [`IssuerRegistry`] is built by [`IssuerRegistry::apply`]ing, in log order, the entries
//! that change it (accreditations, status changes of accreditations, key rotations). It then
//! answers whether an object was authorised **at a point of the log**: a [`When`] gives the
//! object's log position (events logged after it are not seen) and its signing time
//! (`proof.created`). Changes take effect at `max(effective, signed)` of the statement that
//! makes them, never earlier, so withdrawing an accreditation or rotating a key is not
//! retroactive: what was logged before it, signed inside a valid window, stays valid.
//!
//! The signer's claim alone does not decide what is logged after such a change. An entry is
//! judged at its signing time and at the log's time when it was logged, which a replay knows
//! only by log order: no earlier than the signing time of every history entry logged before
//! it ([`IssuerRegistry::log_clock`]). The node admitting it also judges it at its own clock
//! ([`When::admitted`]), on top of every time a replay judges it at, so a replay never
//! refuses what its node admitted. A withdrawal, suspension, key retirement or expiry in
//! effect at any of these times refuses it, whatever its `proof.created` says: an issuer
//! cannot back-date past a withdrawal logged before its entry.
//!
//! The issuing node, every mirror applying a peer's log, and every verifier (node or CLI)
//! ask the same questions of the same data, so they reach the same answer.

use chrono::{DateTime, Utc};
use serde_json::Value;
use thiserror::Error;

use crate::accreditation::{Accreditation, ScopeViolation, SubjectFacts};
use crate::credential::{CredentialType, format_datetime, parse_datetime};
use crate::identifiers::CredentialId;
use crate::statement::{KeyRotation, StatusChange};
use crate::status::{CredentialStatus, StatusError};
use talent_integrity::did::DidKey;

/// The point of a log an authorisation is judged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    /// The object's leaf index in the member's log; `None` for an object that is not (or
    /// not known to be) logged: then every known event counts.
    pub position: Option<u64>,
    /// When the object was signed (`proof.created`).
    pub signed: DateTime<Utc>,
    /// When the log admits it, known only to the node admitting it (its clock at
    /// admission); `None` for every later replay, which goes by log order instead.
    pub admitted: Option<DateTime<Utc>>,
}

/// A signed object as [`IssuerRegistry::admit`] reads it.
#[derive(Debug, Clone, Copy)]
pub enum Admissible<'a> {
    /// The whole object.
    Object(&'a Value),
    /// A talent credential (a registry type for which [`CredentialType::is_talent`] holds),
    /// by the only parts admission reads of one: its type, its `credentialSubject` and its
    /// signing time. A mirror admits these without parsing the rest of the entry.
    TalentCredential {
        /// Its registry type.
        credential_type: CredentialType,
        /// What admission reads of its `credentialSubject`.
        subject: &'a SubjectFacts,
        /// Its [`signing_time`], when it has a valid one.
        signed: Option<DateTime<Utc>>,
        /// Its [`valid_until`].
        valid_until: Option<DateTime<Utc>>,
    },
}

/// What the authority check reads of a credential.
#[derive(Debug, Clone, Copy)]
struct Facts<'a> {
    credential_type: CredentialType,
    subject: &'a SubjectFacts,
    valid_until: Option<DateTime<Utc>>,
}

impl<'a> From<&'a Value> for Admissible<'a> {
    fn from(object: &'a Value) -> Admissible<'a> {
        Admissible::Object(object)
    }
}

/// The signing time of a signed object: its `proof.created`.
pub fn signing_time(object: &Value) -> Option<DateTime<Utc>> {
    object["proof"]["created"].as_str().and_then(parse_datetime)
}

/// The end of a credential's validity as its issuer's authority reads it: its `validUntil`
/// when that is a valid date-time, else none (a malformed one fails the schema and
/// validity checks on its own).
pub fn valid_until(credential: &Value) -> Option<DateTime<Utc>> {
    credential["validUntil"].as_str().and_then(parse_datetime)
}

/// Why an object was allowed into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorisation {
    /// Signed by the member's authority with a key valid at the time.
    Authority {
        /// The member.
        member: String,
        /// The key that signed.
        key: DidKey,
    },
    /// Signed by a delegated issuer inside one of its accreditations.
    Accredited {
        /// The accreditation that covers it.
        accreditation: CredentialId,
        /// The issuer's name from the accreditation.
        name: String,
        /// The issuer's original DID (the accreditation's subject).
        issuer: DidKey,
    },
    /// Signed by the issuer of the credential a status change is about.
    CredentialIssuer {
        /// The key that signed.
        key: DidKey,
    },
}

impl Authorisation {
    /// The key that signed, for a statement signed by the authority or by the credential's
    /// issuer.
    pub fn signing_key(&self) -> Option<&DidKey> {
        match self {
            Authorisation::Authority { key, .. } | Authorisation::CredentialIssuer { key } => {
                Some(key)
            }
            Authorisation::Accredited { .. } => None,
        }
    }

    /// One line for a verdict.
    pub fn describe(&self) -> String {
        match self {
            Authorisation::Authority { member, .. } => {
                format!("issued by the authority of {member}")
            }
            Authorisation::Accredited {
                accreditation,
                name,
                issuer,
            } => {
                format!("issued by {name} ({issuer}) under accreditation {accreditation}, in scope")
            }
            Authorisation::CredentialIssuer { key } => {
                format!("signed by the credential's issuer {key}")
            }
        }
    }
}

/// Why an object may not be in (or enter) the member's log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthorisationError {
    /// The credential names another region than the log's member.
    #[error("credentialSubject.region {found:?} is not {member}")]
    RegionMismatch {
        /// The log's member.
        member: String,
        /// The credential's region.
        found: String,
    },
    /// The object is not a registry credential.
    #[error("not a registry credential")]
    NotACredential,
    /// Only the member's authority issues this type.
    #[error("only the authority of {member} issues {credential_type}")]
    AuthorityOnly {
        /// The member.
        member: String,
        /// The type.
        credential_type: CredentialType,
    },
    /// The signer holds no accreditation of this member.
    #[error("{issuer} is neither the authority of {member} nor accredited by it")]
    NotAccredited {
        /// The signer.
        issuer: String,
        /// The member.
        member: String,
    },
    /// The signer is accredited, but no accreditation covers the credential.
    #[error("accreditation {accreditation} does not cover it: {problem}")]
    OutsideAccreditation {
        /// The accreditation checked (the newest one, when several).
        accreditation: CredentialId,
        /// What fails.
        problem: AccreditationProblem,
    },
    /// The key was rotated out before it signed.
    #[error("key {key} was retired at {retired} (replaced by {successor}); it signed at {signed}")]
    KeyRetired {
        /// The key.
        key: String,
        /// Its successor.
        successor: String,
        /// When it stopped being valid.
        retired: String,
        /// When it signed.
        signed: String,
    },
    /// The key is a successor whose rotation had not taken effect when it signed.
    #[error("key {key} is only valid from {from}; it signed at {signed}")]
    KeyNotYetValid {
        /// The key.
        key: String,
        /// When it becomes valid.
        from: String,
        /// When it signed.
        signed: String,
    },
    /// A status change signed by someone other than the credential's issuer or the authority.
    #[error("{signer} may not change the status of a credential issued by {issuer}")]
    NotTheIssuer {
        /// The signer.
        signer: String,
        /// The credential's issuer.
        issuer: String,
    },
    /// A suspension lifted by someone who may not override whoever set it: only the
    /// authority lifts a suspension the authority set.
    #[error(
        "{signer} may not lift the suspension {setter} set: only the authority of {member} can"
    )]
    LiftNotAllowed {
        /// The signer of the lift.
        signer: String,
        /// The signer of the suspension.
        setter: String,
        /// The member.
        member: String,
    },
    /// The status change is impossible from the current status.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// A rotation of a key that is not an issuer's current key.
    #[error("{key} is not a current key of the authority or of an accredited issuer")]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A rotation to a key that already belongs to an issuer.
    #[error("{key} is already an issuer key; rotate to a fresh key")]
    KeyReused {
        /// The key.
        key: String,
    },
    /// The key already has a rotation logged.
    #[error("{key} has already been rotated to {successor}")]
    AlreadyRotated {
        /// The key.
        key: String,
        /// Its logged successor.
        successor: String,
    },
    /// A rotation signed by neither the key itself nor the authority.
    #[error("a rotation of {key} must be signed by that key or by the authority of {member}")]
    RotationSigner {
        /// The rotated key.
        key: String,
        /// The member.
        member: String,
    },
}

impl AuthorisationError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorisationError::RegionMismatch { .. } => "region_mismatch",
            AuthorisationError::NotACredential => "not_a_credential",
            AuthorisationError::AuthorityOnly { .. } => "authority_only",
            AuthorisationError::NotAccredited { .. } => "not_accredited",
            AuthorisationError::OutsideAccreditation { problem, .. } => problem.code(),
            AuthorisationError::KeyRetired { .. } => "key_retired",
            AuthorisationError::KeyNotYetValid { .. } => "key_not_yet_valid",
            AuthorisationError::NotTheIssuer { .. } => "not_the_issuer",
            AuthorisationError::LiftNotAllowed { .. } => "lift_not_allowed",
            AuthorisationError::Status(_) => "status_transition",
            AuthorisationError::UnknownKey { .. } => "unknown_key",
            AuthorisationError::KeyReused { .. } => "key_reused",
            AuthorisationError::AlreadyRotated { .. } => "already_rotated",
            AuthorisationError::RotationSigner { .. } => "rotation_signer",
        }
    }
}

/// Why an accreditation does not cover a credential.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccreditationProblem {
    /// Signed before the accreditation's `validFrom`.
    #[error("it was signed at {signed}, before the accreditation starts ({from})")]
    NotYetValid {
        /// `validFrom`.
        from: String,
        /// Signing time.
        signed: String,
    },
    /// Signed after the accreditation's `validUntil`.
    #[error("it was signed at {signed}, after the accreditation expired ({until})")]
    Expired {
        /// `validUntil`.
        until: String,
        /// Signing time.
        signed: String,
    },
    /// Signed after the accreditation was withdrawn or while it was suspended.
    #[error("it was signed at {signed}, after the accreditation became {status} ({since})")]
    Withdrawn {
        /// The accreditation's status then.
        status: CredentialStatus,
        /// Since when.
        since: String,
        /// Signing time.
        signed: String,
    },
    /// The credential stays valid longer than the accreditation it was issued under.
    #[error(
        "it is valid {}, past the end of the accreditation ({until})",
        .credential_until
            .as_deref()
            .map_or_else(|| "without an end".to_owned(), |end| format!("until {end}"))
    )]
    OutlastsAccreditation {
        /// The accreditation's `validUntil`.
        until: String,
        /// The credential's `validUntil`, if it has one.
        credential_until: Option<String>,
    },
    /// Outside the scope.
    #[error(transparent)]
    Scope(ScopeViolation),
}

impl AccreditationProblem {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AccreditationProblem::NotYetValid { .. } => "accreditation_not_yet_valid",
            AccreditationProblem::Expired { .. } => "accreditation_expired",
            AccreditationProblem::Withdrawn { status, .. } => match status {
                CredentialStatus::Suspended => "accreditation_suspended",
                _ => "accreditation_withdrawn",
            },
            AccreditationProblem::OutlastsAccreditation { .. } => "validity_outlasts_accreditation",
            AccreditationProblem::Scope(violation) => violation.code(),
        }
    }
}

/// The credential a status change is about, as the log holding it knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTarget {
    /// Its issuer (the key that signed it).
    pub issuer: DidKey,
    /// Its current status.
    pub status: CredentialStatus,
    /// The key that signed the change setting that status; `None` as issued.
    pub set_by: Option<DidKey>,
}

#[derive(Debug, Clone)]
struct Event {
    position: u64,
    /// When the entry was signed: the log took it no earlier than this, give or take the
    /// admitting node's clock tolerance.
    logged: Option<DateTime<Utc>>,
    kind: EventKind,
}

#[derive(Debug, Clone)]
enum EventKind {
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
    Agreement(Box<crate::recognition::Agreement>),
    AgreementStatus {
        agreement: CredentialId,
        status: CredentialStatus,
        from: DateTime<Utc>,
    },
}

/// The issuer history of one member's log.
#[derive(Debug, Clone)]
pub struct IssuerRegistry {
    member: String,
    authority: DidKey,
    events: Vec<Event>,
}

impl IssuerRegistry {
    /// An empty history for `member`, whose authority's first key is `authority` (the trust
    /// anchor from the federation configuration).
    pub fn new(member: impl Into<String>, authority: DidKey) -> IssuerRegistry {
        IssuerRegistry {
            member: member.into(),
            authority,
            events: Vec::new(),
        }
    }

    /// The member.
    pub fn member(&self) -> &str {
        &self.member
    }

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

    /// The recognition agreements logged below `position` (all when `None`), each with the
    /// end the log gives it: withdrawal (a status change to 03, 04, 06 or 07, from when it
    /// takes effect) or supersession by a later agreement.
    pub fn agreements(&self, position: Option<u64>) -> Vec<crate::recognition::AgreementInForce> {
        let mut agreements = Vec::new();
        let mut withdrawals = std::collections::BTreeMap::new();
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
        crate::recognition::in_force(agreements, &withdrawals)
    }

    fn is_agreement(&self, id: CredentialId) -> bool {
        self.events.iter().any(
            |event| matches!(&event.kind, EventKind::Agreement(agreement) if agreement.id == id),
        )
    }

    fn visible(&self, when: Option<u64>) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(move |event| when.is_none_or(|position| event.position < position))
    }

    /// The logged rotation of `key` visible at `position`: (successor, effective from).
    fn rotation_of(&self, key: &DidKey, position: Option<u64>) -> Option<(DidKey, DateTime<Utc>)> {
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
    fn history_clock(&self, when: When) -> Option<DateTime<Utc>> {
        when.position.and_then(|position| {
            self.visible(Some(position))
                .filter_map(|event| event.logged)
                .max()
        })
    }

    /// The rotation that introduced `key`: (predecessor, effective from).
    fn introduction_of(
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
    fn chain_root(&self, key: &DidKey, position: Option<u64>) -> DidKey {
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
    fn check_key(&self, key: &DidKey, when: When) -> Result<(), AuthorisationError> {
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

    fn is_authority_key(&self, key: &DidKey, position: Option<u64>) -> bool {
        self.chain_root(key, position) == self.authority
    }

    /// Accreditations of the identity `key` belongs to, visible at `position`, newest first.
    fn accreditations_of(&self, key: &DidKey, position: Option<u64>) -> Vec<&Accreditation> {
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
    fn accreditation_status(
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

    fn covers(
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

    /// Whether `signer` was allowed to issue `credential` into this member's log at `when`.
    ///
    /// The caller has verified the proof and that `signer` is the credential's `issuer`.
    ///
    /// # Errors
    /// [`AuthorisationError`] naming the accreditation checked and what fails.
    pub fn authorise_credential(
        &self,
        credential: &Value,
        signer: &DidKey,
        when: When,
    ) -> Result<Authorisation, AuthorisationError> {
        let credential_type = CredentialType::from_type_array(&credential["type"])
            .ok_or(AuthorisationError::NotACredential)?;
        let subject = SubjectFacts::of(credential_type, &credential["credentialSubject"]);
        self.authorise(
            &Facts {
                credential_type,
                subject: &subject,
                valid_until: valid_until(credential),
            },
            signer,
            when,
        )
    }

    /// [`IssuerRegistry::authorise_credential`] from the [`Facts`] of the credential, all it
    /// reads of the credential.
    fn authorise(
        &self,
        credential: &Facts<'_>,
        signer: &DidKey,
        when: When,
    ) -> Result<Authorisation, AuthorisationError> {
        let credential_type = credential.credential_type;
        let region = credential.subject.region.as_deref().unwrap_or_default();
        if region != self.member {
            return Err(AuthorisationError::RegionMismatch {
                member: self.member.clone(),
                found: region.to_owned(),
            });
        }
        self.check_key(signer, when)?;
        if self.is_authority_key(signer, when.position) {
            return Ok(Authorisation::Authority {
                member: self.member.clone(),
                key: signer.clone(),
            });
        }
        if !credential_type.is_talent() {
            return Err(AuthorisationError::AuthorityOnly {
                member: self.member.clone(),
                credential_type,
            });
        }
        let candidates = self.accreditations_of(signer, when.position);
        let Some(newest) = candidates.first() else {
            return Err(AuthorisationError::NotAccredited {
                issuer: signer.to_string(),
                member: self.member.clone(),
            });
        };
        let mut newest_problem = None;
        for accreditation in &candidates {
            match self.covers(accreditation, credential, when) {
                Ok(()) => {
                    return Ok(Authorisation::Accredited {
                        accreditation: accreditation.id,
                        name: accreditation.name.clone(),
                        issuer: accreditation.issuer.clone(),
                    });
                }
                Err(problem) => {
                    newest_problem.get_or_insert(problem);
                }
            }
        }
        Err(AuthorisationError::OutsideAccreditation {
            accreditation: newest.id,
            problem: newest_problem.expect("at least one candidate was checked"),
        })
    }

    /// Whether `signer` may log `change` about `target` at `when`: the credential's issuer
    /// (any current key of its identity) or the authority, and a possible transition. A
    /// suspension is lifted only by whoever may override its setter: the authority lifts
    /// any, an issuer only one it set itself.
    ///
    /// # Errors
    /// [`AuthorisationError`].
    pub fn authorise_status_change(
        &self,
        change: &StatusChange,
        signer: &DidKey,
        target: &StatusTarget,
        when: When,
    ) -> Result<Authorisation, AuthorisationError> {
        self.check_key(signer, when)?;
        target.status.check_transition(change.status)?;
        if self.is_authority_key(signer, when.position) {
            return Ok(Authorisation::Authority {
                member: self.member.clone(),
                key: signer.clone(),
            });
        }
        let signer_root = self.chain_root(signer, when.position);
        if signer_root == self.chain_root(&target.issuer, when.position) {
            if target.status == CredentialStatus::Suspended
                && change.status == CredentialStatus::Valid
                && let Some(setter) = &target.set_by
                && self.chain_root(setter, when.position) != signer_root
            {
                return Err(AuthorisationError::LiftNotAllowed {
                    signer: signer.to_string(),
                    setter: setter.to_string(),
                    member: self.member.clone(),
                });
            }
            return Ok(Authorisation::CredentialIssuer {
                key: signer.clone(),
            });
        }
        Err(AuthorisationError::NotTheIssuer {
            signer: signer.to_string(),
            issuer: target.issuer.to_string(),
        })
    }

    /// Whether `signer` may log `rotation` at `when`: the rotated key is the authority's or
    /// an accredited issuer's current key, not yet rotated; the new key is fresh; the signer
    /// is the rotated key itself or the authority (recovering a delegated issuer's lost key).
    ///
    /// # Errors
    /// [`AuthorisationError`].
    pub fn authorise_rotation(
        &self,
        rotation: &KeyRotation,
        signer: &DidKey,
        when: When,
    ) -> Result<Authorisation, AuthorisationError> {
        let previous = &rotation.previous_key;
        self.check_key(signer, when)?;
        self.check_key(previous, when)?;
        if let Some((successor, _)) = self.rotation_of(previous, when.position) {
            return Err(AuthorisationError::AlreadyRotated {
                key: previous.to_string(),
                successor: successor.to_string(),
            });
        }
        if self.is_known_key(&rotation.next_key, when.position) {
            return Err(AuthorisationError::KeyReused {
                key: rotation.next_key.to_string(),
            });
        }
        let previous_is_authority = self.is_authority_key(previous, when.position);
        if !previous_is_authority && self.accreditations_of(previous, when.position).is_empty() {
            return Err(AuthorisationError::UnknownKey {
                key: previous.to_string(),
            });
        }
        if signer == previous {
            return Ok(if previous_is_authority {
                Authorisation::Authority {
                    member: self.member.clone(),
                    key: signer.clone(),
                }
            } else {
                Authorisation::CredentialIssuer {
                    key: signer.clone(),
                }
            });
        }
        if !previous_is_authority && self.is_authority_key(signer, when.position) {
            return Ok(Authorisation::Authority {
                member: self.member.clone(),
                key: signer.clone(),
            });
        }
        Err(AuthorisationError::RotationSigner {
            key: previous.to_string(),
            member: self.member.clone(),
        })
    }

    /// Whether `key` already appears in the history (as the authority, an accredited
    /// issuer, or a rotation's key).
    fn is_known_key(&self, key: &DidKey, position: Option<u64>) -> bool {
        *key == self.authority
            || self.visible(position).any(|event| match &event.kind {
                EventKind::Accredited(accreditation) => accreditation.issuer == *key,
                EventKind::Rotated { previous, next, .. } => previous == key || next == key,
                EventKind::AccreditationStatus { .. }
                | EventKind::Agreement(_)
                | EventKind::AgreementStatus { .. } => false,
            })
    }

    /// Records an authorised entry at `position` if it changes the history: an
    /// accreditation, a recognition agreement, a status change of either, a key rotation. Returns
    /// whether it did (the caller persists those entries to rebuild the registry on start).
    /// Entries must be applied in log order; other entries are ignored.
    pub fn apply(&mut self, object: &Value, position: u64) -> bool {
        let signed = signing_time(object);
        let kind = if let Ok(accreditation) = Accreditation::from_credential(object) {
            Some(EventKind::Accredited(accreditation))
        } else if let Ok(agreement) = crate::recognition::Agreement::from_credential(object) {
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

/// What admitting an entry into a log decided and changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// Why the entry is allowed.
    pub authorisation: Authorisation,
    /// Whether the entry changed the issuer history (the caller persists such entries).
    pub issuer_event: bool,
    /// The status a status change sets: (credential, new status).
    pub status: Option<(CredentialId, CredentialStatus)>,
}

/// Why an entry may not enter a log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AdmitError {
    /// The signer is not allowed to write it.
    #[error(transparent)]
    Authorisation(#[from] AuthorisationError),
    /// A statement that does not parse.
    #[error(transparent)]
    Statement(#[from] crate::statement::StatementError),
    /// A status change about a credential this log does not hold.
    #[error("{0} is not a credential of this log")]
    UnknownCredential(CredentialId),
    /// The object's proof has no `created` time.
    #[error("the proof has no valid created time")]
    NoSigningTime,
    /// Neither a registry credential nor a statement.
    #[error("not a registry credential or statement")]
    UnknownKind,
}

impl AdmitError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Authorisation(error) => error.code(),
            AdmitError::Statement(_) => "invalid_statement",
            AdmitError::UnknownCredential(_) => "credential_not_found",
            AdmitError::NoSigningTime => "no_signing_time",
            AdmitError::UnknownKind => "unknown_kind",
        }
    }
}

impl IssuerRegistry {
    /// Decides whether the signed `object` (proof verified, `signer` = its `issuer`) may be
    /// entry `position` of this log, and if so records what it changes. `targets` finds the
    /// credential a status change is about (its issuer and current status) in the log.
    ///
    /// Every writer of a log (the issuing node, each mirror) admits entries through this, in
    /// log order, so they all accept and refuse the same entries.
    ///
    /// # Errors
    /// [`AdmitError`]; the registry is unchanged then.
    pub fn admit<'a>(
        &mut self,
        object: impl Into<Admissible<'a>>,
        signer: &DidKey,
        position: u64,
        targets: &mut dyn FnMut(CredentialId) -> Option<StatusTarget>,
    ) -> Result<Admitted, AdmitError> {
        self.admit_at(object, signer, position, None, targets)
    }

    /// [`IssuerRegistry::admit`] by the node that admits the entry at its clock's time
    /// `admitted` ([`When::admitted`]); replays call `admit`.
    ///
    /// # Errors
    /// [`AdmitError`]; the registry is unchanged then.
    pub fn admit_at<'a>(
        &mut self,
        object: impl Into<Admissible<'a>>,
        signer: &DidKey,
        position: u64,
        admitted: Option<DateTime<Utc>>,
        targets: &mut dyn FnMut(CredentialId) -> Option<StatusTarget>,
    ) -> Result<Admitted, AdmitError> {
        let object = object.into();
        let mut admitted = self.check_at(object, signer, position, admitted, targets)?;
        admitted.issuer_event = match object {
            Admissible::Object(object) => self.apply(object, position),
            // Talent credentials never change the history (see `apply`).
            Admissible::TalentCredential { .. } => false,
        };
        Ok(admitted)
    }

    /// [`IssuerRegistry::admit`] without recording anything: for entries that cannot change
    /// the history (talent credentials), judged against a shared registry. `issuer_event`
    /// is always false in the answer.
    ///
    /// # Errors
    /// [`AdmitError`].
    pub fn check<'a>(
        &self,
        object: impl Into<Admissible<'a>>,
        signer: &DidKey,
        position: u64,
        targets: &mut dyn FnMut(CredentialId) -> Option<StatusTarget>,
    ) -> Result<Admitted, AdmitError> {
        self.check_at(object, signer, position, None, targets)
    }

    /// [`IssuerRegistry::check`] by the node that admits the entry at its clock's time
    /// `admitted` ([`When::admitted`]).
    ///
    /// # Errors
    /// [`AdmitError`].
    pub fn check_at<'a>(
        &self,
        object: impl Into<Admissible<'a>>,
        signer: &DidKey,
        position: u64,
        admitted: Option<DateTime<Utc>>,
        targets: &mut dyn FnMut(CredentialId) -> Option<StatusTarget>,
    ) -> Result<Admitted, AdmitError> {
        let object = match object.into() {
            Admissible::TalentCredential {
                credential_type,
                subject,
                signed,
                valid_until,
            } => {
                // Other types change the history, which needs the whole object.
                if !credential_type.is_talent() {
                    return Err(AdmitError::UnknownKind);
                }
                let when = When {
                    position: Some(position),
                    signed: signed.ok_or(AdmitError::NoSigningTime)?,
                    admitted,
                };
                let facts = Facts {
                    credential_type,
                    subject,
                    valid_until,
                };
                return Ok(Admitted {
                    authorisation: self.authorise(&facts, signer, when)?,
                    issuer_event: false,
                    status: None,
                });
            }
            Admissible::Object(object) => object,
        };
        let when = When {
            position: Some(position),
            signed: signing_time(object).ok_or(AdmitError::NoSigningTime)?,
            admitted,
        };
        let (authorisation, status) = if CredentialType::from_type_array(&object["type"]).is_some()
        {
            (self.authorise_credential(object, signer, when)?, None)
        } else if let Some(kind) = crate::statement::Statement::kind_of(object) {
            if kind == crate::statement::STATUS_CHANGE_TYPE {
                let change = StatusChange::from_json(object)?;
                let target = targets(change.credential_id)
                    .ok_or(AdmitError::UnknownCredential(change.credential_id))?;
                let authorisation = self.authorise_status_change(&change, signer, &target, when)?;
                (authorisation, Some((change.credential_id, change.status)))
            } else {
                let rotation = KeyRotation::from_json(object)?;
                (self.authorise_rotation(&rotation, signer, when)?, None)
            }
        } else {
            return Err(AdmitError::UnknownKind);
        };
        Ok(Admitted {
            authorisation,
            issuer_event: false,
            status,
        })
    }
}

/// The credentials of a log being replayed in order, as its status changes need them (each
/// credential's signer and current status): the audit, an issuer history and a mirror's
/// catch-up step keep one beside the registry.
#[derive(Debug, Clone, Default)]
pub struct StatusTargets {
    targets: std::collections::HashMap<CredentialId, StatusTarget>,
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

/// A change takes effect when it says, but never before it was signed.
fn takes_effect(effective: DateTime<Utc>, signed: Option<DateTime<Utc>>) -> DateTime<Utc> {
    signed.map_or(effective, |signed| effective.max(signed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

    const MEMBER: &str = "cq-sc";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn did(seed: u8) -> DidKey {
        DidKey::from_verifying_key(&key(seed).verifying_key())
    }

    fn time(text: &str) -> DateTime<Utc> {
        parse_datetime(text).expect("time")
    }

    fn id(n: u8) -> CredentialId {
        CredentialId::parse_lenient(&format!("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c{n:02x}"))
            .expect("id")
    }

    fn sign(object: Value, seed: u8, at: &str) -> Value {
        proof::sign(
            &object,
            &key(seed),
            &ProofOptions {
                created: at.to_owned(),
                proof_purpose: ASSERTION_METHOD,
            },
        )
        .expect("signs")
    }

    /// Authority seed 1; enterprise seed 2 accredited for 中级/副高级 titles in 2026.
    fn registry() -> IssuerRegistry {
        let mut registry = IssuerRegistry::new(MEMBER, did(1));
        let accreditation = sign(
            json!({
                "id": id(1).to_string(),
                "type": ["VerifiableCredential", "IssuerAccreditationCredential"],
                "issuer": did(1).to_string(),
                "validFrom": "2026-01-01T00:00:00Z",
                "validUntil": "2027-01-01T00:00:00Z",
                "credentialSubject": {
                    "id": did(2).to_string(),
                    "name": "重庆某某科技有限公司",
                    "region": MEMBER,
                    "scope": {"types": ["ProfessionalTitleCredential"], "levels": ["中级", "副高级"]},
                },
            }),
            1,
            "2026-01-01T00:00:00Z",
        );
        assert!(registry.apply(&accreditation, 0));
        registry
    }

    /// A title valid until the end of 2026 (the enterprise's accreditation ends with 2026).
    fn title(issuer: u8, level: &str) -> Value {
        json!({
            "type": ["VerifiableCredential", "ProfessionalTitleCredential"],
            "issuer": did(issuer).to_string(),
            "validUntil": "2026-12-31T00:00:00Z",
            "credentialSubject": {"name": "张三", "region": MEMBER, "level": level},
        })
    }

    fn at(position: u64, signed: &str) -> When {
        When {
            position: Some(position),
            signed: time(signed),
            admitted: None,
        }
    }

    fn code(result: Result<Authorisation, AuthorisationError>) -> &'static str {
        match result {
            Ok(Authorisation::Authority { .. }) => "authority",
            Ok(Authorisation::Accredited { .. }) => "accredited",
            Ok(Authorisation::CredentialIssuer { .. }) => "issuer",
            Err(error) => error.code(),
        }
    }

    #[test]
    fn a_talent_credential_admitted_by_its_parts_is_admitted_as_whole() {
        let cases = [
            (1, "正高级", "2026-06-01T00:00:00Z", MEMBER),
            (2, "中级", "2026-06-01T00:00:00Z", MEMBER),
            (2, "正高级", "2026-06-01T00:00:00Z", MEMBER),
            (2, "中级", "2025-06-01T00:00:00Z", MEMBER),
            (2, "中级", "2027-06-01T00:00:00Z", MEMBER),
            (3, "中级", "2026-06-01T00:00:00Z", MEMBER),
            (2, "中级", "2026-06-01T00:00:00Z", "cd-hz"),
        ];
        for (issuer, level, signed_at, region) in cases {
            let mut object = title(issuer, level);
            object["credentialSubject"]["region"] = region.into();
            let object = sign(object, issuer, signed_at);
            let kind = CredentialType::ProfessionalTitleCredential;
            let subject = SubjectFacts::of(kind, &object["credentialSubject"]);
            // Read from the text, the facts are the same.
            let text = object["credentialSubject"].to_string();
            assert_eq!(
                SubjectFacts::from_json(kind, &text).as_ref(),
                Some(&subject)
            );
            let parts = Admissible::TalentCredential {
                credential_type: kind,
                subject: &subject,
                signed: signing_time(&object),
                valid_until: valid_until(&object),
            };
            let admit = |admissible: Admissible<'_>| {
                let mut r = registry();
                let answer = r.admit(admissible, &did(issuer), 5, &mut |_| None);
                (answer, r.events.len())
            };
            assert_eq!(
                admit(parts),
                admit(Admissible::Object(&object)),
                "{issuer} {level} {signed_at} {region}"
            );
        }
        // Without a signing time, both refuse for that.
        let object = title(1, "中级");
        let subject = SubjectFacts::of(
            CredentialType::ProfessionalTitleCredential,
            &object["credentialSubject"],
        );
        let parts = Admissible::TalentCredential {
            credential_type: CredentialType::ProfessionalTitleCredential,
            subject: &subject,
            signed: signing_time(&object),
            valid_until: valid_until(&object),
        };
        let r = registry();
        assert_eq!(
            r.check(parts, &did(1), 5, &mut |_| None),
            Err(AdmitError::NoSigningTime)
        );
        assert_eq!(
            r.check(&object, &did(1), 5, &mut |_| None),
            Err(AdmitError::NoSigningTime)
        );
        // An accreditation changes the history: by parts it is refused, never half-applied.
        let parts = Admissible::TalentCredential {
            credential_type: CredentialType::IssuerAccreditationCredential,
            subject: &subject,
            signed: Some(time("2026-06-01T00:00:00Z")),
            valid_until: None,
        };
        assert_eq!(
            registry().admit(parts, &did(1), 5, &mut |_| None),
            Err(AdmitError::UnknownKind)
        );
    }

    #[test]
    fn scope_window_and_identity() {
        let r = registry();
        let check = |issuer: u8, level: &str, signed: &str| {
            code(r.authorise_credential(&title(issuer, level), &did(issuer), at(5, signed)))
        };
        assert_eq!(check(1, "正高级", "2026-06-01T00:00:00Z"), "authority");
        assert_eq!(check(2, "中级", "2026-06-01T00:00:00Z"), "accredited");
        assert_eq!(check(2, "正高级", "2026-06-01T00:00:00Z"), "scope_level");
        assert_eq!(
            check(2, "中级", "2025-06-01T00:00:00Z"),
            "accreditation_not_yet_valid"
        );
        assert_eq!(
            check(2, "中级", "2027-06-01T00:00:00Z"),
            "accreditation_expired"
        );
        assert_eq!(check(3, "中级", "2026-06-01T00:00:00Z"), "not_accredited");
        let mut foreign = title(2, "中级");
        foreign["credentialSubject"]["region"] = "cd-hz".into();
        assert_eq!(
            code(r.authorise_credential(&foreign, &did(2), at(5, "2026-06-01T00:00:00Z"))),
            "region_mismatch"
        );
        let mut accreditation = title(2, "中级");
        accreditation["type"] = json!(["VerifiableCredential", "IssuerAccreditationCredential"]);
        assert_eq!(
            code(r.authorise_credential(&accreditation, &did(2), at(5, "2026-06-01T00:00:00Z"))),
            "authority_only"
        );
    }

    #[test]
    fn withdrawal_is_not_retroactive() {
        let mut r = registry();
        let withdrawal = StatusChange {
            id: id(2),
            credential_id: id(1),
            status: CredentialStatus::Cancelled,
            reason: "授权撤回".to_owned(),
            // Backdated: it still only takes effect when signed.
            effective: time("2026-03-01T00:00:00Z"),
            issuer: did(1),
            successor: None,
        };
        let signed = sign(withdrawal.to_unsigned(), 1, "2026-06-01T00:00:00Z");
        let target = StatusTarget {
            issuer: did(1),
            status: CredentialStatus::Valid,
            set_by: None,
        };
        assert_eq!(
            code(r.authorise_status_change(
                &withdrawal,
                &did(1),
                &target,
                at(10, "2026-06-01T00:00:00Z")
            )),
            "authority"
        );
        assert_eq!(
            code(r.authorise_status_change(
                &withdrawal,
                &did(2),
                &target,
                at(10, "2026-06-01T00:00:00Z")
            )),
            "not_the_issuer"
        );
        assert!(r.apply(&signed, 10));
        let check = |position: u64, signed: &str| {
            code(r.authorise_credential(&title(2, "中级"), &did(2), at(position, signed)))
        };
        // Logged before the withdrawal: still valid.
        assert_eq!(check(5, "2026-07-01T00:00:00Z"), "accredited");
        // Logged after it: withdrawn, also when it claims to have been signed before
        // (a back-dated proof.created, issue 19).
        assert_eq!(check(11, "2026-05-31T23:56:00Z"), "accreditation_withdrawn");
        assert_eq!(check(11, "2026-04-01T00:00:00Z"), "accreditation_withdrawn");
        assert_eq!(check(11, "2026-07-01T00:00:00Z"), "accreditation_withdrawn");
        // Not known to be logged: judged by when it was signed.
        let unlogged = |signed: &str| {
            code(r.authorise_credential(
                &title(2, "中级"),
                &did(2),
                When {
                    position: None,
                    signed: time(signed),
                    admitted: None,
                },
            ))
        };
        assert_eq!(unlogged("2026-04-01T00:00:00Z"), "accredited");
        assert_eq!(unlogged("2026-07-01T00:00:00Z"), "accreditation_withdrawn");
        assert!(r.accredited_at(&did(2), time("2026-05-01T00:00:00Z")));
        assert!(!r.accredited_at(&did(2), time("2026-07-01T00:00:00Z")));
        assert!(!r.accredited_at(&did(3), time("2026-05-01T00:00:00Z")));
    }

    #[test]
    fn the_log_clock_judges_what_is_logged_after_a_change() {
        let mut r = registry();
        // A withdrawal signed on 1 June that takes effect on 1 September.
        let scheduled = StatusChange {
            id: id(2),
            credential_id: id(1),
            status: CredentialStatus::Cancelled,
            reason: "授权到期前撤回".to_owned(),
            effective: time("2026-09-01T00:00:00Z"),
            issuer: did(1),
            successor: None,
        };
        assert!(r.apply(
            &sign(scheduled.to_unsigned(), 1, "2026-06-01T00:00:00Z"),
            10
        ));
        let admitted_at = |signed: &str, admitted: Option<&str>| {
            let when = When {
                position: Some(11),
                signed: time(signed),
                admitted: admitted.map(time),
            };
            code(r.authorise_credential(&title(2, "中级"), &did(2), when))
        };
        // Before the date the issuer still issues; from it, not even back-dated when the
        // admitting node's clock is past it.
        assert_eq!(admitted_at("2026-07-01T00:00:00Z", None), "accredited");
        assert_eq!(
            admitted_at("2026-09-02T00:00:00Z", None),
            "accreditation_withdrawn"
        );
        assert_eq!(
            admitted_at("2026-08-31T23:56:00Z", Some("2026-08-31T23:59:00Z")),
            "accredited"
        );
        assert_eq!(
            admitted_at("2026-08-31T23:56:00Z", Some("2026-09-01T00:01:00Z")),
            "accreditation_withdrawn"
        );
        // A later history entry moves the log's clock for everything logged after it.
        let rotation = KeyRotation {
            id: id(3),
            previous_key: did(2),
            next_key: did(4),
            effective: time("2026-09-02T00:00:00Z"),
            issuer: did(2),
        };
        assert!(r.apply(&sign(rotation.to_unsigned(), 2, "2026-09-02T00:00:00Z"), 20));
        assert_eq!(
            r.log_clock(at(21, "2026-01-01T00:00:00Z")),
            Some(time("2026-09-02T00:00:00Z"))
        );
        let check = |issuer: u8, position: u64, signed: &str| {
            code(r.authorise_credential(&title(issuer, "中级"), &did(issuer), at(position, signed)))
        };
        assert_eq!(check(2, 15, "2026-08-31T23:56:00Z"), "accredited");
        assert_eq!(check(2, 21, "2026-08-31T23:56:00Z"), "key_retired");
        // Expiry too: once the log is past the accreditation's end, nothing logged after it
        // is inside the window, whatever it claims.
        let mut r = registry();
        let other = StatusChange {
            id: id(5),
            credential_id: id(1),
            status: CredentialStatus::Suspended,
            reason: "核查".to_owned(),
            effective: time("2027-01-02T00:00:00Z"),
            issuer: did(1),
            successor: None,
        };
        assert!(r.apply(&sign(other.to_unsigned(), 1, "2027-01-02T00:00:00Z"), 30));
        let title_2026 = title(2, "中级");
        assert_eq!(
            code(r.authorise_credential(&title_2026, &did(2), at(31, "2026-12-30T00:00:00Z"))),
            "accreditation_expired"
        );
        assert_eq!(
            code(r.authorise_credential(&title_2026, &did(2), at(29, "2026-12-30T00:00:00Z"))),
            "accredited"
        );
    }

    #[test]
    fn a_replay_admits_whatever_the_admitting_node_admitted() {
        // Suspended on 1 June at once; the lift, signed on 2 June, takes effect on 1 July;
        // a withdrawal signed on 3 June takes effect on 1 September; an agreement-free
        // history otherwise.
        let mut r = registry();
        let change = |n: u8, status, effective: &str, signed: &str| {
            let change = StatusChange {
                id: id(n),
                credential_id: id(1),
                status,
                reason: "核查".to_owned(),
                effective: time(effective),
                issuer: did(1),
                successor: None,
            };
            sign(change.to_unsigned(), 1, signed)
        };
        assert!(r.apply(
            &change(
                2,
                CredentialStatus::Suspended,
                "2026-06-01T00:00:00Z",
                "2026-06-01T00:00:00Z"
            ),
            10
        ));
        assert!(r.apply(
            &change(
                3,
                CredentialStatus::Valid,
                "2026-07-01T00:00:00Z",
                "2026-06-02T00:00:00Z"
            ),
            11
        ));
        assert!(r.apply(
            &change(
                4,
                CredentialStatus::Cancelled,
                "2026-09-01T00:00:00Z",
                "2026-06-03T00:00:00Z"
            ),
            12
        ));
        let times = [
            "2026-05-15T00:00:00Z",
            "2026-06-01T12:00:00Z",
            "2026-06-15T00:00:00Z",
            "2026-07-02T00:00:00Z",
            "2026-08-31T23:58:00Z",
            "2026-09-01T00:02:00Z",
            "2026-12-31T00:00:00Z",
        ];
        let judge = |position: u64, signed: &str, admitted: Option<&str>| {
            let when = When {
                position: Some(position),
                signed: time(signed),
                admitted: admitted.map(time),
            };
            code(r.authorise_credential(&title(2, "中级"), &did(2), when))
        };
        for position in [5, 11, 12, 13] {
            for signed in times {
                for admitted in times.iter().filter(|admitted| **admitted >= signed) {
                    let at_node = judge(position, signed, Some(admitted));
                    let replayed = judge(position, signed, None);
                    assert!(
                        at_node != "accredited" || replayed == "accredited",
                        "position {position}, signed {signed}, admitted {admitted}: node {at_node}, replay {replayed}"
                    );
                }
            }
        }
        // Signed after the lift took effect, logged after it: issued, at the node and in
        // every replay.
        assert_eq!(
            judge(13, "2026-07-02T00:00:00Z", Some("2026-07-02T00:00:00Z")),
            "accredited"
        );
        assert_eq!(judge(13, "2026-07-02T00:00:00Z", None), "accredited");
        // Signed while suspended, submitted once the lift took effect: refused.
        assert_eq!(
            judge(13, "2026-06-15T00:00:00Z", Some("2026-07-02T00:00:00Z")),
            "accreditation_suspended"
        );
    }

    #[test]
    fn an_immediate_rotation_retires_the_key_for_everything_logged_after_it() {
        let mut r = registry();
        let rotation = KeyRotation {
            id: id(3),
            previous_key: did(2),
            next_key: did(4),
            effective: time("2026-06-01T00:00:00Z"),
            issuer: did(2),
        };
        assert!(r.apply(&sign(rotation.to_unsigned(), 2, "2026-06-01T00:00:00Z"), 20));
        let check = |position: u64, signed: &str| {
            code(r.authorise_credential(&title(2, "中级"), &did(2), at(position, signed)))
        };
        assert_eq!(check(19, "2026-05-31T23:58:00Z"), "accredited");
        // Logged after the rotation, claiming two minutes before it: refused.
        assert_eq!(check(21, "2026-05-31T23:58:00Z"), "key_retired");
    }

    #[test]
    fn a_suspension_is_lifted_only_by_whoever_may_override_its_setter() {
        let r = registry();
        let change = |status: CredentialStatus, signer: u8| {
            let change = StatusChange {
                id: id(20),
                credential_id: id(21),
                status,
                reason: "核查".to_owned(),
                effective: time("2026-06-01T00:00:00Z"),
                issuer: did(signer),
                successor: None,
            };
            sign(change.to_unsigned(), signer, "2026-06-01T00:00:00Z")
        };
        // A credential the enterprise (seed 2) issued, replayed as a log would.
        let mut targets = StatusTargets::new();
        let issued = Admitted {
            authorisation: Authorisation::CredentialIssuer { key: did(2) },
            issuer_event: false,
            status: None,
        };
        targets.record(Some((id(21), &did(2))), &issued, |_| None);
        let step = |r: &IssuerRegistry,
                    targets: &mut StatusTargets,
                    status: CredentialStatus,
                    signer: u8,
                    position: u64| {
            let answer = r.check(&change(status, signer), &did(signer), position, &mut |id| {
                targets.get(id)
            });
            if let Ok(admitted) = &answer {
                targets.record(None, admitted, |_| None);
            }
            answer
                .map(|admitted| admitted.authorisation)
                .map_err(|error| error.code())
        };
        // The authority suspends it: the enterprise may not lift that suspension.
        assert!(step(&r, &mut targets, CredentialStatus::Suspended, 1, 30).is_ok());
        assert_eq!(
            targets.get(id(21)).and_then(|target| target.set_by),
            Some(did(1))
        );
        assert_eq!(
            step(&r, &mut targets, CredentialStatus::Valid, 2, 31),
            Err("lift_not_allowed")
        );
        // The authority may.
        assert!(step(&r, &mut targets, CredentialStatus::Valid, 1, 32).is_ok());
        // The enterprise lifts a suspension it set itself, and the authority one the
        // enterprise set.
        assert!(step(&r, &mut targets, CredentialStatus::Suspended, 2, 33).is_ok());
        assert!(step(&r, &mut targets, CredentialStatus::Valid, 2, 34).is_ok());
        assert!(step(&r, &mut targets, CredentialStatus::Suspended, 2, 35).is_ok());
        assert!(step(&r, &mut targets, CredentialStatus::Valid, 1, 36).is_ok());
        // Making a suspension final is no lift: the enterprise may revoke its credential.
        assert!(step(&r, &mut targets, CredentialStatus::Suspended, 1, 37).is_ok());
        assert!(step(&r, &mut targets, CredentialStatus::Revoked, 2, 38).is_ok());
    }

    #[test]
    fn a_delegated_credential_ends_no_later_than_its_accreditation() {
        let r = registry();
        let with_end = |end: Option<&str>| {
            let mut credential = title(2, "中级");
            match end {
                Some(end) => credential["validUntil"] = end.into(),
                None => {
                    credential
                        .as_object_mut()
                        .expect("object")
                        .remove("validUntil");
                }
            }
            code(r.authorise_credential(&credential, &did(2), at(5, "2026-06-01T00:00:00Z")))
        };
        assert_eq!(with_end(Some("2026-12-31T00:00:00Z")), "accredited");
        assert_eq!(with_end(Some("2027-01-01T00:00:00Z")), "accredited");
        assert_eq!(
            with_end(Some("2027-01-01T00:00:01Z")),
            "validity_outlasts_accreditation"
        );
        assert_eq!(with_end(None), "validity_outlasts_accreditation");
        assert_eq!(
            with_end(Some("不是日期")),
            "validity_outlasts_accreditation"
        );
        // The authority's own credentials are not bounded by anyone's accreditation.
        let mut own = title(1, "正高级");
        own.as_object_mut().expect("object").remove("validUntil");
        assert_eq!(
            code(r.authorise_credential(&own, &did(1), at(5, "2026-06-01T00:00:00Z"))),
            "authority"
        );
    }

    #[test]
    fn rotated_keys_sign_only_before_the_rotation() {
        let mut r = registry();
        let rotation = KeyRotation {
            id: id(3),
            previous_key: did(2),
            next_key: did(4),
            effective: time("2026-06-01T00:00:00Z"),
            issuer: did(2),
        };
        let when = at(20, "2026-05-01T00:00:00Z");
        assert_eq!(
            code(r.authorise_rotation(&rotation, &did(2), when)),
            "issuer"
        );
        assert_eq!(
            code(r.authorise_rotation(&rotation, &did(1), when)),
            "authority"
        );
        assert_eq!(
            code(r.authorise_rotation(&rotation, &did(5), when)),
            "rotation_signer"
        );
        let reuse = KeyRotation {
            next_key: did(1),
            ..rotation.clone()
        };
        assert_eq!(
            code(r.authorise_rotation(&reuse, &did(2), when)),
            "key_reused"
        );
        assert!(r.apply(&sign(rotation.to_unsigned(), 2, "2026-05-01T00:00:00Z"), 20));
        let check = |issuer: u8, position: u64, signed: &str| {
            code(r.authorise_credential(&title(issuer, "中级"), &did(issuer), at(position, signed)))
        };
        assert_eq!(check(2, 21, "2026-05-15T00:00:00Z"), "accredited");
        assert_eq!(check(2, 21, "2026-06-15T00:00:00Z"), "key_retired");
        assert_eq!(check(4, 21, "2026-05-15T00:00:00Z"), "key_not_yet_valid");
        assert_eq!(check(4, 21, "2026-06-15T00:00:00Z"), "accredited");
        // Before the rotation was logged, the new key was nobody's.
        assert_eq!(check(4, 19, "2026-06-15T00:00:00Z"), "not_accredited");
        assert_eq!(
            code(r.authorise_rotation(&rotation, &did(2), at(30, "2026-05-20T00:00:00Z"))),
            "already_rotated"
        );
    }

    #[test]
    fn authority_rotation_moves_the_authority() {
        let mut r = registry();
        let rotation = KeyRotation {
            id: id(5),
            previous_key: did(1),
            next_key: did(6),
            effective: time("2026-08-01T00:00:00Z"),
            issuer: did(1),
        };
        let when = at(30, "2026-08-01T00:00:00Z");
        assert_eq!(
            code(r.authorise_rotation(&rotation, &did(2), when)),
            "rotation_signer"
        );
        assert_eq!(
            code(r.authorise_rotation(&rotation, &did(1), when)),
            "authority"
        );
        assert!(r.apply(&sign(rotation.to_unsigned(), 1, "2026-08-01T00:00:00Z"), 30));
        assert_eq!(r.authority_key(time("2026-09-01T00:00:00Z")), did(6));
        assert_eq!(r.authority_key(time("2026-07-01T00:00:00Z")), did(1));
        assert_eq!(r.latest_authority_key(), did(6));
        assert!(r.same_issuer(&did(1), &did(6)));
        let check = |issuer: u8, signed: &str| {
            code(r.authorise_credential(&title(issuer, "正高级"), &did(issuer), at(31, signed)))
        };
        assert_eq!(check(6, "2026-09-01T00:00:00Z"), "authority");
        assert_eq!(check(1, "2026-09-01T00:00:00Z"), "key_retired");
        // The accreditation the old key signed stays in force.
        assert_eq!(
            code(r.authorise_credential(
                &title(2, "中级"),
                &did(2),
                at(31, "2026-09-01T00:00:00Z")
            )),
            "accredited"
        );
    }
}
