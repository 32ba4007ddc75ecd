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

/// Why a peer's log entry is not acceptable to a mirror.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryVerifyError {
    /// The bytes are not a valid entry.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The signed object's proof does not verify.
    #[error("proof does not verify: {0}")]
    Proof(crate::proof::ProofError),
    /// The object's `issuer` is missing or not the controller of the signing key.
    #[error("issuer {issuer:?} did not sign it (signed by {signer})")]
    IssuerNotSigner {
        /// The `issuer` value.
        issuer: String,
        /// Controller of the key that signed.
        signer: String,
    },
    /// The signer is neither the log owner's authority nor an issuer it accredited.
    #[error("issuer {issuer} may not write to this log (its authority is {authority})")]
    UnauthorisedIssuer {
        /// The signer.
        issuer: String,
        /// The log owner's authority DID.
        authority: String,
    },
    /// The object has no valid `id`.
    #[error("the object has no valid urn:uuid id")]
    MissingId,
}

/// A peer's entry that verified: its parsed object and the credential id it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEntry {
    /// The parsed entry.
    pub entry: LogEntry,
    /// The object's id.
    pub id: crate::identifiers::CredentialId,
}

/// Checks an entry of the log of the member whose authority is `authority`, as a mirror
/// must before accepting it: canonical, a registry type, a valid `eddsa-jcs-2022` proof by
/// its `issuer`, and that issuer is the member's authority.
///
/// (Delegated issuers accredited by the authority are admitted once accreditations are
/// logged; until then only the authority writes to its log.)
///
/// # Errors
/// [`EntryVerifyError`] naming the first check that fails.
pub fn verify_entry(
    bytes: &[u8],
    authority: &crate::did::DidKey,
) -> Result<VerifiedEntry, EntryVerifyError> {
    let prepared = prepare_entry(bytes, authority)?;
    prepared.proof.verify().map_err(EntryVerifyError::Proof)?;
    Ok(prepared.entry)
}

/// An entry checked in every way but its signature (see [`verify_entries`]).
#[derive(Debug, Clone)]
pub struct PreparedEntry {
    /// The entry, valid once the signature verifies.
    pub entry: VerifiedEntry,
    proof: crate::proof::PreparedProof,
}

/// [`verify_entry`] without the signature check, which [`verify_entries`] does in a batch.
///
/// # Errors
/// [`EntryVerifyError`] naming the first check that fails.
pub fn prepare_entry(
    bytes: &[u8],
    authority: &crate::did::DidKey,
) -> Result<PreparedEntry, EntryVerifyError> {
    let entry = decode(bytes)?;
    let proof = crate::proof::prepare(&entry.object, crate::proof::ASSERTION_METHOD)
        .map_err(EntryVerifyError::Proof)?;
    let signer = &proof.proof.controller;
    let issuer = entry.object["issuer"].as_str().unwrap_or_default();
    if issuer != signer.to_string() {
        return Err(EntryVerifyError::IssuerNotSigner {
            issuer: issuer.to_owned(),
            signer: signer.to_string(),
        });
    }
    if signer != authority {
        return Err(EntryVerifyError::UnauthorisedIssuer {
            issuer: issuer.to_owned(),
            authority: authority.to_string(),
        });
    }
    let id = entry.object["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or(EntryVerifyError::MissingId)?;
    Ok(PreparedEntry {
        entry: VerifiedEntry { entry, id },
        proof,
    })
}

/// Verifies the signatures of prepared entries in one Ed25519 batch: a mirror catching up
/// checks thousands of entries at a time.
///
/// # Errors
/// The position of the first entry whose signature does not verify, with the error.
pub fn verify_entries(
    entries: Vec<PreparedEntry>,
) -> Result<Vec<VerifiedEntry>, (usize, EntryVerifyError)> {
    let proofs: Vec<crate::proof::PreparedProof> =
        entries.iter().map(|entry| entry.proof.clone()).collect();
    if let Err(position) = crate::proof::verify_batch(&proofs)
        && let Err(error) = proofs[position].clone().verify()
    {
        return Err((position, EntryVerifyError::Proof(error)));
    }
    Ok(entries.into_iter().map(|entry| entry.entry).collect())
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
