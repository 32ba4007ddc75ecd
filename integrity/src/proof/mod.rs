//! Data Integrity proofs with the JCS cryptosuites: `eddsa-jcs-2022`
//! ([vc-di-eddsa §3.3](https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022)) and this
//! project's `sm2-jcs-2025` (`docs/sm2-jcs-2025.md`).
//!
//! Both sign `H(JCS(proof configuration)) ‖ H(JCS(document))`, where the proof
//! configuration is the proof without `proofValue`, carrying the document's `@context`, and
//! encode the 64-byte signature as multibase base58btc in `proofValue`. They differ in the
//! hash `H` and the signature: SHA-256 and Ed25519 (module `eddsa_jcs`), SM3 and SM2
//! (module `sm2_jcs`). The proof configuration is handled once for both (module `config`);
//! the key named by `verificationMethod` must be of the suite's kind.
//!
//! Many Ed25519 proofs verify at once in a batch ([`verify_batch`]); SM2 proofs verify one
//! by one.
//!
//! The W3C `eddsa-rdfc-2022` suite (module `eddsa_rdfc`) signs the same way as
//! `eddsa-jcs-2022` over RDFC-1.0 canonical N-Quads in place of JCS, which needs JSON-LD
//! contexts ([`ContextLoader`]): its functions take one ([`verify_with_contexts`],
//! [`sign_rdfc`], …), and those without one ([`verify`], [`prepare`], [`sign`]) keep to the
//! JCS suites and refuse it as an unsupported cryptosuite.

mod batch;
mod config;
mod eddsa_jcs;
mod eddsa_rdfc;
mod sets;
mod signing;
mod sm2_jcs;

use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::did::{DidError, DidKey, KeyCache, KeyKind, PublicKey};
use crate::jcs;
use crate::multibase::MultibaseError;
use crate::rdfc::{ContextLoader, RdfcError};
use config::{BorrowedProof, ProofMembers};

pub use batch::{batch_verifies, verify_batch};
pub use eddsa_rdfc::{RdfcHashData, create_proof_rdfc, rdfc_hash_data, sign_rdfc};
pub use sets::verify_proof_set;
pub use signing::{ProofKey, ProofSigner, SignedDocument, create_proof, sign};

/// `type` of every proof this module makes and accepts.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The proof purpose credentials are issued with.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// A cryptosuite this project implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cryptosuite {
    /// Ed25519 over RFC 8785 JCS and SHA-256 (W3C vc-di-eddsa).
    EddsaJcs2022,
    /// SM2 over RFC 8785 JCS and SM3 (this project's suite, `docs/sm2-jcs-2025.md`).
    Sm2Jcs2025,
    /// Ed25519 over RDFC-1.0 canonical N-Quads and SHA-256 (W3C vc-di-eddsa §3.3): for
    /// documents of other issuers, verified and signed with JSON-LD contexts.
    EddsaRdfc2022,
}

impl Cryptosuite {
    /// The `cryptosuite` value of the proof.
    pub fn as_str(self) -> &'static str {
        match self {
            Cryptosuite::EddsaJcs2022 => "eddsa-jcs-2022",
            Cryptosuite::Sm2Jcs2025 => "sm2-jcs-2025",
            Cryptosuite::EddsaRdfc2022 => "eddsa-rdfc-2022",
        }
    }

    /// The JCS suite a `cryptosuite` value names, if this project implements it: the suites
    /// a registry member signs with and [`verify`] checks. `eddsa-rdfc-2022`, which needs
    /// JSON-LD contexts, is not one ([`Cryptosuite::from_any_name`]).
    pub fn from_name(name: &str) -> Option<Cryptosuite> {
        match name {
            "eddsa-jcs-2022" => Some(Cryptosuite::EddsaJcs2022),
            "sm2-jcs-2025" => Some(Cryptosuite::Sm2Jcs2025),
            _ => None,
        }
    }

    /// Any suite a `cryptosuite` value names, `eddsa-rdfc-2022` included.
    pub fn from_any_name(name: &str) -> Option<Cryptosuite> {
        match name {
            "eddsa-rdfc-2022" => Some(Cryptosuite::EddsaRdfc2022),
            other => Cryptosuite::from_name(other),
        }
    }

    /// The kind of key the suite's proofs are signed with.
    pub fn key_kind(self) -> KeyKind {
        match self {
            Cryptosuite::EddsaJcs2022 | Cryptosuite::EddsaRdfc2022 => KeyKind::Ed25519,
            Cryptosuite::Sm2Jcs2025 => KeyKind::Sm2,
        }
    }

    /// hashData of the JCS suites: `H(JCS(proof config)) ‖ H(JCS(document))`, the 64 bytes
    /// that are signed, with the suite's hash `H` (SHA-256 or SM3). `eddsa-rdfc-2022`
    /// hashes canonical N-Quads instead ([`rdfc_hash_data`]); for it this gives the
    /// `eddsa-jcs-2022` bytes.
    pub fn hash_data(self, proof_config: &Value, unsecured_document: &Value) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.digest(&[&jcs::canonicalize(proof_config)]));
        out[32..].copy_from_slice(&self.digest(&[&jcs::canonicalize(unsecured_document)]));
        out
    }

    /// The suite's hash of the concatenated `parts`.
    fn digest(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            Cryptosuite::EddsaJcs2022 | Cryptosuite::EddsaRdfc2022 => eddsa_jcs::digest(parts),
            Cryptosuite::Sm2Jcs2025 => sm2_jcs::digest(parts),
        }
    }
}

impl fmt::Display for Cryptosuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    #[error("cryptosuite {0:?} is not supported (expected eddsa-jcs-2022 or sm2-jcs-2025)")]
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
    /// The verification method is not a usable did:key.
    #[error("verification method: {0}")]
    VerificationMethod(#[from] DidError),
    /// The verification method's key is not the kind the cryptosuite signs with (an SM2
    /// did:key in an `eddsa-jcs-2022` proof, or an Ed25519 one in an `sm2-jcs-2025` proof).
    #[error(
        "cryptosuite {cryptosuite} is signed with {} keys, but the verification method holds an {key} key",
        .cryptosuite.key_kind()
    )]
    KeySuiteMismatch {
        /// The proof's cryptosuite.
        cryptosuite: Cryptosuite,
        /// The kind of key the verification method holds.
        key: KeyKind,
    },
    /// The `eddsa-rdfc-2022` transformation found no canonical N-Quads for the document or
    /// the proof configuration (an unknown context, an undefined term, …).
    #[error("eddsa-rdfc-2022 transformation: {0}")]
    Canonicalization(#[from] RdfcError),
    /// `proofValue` is not valid multibase base58btc.
    #[error("proofValue: {0}")]
    ProofValueEncoding(MultibaseError),
    /// `proofValue` does not decode to 64 bytes (an Ed25519 signature, or SM2's `r ‖ s`).
    #[error("proofValue is {0} bytes, expected a 64-byte signature")]
    ProofValueLength(usize),
    /// An `sm2-jcs-2025` `proofValue` whose `r` or `s` is zero or not below the group order
    /// `n`: no SM2 signature.
    #[error("proofValue is not an SM2 signature: r and s must be in [1, n-1]")]
    InvalidSm2Signature,
    /// The SM2 signer met the case in which the standard draws another nonce (`r = 0` or
    /// `r + k = n`), which a deterministic nonce cannot (probability about 2⁻²⁵⁶).
    #[error("SM2 signing found no signature for this key and message (r = 0 or r + k = n)")]
    SigningFailed,
    /// A `previousProof` names no proof of the document's proof set (or is not ids).
    #[error("previousProof {0:?} names no proof of the set")]
    PreviousProof(String),
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

/// `SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document))`: the bytes an `eddsa-jcs-2022`
/// proof signs ([`Cryptosuite::hash_data`] for either suite).
pub fn hash_data(proof_config: &Value, unsecured_document: &Value) -> [u8; 64] {
    Cryptosuite::EddsaJcs2022.hash_data(proof_config, unsecured_document)
}

/// A proof's signature, parsed for its cryptosuite.
#[derive(Debug, Clone)]
pub(crate) enum SuiteSignature {
    /// `eddsa-jcs-2022` or `eddsa-rdfc-2022`.
    Ed25519(ed25519_dalek::Signature),
    /// `sm2-jcs-2025`.
    Sm2(sm2::dsa::Signature),
}

impl SuiteSignature {
    /// The `suite` signature whose `proofValue` bytes are `bytes`.
    ///
    /// # Errors
    /// [`ProofError::InvalidSm2Signature`].
    fn from_bytes(suite: Cryptosuite, bytes: &[u8; 64]) -> Result<SuiteSignature, ProofError> {
        Ok(match suite {
            Cryptosuite::EddsaJcs2022 | Cryptosuite::EddsaRdfc2022 => {
                SuiteSignature::Ed25519(ed25519_dalek::Signature::from_bytes(bytes))
            }
            Cryptosuite::Sm2Jcs2025 => SuiteSignature::Sm2(sm2_jcs::signature(bytes)?),
        })
    }
}

/// A proof whose every part but the signature itself has been checked: what
/// [`verify_batch`] checks many of at once.
#[derive(Debug, Clone)]
pub struct PreparedProof {
    /// The proof's facts, valid once the signature verifies.
    pub proof: VerifiedProof,
    /// The signed message (hashData): proof-options hash ‖ document hash.
    message: [u8; 64],
    signature: SuiteSignature,
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
        let verifies = match (&self.signature, self.proof.controller.public_key()) {
            (SuiteSignature::Ed25519(signature), PublicKey::Ed25519(key)) => {
                eddsa_jcs::verifies(key, &self.message, signature)
            }
            (SuiteSignature::Sm2(signature), PublicKey::Sm2(key)) => {
                sm2_jcs::verifies(key, &self.message, signature)
            }
            // Preparing refuses a key of the other kind (ProofError::KeySuiteMismatch).
            _ => false,
        };
        if verifies {
            Ok(())
        } else {
            Err(ProofError::SignatureMismatch {
                verification_method: self.proof.verification_method.clone(),
            })
        }
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

/// Verifies the `eddsa-jcs-2022` or `sm2-jcs-2025` proof of a secured document, requiring
/// `expected_purpose`.
///
/// This checks the proof only; binding the signer to the document's `issuer` is the caller's
/// (the registry's verification does it).
///
/// # Errors
/// Every [`ProofError`] variant but `AlreadySigned` and `SigningFailed` names a way the
/// proof can be wrong.
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
    let (document, proof) = config::document_and_proof(secured)?;
    let (facts, signature) = config::check_members(
        &ProofMembers::of(proof),
        expected_purpose,
        keys,
        Cryptosuite::from_name,
    )?;

    let proof_context = proof.get("@context");
    if let Some(proof_context) = proof_context
        && !config::context_is_prefix(proof_context, document.get("@context"))
    {
        return Err(ProofError::ContextMismatch);
    }
    let suite = facts.cryptosuite;
    let mut config_bytes = Vec::with_capacity(512);
    jcs::canonicalize_object_with(proof, "proofValue", None, &mut config_bytes);
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&suite.digest(&[&config_bytes]));
    // The unsecured document: without its proof, with the proof's @context (which the
    // check above makes a prefix of the document's; usually the same).
    let mut unsecured = Vec::with_capacity(2048);
    jcs::canonicalize_object_with(
        document,
        "proof",
        proof_context.map(|context| ("@context", context)),
        &mut unsecured,
    );
    message[32..].copy_from_slice(&suite.digest(&[&unsecured]));
    Ok(PreparedProof {
        proof: facts,
        message,
        signature,
    })
}

/// Verifies the proof of a secured document with any suite this crate implements,
/// `eddsa-rdfc-2022` included, whose JSON-LD contexts come from `contexts`.
///
/// # Errors
/// As [`verify`], and [`ProofError::Canonicalization`] for an `eddsa-rdfc-2022` document
/// without canonical N-Quads.
pub fn verify_with_contexts(
    secured: &Value,
    expected_purpose: &'static str,
    contexts: &ContextLoader,
) -> Result<VerifiedProof, ProofError> {
    prepare_with_contexts(secured, expected_purpose, contexts, &mut KeyCache::new())?.verify()
}

/// [`prepare_with`] for any suite this crate implements: an `eddsa-rdfc-2022` proof is
/// prepared over canonical N-Quads with contexts from `contexts`, any other as
/// [`prepare_with`] does.
///
/// # Errors
/// As [`verify_with_contexts`], but never [`ProofError::SignatureMismatch`].
pub fn prepare_with_contexts(
    secured: &Value,
    expected_purpose: &'static str,
    contexts: &ContextLoader,
    keys: &mut KeyCache,
) -> Result<PreparedProof, ProofError> {
    let rdfc = secured
        .get("proof")
        .and_then(|proof| proof.get("cryptosuite"))
        .and_then(Value::as_str)
        == Some(Cryptosuite::EddsaRdfc2022.as_str());
    if rdfc {
        eddsa_rdfc::prepare(secured, expected_purpose, contexts, keys)
    } else {
        prepare_with(secured, expected_purpose, keys)
    }
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
    let (facts, signature) = config::check_members(
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
        Cryptosuite::from_name,
    )
    .ok()?;
    let proof_value = members.proof_value?;
    let config = config::cut_member(proof_text, "proofValue", proof_value, 1)?;
    let unsecured = config::cut_member(document, "proof", proof_text, 0)?;
    let suite = facts.cryptosuite;
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&suite.digest(&config));
    message[32..].copy_from_slice(&suite.digest(&unsecured));
    Some(PreparedProof {
        proof: facts,
        message,
        signature,
    })
}

/// Checks `proof`'s members (its `cryptosuite` one `suite_named` accepts) and computes the
/// message it signs over the explicit unsecured document `over` (which may carry previous
/// proofs as its `proof`): the unsecured document with the proof's `@context` when it has
/// one (a prefix of the document's); the proof configuration, the proof without its value
/// (for `eddsa-rdfc-2022` with the unsecured document's `@context`).
fn prepare_over(
    over: &Map<String, Value>,
    proof: &Map<String, Value>,
    expected_purpose: &'static str,
    contexts: &ContextLoader,
    keys: &mut KeyCache,
    suite_named: fn(&str) -> Option<Cryptosuite>,
) -> Result<PreparedProof, ProofError> {
    let (facts, signature) = config::check_members(
        &ProofMembers::of(proof),
        expected_purpose,
        keys,
        suite_named,
    )?;
    let mut unsecured = over.clone();
    if let Some(proof_context) = proof.get("@context") {
        if !config::context_is_prefix(proof_context, over.get("@context")) {
            return Err(ProofError::ContextMismatch);
        }
        unsecured.insert("@context".into(), proof_context.clone());
    }
    let mut proof_config: Map<String, Value> = proof
        .iter()
        .filter(|(name, _)| *name != "proofValue")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let suite = facts.cryptosuite;
    let message = if suite == Cryptosuite::EddsaRdfc2022 {
        if let Some(context) = unsecured.get("@context") {
            proof_config.insert("@context".into(), context.clone());
        }
        rdfc_hash_data(
            &Value::Object(proof_config),
            &Value::Object(unsecured),
            contexts,
        )?
        .hash_data
    } else {
        let mut message = [0u8; 64];
        message[..32]
            .copy_from_slice(&suite.digest(&[&jcs::canonicalize(&Value::Object(proof_config))]));
        message[32..]
            .copy_from_slice(&suite.digest(&[&jcs::canonicalize(&Value::Object(unsecured))]));
        message
    };
    Ok(PreparedProof {
        proof: facts,
        message,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{IssuerKey, Sm2SigningKey};
    use crate::multibase;
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use serde_json::value::RawValue;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42u8; 32])
    }

    #[test]
    fn signing_canonically_gives_the_proof_and_bytes_of_signing_and_canonicalising() {
        let options = ProofOptions {
            created: "2026-11-26T03:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        };
        let sm2_key = Sm2SigningKey::from_bytes(&[42u8; 32]).expect("an SM2 key");
        for issuer in [IssuerKey::from(key()), IssuerKey::from(sm2_key)] {
            let signer = ProofSigner::new(issuer.clone());
            for document in [
                json!({}),
                json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x", "type": ["A"]}),
                json!({"aaa": 1, "pro": true, "proofs": [1.5, "x"], "zzz": {"b": null, "a": "\u{1}"}}),
                json!({"q": 1, "𠀋": 2, "Ａ": 3}),
            ] {
                let signed = signer
                    .sign_canonical(document.clone(), &options)
                    .expect("signs");
                let expected = sign(&document, &issuer, &options).expect("signs");
                assert_eq!(signed.document, expected);
                assert_eq!(signed.canonical, jcs::canonicalize(&expected));
                let verified = verify(&signed.document, ASSERTION_METHOD).expect("verifies");
                assert_eq!(verified.cryptosuite, issuer.cryptosuite());
                assert_eq!(verified.controller, issuer.did());
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
