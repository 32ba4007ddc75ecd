//! A mirror checks a peer's entries with `entry::prepare_entry_with` and
//! `entry::verify_entries`, which take talent credentials from their canonical text
//! without parsing them whole. They must accept and refuse exactly the entries that
//! `entry::verify_entry`, the whole-object check, accepts and refuses, with the same error,
//! and give admission the same facts.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use talent_core::credential::{self, CredentialType, IssueRequest, parse_datetime};
use talent_core::did::{DidKey, KeyCache};
use talent_core::identifiers::CredentialId;
use talent_core::issuers::{Admissible, signing_time};
use talent_core::jcs::canonicalize;
use talent_core::proof::{self, ASSERTION_METHOD, ProofOptions};
use talent_core::tlog::entry::{self, EntryKind, EntryVerifyError, MirrorEntry};

fn now() -> DateTime<Utc> {
    parse_datetime("2026-11-26T03:00:00Z").expect("valid time")
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[11u8; 32])
}

fn signed(document: &Value) -> Value {
    let options = ProofOptions {
        created: "2026-11-26T03:00:00Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    proof::sign(document, &key(), &options).expect("signs")
}

/// A professional title as the node issues it, as a log entry.
fn title_entry() -> Vec<u8> {
    let request = IssueRequest::from_json(&json!({
        "type": "ProfessionalTitleCredential",
        "credentialSubject": {
            "name": "王五",
            "idNumber": "11010519491231002X",
            "employer": {"name": "重庆某科技有限公司", "creditCode": "91500000MA5U1234XH"},
            "series": "工程",
            "specialty": "软件工程",
            "level": "正高级",
            "titleName": "正高级工程师",
            "committee": "重庆市工程技术高级职称评审委员会",
            "conferredOn": "2025-12-30"
        },
        "validUntil": "2036-11-26T00:00:00Z"
    }))
    .expect("request");
    let issuer = DidKey::from_verifying_key(&key().verifying_key());
    let document = credential::prepare(
        request,
        &issuer,
        &"cq-sc".parse().expect("region"),
        CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id"),
        now(),
    )
    .expect("prepares")
    .document;
    canonicalize(&signed(&document))
}

/// What a mirror's check answers for one entry.
fn mirror_check(bytes: &[u8]) -> Result<MirrorEntry, EntryVerifyError> {
    let prepared = entry::prepare_entry_with(bytes, &mut KeyCache::new())?;
    entry::verify_entries(vec![prepared], &[bytes])
        .map(|mut verified| verified.remove(0))
        .map_err(|(_, error)| error)
}

/// What both checks answer, comparably.
fn answers(bytes: &[u8]) -> [Result<(EntryKind, CredentialId, DidKey), EntryVerifyError>; 2] {
    [
        mirror_check(bytes).map(|entry| (entry.kind, entry.id, entry.signer)),
        entry::verify_entry(bytes).map(|entry| (entry.entry.kind, entry.id, entry.signer)),
    ]
}

#[test]
fn a_talent_credential_is_admitted_by_the_same_facts_without_its_whole_object() {
    let bytes = title_entry();
    let mirrored = mirror_check(&bytes).expect("verifies");
    let whole = entry::verify_entry(&bytes).expect("verifies");
    assert_eq!(
        (mirrored.kind, mirrored.id, &mirrored.signer),
        (whole.entry.kind, whole.id, &whole.signer)
    );
    let object = &whole.entry.object;
    match mirrored.admissible() {
        Admissible::TalentCredential {
            credential_type,
            subject,
            signed,
        } => {
            assert_eq!(credential_type, CredentialType::ProfessionalTitleCredential);
            assert_eq!(subject, &object["credentialSubject"]);
            assert_eq!(signed, signing_time(object));
            assert!(signed.is_some());
        }
        Admissible::Object(_) => panic!("a talent credential should be checked from its text"),
    }
    assert_eq!(mirrored.issued(), whole.issued());
}

#[test]
fn entries_that_change_the_history_are_kept_whole() {
    let issuer = DidKey::from_verifying_key(&key().verifying_key());
    let accreditation = signed(&json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c01",
        "type": ["VerifiableCredential", "IssuerAccreditationCredential"],
        "issuer": issuer.to_string(),
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": issuer.to_string(), "name": "某公司", "region": "cq-sc"},
    }));
    let bytes = canonicalize(&accreditation);
    let mirrored = mirror_check(&bytes).expect("verifies");
    match mirrored.admissible() {
        Admissible::Object(object) => assert_eq!(object, &accreditation),
        Admissible::TalentCredential { .. } => panic!("an accreditation must be kept whole"),
    }
}

#[test]
fn every_changed_byte_gets_the_answer_of_the_whole_object_check() {
    let bytes = title_entry();
    let [mirrored, whole] = answers(&bytes);
    assert!(mirrored.is_ok() && mirrored == whole);
    let mut checked = 0;
    for position in 0..bytes.len() {
        // A digit, a quote, a backslash, a space and a UTF-8 lead byte: each breaks
        // something else (a value, a string, an escape, canonical form, UTF-8).
        for replacement in [b'7', b'"', b'\\', b' ', 0xC3] {
            if bytes[position] == replacement {
                continue;
            }
            let mut changed = bytes.clone();
            changed[position] = replacement;
            let [mirrored, whole] = answers(&changed);
            assert_eq!(
                mirrored,
                whole,
                "byte {position} changed to {replacement:#04x}: {}",
                String::from_utf8_lossy(&changed)
            );
            assert!(
                mirrored.is_err(),
                "byte {position}: a changed entry verified"
            );
            checked += 1;
        }
    }
    assert!(checked > 4 * bytes.len());
}

#[test]
fn a_batch_with_one_forged_entry_names_it_and_only_it() {
    let genuine = title_entry();
    let text = String::from_utf8(genuine.clone()).expect("UTF-8");
    // Same length, still canonical, signature no longer matches.
    let forged = text.replace("正高级工程师", "副高级工程师").into_bytes();
    let entries = vec![genuine.clone(), genuine.clone(), forged, genuine];
    let mut keys = KeyCache::new();
    let prepared = entries
        .iter()
        .map(|bytes| entry::prepare_entry_with(bytes, &mut keys).expect("well-formed"))
        .collect();
    match entry::verify_entries(prepared, &entries) {
        Err((2, EntryVerifyError::Proof(proof::ProofError::SignatureMismatch { .. }))) => {}
        other => panic!("expected entry 2's signature to fail, got {other:?}"),
    }
}
