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
    /// A status change of a credential of the same log.
    StatusChange,
    /// An issuer's key rotation.
    KeyRotation,
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
    // The scan proves almost every entry canonical; what it cannot prove is written out
    // and compared.
    if !jcs::is_canonical(bytes) && jcs::canonicalize(&object) != bytes {
        return Err(EntryError::NotCanonical);
    }
    let kind = match CredentialType::from_type_array(&object["type"]) {
        Some(credential_type) => EntryKind::Credential(credential_type),
        None => match crate::statement::Statement::kind_of(&object) {
            Some(crate::statement::STATUS_CHANGE_TYPE) => EntryKind::StatusChange,
            Some(_) => EntryKind::KeyRotation,
            None => return Err(EntryError::UnknownKind),
        },
    };
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
    /// The signer may not write this entry to this log (see [`crate::issuers`]).
    #[error("not admitted: {0}")]
    NotAdmitted(crate::issuers::AdmitError),
    /// The object has no valid `id`.
    #[error("the object has no valid urn:uuid id")]
    MissingId,
}

/// A peer's entry that verified: its parsed object, the id it carries and its signer.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEntry {
    /// The parsed entry.
    pub entry: LogEntry,
    /// The object's id.
    pub id: crate::identifiers::CredentialId,
    /// The key that signed it (= its `issuer`).
    pub signer: crate::did::DidKey,
}

/// Checks an entry of a peer's log as a mirror must before admitting it: canonical, a
/// registry type or statement, a valid `eddsa-jcs-2022` proof by its `issuer`. Whether that
/// issuer may write it there is the log's [`crate::issuers::IssuerRegistry::admit`], which
/// needs the entries before it.
///
/// # Errors
/// [`EntryVerifyError`] naming the first check that fails.
pub fn verify_entry(bytes: &[u8]) -> Result<VerifiedEntry, EntryVerifyError> {
    let prepared = prepare_entry(bytes)?;
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
pub fn prepare_entry(bytes: &[u8]) -> Result<PreparedEntry, EntryVerifyError> {
    prepare_entry_with(bytes, &mut crate::did::KeyCache::new())
}

/// [`prepare_entry`] with a key cache, for many entries of few signers.
///
/// # Errors
/// As [`prepare_entry`].
pub fn prepare_entry_with(
    bytes: &[u8],
    keys: &mut crate::did::KeyCache,
) -> Result<PreparedEntry, EntryVerifyError> {
    let entry = decode(bytes)?;
    let proof = crate::proof::prepare_with(
        &entry.object,
        Some(bytes),
        crate::proof::ASSERTION_METHOD,
        keys,
    )
    .map_err(EntryVerifyError::Proof)?;
    let signer = &proof.proof.controller;
    let issuer = entry.object["issuer"].as_str().unwrap_or_default();
    if issuer != signer.to_string() {
        return Err(EntryVerifyError::IssuerNotSigner {
            issuer: issuer.to_owned(),
            signer: signer.to_string(),
        });
    }
    let id = entry.object["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or(EntryVerifyError::MissingId)?;
    let signer = signer.clone();
    Ok(PreparedEntry {
        entry: VerifiedEntry { entry, id, signer },
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
        // The fast document hash can only err towards refusing: confirm the slow way.
        && crate::proof::verify(
            &entries[position].entry.entry.object,
            crate::proof::ASSERTION_METHOD,
        )
        .is_err()
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
