//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite
//! ([vc-di-eddsa §3.3](https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022)).
//!
//! The signed bytes are `SHA-256(JCS(proof configuration)) ‖ SHA-256(JCS(document))`, where
//! the proof configuration is the proof without `proofValue`, carrying the document's
//! `@context`. The signature is Ed25519, encoded as multibase base58btc in `proofValue`.
//!
//! Only this one cryptosuite exists today; [`Cryptosuite`] names it so a second one (SM2/SM3
//! for government e-seals) can be added without changing the proof format.
//!
//! Why one file: creating, signing canonically and verifying one cryptosuite's proofs share
//! its proof configuration and hashing; a second cryptosuite is where this splits into one
//! module per suite (batch verification already has its own module).

mod batch;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::did::{DidError, DidKey, KeyCache};
use crate::jcs;
use crate::multibase::{self, MultibaseError};

pub use batch::{batch_verifies, verify_batch};

/// `type` of every proof this module makes and accepts.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The proof purpose credentials are issued with.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// A cryptosuite this project implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cryptosuite {
    /// Ed25519 over RFC 8785 JCS and SHA-256.
    EddsaJcs2022,
}

impl Cryptosuite {
    /// The `cryptosuite` value of the proof.
    pub fn as_str(self) -> &'static str {
        match self {
            Cryptosuite::EddsaJcs2022 => "eddsa-jcs-2022",
        }
    }

    fn from_name(name: &str) -> Option<Cryptosuite> {
        (name == "eddsa-jcs-2022").then_some(Cryptosuite::EddsaJcs2022)
    }
}

/// Why a proof could not be created or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The secured document is not a JSON object.
    #[error("document is not a JSON object")]
    NotAnObject,
    /// The document has no `proof`, or it is not a single object.
    #[error("document has no proof object")]
    MissingProof,
    /// The document to be signed already has a `proof`.
    #[error("document already carries a proof")]
    AlreadySigned,
    /// A required proof property is missing or not a string.
    #[error("proof property `{0}` is missing or not a string")]
    MissingProperty(&'static str),
    /// `proof.type` is not `DataIntegrityProof`.
    #[error("proof type {0:?} is not DataIntegrityProof")]
    WrongProofType(String),
    /// `proof.cryptosuite` is not one this project implements.
    #[error("cryptosuite {0:?} is not supported (expected eddsa-jcs-2022)")]
    UnsupportedCryptosuite(String),
    /// `proof.proofPurpose` is not the purpose the verifier asked for.
    #[error("proof purpose {found:?} is not {expected:?}")]
    WrongProofPurpose {
        /// Purpose in the proof.
        found: String,
        /// Purpose required.
        expected: &'static str,
    },
    /// `proof.@context` is present but not a prefix of the document's `@context`.
    #[error("proof @context is not a prefix of the document @context")]
    ContextMismatch,
    /// `proof.created` is present but not an XML Schema dateTime.
    #[error("proof created {0:?} is not a valid dateTime")]
    InvalidCreated(String),
    /// The verification method is not a usable Ed25519 did:key.
    #[error("verification method: {0}")]
    VerificationMethod(#[from] DidError),
    /// `proofValue` is not valid multibase base58btc.
    #[error("proofValue: {0}")]
    ProofValueEncoding(MultibaseError),
    /// `proofValue` does not decode to a 64-byte Ed25519 signature.
    #[error("proofValue is {0} bytes, expected a 64-byte Ed25519 signature")]
    ProofValueLength(usize),
    /// The signature does not match the document and key.
    #[error("signature does not match the document (verification method {verification_method})")]
    SignatureMismatch {
        /// The verification method whose key was tried.
        verification_method: String,
    },
}

/// The options of a new proof.
#[derive(Debug, Clone)]
pub struct ProofOptions {
    /// `created`, as an XML Schema dateTime string (`2026-11-26T03:00:00Z`).
    pub created: String,
    /// `proofPurpose`, usually [`ASSERTION_METHOD`].
    pub proof_purpose: &'static str,
}

/// Evidence that a proof verified: the key that signed and the method it was named by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The controller of the verification method (the did:key itself).
    pub controller: DidKey,
    /// `proof.verificationMethod` as written.
    pub verification_method: String,
    /// `proof.created`, when present.
    pub created: Option<String>,
    /// The cryptosuite that verified.
    pub cryptosuite: Cryptosuite,
}

/// `SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document))`: the bytes that are signed.
pub fn hash_data(proof_config: &Value, unsecured_document: &Value) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(jcs::canonicalize(proof_config)));
    out[32..].copy_from_slice(&Sha256::digest(jcs::canonicalize(unsecured_document)));
    out
}

/// Signs `unsecured` and returns the proof object (with `proofValue`).
///
/// # Errors
/// [`ProofError::NotAnObject`], [`ProofError::AlreadySigned`].
pub fn create_proof(
    unsecured: &Value,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let document = unsecured.as_object().ok_or(ProofError::NotAnObject)?;
    if document.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    let did = DidKey::from_verifying_key(&key.verifying_key());
    let mut config = proof_config(document, &did.verification_method(), options);
    let signature = key.sign(&hash_data(&config, unsecured));
    if let Value::Object(map) = &mut config {
        map.insert(
            "proofValue".into(),
            multibase::encode_base58btc(&signature.to_bytes()).into(),
        );
    }
    Ok(config)
}

/// Signs `unsecured` and returns the secured document with its `proof`.
///
/// # Errors
/// As [`create_proof`].
pub fn sign(
    unsecured: &Value,
    key: &SigningKey,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let proof = create_proof(unsecured, key, options)?;
    let mut secured = unsecured.clone();
    if let Value::Object(map) = &mut secured {
        map.insert("proof".into(), proof);
    }
    Ok(secured)
}

/// A signing key with its verification method, formatted once for all the proofs it
/// makes (formatting a did:key is a base58 encoding).
#[derive(Debug, Clone)]
pub struct ProofSigner {
    key: SigningKey,
    verification_method: String,
}

/// A document signed by [`ProofSigner::sign_canonical`]: the secured document and its JCS
/// bytes.
#[derive(Debug, Clone)]
pub struct SignedDocument {
    /// The document with its `proof`.
    pub document: Value,
    /// `JCS(document)`, made from the canonical bytes the signature was computed over.
    pub canonical: Vec<u8>,
}

impl ProofSigner {
    /// A signer with `key`.
    pub fn new(key: SigningKey) -> ProofSigner {
        let verification_method =
            DidKey::from_verifying_key(&key.verifying_key()).verification_method();
        ProofSigner {
            key,
            verification_method,
        }
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs `unsecured` as [`sign`] does, canonicalising the document once: the bytes
    /// hashed for the signature become, with the proof's canonical bytes put among them
    /// in name order, the JCS of the secured document (what a log entry stores).
    ///
    /// # Errors
    /// [`ProofError::NotAnObject`], [`ProofError::AlreadySigned`].
    pub fn sign_canonical(
        &self,
        mut unsecured: Value,
        options: &ProofOptions,
    ) -> Result<SignedDocument, ProofError> {
        let document = unsecured.as_object_mut().ok_or(ProofError::NotAnObject)?;
        if document.contains_key("proof") {
            return Err(ProofError::AlreadySigned);
        }
        let (document_bytes, spans) = jcs::canonicalize_object_members(document);
        let mut config = proof_config(document, &self.verification_method, options);
        let mut message = [0u8; 64];
        message[..32].copy_from_slice(&Sha256::digest(jcs::canonicalize(&config)));
        message[32..].copy_from_slice(&Sha256::digest(&document_bytes));
        let signature = self.key.sign(&message);
        if let Value::Object(map) = &mut config {
            map.insert(
                "proofValue".into(),
                multibase::encode_base58btc(&signature.to_bytes()).into(),
            );
        }
        // `proof` goes after every member whose name sorts before it (RFC 8785 order).
        let before = document
            .keys()
            .filter(|name| jcs::compare_utf16(name, "proof").is_lt())
            .count();
        let proof_bytes = jcs::canonicalize(&config);
        let mut canonical = Vec::with_capacity(document_bytes.len() + proof_bytes.len() + 10);
        let at = match before {
            0 => 1,
            count => spans[count - 1].value.end,
        };
        canonical.extend_from_slice(&document_bytes[..at]);
        if before > 0 {
            canonical.push(b',');
        }
        canonical.extend_from_slice(b"\"proof\":");
        canonical.extend_from_slice(&proof_bytes);
        if before == 0 && !spans.is_empty() {
            canonical.push(b',');
        }
        canonical.extend_from_slice(&document_bytes[at..]);
        document.insert("proof".into(), config);
        Ok(SignedDocument {
            document: unsecured,
            canonical,
        })
    }
}

/// The proof configuration of a new proof of `document` by `verification_method`: the
/// proof without its `proofValue`.
fn proof_config(
    document: &Map<String, Value>,
    verification_method: &str,
    options: &ProofOptions,
) -> Value {
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert(
        "cryptosuite".into(),
        Cryptosuite::EddsaJcs2022.as_str().into(),
    );
    config.insert("created".into(), options.created.clone().into());
    config.insert("verificationMethod".into(), verification_method.into());
    config.insert("proofPurpose".into(), options.proof_purpose.into());
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Value::Object(config)
}

/// A proof whose every part but the Ed25519 signature itself has been checked: what
/// [`verify_batch`] checks many of at once.
#[derive(Debug, Clone)]
pub struct PreparedProof {
    /// The proof's facts, valid once the signature verifies.
    pub proof: VerifiedProof,
    /// The signed message: proof-options hash ‖ document hash.
    message: [u8; 64],
    signature: Signature,
}

impl PreparedProof {
    /// Verifies the signature alone.
    ///
    /// # Errors
    /// [`ProofError::SignatureMismatch`].
    pub fn verify(self) -> Result<VerifiedProof, ProofError> {
        self.verify_signature()?;
        Ok(self.proof)
    }

    /// Verifies the signature alone, keeping the proof (for a failed batch re-checked one
    /// by one).
    ///
    /// # Errors
    /// [`ProofError::SignatureMismatch`].
    pub fn verify_signature(&self) -> Result<(), ProofError> {
        self.proof
            .controller
            .verifying_key()
            .verify(&self.message, &self.signature)
            .map_err(|_| ProofError::SignatureMismatch {
                verification_method: self.proof.verification_method.clone(),
            })
    }

    /// The proof's facts, valid only once the signature verifies.
    pub fn facts(&self) -> &VerifiedProof {
        &self.proof
    }

    /// The proof's facts, without checking the signature: for a caller that verified it in
    /// a batch ([`batch_verifies`]).
    pub fn into_unchecked_facts(self) -> VerifiedProof {
        self.proof
    }
}

/// Verifies the `eddsa-jcs-2022` proof of a secured document, requiring `expected_purpose`.
///
/// This checks the proof only; binding the signer to the document's `issuer` is the caller's
/// (the registry's verification does it).
///
/// # Errors
/// Every [`ProofError`] variant but `AlreadySigned` names a way the proof can be wrong.
pub fn verify(
    secured: &Value,
    expected_purpose: &'static str,
) -> Result<VerifiedProof, ProofError> {
    prepare(secured, expected_purpose)?.verify()
}

/// Checks everything of a proof but the signature, and computes the signed message.
///
/// # Errors
/// As [`verify`], but never [`ProofError::SignatureMismatch`].
pub fn prepare(
    secured: &Value,
    expected_purpose: &'static str,
) -> Result<PreparedProof, ProofError> {
    prepare_with(secured, expected_purpose, &mut KeyCache::new())
}

/// [`prepare`] for many objects: keys are looked up in `keys` (see also
/// [`prepare_canonical`], for objects given as canonical text).
///
/// # Errors
/// As [`prepare`].
pub fn prepare_with(
    secured: &Value,
    expected_purpose: &'static str,
    keys: &mut KeyCache,
) -> Result<PreparedProof, ProofError> {
    let document = secured.as_object().ok_or(ProofError::NotAnObject)?;
    let proof = document
        .get("proof")
        .and_then(Value::as_object)
        .ok_or(ProofError::MissingProof)?;
    let text = |name: &'static str| proof.get(name).and_then(Value::as_str);
    let (facts, signature) = check_members(
        &ProofMembers {
            proof_type: text("type"),
            cryptosuite: text("cryptosuite"),
            purpose: text("proofPurpose"),
            created: proof.get("created").map(|created| match created {
                Value::String(created) => Ok(created.as_str()),
                other => Err(other.to_string()),
            }),
            verification_method: text("verificationMethod"),
            proof_value: text("proofValue"),
        },
        expected_purpose,
        keys,
    )?;

    let proof_context = proof.get("@context");
    if let Some(proof_context) = proof_context
        && !context_is_prefix(proof_context, document.get("@context"))
    {
        return Err(ProofError::ContextMismatch);
    }
    let mut config_bytes = Vec::with_capacity(512);
    jcs::canonicalize_object_with(proof, "proofValue", None, &mut config_bytes);
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&Sha256::digest(&config_bytes));
    // The unsecured document: without its proof, with the proof's @context (which the
    // check above makes a prefix of the document's; usually the same).
    let mut unsecured = Vec::with_capacity(2048);
    jcs::canonicalize_object_with(
        document,
        "proof",
        proof_context.map(|context| ("@context", context)),
        &mut unsecured,
    );
    let document_hash: [u8; 32] = Sha256::digest(&unsecured).into();
    message[32..].copy_from_slice(&document_hash);
    Ok(PreparedProof {
        proof: facts,
        message,
        signature,
    })
}

/// The proof members [`check_members`] reads: `None` for one that is missing or not a
/// string (`created` keeps a non-string, written as JSON, for its error).
struct ProofMembers<'a> {
    proof_type: Option<&'a str>,
    cryptosuite: Option<&'a str>,
    purpose: Option<&'a str>,
    created: Option<Result<&'a str, String>>,
    verification_method: Option<&'a str>,
    proof_value: Option<&'a str>,
}

/// The checks of a proof's own members, in the order their errors are reported: type,
/// cryptosuite, purpose, created, verification method, proof value. Both ways of preparing
/// a proof ([`prepare_with`], [`prepare_canonical`]) make them here.
fn check_members(
    members: &ProofMembers<'_>,
    expected_purpose: &'static str,
    keys: &mut KeyCache,
) -> Result<(VerifiedProof, Signature), ProofError> {
    let proof_type = members
        .proof_type
        .ok_or(ProofError::MissingProperty("type"))?;
    if proof_type != PROOF_TYPE {
        return Err(ProofError::WrongProofType(proof_type.to_owned()));
    }
    let suite_name = members
        .cryptosuite
        .ok_or(ProofError::MissingProperty("cryptosuite"))?;
    let cryptosuite = Cryptosuite::from_name(suite_name)
        .ok_or_else(|| ProofError::UnsupportedCryptosuite(suite_name.to_owned()))?;
    let purpose = members
        .purpose
        .ok_or(ProofError::MissingProperty("proofPurpose"))?;
    if purpose != expected_purpose {
        return Err(ProofError::WrongProofPurpose {
            found: purpose.to_owned(),
            expected: expected_purpose,
        });
    }
    let created = match &members.created {
        None => None,
        Some(Ok(created)) if chrono::DateTime::parse_from_rfc3339(created).is_ok() => {
            Some((*created).to_owned())
        }
        Some(Ok(created)) => {
            return Err(ProofError::InvalidCreated(
                Value::from(*created).to_string(),
            ));
        }
        Some(Err(other)) => return Err(ProofError::InvalidCreated(other.clone())),
    };
    let verification_method = members
        .verification_method
        .ok_or(ProofError::MissingProperty("verificationMethod"))?;
    let controller = keys.controller(verification_method)?;
    let proof_value = members
        .proof_value
        .ok_or(ProofError::MissingProperty("proofValue"))?;
    let signature_bytes =
        multibase::decode_signature(proof_value).map_err(|error| match error {
            Ok(length) => ProofError::ProofValueLength(length),
            Err(error) => ProofError::ProofValueEncoding(error),
        })?;
    Ok((
        VerifiedProof {
            controller,
            verification_method: verification_method.to_owned(),
            created,
            cryptosuite,
        },
        Signature::from_bytes(&signature_bytes),
    ))
}

/// A proof's members borrowed from canonical bytes (see [`prepare_canonical`]). A member
/// that is not a string without escapes fails to parse, which sends the object to
/// [`prepare_with`]. `@context` and `created` are optional, and a `null` one is not a
/// missing one ([`prepare_with`] refuses both), so they are kept as written.
#[derive(serde::Deserialize)]
struct BorrowedProof<'a> {
    #[serde(rename = "@context", default, borrow, deserialize_with = "present")]
    context: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    cryptosuite: Option<&'a str>,
    #[serde(rename = "proofPurpose", borrow)]
    purpose: Option<&'a str>,
    #[serde(rename = "proofValue", borrow)]
    proof_value: Option<&'a str>,
    #[serde(rename = "type", borrow)]
    proof_type: Option<&'a str>,
    #[serde(rename = "verificationMethod", borrow)]
    verification_method: Option<&'a str>,
}

/// An optional member that is present, whatever its value (`null` included, which serde
/// would otherwise read as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// [`prepare_with`] for an object known only as its canonical JCS text `document` (a log
/// entry that [`jcs::canonical_members`] proved canonical, or a presented credential written
/// by [`jcs::canonicalize_object_members`]), of which `proof_text` and
/// `context` are the top-level `proof` and `@context` values' texts, borrowed from it.
/// Every part of a canonical text is canonical, so both hashes are taken from the text itself, with one member cut
/// out: the proof configuration is the proof without its `proofValue` member, the unsecured
/// document is the text without its `proof` member. Nothing is parsed into a `Value` or
/// written again.
///
/// `None` means "not handled here": anything that does not verify or is unusual (a
/// proof `@context` that differs from the document's, a member with an escape), for which
/// the caller runs [`prepare_with`] to get the answer and its error.
pub fn prepare_canonical(
    document: &str,
    proof_text: &str,
    context: Option<&str>,
    expected_purpose: &'static str,
    keys: &mut KeyCache,
) -> Option<PreparedProof> {
    let members: BorrowedProof<'_> = serde_json::from_str(proof_text).ok()?;
    if let Some(proof_context) = members.context
        && context != Some(proof_context.get())
    {
        return None;
    }
    // A `created` that is not a string without escapes is left to prepare_with.
    let created = match members.created {
        Some(created) => Some(serde_json::from_str::<&str>(created.get()).ok()?),
        None => None,
    };
    let (facts, signature) = check_members(
        &ProofMembers {
            proof_type: members.proof_type,
            cryptosuite: members.cryptosuite,
            purpose: members.purpose,
            created: created.map(Ok),
            verification_method: members.verification_method,
            proof_value: members.proof_value,
        },
        expected_purpose,
        keys,
    )
    .ok()?;
    let proof_value = members.proof_value?;
    let config = cut_member(proof_text, "proofValue", proof_value, 1)?;
    let unsecured = cut_member(document, "proof", proof_text, 0)?;
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&digest_parts(config));
    message[32..].copy_from_slice(&digest_parts(unsecured));
    Some(PreparedProof {
        proof: facts,
        message,
        signature,
    })
}

/// The canonical object text `object` without its member `"name":value`, as the text
/// before and after it, where `value` is the member's value (borrowed from `object`, so its
/// place is known) and `quoted` is 1 when `value` is the inside of a string. `None` when
/// `value` is not where such a member's value would be.
fn cut_member<'t>(
    object: &'t str,
    name: &str,
    value: &str,
    quoted: usize,
) -> Option<[&'t [u8]; 2]> {
    let bytes = object.as_bytes();
    let value_at = (value.as_ptr() as usize).checked_sub(object.as_ptr() as usize)?;
    let value_end = value_at.checked_add(value.len() + quoted)?;
    let name_at = value_at.checked_sub(name.len() + 3 + quoted)?;
    // `"name":` then the value (with its opening quote for a string).
    let head = bytes.get(name_at..value_at)?;
    if head.first() != Some(&b'"')
        || head.get(1..=name.len()) != Some(name.as_bytes())
        || head.get(name.len() + 1..name.len() + 3) != Some(b"\":".as_slice())
        || (quoted == 1 && head.last() != Some(&b'"'))
        || (quoted == 1 && bytes.get(value_end - 1) != Some(&b'"'))
    {
        return None;
    }
    // Members are separated by commas: take the one before the member, or else the one
    // after it.
    let (cut_from, cut_to) = match (bytes.get(name_at.checked_sub(1)?), bytes.get(value_end)) {
        (Some(b','), _) => (name_at - 1, value_end),
        (Some(b'{'), Some(b',')) => (name_at, value_end + 1),
        (Some(b'{'), Some(b'}')) => (name_at, value_end),
        _ => return None,
    };
    Some([&bytes[..cut_from], bytes.get(cut_to..)?])
}

fn digest_parts(parts: [&[u8]; 2]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(parts[0]);
    hasher.update(parts[1]);
    hasher.finalize().into()
}

/// Whether every value of the proof's `@context` starts the document's `@context`, in order.
fn context_is_prefix(proof_context: &Value, document_context: Option<&Value>) -> bool {
    let as_list = |value: &Value| match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let Some(document_context) = document_context else {
        return false;
    };
    let proof_items = as_list(proof_context);
    let document_items = as_list(document_context);
    proof_items.len() <= document_items.len()
        && proof_items.iter().zip(&document_items).all(|(a, b)| a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42u8; 32])
    }

    #[test]
    fn signing_canonically_gives_the_proof_and_bytes_of_signing_and_canonicalising() {
        let options = ProofOptions {
            created: "2026-11-26T03:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        };
        let signer = ProofSigner::new(key());
        for document in [
            json!({}),
            json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x", "type": ["A"]}),
            json!({"aaa": 1, "pro": true, "proofs": [1.5, "x"], "zzz": {"b": null, "a": "\u{1}"}}),
            json!({"q": 1, "𠀋": 2, "Ａ": 3}),
        ] {
            let signed = signer
                .sign_canonical(document.clone(), &options)
                .expect("signs");
            let expected = sign(&document, &key(), &options).expect("signs");
            assert_eq!(signed.document, expected);
            assert_eq!(signed.canonical, jcs::canonicalize(&expected));
            assert!(verify(&signed.document, ASSERTION_METHOD).is_ok());
        }
        assert_eq!(
            signer.sign_canonical(json!([1]), &options).err(),
            Some(ProofError::NotAnObject)
        );
        assert_eq!(
            signer.sign_canonical(json!({"proof": {}}), &options).err(),
            Some(ProofError::AlreadySigned)
        );
    }

    fn options() -> ProofOptions {
        ProofOptions {
            created: "2026-11-26T00:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        }
    }

    fn signed() -> Value {
        let document = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"name": "张三"}
        });
        sign(&document, &key(), &options()).expect("signs")
    }

    /// `prepare_canonical` over a document's canonical text, as a log entry gives it.
    fn prepare_text(text: &str) -> Option<PreparedProof> {
        #[derive(serde::Deserialize)]
        struct Top<'a> {
            #[serde(rename = "@context", borrow)]
            context: Option<&'a RawValue>,
            #[serde(borrow)]
            proof: &'a RawValue,
        }
        let top: Top<'_> = serde_json::from_str(text).expect("a signed object");
        prepare_canonical(
            text,
            top.proof.get(),
            top.context.map(RawValue::get),
            ASSERTION_METHOD,
            &mut KeyCache::new(),
        )
    }

    #[test]
    fn hashing_from_canonical_text_matches_serialising_again() {
        let documents = [
            signed(),
            // No @context: `proof` is the first member.
            sign(&json!({"zeta": "z", "type": ["X"]}), &key(), &options()).expect("signs"),
            // A nested object that holds a "proof" member of its own, before the real one.
            sign(
                &json!({"@context": ["c"], "a": {"proof": {"x": 1}}, "type": ["X"]}),
                &key(),
                &options(),
            )
            .expect("signs"),
            // A later member that holds what looks like a proof member.
            sign(
                &json!({"z": {"proof": {"proofValue": "x"}}, "type": ["X"]}),
                &key(),
                &options(),
            )
            .expect("signs"),
            // Nothing but the proof once it is cut.
            sign(&json!({}), &key(), &options()).expect("signs"),
        ];
        for document in documents {
            let text = String::from_utf8(jcs::canonicalize(&document)).expect("UTF-8");
            let slow = prepare(&document, ASSERTION_METHOD).expect("prepares");
            let fast = prepare_text(&text).expect("handled without a Value");
            assert_eq!(slow.message, fast.message, "{document}");
            assert_eq!(slow.proof, fast.proof, "{document}");
            fast.verify().expect("verifies");
        }
    }

    #[test]
    fn canonical_text_it_does_not_handle_is_left_to_prepare_with() {
        let mut document = signed();
        // A proof @context that is a prefix of the document's but not the same.
        document["@context"] = json!(["https://www.w3.org/ns/credentials/v2", "https://x"]);
        document["proof"]["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]);
        let text = String::from_utf8(jcs::canonicalize(&document)).expect("UTF-8");
        assert!(prepare_text(&text).is_none());
        // Anything prepare_with refuses.
        for (member, value) in [
            ("type", json!("Other")),
            ("cryptosuite", json!("eddsa-rdfc-2022")),
            ("proofPurpose", json!("authentication")),
            ("created", json!("yesterday")),
            ("created", json!(5)),
            ("verificationMethod", json!("did:web:example")),
            ("proofValue", json!("zzz")),
            ("proofValue", json!(null)),
            // Present but null is not missing: prepare_with refuses both.
            ("@context", json!(null)),
            ("created", json!(null)),
        ] {
            let mut document = signed();
            document["proof"][member] = value;
            let text = String::from_utf8(jcs::canonicalize(&document)).expect("UTF-8");
            assert!(prepare(&document, ASSERTION_METHOD).is_err(), "{member}");
            assert!(prepare_text(&text).is_none(), "{member}");
        }
    }

    #[test]
    fn round_trip() {
        let verified = verify(&signed(), ASSERTION_METHOD).expect("verifies");
        assert_eq!(
            verified.controller,
            DidKey::from_verifying_key(&key().verifying_key())
        );
    }

    #[test]
    fn refuses_to_sign_twice() {
        assert_eq!(
            sign(&signed(), &key(), &options()),
            Err(ProofError::AlreadySigned)
        );
    }

    #[test]
    fn wrong_purpose_is_rejected() {
        let mut doc = signed();
        doc["proof"]["proofPurpose"] = "authentication".into();
        assert!(matches!(
            verify(&doc, ASSERTION_METHOD),
            Err(ProofError::WrongProofPurpose { .. })
        ));
    }

    #[test]
    fn short_signature_is_rejected() {
        let mut doc = signed();
        doc["proof"]["proofValue"] = multibase::encode_base58btc(&[1, 2, 3]).into();
        assert_eq!(
            verify(&doc, ASSERTION_METHOD),
            Err(ProofError::ProofValueLength(3))
        );
    }
}
