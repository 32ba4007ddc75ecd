//! Log entries: the JCS bytes of one signed object (≤ 65,535 bytes, the entry-bundle limit).
//!
//! The entry carries no envelope of its own: what it is follows from the signed object's
//! `type`, so a verifier needs nothing but the object to check it. Entries must be canonical
//! (their bytes equal the JCS of their JSON), so one object has exactly one entry.

use serde_json::Value;
use thiserror::Error;

use crate::accreditation::SubjectFacts;
use crate::credential::CredentialType;
use talent_integrity::jcs;
use talent_tlog::bundle::MAX_ENTRY_BYTES;

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
    Proof(talent_integrity::proof::ProofError),
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
    pub signer: talent_integrity::did::DidKey,
}

impl VerifiedEntry {
    /// The id and signer of a credential entry, for [`crate::issuers::StatusTargets`].
    pub fn issued(
        &self,
    ) -> Option<(
        crate::identifiers::CredentialId,
        &talent_integrity::did::DidKey,
    )> {
        matches!(self.entry.kind, EntryKind::Credential(_)).then_some((self.id, &self.signer))
    }
}

/// Checks an entry of a peer's log as a mirror must before admitting it: canonical, a
/// registry type or statement, a valid `eddsa-jcs-2022` proof by its `issuer`. Whether that
/// issuer may write it there is the log's [`crate::issuers::IssuerRegistry::admit`], which
/// needs the entries before it.
///
/// # Errors
/// [`EntryVerifyError`] naming the first check that fails.
pub fn verify_entry(bytes: &[u8]) -> Result<VerifiedEntry, EntryVerifyError> {
    let (entry, proof) = prepare_whole(bytes, &mut talent_integrity::did::KeyCache::new())?;
    proof.verify().map_err(EntryVerifyError::Proof)?;
    Ok(entry)
}

/// [`verify_entry`] without the signature check: the entry parsed whole.
fn prepare_whole(
    bytes: &[u8],
    keys: &mut talent_integrity::did::KeyCache,
) -> Result<(VerifiedEntry, talent_integrity::proof::PreparedProof), EntryVerifyError> {
    let entry = decode(bytes)?;
    let proof = talent_integrity::proof::prepare_with(
        &entry.object,
        talent_integrity::proof::ASSERTION_METHOD,
        keys,
    )
    .map_err(EntryVerifyError::Proof)?;
    let signer = &proof.proof.controller;
    let issuer = entry.object["issuer"].as_str().unwrap_or_default();
    if !signer.is_written_as(issuer) {
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
    Ok((VerifiedEntry { entry, id, signer }, proof))
}

/// A peer's entry checked as [`verify_entry`] checks it, keeping only what admitting it
/// reads: a mirror verifies thousands of entries a second, and a few facts of a talent
/// credential's subject are all of it that admission needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorEntry {
    /// What it records.
    pub kind: EntryKind,
    /// The object's id.
    pub id: crate::identifiers::CredentialId,
    /// The key that signed it (= its `issuer`).
    pub signer: talent_integrity::did::DidKey,
    content: MirrorContent,
}

/// What a [`MirrorEntry`] keeps for admission.
#[derive(Debug, Clone, PartialEq)]
enum MirrorContent {
    /// A talent credential: what admission reads of its `credentialSubject`, its signing
    /// time and the end of its validity.
    TalentCredential {
        credential_type: CredentialType,
        subject: SubjectFacts,
        signed: Option<chrono::DateTime<chrono::Utc>>,
        valid_until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Anything else, whole.
    Whole(Value),
}

impl MirrorEntry {
    /// The entry as [`crate::issuers::IssuerRegistry::admit`] reads it.
    pub fn admissible(&self) -> crate::issuers::Admissible<'_> {
        match &self.content {
            MirrorContent::TalentCredential {
                credential_type,
                subject,
                signed,
                valid_until,
            } => crate::issuers::Admissible::TalentCredential {
                credential_type: *credential_type,
                subject,
                signed: *signed,
                valid_until: *valid_until,
            },
            MirrorContent::Whole(object) => crate::issuers::Admissible::Object(object),
        }
    }

    /// The id and signer of a credential entry, for [`crate::issuers::StatusTargets`].
    pub fn issued(
        &self,
    ) -> Option<(
        crate::identifiers::CredentialId,
        &talent_integrity::did::DidKey,
    )> {
        matches!(self.kind, EntryKind::Credential(_)).then_some((self.id, &self.signer))
    }
}

impl From<VerifiedEntry> for MirrorEntry {
    fn from(verified: VerifiedEntry) -> MirrorEntry {
        MirrorEntry {
            kind: verified.entry.kind,
            id: verified.id,
            signer: verified.signer,
            content: MirrorContent::Whole(verified.entry.object),
        }
    }
}

/// An entry checked in every way but its signature (see [`verify_entries`]).
#[derive(Debug, Clone)]
pub struct PreparedEntry {
    /// The entry, valid once the signature verifies.
    pub entry: MirrorEntry,
    proof: talent_integrity::proof::PreparedProof,
}

/// [`verify_entry`] without the signature check, which [`verify_entries`] does in a batch,
/// with a key cache for many entries of few signers. The same entries pass and fail as
/// with [`verify_entry`].
///
/// # Errors
/// [`EntryVerifyError`] naming the first check that fails.
pub fn prepare_entry_with(
    bytes: &[u8],
    keys: &mut talent_integrity::did::KeyCache,
) -> Result<PreparedEntry, EntryVerifyError> {
    if let Some(prepared) = prepare_talent_credential(bytes, keys) {
        return Ok(prepared);
    }
    let (entry, proof) = prepare_whole(bytes, keys)?;
    Ok(PreparedEntry {
        entry: entry.into(),
        proof,
    })
}

/// The fast way to [`prepare_entry_with`]'s answer for the entries a log is mostly made of:
/// a talent credential whose canonical form [`jcs::canonical_members`] proves is checked from
/// its text, reading of its subject only the [`SubjectFacts`] admission needs
/// ([`talent_integrity::proof::prepare_canonical`] hashes the text itself). `None` for anything else,
/// and for anything that would fail: [`prepare_whole`] decides those and names the error.
fn prepare_talent_credential(
    bytes: &[u8],
    keys: &mut talent_integrity::did::KeyCache,
) -> Option<PreparedEntry> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return None;
    }
    let members = jcs::canonical_members(bytes)?;
    // The scan does not check UTF-8: it is checked here, whole.
    let text = std::str::from_utf8(bytes).ok()?;
    // A top-level member's text, by name (each name is there once).
    let member = |name: &str| jcs::member_text(text, &members, name);
    // A string member without escapes, borrowed; anything else is left to the whole check.
    let string =
        |name: &str| member(name).and_then(|value| serde_json::from_str::<&str>(value).ok());
    let types: Vec<&str> = serde_json::from_str(member("type")?).ok()?;
    let credential_type = CredentialType::from_type_names(types)?;
    if !credential_type.is_talent() {
        return None;
    }
    let proof = talent_integrity::proof::prepare_canonical(
        text,
        member("proof")?,
        member("@context"),
        talent_integrity::proof::ASSERTION_METHOD,
        keys,
    )?;
    let signer = &proof.proof.controller;
    if !signer.is_written_as(string("issuer")?) {
        return None;
    }
    let id = string("id")?.parse().ok()?;
    // A missing subject is left to the whole check.
    let subject = SubjectFacts::from_json(credential_type, member("credentialSubject")?)?;
    let signed = proof
        .proof
        .created
        .as_deref()
        .and_then(crate::credential::parse_datetime);
    // As `issuers::valid_until` reads it: a string member that is not a date-time is no end;
    // anything else (escapes, another type) is left to the whole check.
    let valid_until = match member("validUntil") {
        None => None,
        Some(_) => crate::credential::parse_datetime(string("validUntil")?),
    };
    Some(PreparedEntry {
        entry: MirrorEntry {
            kind: EntryKind::Credential(credential_type),
            id,
            signer: signer.clone(),
            content: MirrorContent::TalentCredential {
                credential_type,
                subject,
                signed,
                valid_until,
            },
        },
        proof,
    })
}

/// Verifies a run of log entries as a mirror does: each prepared with one key cache
/// ([`prepare_entry_with`]), then the signatures in Ed25519 batches ([`verify_entries`]).
///
/// # Errors
/// The position of the first entry that does not verify, with the error.
pub fn verify_all(
    bytes: &[impl AsRef<[u8]>],
) -> Result<Vec<MirrorEntry>, (usize, EntryVerifyError)> {
    let mut keys = talent_integrity::did::KeyCache::new();
    let prepared = bytes
        .iter()
        .enumerate()
        .map(|(offset, entry)| {
            prepare_entry_with(entry.as_ref(), &mut keys).map_err(|error| (offset, error))
        })
        .collect::<Result<Vec<_>, _>>()?;
    verify_entries(prepared, bytes)
}

/// Verifies the signatures of prepared entries in one Ed25519 batch: a mirror catching up
/// checks thousands of entries at a time. `bytes` are the entries' bytes, in the same
/// order, for the one-by-one re-check of a batch that fails.
///
/// # Errors
/// The position of the first entry that does not verify, with the error.
pub fn verify_entries(
    entries: Vec<PreparedEntry>,
    bytes: &[impl AsRef<[u8]>],
) -> Result<Vec<MirrorEntry>, (usize, EntryVerifyError)> {
    let proofs: Vec<&talent_integrity::proof::PreparedProof> =
        entries.iter().map(|entry| &entry.proof).collect();
    let mut from = 0;
    while let Err(offset) = talent_integrity::proof::verify_batch(&proofs[from..]) {
        // A signature that fails alone is confirmed the slow way, whole; the entries after
        // it are checked again.
        let position = from + offset;
        let entry = bytes.get(position).map(AsRef::as_ref).unwrap_or_default();
        verify_entry(entry).map_err(|error| (position, error))?;
        from = position + 1;
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
