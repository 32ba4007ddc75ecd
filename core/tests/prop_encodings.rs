//! Properties of the encodings and documents every other parser builds on: RFC 8785 JSON
//! (`jcs`), multibase and `did:key` (`multibase`, `did`), signed statements (`statement`),
//! W3C status lists (`status_list`), the federation configuration (`federation`) and the
//! trust anchors a verifier stores (`trust`). Each canonical form round-trips, hostile
//! input is refused without a panic, and the limits hold on hostile lengths.

mod fixtures;
mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use support::{any_edit, any_json, any_text, cases, edited, flipped, same_or_context_appended};
use talent_core::federation::Federation;
use talent_core::identifiers::CredentialId;
use talent_core::log_entry::verify_entry;
use talent_core::statement::{Statement, StatusChange};
use talent_core::status::CredentialStatus;
use talent_core::status_list::{Bitstring, LIST_BITS, StatusEntry, StatusPurpose};
use talent_core::trust::TrustAnchors;
use talent_integrity::did::DidKey;
use talent_integrity::jcs;
use talent_integrity::multibase::{self, MAX_BASE58_CHARS, MultibaseError};

fn federation() -> &'static Federation {
    static FEDERATION: OnceLock<Federation> = OnceLock::new();
    FEDERATION.get_or_init(fixtures::federation)
}

fn cosigned_checkpoint() -> &'static str {
    static NOTE: OnceLock<String> = OnceLock::new();
    NOTE.get_or_init(|| String::from_utf8(fixtures::log().checkpoint).expect("UTF-8"))
}

proptest! {
    #![proptest_config(cases(256))]

    /// Canonical bytes parse back to a value with the same canonical bytes, and the one-pass
    /// scan a mirror relies on proves them canonical only when they are (it may decline).
    #[test]
    fn jcs_is_idempotent_and_the_scan_never_lies(value in any_json(), pretty in any::<bool>()) {
        let canonical = jcs::canonicalize(&value);
        let again: Value = serde_json::from_slice(&canonical).expect("canonical JSON parses");
        prop_assert_eq!(jcs::canonicalize(&again), canonical.clone());
        let written = if pretty {
            serde_json::to_vec_pretty(&value).expect("JSON")
        } else {
            serde_json::to_vec(&value).expect("JSON")
        };
        for bytes in [&canonical, &written] {
            if jcs::is_canonical(bytes) {
                prop_assert_eq!(bytes, &canonical);
            }
        }
        if let Some(members) = value.as_object() {
            let (text, spans) = jcs::canonicalize_object_members(members);
            prop_assert_eq!(&text, &canonical);
            if let Some(scanned) = jcs::canonical_members(&canonical) {
                prop_assert_eq!(scanned, spans);
            }
        }
    }

    /// Any byte of canonical text changed: the scan still never proves wrong bytes canonical.
    #[test]
    fn the_scan_never_proves_a_changed_byte(value in any_json(), at in any::<Index>(), flip in 1u8..=255) {
        let canonical = jcs::canonicalize(&value);
        let changed = flipped(&canonical, at, flip);
        if jcs::is_canonical(&changed)
            && let Ok(parsed) = serde_json::from_slice::<Value>(&changed)
        {
            prop_assert_eq!(jcs::canonicalize(&parsed), changed);
        }
    }

    /// Base58btc: bytes encode and decode back; text that decodes is the one encoding of its
    /// bytes; the signature decoder agrees with the general one. (No bytes encode as `z`,
    /// which is refused: nothing the registry encodes is empty.)
    #[test]
    fn base58btc_round_trips(
        bytes in prop::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 1..90),
        text in "z?[1-9A-HJ-NP-Za-km-z0OIl]{0,100}",
    ) {
        let encoded = multibase::encode_base58btc(&bytes);
        prop_assert_eq!(multibase::decode_base58btc(&encoded), Ok(bytes));
        let general = multibase::decode_base58btc(&text);
        if let Ok(decoded) = &general {
            prop_assert_eq!(&multibase::encode_base58btc(decoded), &text);
        }
        let expected = match general {
            Ok(bytes) if bytes.len() == 64 => Ok(bytes),
            Ok(bytes) => Err(Ok(bytes.len())),
            Err(error) => Err(Err(error)),
        };
        prop_assert_eq!(multibase::decode_signature(&text).map(|s| s.to_vec()), expected);
    }

    /// Base58btc text of hostile length is refused before decoding.
    #[test]
    fn overlong_base58_is_refused(length in MAX_BASE58_CHARS + 1..70_000usize) {
        let text = format!("z{}", "2".repeat(length));
        prop_assert_eq!(multibase::decode_base58btc(&text), Err(MultibaseError::TooLong(length)));
        prop_assert_eq!(multibase::decode_signature(&text), Err(Err(MultibaseError::TooLong(length))));
        let did = format!("did:key:{text}");
        prop_assert!(did.parse::<DidKey>().is_err());
    }

    /// did:key: every key's DID parses back to it; text that parses as a DID (or as a
    /// verification method) is written back the same.
    #[test]
    fn did_keys_round_trip(seed in any::<[u8; 32]>(), text in "(did:key:)?z6Mk[1-9A-HJ-NP-Za-km-z]{40,46}(#z6Mk[1-9A-HJ-NP-Za-km-z]{40,46})?") {
        let key = SigningKey::from_bytes(&seed).verifying_key();
        let did = DidKey::from_verifying_key(&key);
        prop_assert_eq!(did.to_string().parse::<DidKey>(), Ok(did.clone()));
        prop_assert_eq!(DidKey::from_verification_method(&did.verification_method()), Ok(did));
        if let Ok(parsed) = text.parse::<DidKey>() {
            prop_assert_eq!(parsed.to_string(), text.clone());
        }
        if let Ok(parsed) = DidKey::from_verification_method(&text) {
            prop_assert_eq!(parsed.verification_method(), text);
        }
    }

    /// Any text as a did:key or verification method is refused without a panic.
    #[test]
    fn any_text_as_a_did(text in any_text(), prefix in any::<bool>()) {
        let text = if prefix { format!("did:key:{text}") } else { text };
        if let Ok(did) = text.parse::<DidKey>() {
            prop_assert_eq!(did.to_string(), text.clone());
        }
        let _ = DidKey::from_verification_method(&text);
    }
}

/// A status change of the fixture credential by the member's authority, with any reason and
/// time, as it is logged.
fn any_status_change() -> impl Strategy<Value = StatusChange> {
    (
        prop::sample::select(vec!["02", "03", "04", "06", "07", "01"]),
        "[\\p{Han}A-Za-z ]{0,20}[\\p{Han}A-Za-z]",
        0i64..3_000_000_000,
    )
        .prop_map(|(status, reason, seconds)| StatusChange {
            id: fixtures::credential_id(0x40),
            credential_id: fixtures::credential_id(0),
            status: status.parse::<CredentialStatus>().expect("status"),
            reason,
            effective: chrono::DateTime::from_timestamp(seconds, 0).expect("time"),
            issuer: DidKey::from_verifying_key(
                &fixtures::key(fixtures::MEMBER, "authority").verifying_key(),
            ),
            successor: (status == "06").then(|| fixtures::credential_id(0x41)),
        })
}

proptest! {
    #![proptest_config(cases(128))]

    /// A statement's canonical form reads back to the same statement.
    #[test]
    fn status_changes_round_trip(change in any_status_change()) {
        let unsigned = change.to_unsigned();
        prop_assert_eq!(StatusChange::from_json(&unsigned), Ok(change.clone()));
        let signed = fixtures::sign(&unsigned, &fixtures::key(fixtures::MEMBER, "authority"));
        let read = Statement::from_json(&signed).expect("a signed statement reads");
        prop_assert_eq!(read.id(), change.id);
    }

    /// A signed status change with any member changed never verifies as a log entry; what
    /// still reads as a statement writes a canonical form that reads back the same.
    #[test]
    fn a_changed_statement_never_verifies(change in any_status_change(), at in any::<Index>(), edit in any_edit()) {
        let signed = fixtures::sign(&change.to_unsigned(), &fixtures::key(fixtures::MEMBER, "authority"));
        let bytes = jcs::canonicalize(&signed);
        prop_assert!(verify_entry(&bytes).is_ok());
        let changed = edited(&signed, at, &edit);
        // A value appended to `@context` keeps the proof valid by the specification (see
        // `same_or_context_appended`); the statement reader refuses such a context.
        if same_or_context_appended(&changed, &signed) && changed != signed {
            prop_assert!(Statement::from_json(&changed).is_err());
            return Ok(());
        }
        prop_assume!(changed != signed);
        if let Ok(bytes) = talent_core::log_entry::encode(&changed) {
            prop_assert!(verify_entry(&bytes).is_err());
        }
        if let Ok(read) = Statement::from_json(&changed) {
            let unsigned = match &read {
                Statement::StatusChange(change) => change.to_unsigned(),
                Statement::KeyRotation(rotation) => rotation.to_unsigned(),
            };
            prop_assert!(Statement::from_json(&unsigned).is_ok());
        }
    }

    /// Any JSON as a statement, or a status change with any value in one place, is read or
    /// refused without a panic.
    #[test]
    fn any_json_as_a_statement(value in any_json(), change in any_status_change(), at in any::<Index>()) {
        let _ = Statement::from_json(&value);
        let _ = Statement::from_json(&edited(&change.to_unsigned(), at, &support::Edit::Replace(value)));
    }

    /// Status lists: any set of bits encodes to an `encodedList` that decodes to the same
    /// bits, and an entry reads back from its JSON.
    #[test]
    fn status_lists_round_trip(
        set in prop::collection::vec(0..LIST_BITS, 0..50),
        probe in 0..LIST_BITS,
        url in "https://[a-z.]{1,20}/status/[0-9]{1,3}",
        revocation in any::<bool>(),
    ) {
        let mut list = Bitstring::new();
        for index in &set {
            list.set(*index);
        }
        let decoded = Bitstring::decode(&list.encode()).expect("decodes");
        prop_assert_eq!(decoded.get(probe), Ok(set.contains(&probe)));
        prop_assert_eq!(&decoded, &list);
        let entry = StatusEntry {
            purpose: if revocation { StatusPurpose::Revocation } else { StatusPurpose::Suspension },
            index: probe,
            list_credential: url,
        };
        prop_assert_eq!(StatusEntry::from_json(&entry.to_json()), Ok(entry.clone()));
        let credential = json!({"credentialStatus": [entry.to_json()]});
        prop_assert_eq!(StatusEntry::all_of(&credential), Ok(vec![entry]));
    }

    /// Any text as an `encodedList`, any JSON as a status entry: refused without a panic.
    #[test]
    fn any_status_list_input(text in prop_oneof!["u[A-Za-z0-9_-]{0,200}", any_text()], value in any_json()) {
        if let Ok(list) = Bitstring::decode(&text) {
            prop_assert!(list.bits() >= u64::from(LIST_BITS));
        }
        let _ = StatusEntry::all_of(&json!({"credentialStatus": value.clone()}));
        let _ = talent_core::status_list::StatusListCredential::from_json(&value);
    }
}

/// The shipped configuration with the names and quorum changed to the given values.
fn configuration_with(name_zh: &str, name_en: &str, quorum: usize) -> String {
    let toml_string = |text: &str| Value::from(text).to_string();
    fixtures::FEDERATION_TOML
        .replacen(
            "name_zh = \"成渝地区双城经济圈人才互认联盟\"",
            &format!("name_zh = {}", toml_string(name_zh)),
            1,
        )
        .replacen(
            "name_en = \"Chengdu–Chongqing Talent Recognition Federation\"",
            &format!("name_en = {}", toml_string(name_en)),
            1,
        )
        .replacen(
            "witness_quorum = 3",
            &format!("witness_quorum = {quorum}"),
            1,
        )
}

proptest! {
    #![proptest_config(cases(64))]

    /// A configuration that parses writes out as TOML that parses to the same federation.
    #[test]
    fn federation_configurations_round_trip(
        name_zh in "[\\p{Han}（）·]{1,20}",
        name_en in "[ -~]{1,30}",
        quorum in 0usize..7,
    ) {
        let text = configuration_with(&name_zh, &name_en, quorum);
        if let Ok(federation) = Federation::parse(&text) {
            prop_assert_eq!(Federation::parse(&federation.to_toml()), Ok(federation));
        } else {
            prop_assert!(quorum == 0 || quorum > 4 || name_en.trim().is_empty());
        }
    }

    /// Any byte of the configuration changed: parsed or refused at a line and column inside
    /// the text, without a panic.
    #[test]
    fn a_changed_configuration_is_refused_at_a_place(at in any::<Index>(), flip in 1u8..=255) {
        let changed = flipped(fixtures::FEDERATION_TOML.as_bytes(), at, flip);
        let Ok(text) = std::str::from_utf8(&changed) else {
            return Ok(());
        };
        match Federation::parse(text) {
            Ok(federation) => {
                prop_assert_eq!(Federation::parse(&federation.to_toml()), Ok(federation));
            }
            Err(error) => {
                prop_assert!(error.line >= 1 && error.line <= text.lines().count() + 1);
                prop_assert!(error.column >= 1);
            }
        }
    }

    /// Trust anchors with any byte of a member's checkpoint changed are refused, and a
    /// checkpoint that opens has the fixture log's size.
    #[test]
    fn changed_trust_anchors_are_refused(at in any::<Index>(), flip in 1u8..=255) {
        let good = TrustAnchors::new(
            federation(),
            BTreeMap::from([(fixtures::MEMBER.to_owned(), cosigned_checkpoint().to_owned())]),
            fixtures::NOW.to_owned(),
        );
        prop_assert!(good.check(federation(), None).is_ok());
        let changed = flipped(cosigned_checkpoint().as_bytes(), at, flip);
        let Ok(note) = String::from_utf8(changed) else {
            return Ok(());
        };
        let anchors = TrustAnchors {
            checkpoints: BTreeMap::from([(fixtures::MEMBER.to_owned(), note)]),
            ..good.clone()
        };
        // A changed cosignature line may be ignored (an unknown cosigner's): the head then
        // lists fewer cosigners.
        if let Ok(heads) = anchors.check(federation(), Some(&good)) {
            prop_assert_eq!(heads[0].size, fixtures::log().tree.size());
            prop_assert!(heads[0].cosigners.len() < 3);
        }
    }

    /// Any JSON as trust anchors: refused without a panic.
    #[test]
    fn any_json_as_trust_anchors(value in any_json(), at in any::<Index>(), edit in any_edit()) {
        let good = serde_json::to_value(TrustAnchors::new(
            federation(),
            BTreeMap::from([(fixtures::MEMBER.to_owned(), cosigned_checkpoint().to_owned())]),
            fixtures::NOW.to_owned(),
        ))
        .expect("JSON");
        for value in [value, edited(&good, at, &edit)] {
            if let Ok(anchors) = serde_json::from_value::<TrustAnchors>(value) {
                let _ = anchors.check(federation(), None);
            }
        }
    }
}

#[test]
fn credential_ids_read_as_written() {
    let id = fixtures::credential_id(1);
    assert_eq!(id.to_string().parse::<CredentialId>(), Ok(id));
}
