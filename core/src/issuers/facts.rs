//! What an authorisation is judged on: the point of the log ([`When`]) and the few facts
//! read of a credential (its type, subject, signing time and end of validity).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::accreditation::SubjectFacts;
use crate::credential::{CredentialType, parse_datetime};

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

/// What the authority check reads of a credential.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts<'a> {
    pub(super) credential_type: CredentialType,
    pub(super) subject: &'a SubjectFacts,
    pub(super) valid_until: Option<DateTime<Utc>>,
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
