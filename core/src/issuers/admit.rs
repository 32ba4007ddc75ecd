//! Admission of an entry into a log: every writer (the issuing node, each mirror) admits
//! entries through [`IssuerRegistry::admit`], in log order, so they all accept and refuse the
//! same entries.

use chrono::{DateTime, Utc};
use serde_json::Value;
use thiserror::Error;

use crate::accreditation::SubjectFacts;
use crate::credential::CredentialType;
use crate::identifiers::CredentialId;
use crate::statement::{KeyRotation, StatusChange};
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

use super::authorisation::{Authorisation, AuthorisationError};
use super::facts::{Facts, When, signing_time};
use super::registry::IssuerRegistry;
use super::status_target::StatusTarget;

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

impl<'a> From<&'a Value> for Admissible<'a> {
    fn from(object: &'a Value) -> Admissible<'a> {
        Admissible::Object(object)
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
