//! One parsed view of a credential: what the registry reads of a credential document,
//! read in one place ([`CredentialView::of`]) instead of indexing the JSON wherever a field
//! is needed.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::identifiers::CredentialId;

use super::time::parse_datetime;
use super::types::CredentialType;

/// A credential document as the registry reads it: its id, registry type, issuer, subject
/// (with the region it claims) and validity. Nothing here is trusted: the view only reads;
/// verification ([`crate::verify`]) says whether the document holds, and only it makes a
/// [`super::VerifiedCredential`].
#[derive(Debug, Clone, Copy)]
pub struct CredentialView<'d> {
    document: &'d Value,
    id: Option<&'d str>,
    credential_type: Option<CredentialType>,
    issuer: Option<&'d str>,
    subject: &'d Value,
    region: Option<&'d str>,
}

impl<'d> CredentialView<'d> {
    /// Reads `document`. Any JSON value reads: what is missing or of the wrong shape is
    /// `None` (and the subject `null`).
    pub fn of(document: &'d Value) -> CredentialView<'d> {
        let subject = &document["credentialSubject"];
        CredentialView {
            document,
            id: document["id"].as_str(),
            credential_type: CredentialType::from_type_array(&document["type"]),
            issuer: document["issuer"].as_str(),
            subject,
            region: subject["region"].as_str(),
        }
    }

    /// The whole document, as signed.
    pub fn document(&self) -> &'d Value {
        self.document
    }

    /// `id`, as written.
    pub fn id_text(&self) -> Option<&'d str> {
        self.id
    }

    /// `id`, when it is a credential id.
    pub fn id(&self) -> Option<CredentialId> {
        self.id.and_then(|id| id.parse().ok())
    }

    /// The one registry type its `type` names, if exactly one.
    pub fn credential_type(&self) -> Option<CredentialType> {
        self.credential_type
    }

    /// `issuer`, when a string.
    pub fn issuer(&self) -> Option<&'d str> {
        self.issuer
    }

    /// `credentialSubject` (`null` when absent).
    pub fn subject(&self) -> &'d Value {
        self.subject
    }

    /// A string field of the subject.
    pub fn subject_text(&self, field: &str) -> Option<&'d str> {
        self.subject[field].as_str()
    }

    /// `credentialSubject.region`: the region the credential *claims*. Which member issued
    /// a credential is the log's that holds it ([`super::VerifiedCredential::member`]).
    pub fn region(&self) -> Option<&'d str> {
        self.region
    }

    /// `validFrom`, as written (any JSON value; `null` when absent).
    pub fn valid_from_value(&self) -> &'d Value {
        &self.document["validFrom"]
    }

    /// `validUntil`, as written (any JSON value; `null` when absent).
    pub fn valid_until_value(&self) -> &'d Value {
        &self.document["validUntil"]
    }

    /// `validFrom` when it is an RFC 3339 date-time.
    pub fn valid_from(&self) -> Option<DateTime<Utc>> {
        self.valid_from_value().as_str().and_then(parse_datetime)
    }

    /// `validUntil` when it is an RFC 3339 date-time.
    pub fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.valid_until_value().as_str().and_then(parse_datetime)
    }

    /// When it was signed: its `proof.created`, when a valid date-time.
    pub fn signed(&self) -> Option<DateTime<Utc>> {
        self.document["proof"]["created"]
            .as_str()
            .and_then(parse_datetime)
    }
}
