//! The answers of an authorisation: why an object was allowed ([`Authorisation`]) or why not
//! ([`AuthorisationError`], [`AccreditationProblem`]), each with a stable machine code.

use thiserror::Error;

use crate::accreditation::ScopeViolation;
use crate::credential::CredentialType;
use crate::identifiers::CredentialId;
use crate::status::{CredentialStatus, StatusError};
use talent_integrity::did::DidKey;

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
