//! Signed statements a log records beside credentials: a **status change** of a credential
//! and an issuer's **key rotation**. Each is a JSON object with its own `eddsa-jcs-2022`
//! proof by its `issuer`, and one log entry.
//!
//! ```json
//! {"@context": ["https://talent-registry.example/ns/v1"], "type": ["CredentialStatusChange"],
//!  "id": "urn:uuid:…", "credentialId": "urn:uuid:…", "status": "04", "reason": "…",
//!  "effective": "2026-11-26T03:00:00Z", "issuer": "did:key:z6Mk…", "proof": {…}}
//!
//! {"@context": ["https://talent-registry.example/ns/v1"], "type": ["IssuerKeyRotation"],
//!  "id": "urn:uuid:…", "previousKey": "did:key:z6Mk…", "nextKey": "did:key:z6Mk…",
//!  "effective": "2026-11-26T03:00:00Z", "issuer": "did:key:z6Mk…", "proof": {…}}
//! ```
//!
//! Parsing is strict (unknown fields are refused) so one statement has one meaning.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::credential::{format_datetime, parse_datetime};
use crate::identifiers::CredentialId;
use crate::schema::CONTEXT_V1_URL;
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

/// `type` of a status change.
pub const STATUS_CHANGE_TYPE: &str = "CredentialStatusChange";
/// `type` of a key rotation.
pub const KEY_ROTATION_TYPE: &str = "IssuerKeyRotation";
/// Longest `reason`, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a JSON object is not a valid statement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The object does not have the statement's fields (or has others).
    #[error("not a valid {kind}: {detail}")]
    Malformed {
        /// Which statement was expected.
        kind: &'static str,
        /// What is wrong, from the parser.
        detail: String,
    },
    /// A field holds an invalid value.
    #[error("{field}: {detail}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// A logged change of one credential's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The statement's own id.
    pub id: CredentialId,
    /// The credential whose status changes (in the same log).
    pub credential_id: CredentialId,
    /// The new status.
    pub status: CredentialStatus,
    /// Why, for the record.
    pub reason: String,
    /// When the change takes effect. A change never takes effect before it was signed.
    pub effective: DateTime<Utc>,
    /// Who signed it: the credential's issuer or the member's authority.
    pub issuer: DidKey,
    /// For `06` (transferred out): the credential that replaces it.
    pub successor: Option<CredentialId>,
}

/// A logged rotation of an issuer's key: `previous_key` signs nothing from `effective` on,
/// `next_key` takes over its authority and accreditations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    /// The statement's own id.
    pub id: CredentialId,
    /// The key being retired.
    pub previous_key: DidKey,
    /// The key that replaces it.
    pub next_key: DidKey,
    /// When the previous key stops being valid for new signatures.
    pub effective: DateTime<Utc>,
    /// Who signed it: the previous key itself, or the member's authority.
    pub issuer: DidKey,
}

/// A statement of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// A status change.
    StatusChange(Box<StatusChange>),
    /// A key rotation.
    KeyRotation(Box<KeyRotation>),
}

impl Statement {
    /// The kind named by a JSON object's `type`, if it is a statement.
    pub fn kind_of(object: &Value) -> Option<&'static str> {
        let types = object.get("type")?.as_array()?;
        match types.as_slice() {
            [Value::String(t)] if t == STATUS_CHANGE_TYPE => Some(STATUS_CHANGE_TYPE),
            [Value::String(t)] if t == KEY_ROTATION_TYPE => Some(KEY_ROTATION_TYPE),
            _ => None,
        }
    }

    /// Parses a (signed or unsigned) statement of either kind.
    ///
    /// # Errors
    /// [`StatementError`] naming the problem.
    pub fn from_json(object: &Value) -> Result<Statement, StatementError> {
        match Statement::kind_of(object) {
            Some(STATUS_CHANGE_TYPE) => StatusChange::from_json(object)
                .map(|change| Statement::StatusChange(Box::new(change))),
            Some(_) => KeyRotation::from_json(object)
                .map(|rotation| Statement::KeyRotation(Box::new(rotation))),
            None => Err(StatementError::Malformed {
                kind: "statement",
                detail: format!(
                    "type must be [\"{STATUS_CHANGE_TYPE}\"] or [\"{KEY_ROTATION_TYPE}\"]"
                ),
            }),
        }
    }

    /// The statement's id.
    pub fn id(&self) -> CredentialId {
        match self {
            Statement::StatusChange(change) => change.id,
            Statement::KeyRotation(rotation) => rotation.id,
        }
    }

    /// Its signer.
    pub fn issuer(&self) -> &DidKey {
        match self {
            Statement::StatusChange(change) => &change.issuer,
            Statement::KeyRotation(rotation) => &rotation.issuer,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusChangeFields {
    #[serde(rename = "@context")]
    _context: Vec<String>,
    #[serde(rename = "type")]
    _type: Vec<String>,
    id: String,
    credential_id: String,
    status: String,
    reason: String,
    effective: String,
    issuer: String,
    #[serde(default)]
    successor: Option<String>,
    #[serde(default, rename = "proof")]
    _proof: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyRotationFields {
    #[serde(rename = "@context")]
    _context: Vec<String>,
    #[serde(rename = "type")]
    _type: Vec<String>,
    id: String,
    previous_key: String,
    next_key: String,
    effective: String,
    issuer: String,
    #[serde(default, rename = "proof")]
    _proof: Option<Value>,
}

fn context_ok(object: &Value) -> bool {
    object.get("@context") == Some(&json!([CONTEXT_V1_URL]))
}

fn parse_id(field: &'static str, text: &str) -> Result<CredentialId, StatementError> {
    text.parse().map_err(|error| StatementError::InvalidField {
        field,
        detail: format!("{error}"),
    })
}

fn parse_did(field: &'static str, text: &str) -> Result<DidKey, StatementError> {
    text.parse().map_err(|error| StatementError::InvalidField {
        field,
        detail: format!("{text:?}: {error}"),
    })
}

fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, StatementError> {
    parse_datetime(text).ok_or_else(|| StatementError::InvalidField {
        field,
        detail: format!("{text:?} is not an RFC 3339 date-time"),
    })
}

fn fields<T: for<'de> Deserialize<'de>>(
    object: &Value,
    kind: &'static str,
) -> Result<T, StatementError> {
    if !context_ok(object) {
        return Err(StatementError::InvalidField {
            field: "@context",
            detail: format!("must be [\"{CONTEXT_V1_URL}\"]"),
        });
    }
    // The proof is only admitted here; the proof module checks it.
    T::deserialize(object).map_err(|error| StatementError::Malformed {
        kind,
        detail: error.to_string(),
    })
}

impl StatusChange {
    /// Parses a (signed or unsigned) status change.
    ///
    /// # Errors
    /// [`StatementError`] naming the problem: unknown or missing fields, a bad id, DID,
    /// time or code, an empty or overlong reason, a successor missing for `06` or given for
    /// anything else, or `05` (which follows from `validUntil`).
    pub fn from_json(object: &Value) -> Result<StatusChange, StatementError> {
        if Statement::kind_of(object) != Some(STATUS_CHANGE_TYPE) {
            return Err(StatementError::InvalidField {
                field: "type",
                detail: format!("must be [\"{STATUS_CHANGE_TYPE}\"]"),
            });
        }
        let fields: StatusChangeFields = fields(object, STATUS_CHANGE_TYPE)?;
        let status: CredentialStatus =
            fields
                .status
                .parse()
                .map_err(
                    |error: crate::status::StatusError| StatementError::InvalidField {
                        field: "status",
                        detail: error.to_string(),
                    },
                )?;
        if status == CredentialStatus::Expired {
            return Err(StatementError::InvalidField {
                field: "status",
                detail: "05 (expired) follows from validUntil and is never set".to_owned(),
            });
        }
        let reason = fields.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(StatementError::InvalidField {
                field: "reason",
                detail: format!("must be 1 to {MAX_REASON_CHARS} characters"),
            });
        }
        let successor = fields
            .successor
            .as_deref()
            .map(|text| parse_id("successor", text))
            .transpose()?;
        match (status, successor) {
            (CredentialStatus::TransferredOut, None) => {
                return Err(StatementError::InvalidField {
                    field: "successor",
                    detail: "06 (transferred out) names the successor credential".to_owned(),
                });
            }
            (CredentialStatus::TransferredOut, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(StatementError::InvalidField {
                    field: "successor",
                    detail: "only 06 (transferred out) has a successor".to_owned(),
                });
            }
        }
        Ok(StatusChange {
            id: parse_id("id", &fields.id)?,
            credential_id: parse_id("credentialId", &fields.credential_id)?,
            status,
            reason: fields.reason,
            effective: parse_time("effective", &fields.effective)?,
            issuer: parse_did("issuer", &fields.issuer)?,
            successor,
        })
    }

    /// The unsigned JSON object, ready for the issuer's proof.
    pub fn to_unsigned(&self) -> Value {
        let mut object = json!({
            "@context": [CONTEXT_V1_URL],
            "type": [STATUS_CHANGE_TYPE],
            "id": self.id.to_string(),
            "credentialId": self.credential_id.to_string(),
            "status": self.status.code(),
            "reason": self.reason,
            "effective": format_datetime(self.effective),
            "issuer": self.issuer.to_string(),
        });
        if let Some(successor) = self.successor {
            object["successor"] = successor.to_string().into();
        }
        object
    }
}

impl KeyRotation {
    /// Parses a (signed or unsigned) key rotation.
    ///
    /// # Errors
    /// [`StatementError`] naming the problem; rotating a key to itself is refused.
    pub fn from_json(object: &Value) -> Result<KeyRotation, StatementError> {
        if Statement::kind_of(object) != Some(KEY_ROTATION_TYPE) {
            return Err(StatementError::InvalidField {
                field: "type",
                detail: format!("must be [\"{KEY_ROTATION_TYPE}\"]"),
            });
        }
        let fields: KeyRotationFields = fields(object, KEY_ROTATION_TYPE)?;
        let rotation = KeyRotation {
            id: parse_id("id", &fields.id)?,
            previous_key: parse_did("previousKey", &fields.previous_key)?,
            next_key: parse_did("nextKey", &fields.next_key)?,
            effective: parse_time("effective", &fields.effective)?,
            issuer: parse_did("issuer", &fields.issuer)?,
        };
        if rotation.previous_key == rotation.next_key {
            return Err(StatementError::InvalidField {
                field: "nextKey",
                detail: "is the previous key".to_owned(),
            });
        }
        Ok(rotation)
    }

    /// The unsigned JSON object, ready for the signer's proof.
    pub fn to_unsigned(&self) -> Value {
        json!({
            "@context": [CONTEXT_V1_URL],
            "type": [KEY_ROTATION_TYPE],
            "id": self.id.to_string(),
            "previousKey": self.previous_key.to_string(),
            "nextKey": self.next_key.to_string(),
            "effective": format_datetime(self.effective),
            "issuer": self.issuer.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn did(seed: u8) -> DidKey {
        DidKey::from_verifying_key(&SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    fn id(n: u8) -> CredentialId {
        CredentialId::parse_lenient(&format!("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c{n:02x}"))
            .expect("valid id")
    }

    fn change(status: CredentialStatus, successor: Option<CredentialId>) -> StatusChange {
        StatusChange {
            id: id(1),
            credential_id: id(2),
            status,
            reason: "授权期满不再续期".to_owned(),
            effective: parse_datetime("2026-11-26T03:00:00Z").expect("time"),
            issuer: did(1),
            successor,
        }
    }

    #[test]
    fn status_change_round_trips_and_refuses_extras() {
        let original = change(CredentialStatus::Cancelled, None);
        let json = original.to_unsigned();
        assert_eq!(StatusChange::from_json(&json), Ok(original.clone()));
        let mut signed = json.clone();
        signed["proof"] = json!({"type": "DataIntegrityProof"});
        assert_eq!(
            Statement::from_json(&signed),
            Ok(Statement::StatusChange(Box::new(original)))
        );
        let mut extra = json.clone();
        extra["note"] = "x".into();
        assert!(matches!(
            StatusChange::from_json(&extra),
            Err(StatementError::Malformed { .. })
        ));
        let mut bad_code = json.clone();
        bad_code["status"] = "05".into();
        assert!(StatusChange::from_json(&bad_code).is_err());
        bad_code["status"] = "9".into();
        assert!(StatusChange::from_json(&bad_code).is_err());
        let mut empty_reason = json;
        empty_reason["reason"] = "  ".into();
        assert!(StatusChange::from_json(&empty_reason).is_err());
    }

    #[test]
    fn transfer_needs_a_successor_and_nothing_else_has_one() {
        let transfer = change(CredentialStatus::TransferredOut, Some(id(3)));
        assert_eq!(
            StatusChange::from_json(&transfer.to_unsigned()),
            Ok(transfer)
        );
        let without = change(CredentialStatus::TransferredOut, None);
        assert!(StatusChange::from_json(&without.to_unsigned()).is_err());
        let with = change(CredentialStatus::Revoked, Some(id(3)));
        assert!(StatusChange::from_json(&with.to_unsigned()).is_err());
    }

    #[test]
    fn key_rotation_round_trips() {
        let rotation = KeyRotation {
            id: id(4),
            previous_key: did(1),
            next_key: did(2),
            effective: parse_datetime("2026-11-26T03:00:00Z").expect("time"),
            issuer: did(1),
        };
        let json = rotation.to_unsigned();
        assert_eq!(
            Statement::from_json(&json),
            Ok(Statement::KeyRotation(Box::new(rotation.clone())))
        );
        let mut same = json;
        same["nextKey"] = same["previousKey"].clone();
        assert!(KeyRotation::from_json(&same).is_err());
    }
}
