//! Whether a signer was allowed to write a credential, a status change or a key rotation
//! into the member's log at a point of it.

use serde_json::Value;

use crate::accreditation::SubjectFacts;
use crate::credential::CredentialView;
use crate::statement::{KeyRotation, StatusChange};
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

use super::authorisation::{Authorisation, AuthorisationError};
use super::facts::{Facts, When};
use super::registry::IssuerRegistry;
use super::status_target::StatusTarget;

impl IssuerRegistry {
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
        self.authorise_view(&CredentialView::of(credential), signer, when)
    }

    /// [`IssuerRegistry::authorise_credential`] of a credential already read.
    ///
    /// # Errors
    /// [`AuthorisationError`] naming the accreditation checked and what fails.
    pub fn authorise_view(
        &self,
        credential: &CredentialView<'_>,
        signer: &DidKey,
        when: When,
    ) -> Result<Authorisation, AuthorisationError> {
        let credential_type = credential
            .credential_type()
            .ok_or(AuthorisationError::NotACredential)?;
        let subject = SubjectFacts::of(credential_type, credential.subject());
        self.authorise(
            &Facts {
                credential_type,
                subject: &subject,
                valid_until: credential.valid_until(),
            },
            signer,
            when,
        )
    }

    /// [`IssuerRegistry::authorise_credential`] from the [`Facts`] of the credential, all it
    /// reads of the credential.
    pub(super) fn authorise(
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
}
