//! Status: changes of a logged credential's status signed by the authority, and the
//! reservation of status-list slots for credentials an issuer will sign itself.

use chrono::Utc;
use serde_json::Value;
use talent_core::identifiers::CredentialId;
use talent_core::statement::{StatementError, StatusChange};
use talent_integrity::did::DidKey;
use uuid::Uuid;

use super::error::AccessError;
use super::{IssuanceService, IssueError, IssuedCredential};
use crate::reservations::ReserveError;
use crate::tokens::{Operator, Role};

impl IssuanceService {
    /// Changes the status of a credential of this log, signed by the authority.
    ///
    /// `body`: `{"status": "04", "reason": "…", "effective"?: RFC 3339, "successor"?: id}`.
    ///
    /// # Errors
    /// [`IssueError::Access`] (auditors; issuer tokens not bound to the authority, whose
    /// issuers sign their own status changes and submit them), [`IssueError::Statement`],
    /// [`IssueError::NotAdmitted`] (unknown credential, impossible transition).
    pub async fn change_status(
        &self,
        operator: &Operator,
        credential_id: CredentialId,
        body: &Value,
    ) -> Result<IssuedCredential, IssueError> {
        let operator = &self.current_operator(operator)?;
        match operator.role {
            Role::Admin => {}
            Role::Auditor => {
                return Err(IssueError::Access(AccessError::Role {
                    role: operator.role,
                    action: "change statuses",
                }));
            }
            Role::Issuer if self.acts_for_authority(operator.issuer.as_ref()) => {}
            Role::Issuer => {
                return Err(IssueError::Access(AccessError::KeyNotHeld {
                    issuer: operator
                        .issuer
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                }));
            }
        }
        let gate = self.enter(true).await;
        self.current_operator(operator)?;
        let now = Utc::now();
        let unsigned = StatusChange {
            id: CredentialId::from_uuid(Uuid::now_v7()),
            credential_id,
            status: talent_core::status::CredentialStatus::Valid,
            reason: String::new(),
            effective: now,
            issuer: self.current_authority().did.clone(),
            successor: None,
        }
        .to_unsigned();
        let unsigned = status_change_request(unsigned, body)?;
        let change = StatusChange::from_json(&unsigned).map_err(IssueError::Statement)?;
        let statement = self.authority_statement(change.id, change.to_unsigned(), now)?;
        self.append_one(&gate, statement).await
    }

    /// Reserves a status-list slot for a credential that `issuer` (bound to the operator's
    /// token, or named by an admin) will sign itself and submit; returns its
    /// `credentialStatus`. Only the authority and issuers with an accreditation in force get
    /// slots, and each issuer holds at most the configured number unused.
    ///
    /// # Errors
    /// [`IssueError::Token`] for a revoked token, [`IssueError::Access`] for auditors, for
    /// issuer tokens naming another issuer and for issuers without an accreditation in
    /// force, [`IssueError::TooManyReservations`], [`IssueError::Internal`].
    pub fn reserve_status_slot(
        &self,
        operator: &Operator,
        issuer: Option<DidKey>,
    ) -> Result<Value, IssueError> {
        let operator = &self.current_operator(operator)?;
        let issuer = match (operator.role, &operator.issuer, issuer) {
            (Role::Auditor, ..) => {
                return Err(IssueError::Access(AccessError::Role {
                    role: operator.role,
                    action: "reserve status-list slots",
                }));
            }
            (Role::Issuer, Some(bound), Some(named)) if bound != &named => {
                return Err(IssueError::Access(AccessError::IssuerMismatch {
                    token_issuer: bound.to_string(),
                    issuer: named.to_string(),
                }));
            }
            (Role::Issuer, Some(bound), _) => bound.clone(),
            (_, _, Some(named)) => named,
            (_, _, None) => self.current_authority().did.clone(),
        };
        let registry = self.issuers.own();
        let now = Utc::now();
        if !registry.same_issuer(&issuer, &self.current_authority().did)
            && !registry.accredited_at(&issuer, now)
        {
            return Err(IssueError::Access(AccessError::NotAccredited {
                issuer: issuer.to_string(),
            }));
        }
        self.reservations
            .reserve(&self.store, &registry, &issuer, || {
                let slot = self.status_lists.allocate()?;
                self.store.reserve_status_slot(slot, &issuer.to_string())?;
                Ok(slot)
            })
            .map(|slot| self.status_lists.entries(slot))
            .map_err(|error| match error {
                ReserveError::Limit { outstanding, limit } => IssueError::TooManyReservations {
                    issuer: issuer.to_string(),
                    outstanding,
                    limit,
                },
                ReserveError::Store(error) => error.into(),
            })
    }
}

/// The fields a status change request may carry, all strings: `status` and `reason`
/// required, `effective` and `successor` optional.
const STATUS_REQUEST_FIELDS: [&str; 4] = ["status", "reason", "effective", "successor"];

/// `unsigned`, a status change as the authority would sign it, with the fields of the
/// request `body` set on it; nothing else may be in the body.
fn status_change_request(mut unsigned: Value, body: &Value) -> Result<Value, IssueError> {
    let invalid = |detail: String| {
        IssueError::Statement(StatementError::InvalidField {
            field: "body",
            detail,
        })
    };
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    for field in STATUS_REQUEST_FIELDS {
        match body.get(field) {
            Some(Value::String(_)) => unsigned[field] = body[field].clone(),
            None | Some(Value::Null) => {}
            Some(_) => return Err(invalid(format!("{field} must be a string"))),
        }
    }
    if text("status").is_none() || text("reason").is_none() {
        return Err(invalid("status and reason are required".into()));
    }
    if let Some(extra) = body.as_object().and_then(|map| {
        map.keys()
            .find(|key| !STATUS_REQUEST_FIELDS.contains(&key.as_str()))
    }) {
        return Err(invalid(format!("unknown field {extra:?}")));
    }
    Ok(unsigned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn detail(result: Result<Value, IssueError>) -> String {
        match result {
            Err(IssueError::Statement(StatementError::InvalidField { detail, .. })) => detail,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn a_status_request_sets_its_fields_and_nothing_else() {
        let unsigned = json!({"type": "CredentialStatusChange", "status": "00", "reason": ""});
        let body = json!({"status": "04", "reason": "吊销", "successor": null});
        let change = status_change_request(unsigned.clone(), &body).expect("valid");
        assert_eq!(change["status"], "04");
        assert_eq!(change["reason"], "吊销");
        assert_eq!(change["type"], "CredentialStatusChange");
        assert!(change.get("successor").is_none());

        let missing = json!({"status": "04"});
        assert!(detail(status_change_request(unsigned.clone(), &missing)).contains("required"));
        let number = json!({"status": 4, "reason": "x"});
        assert_eq!(
            detail(status_change_request(unsigned.clone(), &number)),
            "status must be a string"
        );
        let extra = json!({"status": "04", "reason": "x", "issuer": "did:key:z"});
        assert!(detail(status_change_request(unsigned, &extra)).contains("unknown field"));
    }
}
