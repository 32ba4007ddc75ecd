//! The W3C vc-di-eddsa `eddsa-rdfc-2022` test vector (`tests/vectors/eddsa-rdfc-2022/`,
//! sources in its README), reproduced value by value: canonical N-Quads of the document and
//! of the proof configuration, their hashes, hashData, and the Ed25519 signature, which
//! Ed25519 makes deterministically from the vector's key.

use std::path::PathBuf;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use serde_json::Value;
use sha2::{Digest, Sha256};
use talent_integrity::multibase;
use talent_integrity::proof::{
    ASSERTION_METHOD, Cryptosuite, ProofError, ProofOptions, rdfc_hash_data, sign_rdfc,
    verify_with_contexts,
};
use talent_integrity::rdfc::{ContextLoader, RdfcError};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/eddsa-rdfc-2022")
}

fn read_text(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&read_text(name)).expect("JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn vector_key() -> SigningKey {
    let pair = read_json("keyPair.json");
    let seed = multibase::decode_ed25519_secret(pair["privateKeyMultibase"].as_str().expect("str"))
        .expect("the vector's secret multikey");
    let key = SigningKey::from_bytes(&seed);
    assert_eq!(
        multibase::encode_ed25519_public(key.verifying_key().as_bytes()),
        pair["publicKeyMultibase"].as_str().expect("str"),
        "the vector's public key is derived from its secret key"
    );
    key
}

/// The unsigned credential: the signed one without its proof, which is also the vector's
/// `unsigned.json`.
fn unsigned() -> Value {
    let unsigned = read_json("unsigned.json");
    let mut signed = read_json("signedDataInt.json");
    signed.as_object_mut().expect("object").remove("proof");
    assert_eq!(signed, unsigned);
    unsigned
}

#[test]
fn canonical_forms_hashes_and_signature_are_the_vectors() {
    let config = read_json("proofConfigDataInt.json");
    let hashed = rdfc_hash_data(&config, &unsigned(), &ContextLoader::new()).expect("hashes");
    assert_eq!(hashed.canonical_document, read_text("canonDocDataInt.txt"));
    assert_eq!(
        hashed.canonical_proof_config,
        read_text("proofCanonDataInt.txt")
    );
    assert_eq!(
        hex(&Sha256::digest(&hashed.canonical_document)),
        read_text("docHashDataInt.txt")
    );
    assert_eq!(
        hex(&Sha256::digest(&hashed.canonical_proof_config)),
        read_text("proofHashDataInt.txt")
    );
    assert_eq!(hex(&hashed.hash_data), read_text("combinedHashDataInt.txt"));

    let signature = vector_key().sign(&hashed.hash_data);
    assert_eq!(hex(&signature.to_bytes()), read_text("sigHexDataInt.txt"));
    let proof_value = multibase::encode_base58btc(&signature.to_bytes());
    assert_eq!(proof_value, read_text("sigBTC58DataInt.txt"));
    let signed = read_json("signedDataInt.json");
    assert_eq!(signed["proof"]["proofValue"], proof_value.as_str());
    // The signed document's proof is the configuration, less its @context, with the value.
    let mut proof = config.as_object().expect("object").clone();
    proof.remove("@context");
    proof.insert("proofValue".into(), proof_value.into());
    assert_eq!(signed["proof"], Value::Object(proof));
}

#[test]
fn a_changed_byte_is_refused() {
    let config = read_json("proofConfigDataInt.json");
    let public = vector_key().verifying_key();
    let signature = Signature::from_bytes(
        &multibase::decode_signature(&read_text("sigBTC58DataInt.txt")).expect("64 bytes"),
    );
    let verifies = |config: &Value, document: &Value| {
        let hashed = rdfc_hash_data(config, document, &ContextLoader::new()).expect("hashes");
        public.verify(&hashed.hash_data, &signature).is_ok()
    };
    assert!(verifies(&config, &unsigned()));

    let mut document = unsigned();
    document["credentialSubject"]["alumniOf"] = "The School of Examplez".into();
    assert!(!verifies(&config, &document));
    let mut document = unsigned();
    document["validFrom"] = "2023-01-01T00:00:01Z".into();
    assert!(!verifies(&config, &document));
    let mut changed = config.clone();
    changed["created"] = "2023-02-24T23:36:39Z".into();
    assert!(!verifies(&changed, &unsigned()));

    let mut bytes = signature.to_bytes();
    bytes[0] ^= 1;
    let hashed = rdfc_hash_data(&config, &unsigned(), &ContextLoader::new()).expect("hashes");
    assert!(
        public
            .verify(&hashed.hash_data, &Signature::from_bytes(&bytes))
            .is_err()
    );
}

#[test]
fn the_vector_credential_signed_with_a_did_key_verifies() {
    let options = ProofOptions {
        created: "2023-02-24T23:36:38Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    let contexts = ContextLoader::new();
    let signed = sign_rdfc(&unsigned(), &vector_key(), &options, &contexts).expect("signs");
    let verified = verify_with_contexts(&signed, ASSERTION_METHOD, &contexts).expect("verifies");
    assert_eq!(verified.cryptosuite, Cryptosuite::EddsaRdfc2022);

    let mut undefined = signed.clone();
    undefined["credentialSubject"]["undefinedTerm"] = "x".into();
    // The examples context maps every term below its vocabulary: nothing is undefined.
    assert!(matches!(
        verify_with_contexts(&undefined, ASSERTION_METHOD, &contexts),
        Err(ProofError::SignatureMismatch { .. })
    ));
    let mut without_examples = signed;
    without_examples["@context"] = serde_json::json!(["https://www.w3.org/ns/credentials/v2"]);
    without_examples["proof"]["@context"] = without_examples["@context"].clone();
    assert_eq!(
        verify_with_contexts(&without_examples, ASSERTION_METHOD, &contexts),
        Err(ProofError::Canonicalization(RdfcError::UndefinedTerm(
            "AlumniCredential".into()
        )))
    );
}
