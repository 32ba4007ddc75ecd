//! Properties of the verification pipeline (`talent_core::verify`) on presented credentials
//! and of the issuance path (`IssueRequest::from_json`, the request schema,
//! `credential::prepare`) on issue requests: hostile input is refused without a panic, a
//! changed signed credential never verifies, and a valid request becomes a credential that
//! verifies and carries only the masked ID number.

mod fixtures;
mod support;

use std::sync::OnceLock;

use chrono::Duration;
use fixtures::{Evidence, Log};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use support::{
    Edit, any_edit, any_json, any_text, cases, edited, flipped, same_or_context_appended, schemas,
};
use talent_core::credential::{self, IssueRequest};
use talent_core::log_entry::{self, prepare_entry_with, verify_entries, verify_entry};
use talent_core::schema::SchemaKind;
use talent_integrity::did::{DidKey, KeyCache};
use talent_integrity::jcs::canonicalize;

fn title() -> &'static Value {
    static TITLE: OnceLock<Value> = OnceLock::new();
    TITLE.get_or_init(fixtures::signed_title)
}

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(fixtures::log)
}

fn verified(document: &Value, evidence: Evidence) -> bool {
    fixtures::verdict(document, schemas(), log(), evidence).verified
}

/// Whether the mirror's fast check of an entry (`prepare_entry_with` + `verify_entries`)
/// accepts it.
fn mirror_accepts(bytes: &[u8]) -> bool {
    prepare_entry_with(bytes, &mut KeyCache::new())
        .ok()
        .is_some_and(|prepared| verify_entries(vec![prepared], &[bytes]).is_ok())
}

#[test]
fn the_fixture_credential_verifies_with_and_without_log_evidence() {
    for evidence in [Evidence::None, Evidence::Log] {
        let verdict = fixtures::verdict(title(), schemas(), log(), evidence);
        assert!(verdict.verified, "{evidence:?}: {verdict:#?}");
    }
    let bytes = log_entry::encode(title()).expect("an entry");
    assert!(verify_entry(&bytes).is_ok());
    assert!(mirror_accepts(&bytes));
}

proptest! {
    #![proptest_config(cases(192))]

    /// Any byte of the signed credential's canonical text changed to any other value: if it
    /// still parses to a different document, that document does not verify (offline, or with
    /// log evidence, where it is also hashed as the leaf), and as a log entry neither the
    /// whole check nor a mirror's fast check accepts the changed bytes.
    #[test]
    fn a_changed_byte_never_verifies(at in any::<Index>(), flip in 1u8..=255) {
        let bytes = canonicalize(title());
        let changed = flipped(&bytes, at, flip);
        prop_assert!(verify_entry(&changed).is_err());
        prop_assert!(!mirror_accepts(&changed));
        if let Ok(document) = serde_json::from_slice::<Value>(&changed)
            && !same_or_context_appended(&document, title())
        {
            prop_assert!(!verified(&document, Evidence::None));
            prop_assert!(!verified(&document, Evidence::Log));
        }
    }

    /// A byte cut out, or a run of bytes inserted, anywhere.
    #[test]
    fn a_cut_or_an_insertion_never_verifies(
        at in any::<Index>(),
        inserted in prop::collection::vec(any::<u8>(), 0..4),
    ) {
        let bytes = canonicalize(title());
        let position = at.index(bytes.len());
        let mut changed = bytes[..position].to_vec();
        changed.extend_from_slice(&inserted);
        changed.extend_from_slice(&bytes[position + usize::from(inserted.is_empty())..]);
        prop_assert!(verify_entry(&changed).is_err());
        prop_assert!(!mirror_accepts(&changed));
        if let Ok(document) = serde_json::from_slice::<Value>(&changed)
            && !same_or_context_appended(&document, title())
        {
            prop_assert!(!verified(&document, Evidence::None));
            prop_assert!(!verified(&document, Evidence::Log));
        }
    }

    /// Any member anywhere in the credential (its proof included) replaced by any JSON value,
    /// removed, or given a new member or item.
    #[test]
    fn a_changed_member_never_verifies(at in any::<Index>(), edit in any_edit()) {
        let document = edited(title(), at, &edit);
        prop_assume!(&document != title());
        // A value appended to `@context` keeps the proof valid by the specification, but the
        // copy is not the logged entry: with log evidence it fails.
        prop_assert!(!verified(&document, Evidence::Log), "{edit:?}");
        prop_assume!(!same_or_context_appended(&document, title()));
        prop_assert!(!verified(&document, Evidence::None), "{edit:?}");
        if let Ok(bytes) = log_entry::encode(&document) {
            prop_assert!(verify_entry(&bytes).is_err());
            prop_assert!(!mirror_accepts(&bytes));
        }
    }

    /// A proof value or verification method of hostile length (up to a 64 KiB request body)
    /// is refused by length, before it is decoded (decoding base58 is quadratic).
    #[test]
    fn overlong_proof_values_and_keys_are_refused_unread(
        length in 129usize..65_000,
        member in prop::sample::select(vec!["proofValue", "verificationMethod"]),
    ) {
        let mut document = title().clone();
        let value = if member == "proofValue" {
            format!("z{}", "2".repeat(length))
        } else {
            format!("did:key:z{0}#z{0}", "2".repeat(length))
        };
        document["proof"][member] = value.into();
        let verdict = fixtures::verdict(&document, schemas(), log(), Evidence::None);
        prop_assert!(!verdict.verified);
        let proof = verdict
            .checks
            .iter()
            .find(|check| check.name == talent_core::verify::CheckName::Proof)
            .expect("a proof check");
        prop_assert!(proof.detail.contains("is longer than 128"), "{}", proof.detail);
    }

    /// Any JSON value presented as a credential is judged without a panic, and does not verify.
    #[test]
    fn any_json_is_judged_and_refused(document in any_json()) {
        prop_assert!(!verified(&document, Evidence::None));
        prop_assert!(!verified(&document, Evidence::Log));
    }

    /// A signed credential with any JSON value put in one place of it: the same.
    #[test]
    fn any_value_in_a_credential_is_judged_and_refused(at in any::<Index>(), value in any_json()) {
        let document = edited(title(), at, &Edit::Replace(value));
        prop_assume!(&document != title());
        prop_assert!(!verified(&document, Evidence::None));
    }
}

/// A valid 18-digit resident ID number: 17 digits and their GB 11643 check character.
fn any_resident_id() -> impl Strategy<Value = String> {
    prop::collection::vec(0u32..10, 17).prop_map(|digits| {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        digits
            .iter()
            .map(|d| char::from_digit(*d, 10).expect("digit"))
            .chain([check])
            .collect()
    })
}

/// Text the schemas accept for a name or a text field: 1 to 40 characters, none of them
/// white space only.
fn any_field_text() -> impl Strategy<Value = String> {
    "[\\p{Han}A-Za-z0-9（）·〔〕 -]{0,39}[\\p{Han}A-Za-z0-9]"
}

/// A valid 职称 issue request with any names and texts, ID number and dates.
fn any_title_request() -> impl Strategy<Value = Value> {
    (
        any_field_text(),
        any_resident_id(),
        prop::collection::vec(any_field_text(), 5),
        prop::sample::select(vec!["员级", "助理级", "中级", "副高级", "正高级"]),
        (2000i32..2030, 1u32..13, 1u32..29),
        prop::option::of(1i64..20_000),
    )
        .prop_map(|(name, id, texts, level, (year, month, day), days)| {
            let mut request = json!({
                "type": "ProfessionalTitleCredential",
                "credentialSubject": {
                    "name": name,
                    "idNumber": id,
                    "employer": {"name": texts[0]},
                    "series": texts[1],
                    "specialty": texts[2],
                    "level": level,
                    "titleName": texts[3],
                    "committee": texts[4],
                    "conferredOn": format!("{year}-{month:02}-{day:02}"),
                },
            });
            if let Some(days) = days {
                request["validUntil"] =
                    credential::format_datetime(fixtures::now() + Duration::days(days)).into();
            }
            request
        })
}

proptest! {
    #![proptest_config(cases(96))]

    /// A valid request passes the request schema, becomes a credential its type's schema
    /// accepts, with the masked ID number only and its own fields unchanged, and that
    /// credential, signed, verifies.
    #[test]
    fn a_valid_request_becomes_a_credential_that_verifies(request in any_title_request()) {
        prop_assert!(schemas().validate(SchemaKind::IssueRequest, &request).is_ok());
        let full = request["credentialSubject"]["idNumber"].as_str().expect("id").to_owned();
        let issue = IssueRequest::from_json(&request).expect("reads");
        issue.check().expect("passes the bulk checks");
        let authority = fixtures::key(fixtures::MEMBER, "authority");
        let prepared = credential::prepare(
            issue,
            &DidKey::from_verifying_key(&authority.verifying_key()),
            &fixtures::MEMBER.parse().expect("region"),
            &fixtures::namespace(),
            fixtures::credential_id(7),
            fixtures::now(),
        )
        .expect("prepares");
        let document = &prepared.document;
        let subject = &document["credentialSubject"];
        prop_assert!(!document.to_string().contains(&full));
        let masked = format!("{}**********{}", &full[..4], &full[14..]);
        prop_assert_eq!(subject["idNumberMasked"].as_str(), Some(masked.as_str()));
        for (name, value) in request["credentialSubject"].as_object().expect("subject") {
            if name != "idNumber" {
                prop_assert_eq!(&subject[name], value);
            }
        }
        prop_assert_eq!(&subject["region"], fixtures::MEMBER);
        prop_assert!(schemas()
            .validate(SchemaKind::Credential(prepared.credential_type), document)
            .is_ok());
        let signed = fixtures::sign(document, &authority);
        prop_assert!(verified(&signed, Evidence::None));
    }

    /// Any JSON value, or a valid request with any value put in one place of it, goes through
    /// the request schema, `IssueRequest::from_json`, the bulk checks and `prepare` without a
    /// panic, and a credential prepared from it carries the ID number only masked.
    #[test]
    fn any_request_is_read_or_refused(
        base in any_title_request(),
        at in any::<Index>(),
        edit in any_edit(),
        whole in any_json(),
        use_whole in any::<bool>(),
    ) {
        let request = if use_whole { whole } else { edited(&base, at, &edit) };
        let _ = schemas().validate(SchemaKind::IssueRequest, &request);
        let Ok(issue) = IssueRequest::from_json(&request) else {
            return Ok(());
        };
        let checked = issue.check();
        let full = issue.subject.get("idNumber").and_then(Value::as_str).map(str::to_owned);
        let authority = fixtures::key(fixtures::MEMBER, "authority");
        if let Ok(prepared) = credential::prepare(
            issue,
            &DidKey::from_verifying_key(&authority.verifying_key()),
            &fixtures::MEMBER.parse().expect("region"),
            &fixtures::namespace(),
            fixtures::credential_id(7),
            fixtures::now(),
        ) {
            prop_assert!(checked.is_ok(), "prepare accepted what check refused");
            let subject = &prepared.document["credentialSubject"];
            prop_assert!(subject.get("idNumber").is_none());
            if let Some(full) = full {
                let masked = format!("{}**********{}", &full[..4], &full[14..]);
                prop_assert_eq!(subject["idNumberMasked"].as_str(), Some(masked.as_str()));
            }
        }
    }

    /// Strings of any characters in the request's text fields never panic the path.
    #[test]
    fn any_text_in_a_request_is_read_or_refused(name in any_text(), level in any_text()) {
        let mut request = fixtures::title_request();
        request["credentialSubject"]["name"] = name.into();
        request["credentialSubject"]["level"] = level.into();
        let _ = schemas().validate(SchemaKind::IssueRequest, &request);
        let _ = IssueRequest::from_json(&request).map(|issue| issue.check());
    }
}
