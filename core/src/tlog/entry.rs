//! Log entries: the JCS bytes of one signed object (≤ 65,535 bytes, the entry-bundle limit).
//!
//! The entry carries no envelope of its own: what it is follows from the signed object's
//! `type`, so a verifier needs nothing but the object to check it. Entries must be canonical
//! (their bytes equal the JCS of their JSON), so one object has exactly one entry.

use serde_json::Value;
use thiserror::Error;

use crate::credential::CredentialType;
use crate::jcs;
use crate::tlog::bundle::MAX_ENTRY_BYTES;

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// An issued credential of a registry type (including accreditations and agreements).
    Credential(CredentialType),
}

/// Why bytes are not a valid log entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Larger than an entry bundle can carry.
    #[error("entry of {0} bytes exceeds the {MAX_ENTRY_BYTES}-byte limit")]
    TooLarge(usize),
    /// Not JSON.
    #[error("entry is not JSON")]
    NotJson,
    /// JSON, but not in RFC 8785 canonical form.
    #[error("entry is not canonical JSON (RFC 8785)")]
    NotCanonical,
    /// The object's `type` is not one the log records.
    #[error("entry type is not one the registry logs")]
    UnknownKind,
}

/// A parsed log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// What it records.
    pub kind: EntryKind,
    /// The signed object.
    pub object: Value,
}

/// The entry bytes of a signed object.
///
/// # Errors
/// [`EntryError::TooLarge`].
pub fn encode(object: &Value) -> Result<Vec<u8>, EntryError> {
    let bytes = jcs::canonicalize(object);
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Parses and classifies entry bytes, requiring canonical form.
///
/// # Errors
/// Every [`EntryError`] variant.
pub fn decode(bytes: &[u8]) -> Result<LogEntry, EntryError> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::TooLarge(bytes.len()));
    }
    let object: Value = serde_json::from_slice(bytes).map_err(|_| EntryError::NotJson)?;
    if jcs::canonicalize(&object) != bytes {
        return Err(EntryError::NotCanonical);
    }
    let kind = CredentialType::from_type_array(&object["type"])
        .map(EntryKind::Credential)
        .ok_or(EntryError::UnknownKind)?;
    Ok(LogEntry { kind, object })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_must_be_canonical_and_known() {
        let object = json!({"type": ["VerifiableCredential", "SkillLevelCredential"], "a": 1});
        let bytes = encode(&object).expect("encodes");
        assert_eq!(
            decode(&bytes).expect("decodes").kind,
            EntryKind::Credential(CredentialType::SkillLevelCredential)
        );
        let spaced = serde_json::to_vec_pretty(&object).expect("JSON");
        assert_eq!(decode(&spaced), Err(EntryError::NotCanonical));
        assert_eq!(
            decode(br#"{"type":["VerifiableCredential"]}"#),
            Err(EntryError::UnknownKind)
        );
        assert_eq!(decode(b"{"), Err(EntryError::NotJson));
    }
}
