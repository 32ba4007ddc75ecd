//! The `eddsa-rdfc-2022` cryptosuite
//! ([vc-di-eddsa §3.3](https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022)): the document
//! and the proof configuration are transformed into canonical N-Quads
//! ([`crate::rdfc::canonical_nquads`], JSON-LD toRdf and RDFC-1.0), hashData is
//! `SHA-256(canonical proof config) ‖ SHA-256(canonical document)`, and the signature is
//! Ed25519 over hashData, as in `eddsa-jcs-2022`. The proof configuration carries the
//! document's `@context` (§3.3.5), so that its terms are defined.
//!
//! The proof's own members are checked as for the JCS suites (`config::check_members`),
//! and a proof prepared here verifies, alone or in a batch, as an `eddsa-jcs-2022` one.

use serde_json::{Map, Value};

use super::{Cryptosuite, PreparedProof, ProofError, ProofKey, ProofOptions, config};
use crate::did::{KeyCache, KeyKind};
use crate::multibase;
use crate::rdfc::{CREDENTIALS_V2_URL, ContextLoader, DATA_INTEGRITY_V2_URL, canonical_nquads};

/// What an `eddsa-rdfc-2022` signature covers, with the canonical forms it was hashed from
/// (for test vectors and for telling why two implementations disagree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdfcHashData {
    /// The canonical N-Quads of the proof configuration.
    pub canonical_proof_config: String,
    /// The canonical N-Quads of the unsecured document.
    pub canonical_document: String,
    /// `SHA-256(canonical_proof_config) ‖ SHA-256(canonical_document)`: the signed bytes.
    pub hash_data: [u8; 64],
}

/// The `eddsa-rdfc-2022` hashData of `unsecured_document` under `proof_config` (a proof
/// without `proofValue`, whose `@context` defines its terms), with contexts from
/// `contexts`.
///
/// # Errors
/// [`ProofError::Canonicalization`].
pub fn rdfc_hash_data(
    proof_config: &Value,
    unsecured_document: &Value,
    contexts: &ContextLoader,
) -> Result<RdfcHashData, ProofError> {
    let canonical_proof_config = canonical_nquads(proof_config, contexts)?;
    let canonical_document = canonical_nquads(unsecured_document, contexts)?;
    let suite = Cryptosuite::EddsaRdfc2022;
    let mut hash_data = [0u8; 64];
    hash_data[..32].copy_from_slice(&suite.digest(&[canonical_proof_config.as_bytes()]));
    hash_data[32..].copy_from_slice(&suite.digest(&[canonical_document.as_bytes()]));
    Ok(RdfcHashData {
        canonical_proof_config,
        canonical_document,
        hash_data,
    })
}

/// Signs `unsecured` with the Ed25519 `key` as `eddsa-rdfc-2022` and returns the proof
/// object (with `proofValue`); the document's contexts come from `contexts`.
///
/// # Errors
/// [`ProofError::NotAnObject`], [`ProofError::AlreadySigned`],
/// [`ProofError::KeySuiteMismatch`] for an SM2 key, [`ProofError::Canonicalization`] for a
/// document without canonical N-Quads (an unknown context or an undefined term).
pub fn create_proof_rdfc<K: ProofKey + ?Sized>(
    unsecured: &Value,
    key: &K,
    options: &ProofOptions,
    contexts: &ContextLoader,
) -> Result<Value, ProofError> {
    let document = unsecured.as_object().ok_or(ProofError::NotAnObject)?;
    if document.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    let suite = Cryptosuite::EddsaRdfc2022;
    let did = key.did();
    if did.kind() != KeyKind::Ed25519 {
        return Err(ProofError::KeySuiteMismatch {
            cryptosuite: suite,
            key: did.kind(),
        });
    }
    let mut proof = config::proof_config(document, suite, &did.verification_method(), options);
    let hashed = rdfc_hash_data(&proof, unsecured, contexts)?;
    let signature = key.sign_hash_data(&hashed.hash_data)?;
    if let Value::Object(map) = &mut proof {
        map.insert(
            "proofValue".into(),
            multibase::encode_base58btc(&signature).into(),
        );
    }
    Ok(proof)
}

/// Signs `unsecured` as [`create_proof_rdfc`] does and returns the secured document.
///
/// A document whose `@context` names neither the VC 2.0 context nor the Data Integrity
/// context, which define the proof's terms, gets the Data Integrity context appended first
/// (vc-data-integrity §2.1 "context injection", as Digital Bazaar's signer does): a VC 1.1
/// credential is then signed and secured with it.
///
/// # Errors
/// As [`create_proof_rdfc`].
pub fn sign_rdfc<K: ProofKey + ?Sized>(
    unsecured: &Value,
    key: &K,
    options: &ProofOptions,
    contexts: &ContextLoader,
) -> Result<Value, ProofError> {
    let mut secured = unsecured.clone();
    if let Value::Object(document) = &mut secured {
        inject_data_integrity_context(document);
    }
    let proof = create_proof_rdfc(&secured, key, options, contexts)?;
    if let Value::Object(map) = &mut secured {
        map.insert("proof".into(), proof);
    }
    Ok(secured)
}

/// Appends the Data Integrity context to `document`'s `@context` unless that names it or
/// the VC 2.0 context (which includes its terms).
fn inject_data_integrity_context(document: &mut Map<String, Value>) {
    let names = |url: &str| match document.get("@context") {
        Some(Value::Array(items)) => items.iter().any(|item| item.as_str() == Some(url)),
        Some(Value::String(single)) => single == url,
        _ => false,
    };
    if names(CREDENTIALS_V2_URL) || names(DATA_INTEGRITY_V2_URL) {
        return;
    }
    let mut context = match document.remove("@context") {
        Some(Value::Array(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    context.push(DATA_INTEGRITY_V2_URL.into());
    document.insert("@context".into(), Value::Array(context));
}

/// Checks everything of an `eddsa-rdfc-2022` proof but the signature, and computes the
/// signed message (vc-di-eddsa §3.3.2 up to the signature check).
pub(super) fn prepare(
    secured: &Value,
    expected_purpose: &'static str,
    contexts: &ContextLoader,
    keys: &mut KeyCache,
) -> Result<PreparedProof, ProofError> {
    let (document, proof) = config::document_and_proof(secured)?;
    let mut unsecured = document.clone();
    unsecured.remove("proof");
    super::prepare_over(
        &unsecured,
        proof,
        expected_purpose,
        contexts,
        keys,
        |name| {
            Cryptosuite::from_any_name(name).filter(|suite| *suite == Cryptosuite::EddsaRdfc2022)
        },
    )
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    use super::*;
    use crate::keys::Sm2SigningKey;
    use crate::proof::{
        ASSERTION_METHOD, prepare_with_contexts, sign, verify, verify_batch, verify_with_contexts,
    };
    use crate::rdfc::RdfcError;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn options() -> ProofOptions {
        ProofOptions {
            created: "2026-12-07T00:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        }
    }

    fn credential() -> Value {
        json!({
            "@context": [CREDENTIALS_V2_URL],
            "id": "urn:uuid:0b6e2e1c-3c1a-4a57-8d4e-1d1f3f1b2a01",
            "type": ["VerifiableCredential"],
            "issuer": key().did().to_string(),
            "validFrom": "2026-12-07T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject", "name": "张三"},
        })
    }

    fn signed() -> Value {
        sign_rdfc(&credential(), &key(), &options(), &ContextLoader::new()).expect("signs")
    }

    #[test]
    fn a_signed_credential_verifies_with_its_facts() {
        let verified = verify_with_contexts(&signed(), ASSERTION_METHOD, &ContextLoader::new())
            .expect("verifies");
        assert_eq!(verified.cryptosuite, Cryptosuite::EddsaRdfc2022);
        assert_eq!(verified.controller, key().did());
        assert_eq!(verified.created.as_deref(), Some("2026-12-07T00:00:00Z"));
        let proof = &signed()["proof"];
        assert_eq!(proof["cryptosuite"], "eddsa-rdfc-2022");
        assert_eq!(proof["@context"], json!([CREDENTIALS_V2_URL]));
    }

    #[test]
    fn the_jcs_functions_still_refuse_it() {
        assert_eq!(
            verify(&signed(), ASSERTION_METHOD),
            Err(ProofError::UnsupportedCryptosuite("eddsa-rdfc-2022".into()))
        );
        assert_eq!(Cryptosuite::from_name("eddsa-rdfc-2022"), None);
    }

    #[test]
    fn jcs_proofs_verify_with_contexts_as_without() {
        let jcs = sign(&credential(), &key(), &options()).expect("signs");
        assert_eq!(
            verify_with_contexts(&jcs, ASSERTION_METHOD, &ContextLoader::new()),
            verify(&jcs, ASSERTION_METHOD)
        );
    }

    #[test]
    fn a_changed_value_fails_but_a_reordered_document_verifies() {
        let mut changed = signed();
        changed["credentialSubject"]["name"] = "李四".into();
        assert!(matches!(
            verify_with_contexts(&changed, ASSERTION_METHOD, &ContextLoader::new()),
            Err(ProofError::SignatureMismatch { .. })
        ));
        // RDF has no member order, and canonical N-Quads none of JSON's layout.
        let text = serde_json::to_string_pretty(&signed()).expect("JSON");
        let reread: Value = serde_json::from_str(&text).expect("JSON");
        let mut reordered = Map::new();
        for (name, value) in reread.as_object().expect("object").iter().rev() {
            reordered.insert(name.clone(), value.clone());
        }
        verify_with_contexts(
            &Value::Object(reordered),
            ASSERTION_METHOD,
            &ContextLoader::new(),
        )
        .expect("verifies");
    }

    #[test]
    fn an_undefined_term_fails_signing_and_verifying() {
        let mut undefined = credential();
        undefined["credentialSubject"]["undefinedTerm"] = "x".into();
        assert_eq!(
            sign_rdfc(&undefined, &key(), &options(), &ContextLoader::new()),
            Err(ProofError::Canonicalization(RdfcError::UndefinedTerm(
                "undefinedTerm".into()
            )))
        );
        let mut added = signed();
        added["credentialSubject"]["undefinedTerm"] = "IfDroppedWillVerify".into();
        assert_eq!(
            verify_with_contexts(&added, ASSERTION_METHOD, &ContextLoader::new()),
            Err(ProofError::Canonicalization(RdfcError::UndefinedTerm(
                "undefinedTerm".into()
            )))
        );
        let mut undefined_type = signed();
        undefined_type["type"] = json!(["VerifiableCredential", "UndefinedType"]);
        assert_eq!(
            verify_with_contexts(&undefined_type, ASSERTION_METHOD, &ContextLoader::new()),
            Err(ProofError::Canonicalization(RdfcError::UndefinedTerm(
                "UndefinedType".into()
            )))
        );
        let mut proof_term = signed();
        proof_term["proof"]["undefinedProofTerm"] = "x".into();
        assert!(matches!(
            verify_with_contexts(&proof_term, ASSERTION_METHOD, &ContextLoader::new()),
            Err(ProofError::Canonicalization(RdfcError::UndefinedTerm(_)))
        ));
    }

    #[test]
    fn a_vc_1_1_credential_gets_the_data_integrity_context() {
        let v1 = json!({
            "@context": "https://www.w3.org/2018/credentials/v1",
            "id": "urn:uuid:86294362-4254-4f36-854f-3952fe42555d",
            "type": ["VerifiableCredential"],
            "issuer": key().did().to_string(),
            "issuanceDate": "2020-03-16T22:37:26.544Z",
            "credentialSubject": {"id": "did:example:subject"},
        });
        let contexts = ContextLoader::new();
        let signed = sign_rdfc(&v1, &key(), &options(), &contexts).expect("signs");
        let with_integrity = json!([
            "https://www.w3.org/2018/credentials/v1",
            DATA_INTEGRITY_V2_URL
        ]);
        assert_eq!(signed["@context"], with_integrity);
        assert_eq!(signed["proof"]["@context"], with_integrity);
        verify_with_contexts(&signed, ASSERTION_METHOD, &contexts).expect("verifies");
        // Without the context the proof's own terms are undefined.
        assert!(matches!(
            create_proof_rdfc(&v1, &key(), &options(), &contexts),
            Err(ProofError::Canonicalization(RdfcError::UndefinedTerm(_)))
        ));
        // A VC 2.0 credential is left as it is.
        assert_eq!(signed_context(&credential()), json!([CREDENTIALS_V2_URL]));
    }

    fn signed_context(document: &Value) -> Value {
        sign_rdfc(document, &key(), &options(), &ContextLoader::new()).expect("signs")["@context"]
            .clone()
    }

    /// A presentation's proof: purpose `authentication` with a challenge and a domain, which
    /// are part of the signed proof configuration (checking their values is the caller's).
    #[test]
    fn a_presentation_proof_with_challenge_and_domain_verifies() {
        let presentation = json!({
            "@context": [CREDENTIALS_V2_URL],
            "type": ["VerifiablePresentation"],
            "holder": key().did().to_string(),
            "verifiableCredential": [signed()],
        });
        let mut proof = json!({
            "@context": [CREDENTIALS_V2_URL],
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-12-07T00:00:00Z",
            "verificationMethod": key().did().verification_method(),
            "proofPurpose": "authentication",
            "challenge": "1235abcd6789",
            "domain": "https://verifier.example",
        });
        let contexts = ContextLoader::new();
        let hashed = rdfc_hash_data(&proof, &presentation, &contexts).expect("hashes");
        proof["proofValue"] =
            multibase::encode_base58btc(&key().sign_hash_data(&hashed.hash_data).expect("signs"))
                .into();
        let mut secured = presentation;
        secured["proof"] = proof;
        let verified =
            verify_with_contexts(&secured, "authentication", &contexts).expect("verifies");
        assert_eq!(verified.controller, key().did());
        let mut other_challenge = secured.clone();
        other_challenge["proof"]["challenge"] = "other".into();
        assert!(matches!(
            verify_with_contexts(&other_challenge, "authentication", &contexts),
            Err(ProofError::SignatureMismatch { .. })
        ));
        assert!(matches!(
            verify_with_contexts(&secured, ASSERTION_METHOD, &contexts),
            Err(ProofError::WrongProofPurpose { .. })
        ));
    }

    #[test]
    fn an_unknown_context_is_an_error() {
        let mut unknown = credential();
        unknown["@context"] = json!([CREDENTIALS_V2_URL, "https://contexts.example/v9"]);
        assert_eq!(
            sign_rdfc(&unknown, &key(), &options(), &ContextLoader::new()),
            Err(ProofError::Canonicalization(RdfcError::UnknownContext(
                "https://contexts.example/v9".into()
            )))
        );
    }

    #[test]
    fn proof_members_are_checked_as_for_jcs() {
        let contexts = ContextLoader::new();
        for (member, value, expected) in [
            (
                "proofPurpose",
                json!("authentication"),
                ProofError::WrongProofPurpose {
                    found: "authentication".into(),
                    expected: ASSERTION_METHOD,
                },
            ),
            (
                "type",
                json!("Ed25519Signature2020"),
                ProofError::WrongProofType("Ed25519Signature2020".into()),
            ),
            (
                "created",
                json!("yesterday"),
                ProofError::InvalidCreated("\"yesterday\"".into()),
            ),
            (
                "@context",
                json!(["https://www.w3.org/2018/credentials/v1"]),
                ProofError::ContextMismatch,
            ),
            (
                "proofValue",
                json!(multibase::encode_base58btc(&[1, 2, 3])),
                ProofError::ProofValueLength(3),
            ),
        ] {
            let mut document = signed();
            document["proof"][member] = value;
            assert_eq!(
                verify_with_contexts(&document, ASSERTION_METHOD, &contexts),
                Err(expected),
                "{member}"
            );
        }
    }

    #[test]
    fn an_sm2_key_does_not_sign_or_verify_eddsa_rdfc() {
        let sm2 = Sm2SigningKey::from_bytes(&[9u8; 32]).expect("an SM2 key");
        assert_eq!(
            sign_rdfc(&credential(), &sm2, &options(), &ContextLoader::new()),
            Err(ProofError::KeySuiteMismatch {
                cryptosuite: Cryptosuite::EddsaRdfc2022,
                key: KeyKind::Sm2,
            })
        );
        let mut document = signed();
        document["proof"]["verificationMethod"] = sm2.did().verification_method().into();
        assert!(matches!(
            verify_with_contexts(&document, ASSERTION_METHOD, &ContextLoader::new()),
            Err(ProofError::KeySuiteMismatch { .. })
        ));
    }

    #[test]
    fn rdfc_proofs_verify_in_a_batch() {
        let contexts = ContextLoader::new();
        let mut keys = KeyCache::new();
        let prepared: Vec<PreparedProof> = [signed(), signed()]
            .iter()
            .map(|document| {
                prepare_with_contexts(document, ASSERTION_METHOD, &contexts, &mut keys)
                    .expect("prepares")
            })
            .collect();
        assert_eq!(verify_batch(&prepared), Ok(()));
    }
}
