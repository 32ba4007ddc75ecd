//! The project's test vectors (`core/tests/vectors/`, sources in its README): RFC 8785 JCS
//! cases and the W3C vc-di-eddsa `eddsa-jcs-2022` vectors, reproduced byte for byte.

use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use serde_json::Value;
use sha2::{Digest, Sha256};
use talent_core::schema::SchemaSet;
use talent_core::verify::{CheckName, VerifyOptions, verify_credential};
use talent_integrity::did::DidKey;
use talent_integrity::jcs::canonicalize;
use talent_integrity::multibase;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

/// `core/tests/vectors` in the repository, or `$TALENT_VECTORS`.
fn vectors_dir() -> PathBuf {
    std::env::var_os("TALENT_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"),
        PathBuf::from,
    )
}

fn read(path: &str) -> Vec<u8> {
    let path = vectors_dir().join(path);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_text(path: &str) -> String {
    String::from_utf8(read(path)).expect("UTF-8 vector")
}

fn read_json(path: &str) -> Value {
    serde_json::from_slice(&read(path)).expect("JSON vector")
}

const EDDSA: &str = "w3c-vc-di-eddsa";

#[test]
fn jcs_cases_canonicalise_exactly() {
    let input = read_json("jcs/jcs-cases.json");
    let expected = read("jcs/jcs-cases.canonical.txt");
    assert_eq!(
        String::from_utf8_lossy(&canonicalize(&input)),
        String::from_utf8_lossy(&expected)
    );
}

fn vector_key() -> SigningKey {
    let pair = read_json(&format!("{EDDSA}/keyPair.json"));
    let seed = multibase::decode_ed25519_secret(pair["privateKeyMultibase"].as_str().expect("str"))
        .expect("vector secret multikey");
    let key = SigningKey::from_bytes(&seed);
    assert_eq!(
        multibase::encode_ed25519_public(key.verifying_key().as_bytes()),
        pair["publicKeyMultibase"].as_str().expect("str"),
        "the vector's public key is derived from its secret key"
    );
    key
}

#[test]
fn eddsa_jcs_2022_canonical_document_and_hashes() {
    let unsigned = read_json(&format!("{EDDSA}/unsigned.json"));
    let canonical = canonicalize(&unsigned);
    assert_eq!(canonical, read(&format!("{EDDSA}/canonDocJCS.txt")));
    assert_eq!(
        hex(&Sha256::digest(&canonical)),
        read_text(&format!("{EDDSA}/docHashJCS.txt")).trim()
    );
    let config = read_json(&format!("{EDDSA}/proofConfigJCS.json"));
    assert_eq!(
        canonicalize(&config),
        read(&format!("{EDDSA}/proofCanonJCS.txt"))
    );
    assert_eq!(
        hex(&Sha256::digest(canonicalize(&config))),
        read_text(&format!("{EDDSA}/proofHashJCS.txt")).trim()
    );
    assert_eq!(
        hex(&proof::hash_data(&config, &unsigned)),
        read_text(&format!("{EDDSA}/combinedHashJCS.txt")).trim()
    );
}

#[test]
fn eddsa_jcs_2022_signature_reproduces_signed_vector() {
    let unsigned = read_json(&format!("{EDDSA}/unsigned.json"));
    let options = ProofOptions {
        created: "2023-02-24T23:36:38Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    let signed = proof::sign(&unsigned, &vector_key(), &options).expect("signs");
    let proof_value = signed["proof"]["proofValue"].as_str().expect("proofValue");
    assert_eq!(
        proof_value,
        read_text(&format!("{EDDSA}/sigBTC58JCS.txt")).trim()
    );
    assert_eq!(
        hex(&multibase::decode_base58btc(proof_value).expect("base58btc")),
        read_text(&format!("{EDDSA}/sigHexJCS.txt")).trim()
    );
    assert_eq!(signed, read_json(&format!("{EDDSA}/signedJCS.json")));
}

#[test]
fn signed_vector_proof_verifies_but_issuer_binding_fails() {
    let signed = read_json(&format!("{EDDSA}/signedJCS.json"));
    let verified = proof::verify(&signed, ASSERTION_METHOD).expect("vector proof verifies");
    assert_eq!(
        verified.controller,
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
            .parse::<DidKey>()
            .expect("did")
    );

    let schemas = SchemaSet::new();
    let verdict = verify_credential(
        &signed,
        &VerifyOptions {
            issuers: talent_core::verify::IssuerContext::NotRequested,
            status: None,
            now: chrono::Utc::now(),
            schemas: &schemas,
            log: talent_core::verify::LogContext::NotRequested,
        },
    );
    assert!(!verdict.verified);
    let check = |name| verdict.check(name).expect("check present");
    assert!(check(CheckName::Proof).ok, "{verdict:#?}");
    assert!(
        !check(CheckName::Issuer).ok,
        "https issuer is not the did:key"
    );
    assert!(
        check(CheckName::Issuer)
            .detail
            .contains("https://vc.example/issuers/5678")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
