//! The `sm2-jcs-2025` test vector (`tests/vectors/sm2-jcs-2025/`, see its README),
//! reproduced value by value from its private key and unsigned credential.
//!
//! With `TALENT_WRITE_SM2_VECTORS=1` the test writes the files it would compare instead
//! (after a deliberate change of the suite; the README says how they are then checked).

use std::path::PathBuf;

use serde_json::Value;
use sm3::{Digest, Sm3};
use talent_integrity::did::{DidKey, SM2_DISTINGUISHING_ID};
use talent_integrity::jcs::canonicalize;
use talent_integrity::keys::Sm2SigningKey;
use talent_integrity::multibase;
use talent_integrity::proof::{self, ASSERTION_METHOD, Cryptosuite, ProofOptions};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sm2-jcs-2025")
}

fn read(name: &str) -> Vec<u8> {
    let path = dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_text(name: &str) -> String {
    String::from_utf8(read(name))
        .expect("UTF-8")
        .trim_end()
        .to_owned()
}

fn read_json(name: &str) -> Value {
    serde_json::from_slice(&read(name)).expect("JSON")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
        .collect()
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).expect("JSON");
    text.push(b'\n');
    text
}

/// The vector's files, as this crate makes them from the key and the unsigned credential.
fn made() -> Vec<(&'static str, Vec<u8>)> {
    let pair = read_json("keyPair.json");
    let secret: [u8; 32] = unhex(pair["privateKeyHex"].as_str().expect("privateKeyHex"))
        .try_into()
        .expect("32 bytes");
    let key = Sm2SigningKey::from_bytes(&secret).expect("a valid SM2 key");
    let did = key.did();
    let key_pair = serde_json::json!({
        "privateKeyHex": hex(&secret),
        "publicKeyHex": hex(&key.public_point()),
        "publicKeyMultibase": did.multikey(),
        "did": did.to_string(),
        "verificationMethod": did.verification_method(),
        "distinguishingId": SM2_DISTINGUISHING_ID,
    });

    let unsigned = read_json("unsigned.json");
    let options = ProofOptions {
        created: "2026-11-26T03:00:00Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    let signed = proof::sign(&unsigned, &key, &options).expect("signs");
    let proof_value = signed["proof"]["proofValue"]
        .as_str()
        .expect("proofValue")
        .to_owned();
    let mut config = signed["proof"].clone();
    config
        .as_object_mut()
        .expect("proof object")
        .remove("proofValue");
    let proof_canon = canonicalize(&config);
    let document_canon = canonicalize(&unsigned);
    // SM3 straight from the sm3 crate, not through the suite.
    let proof_hash: [u8; 32] = Sm3::digest(&proof_canon).into();
    let document_hash: [u8; 32] = Sm3::digest(&document_canon).into();
    let hash_data = [proof_hash, document_hash].concat();
    assert_eq!(
        Cryptosuite::Sm2Jcs2025
            .hash_data(&config, &unsigned)
            .to_vec(),
        hash_data
    );
    let signature = multibase::decode_base58btc(&proof_value).expect("base58btc");
    vec![
        ("keyPair.json", pretty(&key_pair)),
        ("proofConfigJCS.json", pretty(&config)),
        ("proofCanonJCS.txt", proof_canon),
        ("canonDocJCS.txt", document_canon),
        ("proofHashSM3.txt", format!("{}\n", hex(&proof_hash)).into()),
        (
            "docHashSM3.txt",
            format!("{}\n", hex(&document_hash)).into(),
        ),
        (
            "combinedHashSM3.txt",
            format!("{}\n", hex(&hash_data)).into(),
        ),
        ("sigHex.txt", format!("{}\n", hex(&signature)).into()),
        ("sigBTC58.txt", format!("{proof_value}\n").into()),
        ("signedJCS.json", pretty(&signed)),
    ]
}

#[test]
fn sm2_jcs_2025_vector_is_reproduced_value_by_value() {
    let files = made();
    if std::env::var_os("TALENT_WRITE_SM2_VECTORS").is_some() {
        for (name, bytes) in &files {
            std::fs::write(dir().join(name), bytes).expect("write the vector");
        }
        return;
    }
    for (name, bytes) in &files {
        if name.ends_with(".json") {
            let made: Value = serde_json::from_slice(bytes).expect("JSON");
            assert_eq!(made, read_json(name), "{name}");
        } else if name.contains("JCS") {
            // Canonical bytes: exactly, without a final newline.
            assert_eq!(
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&read(name)),
                "{name}"
            );
        } else {
            assert_eq!(
                String::from_utf8_lossy(bytes).trim_end(),
                read_text(name),
                "{name}"
            );
        }
    }
}

#[test]
fn sm2_jcs_2025_vector_verifies_and_names_its_issuer() {
    let signed = read_json("signedJCS.json");
    let verified = proof::verify(&signed, ASSERTION_METHOD).expect("the vector verifies");
    assert_eq!(verified.cryptosuite, Cryptosuite::Sm2Jcs2025);
    let pair = read_json("keyPair.json");
    assert_eq!(
        verified.controller,
        pair["did"]
            .as_str()
            .expect("did")
            .parse::<DidKey>()
            .expect("an SM2 did:key")
    );
    assert_eq!(signed["issuer"], pair["did"]);
    assert_eq!(
        verified.verification_method,
        pair["verificationMethod"].as_str().expect("method")
    );
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["level"] = "副高级".into();
    assert!(matches!(
        proof::verify(&tampered, ASSERTION_METHOD),
        Err(proof::ProofError::SignatureMismatch { .. })
    ));
}
