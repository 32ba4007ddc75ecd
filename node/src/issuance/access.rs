//! Who may have the node sign: the role checks of issuance.

use talent_core::credential::CredentialType;
use talent_integrity::did::DidKey;

use super::error::AccessError;
use super::{IssuanceService, IssueError};
use crate::tokens::{Operator, Role};

impl IssuanceService {
    /// Whether an issuer token bound to `bound` acts for the authority (any key of it).
    pub(super) fn acts_for_authority(&self, bound: Option<&DidKey>) -> bool {
        bound.is_some_and(|bound| {
            self.issuers
                .own()
                .same_issuer(bound, &self.current_authority().did)
        })
    }

    /// Whether `operator` may have the node sign a credential of `credential_type` with the
    /// authority key.
    pub(super) fn may_issue(
        &self,
        operator: &Operator,
        credential_type: Option<CredentialType>,
    ) -> Result<(), IssueError> {
        // Only issuer tokens need the registry's answer.
        let acts_for_authority =
            operator.role == Role::Issuer && self.acts_for_authority(operator.issuer.as_ref());
        issue_access(operator, acts_for_authority, credential_type).map_err(IssueError::Access)
    }
}

/// Whether `operator` may have the node sign a credential of `credential_type` (any, when
/// `None`) with the authority key: admins any type, issuer tokens bound to the authority
/// (`acts_for_authority`) talent credentials only, auditors none.
pub(super) fn issue_access(
    operator: &Operator,
    acts_for_authority: bool,
    credential_type: Option<CredentialType>,
) -> Result<(), AccessError> {
    match operator.role {
        Role::Admin => Ok(()),
        Role::Auditor => Err(AccessError::Role {
            role: operator.role,
            action: "issue credentials",
        }),
        Role::Issuer if !acts_for_authority => Err(AccessError::KeyNotHeld {
            issuer: operator
                .issuer
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }),
        Role::Issuer if credential_type.is_some_and(|t| !t.is_talent()) => Err(AccessError::Role {
            role: operator.role,
            action: "issue accreditations or recognition agreements (admin only)",
        }),
        Role::Issuer => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(role: Role) -> Operator {
        Operator {
            token_id: "t1".into(),
            name: "ops".into(),
            role,
            issuer: None,
        }
    }

    #[test]
    fn admins_issue_every_type_and_auditors_none() {
        let admin = operator(Role::Admin);
        for credential_type in [
            None,
            Some(CredentialType::ProfessionalTitleCredential),
            Some(CredentialType::IssuerAccreditationCredential),
        ] {
            assert_eq!(issue_access(&admin, false, credential_type), Ok(()));
            assert!(matches!(
                issue_access(&operator(Role::Auditor), true, credential_type),
                Err(AccessError::Role {
                    role: Role::Auditor,
                    ..
                })
            ));
        }
    }

    #[test]
    fn issuer_tokens_issue_talent_credentials_for_the_authority_only() {
        let issuer = operator(Role::Issuer);
        let talent = Some(CredentialType::ProfessionalTitleCredential);
        assert_eq!(issue_access(&issuer, true, talent), Ok(()));
        assert_eq!(issue_access(&issuer, true, None), Ok(()));
        assert!(matches!(
            issue_access(&issuer, false, talent),
            Err(AccessError::KeyNotHeld { .. })
        ));
        assert!(matches!(
            issue_access(
                &issuer,
                true,
                Some(CredentialType::RecognitionAgreementCredential)
            ),
            Err(AccessError::Role { .. })
        ));
    }
}
