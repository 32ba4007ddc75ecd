//! A credential issued the way the node issues it verifies; any change to it does not, and
//! each kind of forgery is reported by the check it breaks. A mirror's check of the same
//! credential as a log entry answers as the whole-object check does.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use talent_core::accreditation::SubjectFacts;
use talent_core::credential::{self, CredentialType, IssueRequest, parse_datetime};
use talent_core::identifiers::CredentialId;
use talent_core::issuers::{Admissible, signing_time};
use talent_core::log_entry::{self, EntryKind, EntryVerifyError, MirrorEntry};
use talent_core::schema::SchemaSet;
use talent_core::verify::{CheckName, Verdict, VerifyOptions, verify_credential};
use talent_integrity::did::{DidKey, KeyCache};
use talent_integrity::jcs::canonicalize;
use talent_integrity::multibase;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofError, ProofOptions};

fn now() -> DateTime<Utc> {
    parse_datetime("2026-11-26T03:00:00Z").expect("valid time")
}

fn authority() -> SigningKey {
    SigningKey::from_bytes(&[11u8; 32])
}

fn unsigned_title(key: &SigningKey) -> Value {
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
    let issuer = DidKey::from_verifying_key(&key.verifying_key());
    credential::prepare(
        request,
        &issuer,
        &"cq-sc".parse().expect("region"),
        &credential::Namespace::at("https://cq-sc.example"),
        CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id"),
        now(),
    )
    .expect("prepares")
    .document
}

fn sign_with(key: &SigningKey, document: &Value) -> Value {
    let options = ProofOptions {
        created: "2026-11-26T03:00:00Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    proof::sign(document, key, &options).expect("signs")
}

fn verdict(document: &Value, schemas: &SchemaSet) -> Verdict {
    verify_credential(
        document,
        &VerifyOptions {
            issuers: talent_core::verify::IssuerContext::NotRequested,
            status: None,
            now: now() + Duration::days(1),
            schemas,
            log: talent_core::verify::LogContext::NotRequested,
        },
    )
}

fn failed(verdict: &Verdict) -> Vec<CheckName> {
    verdict
        .checks
        .iter()
        .filter(|check| !check.ok)
        .map(|check| check.name)
        .collect()
}

#[test]
fn issued_credential_verifies() {
    let schemas = SchemaSet::new();
    let signed = sign_with(&authority(), &unsigned_title(&authority()));
    let verdict = verdict(&signed, &schemas);
    assert!(verdict.verified, "{verdict:#?}");
}

#[test]
fn every_changed_byte_is_rejected() {
    let schemas = SchemaSet::new();
    let bytes = canonicalize(&sign_with(&authority(), &unsigned_title(&authority())));
    let mut unparsable = 0;
    for position in 0..bytes.len() {
        for flip in [0x01u8, 0x20] {
            let mut tampered = bytes.clone();
            tampered[position] ^= flip;
            let Ok(value) = serde_json::from_slice::<Value>(&tampered) else {
                unparsable += 1;
                continue;
            };
            let verdict = verdict(&value, &schemas);
            assert!(
                !verdict.verified,
                "byte {position} ^ {flip:#04x} still verifies: {}",
                String::from_utf8_lossy(&tampered)
            );
        }
    }
    // Most single-byte changes still parse, so the signature, not the parser, caught them.
    assert!(
        unparsable < bytes.len(),
        "{unparsable} of {}",
        bytes.len() * 2
    );
}

#[test]
fn changed_field_fails_the_proof_check_only() {
    let schemas = SchemaSet::new();
    let mut signed = sign_with(&authority(), &unsigned_title(&authority()));
    signed["credentialSubject"]["level"] = "中级".into();
    assert_eq!(failed(&verdict(&signed, &schemas)), vec![CheckName::Proof]);
}

#[test]
fn wrong_cryptosuite_and_proof_type_are_rejected() {
    let signed = sign_with(&authority(), &unsigned_title(&authority()));
    let mut suite = signed.clone();
    suite["proof"]["cryptosuite"] = "eddsa-rdfc-2022".into();
    assert_eq!(
        proof::verify(&suite, ASSERTION_METHOD),
        Err(ProofError::UnsupportedCryptosuite("eddsa-rdfc-2022".into()))
    );
    let mut kind = signed;
    kind["proof"]["type"] = "Ed25519Signature2020".into();
    assert_eq!(
        proof::verify(&kind, ASSERTION_METHOD),
        Err(ProofError::WrongProofType("Ed25519Signature2020".into()))
    );
}

#[test]
fn proof_context_must_prefix_document_context() {
    let mut signed = sign_with(&authority(), &unsigned_title(&authority()));
    signed["proof"]["@context"] = json!(["https://www.w3.org/ns/credentials/examples/v2"]);
    assert_eq!(
        proof::verify(&signed, ASSERTION_METHOD),
        Err(ProofError::ContextMismatch)
    );
    let mut longer = sign_with(&authority(), &unsigned_title(&authority()));
    let mut context = longer["@context"].as_array().expect("array").clone();
    context.push("https://example.org/extra".into());
    longer["proof"]["@context"] = context.into();
    assert_eq!(
        proof::verify(&longer, ASSERTION_METHOD),
        Err(ProofError::ContextMismatch)
    );
}

#[test]
fn multikey_without_ed25519_prefix_is_rejected() {
    let mut signed = sign_with(&authority(), &unsigned_title(&authority()));
    let mut x25519 = vec![0xec, 0x01];
    x25519.extend_from_slice(authority().verifying_key().as_bytes());
    let multikey = multibase::encode_base58btc(&x25519);
    signed["proof"]["verificationMethod"] = format!("did:key:{multikey}#{multikey}").into();
    assert!(matches!(
        proof::verify(&signed, ASSERTION_METHOD),
        Err(ProofError::VerificationMethod(_))
    ));
}

#[test]
fn issuer_other_than_signer_is_rejected() {
    let schemas = SchemaSet::new();
    let claimed = SigningKey::from_bytes(&[12u8; 32]);
    // The document claims `claimed` as issuer but is signed by `authority`.
    let signed = sign_with(&authority(), &unsigned_title(&claimed));
    let verdict = verdict(&signed, &schemas);
    assert_eq!(failed(&verdict), vec![CheckName::Issuer]);
}

#[test]
fn malformed_multibase_proof_value_is_rejected() {
    let signed = sign_with(&authority(), &unsigned_title(&authority()));
    for bad in ["", "z", "u2HnFSSPP", "z0OIl0OIl", "not multibase"] {
        let mut tampered = signed.clone();
        tampered["proof"]["proofValue"] = bad.into();
        assert!(
            matches!(
                proof::verify(&tampered, ASSERTION_METHOD),
                Err(ProofError::ProofValueEncoding(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn expired_and_not_yet_valid_fail_validity() {
    let schemas = SchemaSet::new();
    let signed = sign_with(&authority(), &unsigned_title(&authority()));
    let at = |time| {
        verify_credential(
            &signed,
            &VerifyOptions {
                issuers: talent_core::verify::IssuerContext::NotRequested,
                status: None,
                now: time,
                schemas: &schemas,
                log: talent_core::verify::LogContext::NotRequested,
            },
        )
    };
    assert_eq!(
        failed(&at(now() - Duration::seconds(1))),
        vec![CheckName::Validity]
    );
    let expired = at(parse_datetime("2036-11-26T00:00:00Z").expect("time"));
    assert_eq!(failed(&expired), vec![CheckName::Validity]);
    assert!(
        expired
            .check(CheckName::Validity)
            .expect("check")
            .detail
            .contains("expired")
    );
}

/// A credential names the context and schema under its member's node (as the federation
/// says it) or the legacy base: one that names another base, even signed by the member's own
/// authority, fails the authority check and only it.
#[test]
fn a_credential_under_another_base_fails_the_authority_check() {
    use talent_core::credential::Namespace;
    use talent_core::issuers::IssuerRegistry;
    use talent_core::verify::IssuerContext;

    let schemas = SchemaSet::new();
    let own = Namespace::at("https://cq-sc.example");
    let registry = IssuerRegistry::new(
        "cq-sc",
        DidKey::from_verifying_key(&authority().verifying_key()),
        own.clone(),
    );
    let judged = |document: &Value| {
        verify_credential(
            document,
            &VerifyOptions {
                issuers: IssuerContext::Registry {
                    registry: &registry,
                    position: None,
                },
                status: None,
                now: now() + Duration::days(1),
                schemas: &schemas,
                log: talent_core::verify::LogContext::NotRequested,
            },
        )
    };
    let issued = unsigned_title(&authority());
    let under = |base: &Namespace| {
        let mut document = issued.clone();
        document["@context"][1] = json!(base.context_url());
        document["credentialSchema"]["id"] =
            json!(base.schema_url(CredentialType::ProfessionalTitleCredential));
        sign_with(&authority(), &document)
    };
    assert_eq!(issued["@context"][1], "https://cq-sc.example/ns/v1");
    for accepted in [own.clone(), Namespace::legacy()] {
        let verdict = judged(&under(&accepted));
        assert!(verdict.verified, "{accepted}: {verdict:#?}");
    }
    let elsewhere = Namespace::at("https://cq-sc.example.evil.example");
    let verdict = judged(&under(&elsewhere));
    assert_eq!(failed(&verdict), vec![CheckName::Authority]);
    let detail = &verdict.check(CheckName::Authority).expect("check").detail;
    assert!(detail.contains("foreign_namespace"), "{detail}");
    assert!(
        detail.contains("https://cq-sc.example.evil.example/ns/v1"),
        "{detail}"
    );
    // The member's context with another base's schema is foreign too.
    let mut mixed = issued.clone();
    mixed["credentialSchema"]["id"] =
        json!(elsewhere.schema_url(CredentialType::ProfessionalTitleCredential));
    assert_eq!(
        failed(&judged(&sign_with(&authority(), &mixed))),
        vec![CheckName::Authority]
    );
}

// A mirror checks a peer's entries with `entry::prepare_entry_with` and
// `entry::verify_entries`, which take talent credentials from their canonical text without
// parsing them whole. They must accept and refuse exactly the entries that
// `entry::verify_entry`, the whole-object check, accepts and refuses, with the same error,
// and give admission the same facts.

/// The title credential as a log entry.
fn title_entry() -> Vec<u8> {
    canonicalize(&sign_with(&authority(), &unsigned_title(&authority())))
}

/// What a mirror's check answers for one entry.
fn mirror_check(bytes: &[u8]) -> Result<MirrorEntry, EntryVerifyError> {
    let prepared = log_entry::prepare_entry_with(bytes, &mut KeyCache::new())?;
    log_entry::verify_entries(vec![prepared], &[bytes])
        .map(|mut verified| verified.remove(0))
        .map_err(|(_, error)| error)
}

/// What both checks answer, comparably.
fn answers(bytes: &[u8]) -> [Result<(EntryKind, CredentialId, DidKey), EntryVerifyError>; 2] {
    [
        mirror_check(bytes).map(|entry| (entry.kind, entry.id, entry.signer)),
        log_entry::verify_entry(bytes).map(|entry| (entry.entry.kind, entry.id, entry.signer)),
    ]
}

#[test]
fn a_talent_credential_is_admitted_by_the_same_facts_without_its_whole_object() {
    let bytes = title_entry();
    let mirrored = mirror_check(&bytes).expect("verifies");
    let whole = log_entry::verify_entry(&bytes).expect("verifies");
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
            valid_until,
        } => {
            assert_eq!(credential_type, CredentialType::ProfessionalTitleCredential);
            assert_eq!(
                subject,
                &SubjectFacts::of(credential_type, &object["credentialSubject"])
            );
            assert_eq!(subject.region.as_deref(), Some("cq-sc"));
            assert_eq!(signed, signing_time(object));
            assert!(signed.is_some());
            assert_eq!(valid_until, talent_core::issuers::valid_until(object));
        }
        Admissible::Object(_) => panic!("a talent credential should be checked from its text"),
    }
    assert_eq!(mirrored.issued(), whole.issued());
}

#[test]
fn entries_that_change_the_history_are_kept_whole() {
    let issuer = DidKey::from_verifying_key(&authority().verifying_key());
    let accreditation = sign_with(
        &authority(),
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c01",
            "type": ["VerifiableCredential", "IssuerAccreditationCredential"],
            "issuer": issuer.to_string(),
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": issuer.to_string(), "name": "某公司", "region": "cq-sc"},
        }),
    );
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
        .map(|bytes| log_entry::prepare_entry_with(bytes, &mut keys).expect("well-formed"))
        .collect();
    match log_entry::verify_entries(prepared, &entries) {
        Err((2, EntryVerifyError::Proof(proof::ProofError::SignatureMismatch { .. }))) => {}
        other => panic!("expected entry 2's signature to fail, got {other:?}"),
    }
}
