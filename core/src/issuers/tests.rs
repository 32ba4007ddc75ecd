//! The issuer registry's behaviour: admission, authorisation at a point of the log, key
//! history and accreditation windows, judged together as a log replay sees them.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use super::*;
use crate::accreditation::SubjectFacts;
use crate::credential::{CredentialType, Namespace, parse_datetime};
use crate::identifiers::CredentialId;
use crate::statement::{KeyRotation, StatusChange};
use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

const MEMBER: &str = "cq-sc";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn did(seed: u8) -> DidKey {
    DidKey::from_verifying_key(&key(seed).verifying_key())
}

fn time(text: &str) -> DateTime<Utc> {
    parse_datetime(text).expect("time")
}

fn id(n: u8) -> CredentialId {
    CredentialId::parse_lenient(&format!("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c{n:02x}")).expect("id")
}

fn sign(object: Value, seed: u8, at: &str) -> Value {
    proof::sign(
        &object,
        &key(seed),
        &ProofOptions {
            created: at.to_owned(),
            proof_purpose: ASSERTION_METHOD,
        },
    )
    .expect("signs")
}

/// Authority seed 1; enterprise seed 2 accredited for 中级/副高级 titles in 2026.
fn registry() -> IssuerRegistry {
    let mut registry = IssuerRegistry::new(MEMBER, did(1), Namespace::legacy());
    let accreditation = sign(
        json!({
            "id": id(1).to_string(),
            "type": ["VerifiableCredential", "IssuerAccreditationCredential"],
            "issuer": did(1).to_string(),
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2027-01-01T00:00:00Z",
            "credentialSubject": {
                "id": did(2).to_string(),
                "name": "重庆某某科技有限公司",
                "region": MEMBER,
                "scope": {"types": ["ProfessionalTitleCredential"], "levels": ["中级", "副高级"]},
            },
        }),
        1,
        "2026-01-01T00:00:00Z",
    );
    assert!(registry.apply(&accreditation, 0));
    registry
}

/// A title valid until the end of 2026 (the enterprise's accreditation ends with 2026).
fn title(issuer: u8, level: &str) -> Value {
    json!({
        "type": ["VerifiableCredential", "ProfessionalTitleCredential"],
        "issuer": did(issuer).to_string(),
        "validUntil": "2026-12-31T00:00:00Z",
        "credentialSubject": {"name": "张三", "region": MEMBER, "level": level},
    })
}

fn at(position: u64, signed: &str) -> When {
    When {
        position: Some(position),
        signed: time(signed),
        admitted: None,
    }
}

fn code(result: Result<Authorisation, AuthorisationError>) -> &'static str {
    match result {
        Ok(Authorisation::Authority { .. }) => "authority",
        Ok(Authorisation::Accredited { .. }) => "accredited",
        Ok(Authorisation::CredentialIssuer { .. }) => "issuer",
        Err(error) => error.code(),
    }
}

#[test]
fn a_talent_credential_admitted_by_its_parts_is_admitted_as_whole() {
    let cases = [
        (1, "正高级", "2026-06-01T00:00:00Z", MEMBER),
        (2, "中级", "2026-06-01T00:00:00Z", MEMBER),
        (2, "正高级", "2026-06-01T00:00:00Z", MEMBER),
        (2, "中级", "2025-06-01T00:00:00Z", MEMBER),
        (2, "中级", "2027-06-01T00:00:00Z", MEMBER),
        (3, "中级", "2026-06-01T00:00:00Z", MEMBER),
        (2, "中级", "2026-06-01T00:00:00Z", "cd-hz"),
    ];
    for (issuer, level, signed_at, region) in cases {
        let mut object = title(issuer, level);
        object["credentialSubject"]["region"] = region.into();
        let object = sign(object, issuer, signed_at);
        let kind = CredentialType::ProfessionalTitleCredential;
        let subject = SubjectFacts::of(kind, &object["credentialSubject"]);
        // Read from the text, the facts are the same.
        let text = object["credentialSubject"].to_string();
        assert_eq!(
            SubjectFacts::from_json(kind, &text).as_ref(),
            Some(&subject)
        );
        let parts = Admissible::TalentCredential {
            credential_type: kind,
            subject: &subject,
            signed: signing_time(&object),
            valid_until: valid_until(&object),
        };
        let admit = |admissible: Admissible<'_>| {
            let mut r = registry();
            let answer = r.admit(admissible, &did(issuer), 5, &mut |_| None);
            (answer, r.events.len())
        };
        assert_eq!(
            admit(parts),
            admit(Admissible::Object(&object)),
            "{issuer} {level} {signed_at} {region}"
        );
    }
    // Without a signing time, both refuse for that.
    let object = title(1, "中级");
    let subject = SubjectFacts::of(
        CredentialType::ProfessionalTitleCredential,
        &object["credentialSubject"],
    );
    let parts = Admissible::TalentCredential {
        credential_type: CredentialType::ProfessionalTitleCredential,
        subject: &subject,
        signed: signing_time(&object),
        valid_until: valid_until(&object),
    };
    let r = registry();
    assert_eq!(
        r.check(parts, &did(1), 5, &mut |_| None),
        Err(AdmitError::NoSigningTime)
    );
    assert_eq!(
        r.check(&object, &did(1), 5, &mut |_| None),
        Err(AdmitError::NoSigningTime)
    );
    // An accreditation changes the history: by parts it is refused, never half-applied.
    let parts = Admissible::TalentCredential {
        credential_type: CredentialType::IssuerAccreditationCredential,
        subject: &subject,
        signed: Some(time("2026-06-01T00:00:00Z")),
        valid_until: None,
    };
    assert_eq!(
        registry().admit(parts, &did(1), 5, &mut |_| None),
        Err(AdmitError::UnknownKind)
    );
}

#[test]
fn scope_window_and_identity() {
    let r = registry();
    let check = |issuer: u8, level: &str, signed: &str| {
        code(r.authorise_credential(&title(issuer, level), &did(issuer), at(5, signed)))
    };
    assert_eq!(check(1, "正高级", "2026-06-01T00:00:00Z"), "authority");
    assert_eq!(check(2, "中级", "2026-06-01T00:00:00Z"), "accredited");
    assert_eq!(check(2, "正高级", "2026-06-01T00:00:00Z"), "scope_level");
    assert_eq!(
        check(2, "中级", "2025-06-01T00:00:00Z"),
        "accreditation_not_yet_valid"
    );
    assert_eq!(
        check(2, "中级", "2027-06-01T00:00:00Z"),
        "accreditation_expired"
    );
    assert_eq!(check(3, "中级", "2026-06-01T00:00:00Z"), "not_accredited");
    let mut foreign = title(2, "中级");
    foreign["credentialSubject"]["region"] = "cd-hz".into();
    assert_eq!(
        code(r.authorise_credential(&foreign, &did(2), at(5, "2026-06-01T00:00:00Z"))),
        "region_mismatch"
    );
    let mut accreditation = title(2, "中级");
    accreditation["type"] = json!(["VerifiableCredential", "IssuerAccreditationCredential"]);
    assert_eq!(
        code(r.authorise_credential(&accreditation, &did(2), at(5, "2026-06-01T00:00:00Z"))),
        "authority_only"
    );
}

#[test]
fn withdrawal_is_not_retroactive() {
    let mut r = registry();
    let withdrawal = StatusChange {
        id: id(2),
        credential_id: id(1),
        status: CredentialStatus::Cancelled,
        reason: "授权撤回".to_owned(),
        // Backdated: it still only takes effect when signed.
        effective: time("2026-03-01T00:00:00Z"),
        issuer: did(1),
        successor: None,
    };
    let signed = sign(withdrawal.to_unsigned(), 1, "2026-06-01T00:00:00Z");
    let target = StatusTarget {
        issuer: did(1),
        status: CredentialStatus::Valid,
        set_by: None,
    };
    assert_eq!(
        code(r.authorise_status_change(
            &withdrawal,
            &did(1),
            &target,
            at(10, "2026-06-01T00:00:00Z")
        )),
        "authority"
    );
    assert_eq!(
        code(r.authorise_status_change(
            &withdrawal,
            &did(2),
            &target,
            at(10, "2026-06-01T00:00:00Z")
        )),
        "not_the_issuer"
    );
    assert!(r.apply(&signed, 10));
    let check = |position: u64, signed: &str| {
        code(r.authorise_credential(&title(2, "中级"), &did(2), at(position, signed)))
    };
    // Logged before the withdrawal: still valid.
    assert_eq!(check(5, "2026-07-01T00:00:00Z"), "accredited");
    // Logged after it: withdrawn, also when it claims to have been signed before
    // (a back-dated proof.created, issue 19).
    assert_eq!(check(11, "2026-05-31T23:56:00Z"), "accreditation_withdrawn");
    assert_eq!(check(11, "2026-04-01T00:00:00Z"), "accreditation_withdrawn");
    assert_eq!(check(11, "2026-07-01T00:00:00Z"), "accreditation_withdrawn");
    // Not known to be logged: judged by when it was signed.
    let unlogged = |signed: &str| {
        code(r.authorise_credential(
            &title(2, "中级"),
            &did(2),
            When {
                position: None,
                signed: time(signed),
                admitted: None,
            },
        ))
    };
    assert_eq!(unlogged("2026-04-01T00:00:00Z"), "accredited");
    assert_eq!(unlogged("2026-07-01T00:00:00Z"), "accreditation_withdrawn");
    assert!(r.accredited_at(&did(2), time("2026-05-01T00:00:00Z")));
    assert!(!r.accredited_at(&did(2), time("2026-07-01T00:00:00Z")));
    assert!(!r.accredited_at(&did(3), time("2026-05-01T00:00:00Z")));
}

#[test]
fn the_log_clock_judges_what_is_logged_after_a_change() {
    let mut r = registry();
    // A withdrawal signed on 1 June that takes effect on 1 September.
    let scheduled = StatusChange {
        id: id(2),
        credential_id: id(1),
        status: CredentialStatus::Cancelled,
        reason: "授权到期前撤回".to_owned(),
        effective: time("2026-09-01T00:00:00Z"),
        issuer: did(1),
        successor: None,
    };
    assert!(r.apply(
        &sign(scheduled.to_unsigned(), 1, "2026-06-01T00:00:00Z"),
        10
    ));
    let admitted_at = |signed: &str, admitted: Option<&str>| {
        let when = When {
            position: Some(11),
            signed: time(signed),
            admitted: admitted.map(time),
        };
        code(r.authorise_credential(&title(2, "中级"), &did(2), when))
    };
    // Before the date the issuer still issues; from it, not even back-dated when the
    // admitting node's clock is past it.
    assert_eq!(admitted_at("2026-07-01T00:00:00Z", None), "accredited");
    assert_eq!(
        admitted_at("2026-09-02T00:00:00Z", None),
        "accreditation_withdrawn"
    );
    assert_eq!(
        admitted_at("2026-08-31T23:56:00Z", Some("2026-08-31T23:59:00Z")),
        "accredited"
    );
    assert_eq!(
        admitted_at("2026-08-31T23:56:00Z", Some("2026-09-01T00:01:00Z")),
        "accreditation_withdrawn"
    );
    // A later history entry moves the log's clock for everything logged after it.
    let rotation = KeyRotation {
        id: id(3),
        previous_key: did(2),
        next_key: did(4),
        effective: time("2026-09-02T00:00:00Z"),
        issuer: did(2),
    };
    assert!(r.apply(&sign(rotation.to_unsigned(), 2, "2026-09-02T00:00:00Z"), 20));
    assert_eq!(
        r.log_clock(at(21, "2026-01-01T00:00:00Z")),
        Some(time("2026-09-02T00:00:00Z"))
    );
    let check = |issuer: u8, position: u64, signed: &str| {
        code(r.authorise_credential(&title(issuer, "中级"), &did(issuer), at(position, signed)))
    };
    assert_eq!(check(2, 15, "2026-08-31T23:56:00Z"), "accredited");
    assert_eq!(check(2, 21, "2026-08-31T23:56:00Z"), "key_retired");
    // Expiry too: once the log is past the accreditation's end, nothing logged after it
    // is inside the window, whatever it claims.
    let mut r = registry();
    let other = StatusChange {
        id: id(5),
        credential_id: id(1),
        status: CredentialStatus::Suspended,
        reason: "核查".to_owned(),
        effective: time("2027-01-02T00:00:00Z"),
        issuer: did(1),
        successor: None,
    };
    assert!(r.apply(&sign(other.to_unsigned(), 1, "2027-01-02T00:00:00Z"), 30));
    let title_2026 = title(2, "中级");
    assert_eq!(
        code(r.authorise_credential(&title_2026, &did(2), at(31, "2026-12-30T00:00:00Z"))),
        "accreditation_expired"
    );
    assert_eq!(
        code(r.authorise_credential(&title_2026, &did(2), at(29, "2026-12-30T00:00:00Z"))),
        "accredited"
    );
}

#[test]
fn a_replay_admits_whatever_the_admitting_node_admitted() {
    // Suspended on 1 June at once; the lift, signed on 2 June, takes effect on 1 July;
    // a withdrawal signed on 3 June takes effect on 1 September; an agreement-free
    // history otherwise.
    let mut r = registry();
    let change = |n: u8, status, effective: &str, signed: &str| {
        let change = StatusChange {
            id: id(n),
            credential_id: id(1),
            status,
            reason: "核查".to_owned(),
            effective: time(effective),
            issuer: did(1),
            successor: None,
        };
        sign(change.to_unsigned(), 1, signed)
    };
    assert!(r.apply(
        &change(
            2,
            CredentialStatus::Suspended,
            "2026-06-01T00:00:00Z",
            "2026-06-01T00:00:00Z"
        ),
        10
    ));
    assert!(r.apply(
        &change(
            3,
            CredentialStatus::Valid,
            "2026-07-01T00:00:00Z",
            "2026-06-02T00:00:00Z"
        ),
        11
    ));
    assert!(r.apply(
        &change(
            4,
            CredentialStatus::Cancelled,
            "2026-09-01T00:00:00Z",
            "2026-06-03T00:00:00Z"
        ),
        12
    ));
    let times = [
        "2026-05-15T00:00:00Z",
        "2026-06-01T12:00:00Z",
        "2026-06-15T00:00:00Z",
        "2026-07-02T00:00:00Z",
        "2026-08-31T23:58:00Z",
        "2026-09-01T00:02:00Z",
        "2026-12-31T00:00:00Z",
    ];
    let judge = |position: u64, signed: &str, admitted: Option<&str>| {
        let when = When {
            position: Some(position),
            signed: time(signed),
            admitted: admitted.map(time),
        };
        code(r.authorise_credential(&title(2, "中级"), &did(2), when))
    };
    for position in [5, 11, 12, 13] {
        for signed in times {
            for admitted in times.iter().filter(|admitted| **admitted >= signed) {
                let at_node = judge(position, signed, Some(admitted));
                let replayed = judge(position, signed, None);
                assert!(
                    at_node != "accredited" || replayed == "accredited",
                    "position {position}, signed {signed}, admitted {admitted}: node {at_node}, replay {replayed}"
                );
            }
        }
    }
    // Signed after the lift took effect, logged after it: issued, at the node and in
    // every replay.
    assert_eq!(
        judge(13, "2026-07-02T00:00:00Z", Some("2026-07-02T00:00:00Z")),
        "accredited"
    );
    assert_eq!(judge(13, "2026-07-02T00:00:00Z", None), "accredited");
    // Signed while suspended, submitted once the lift took effect: refused.
    assert_eq!(
        judge(13, "2026-06-15T00:00:00Z", Some("2026-07-02T00:00:00Z")),
        "accreditation_suspended"
    );
}

#[test]
fn an_immediate_rotation_retires_the_key_for_everything_logged_after_it() {
    let mut r = registry();
    let rotation = KeyRotation {
        id: id(3),
        previous_key: did(2),
        next_key: did(4),
        effective: time("2026-06-01T00:00:00Z"),
        issuer: did(2),
    };
    assert!(r.apply(&sign(rotation.to_unsigned(), 2, "2026-06-01T00:00:00Z"), 20));
    let check = |position: u64, signed: &str| {
        code(r.authorise_credential(&title(2, "中级"), &did(2), at(position, signed)))
    };
    assert_eq!(check(19, "2026-05-31T23:58:00Z"), "accredited");
    // Logged after the rotation, claiming two minutes before it: refused.
    assert_eq!(check(21, "2026-05-31T23:58:00Z"), "key_retired");
}

#[test]
fn a_suspension_is_lifted_only_by_whoever_may_override_its_setter() {
    let r = registry();
    let change = |status: CredentialStatus, signer: u8| {
        let change = StatusChange {
            id: id(20),
            credential_id: id(21),
            status,
            reason: "核查".to_owned(),
            effective: time("2026-06-01T00:00:00Z"),
            issuer: did(signer),
            successor: None,
        };
        sign(change.to_unsigned(), signer, "2026-06-01T00:00:00Z")
    };
    // A credential the enterprise (seed 2) issued, replayed as a log would.
    let mut targets = StatusTargets::new();
    let issued = Admitted {
        authorisation: Authorisation::CredentialIssuer { key: did(2) },
        issuer_event: false,
        status: None,
    };
    targets.record(Some((id(21), &did(2))), &issued, |_| None);
    let step = |r: &IssuerRegistry,
                targets: &mut StatusTargets,
                status: CredentialStatus,
                signer: u8,
                position: u64| {
        let answer = r.check(&change(status, signer), &did(signer), position, &mut |id| {
            targets.get(id)
        });
        if let Ok(admitted) = &answer {
            targets.record(None, admitted, |_| None);
        }
        answer
            .map(|admitted| admitted.authorisation)
            .map_err(|error| error.code())
    };
    // The authority suspends it: the enterprise may not lift that suspension.
    assert!(step(&r, &mut targets, CredentialStatus::Suspended, 1, 30).is_ok());
    assert_eq!(
        targets.get(id(21)).and_then(|target| target.set_by),
        Some(did(1))
    );
    assert_eq!(
        step(&r, &mut targets, CredentialStatus::Valid, 2, 31),
        Err("lift_not_allowed")
    );
    // The authority may.
    assert!(step(&r, &mut targets, CredentialStatus::Valid, 1, 32).is_ok());
    // The enterprise lifts a suspension it set itself, and the authority one the
    // enterprise set.
    assert!(step(&r, &mut targets, CredentialStatus::Suspended, 2, 33).is_ok());
    assert!(step(&r, &mut targets, CredentialStatus::Valid, 2, 34).is_ok());
    assert!(step(&r, &mut targets, CredentialStatus::Suspended, 2, 35).is_ok());
    assert!(step(&r, &mut targets, CredentialStatus::Valid, 1, 36).is_ok());
    // Making a suspension final is no lift: the enterprise may revoke its credential.
    assert!(step(&r, &mut targets, CredentialStatus::Suspended, 1, 37).is_ok());
    assert!(step(&r, &mut targets, CredentialStatus::Revoked, 2, 38).is_ok());
}

#[test]
fn a_delegated_credential_ends_no_later_than_its_accreditation() {
    let r = registry();
    let with_end = |end: Option<&str>| {
        let mut credential = title(2, "中级");
        match end {
            Some(end) => credential["validUntil"] = end.into(),
            None => {
                credential
                    .as_object_mut()
                    .expect("object")
                    .remove("validUntil");
            }
        }
        code(r.authorise_credential(&credential, &did(2), at(5, "2026-06-01T00:00:00Z")))
    };
    assert_eq!(with_end(Some("2026-12-31T00:00:00Z")), "accredited");
    assert_eq!(with_end(Some("2027-01-01T00:00:00Z")), "accredited");
    assert_eq!(
        with_end(Some("2027-01-01T00:00:01Z")),
        "validity_outlasts_accreditation"
    );
    assert_eq!(with_end(None), "validity_outlasts_accreditation");
    assert_eq!(
        with_end(Some("不是日期")),
        "validity_outlasts_accreditation"
    );
    // The authority's own credentials are not bounded by anyone's accreditation.
    let mut own = title(1, "正高级");
    own.as_object_mut().expect("object").remove("validUntil");
    assert_eq!(
        code(r.authorise_credential(&own, &did(1), at(5, "2026-06-01T00:00:00Z"))),
        "authority"
    );
}

#[test]
fn rotated_keys_sign_only_before_the_rotation() {
    let mut r = registry();
    let rotation = KeyRotation {
        id: id(3),
        previous_key: did(2),
        next_key: did(4),
        effective: time("2026-06-01T00:00:00Z"),
        issuer: did(2),
    };
    let when = at(20, "2026-05-01T00:00:00Z");
    assert_eq!(
        code(r.authorise_rotation(&rotation, &did(2), when)),
        "issuer"
    );
    assert_eq!(
        code(r.authorise_rotation(&rotation, &did(1), when)),
        "authority"
    );
    assert_eq!(
        code(r.authorise_rotation(&rotation, &did(5), when)),
        "rotation_signer"
    );
    let reuse = KeyRotation {
        next_key: did(1),
        ..rotation.clone()
    };
    assert_eq!(
        code(r.authorise_rotation(&reuse, &did(2), when)),
        "key_reused"
    );
    assert!(r.apply(&sign(rotation.to_unsigned(), 2, "2026-05-01T00:00:00Z"), 20));
    let check = |issuer: u8, position: u64, signed: &str| {
        code(r.authorise_credential(&title(issuer, "中级"), &did(issuer), at(position, signed)))
    };
    assert_eq!(check(2, 21, "2026-05-15T00:00:00Z"), "accredited");
    assert_eq!(check(2, 21, "2026-06-15T00:00:00Z"), "key_retired");
    assert_eq!(check(4, 21, "2026-05-15T00:00:00Z"), "key_not_yet_valid");
    assert_eq!(check(4, 21, "2026-06-15T00:00:00Z"), "accredited");
    // Before the rotation was logged, the new key was nobody's.
    assert_eq!(check(4, 19, "2026-06-15T00:00:00Z"), "not_accredited");
    assert_eq!(
        code(r.authorise_rotation(&rotation, &did(2), at(30, "2026-05-20T00:00:00Z"))),
        "already_rotated"
    );
}

#[test]
fn authority_rotation_moves_the_authority() {
    let mut r = registry();
    let rotation = KeyRotation {
        id: id(5),
        previous_key: did(1),
        next_key: did(6),
        effective: time("2026-08-01T00:00:00Z"),
        issuer: did(1),
    };
    let when = at(30, "2026-08-01T00:00:00Z");
    assert_eq!(
        code(r.authorise_rotation(&rotation, &did(2), when)),
        "rotation_signer"
    );
    assert_eq!(
        code(r.authorise_rotation(&rotation, &did(1), when)),
        "authority"
    );
    assert!(r.apply(&sign(rotation.to_unsigned(), 1, "2026-08-01T00:00:00Z"), 30));
    assert_eq!(r.authority_key(time("2026-09-01T00:00:00Z")), did(6));
    assert_eq!(r.authority_key(time("2026-07-01T00:00:00Z")), did(1));
    assert_eq!(r.latest_authority_key(), did(6));
    assert!(r.same_issuer(&did(1), &did(6)));
    let check = |issuer: u8, signed: &str| {
        code(r.authorise_credential(&title(issuer, "正高级"), &did(issuer), at(31, signed)))
    };
    assert_eq!(check(6, "2026-09-01T00:00:00Z"), "authority");
    assert_eq!(check(1, "2026-09-01T00:00:00Z"), "key_retired");
    // The accreditation the old key signed stays in force.
    assert_eq!(
        code(r.authorise_credential(&title(2, "中级"), &did(2), at(31, "2026-09-01T00:00:00Z"))),
        "accredited"
    );
}

/// The SM2 key with every scalar byte `seed`.
fn sm2_key(seed: u8) -> talent_integrity::keys::Sm2SigningKey {
    talent_integrity::keys::Sm2SigningKey::from_bytes(&[seed; 32]).expect("a valid scalar")
}

fn sign_sm2(object: Value, seed: u8, at: &str) -> Value {
    proof::sign(
        &object,
        &sm2_key(seed),
        &ProofOptions {
            created: at.to_owned(),
            proof_purpose: ASSERTION_METHOD,
        },
    )
    .expect("signs")
}

#[test]
fn an_sm2_authority_accredits_with_sm2_and_its_issuers_sign_with_either_suite() {
    let authority = sm2_key(1).did();
    let mut r = IssuerRegistry::new(MEMBER, authority.clone(), Namespace::legacy());
    let accreditation = sign_sm2(
        json!({
            "id": id(1).to_string(),
            "type": ["VerifiableCredential", "IssuerAccreditationCredential"],
            "issuer": authority.to_string(),
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2027-01-01T00:00:00Z",
            "credentialSubject": {
                "id": did(2).to_string(),
                "name": "重庆某某科技有限公司",
                "region": MEMBER,
                "scope": {"types": ["ProfessionalTitleCredential"], "levels": ["中级"]},
            },
        }),
        1,
        "2026-01-01T00:00:00Z",
    );
    assert!(r.apply(&accreditation, 0));
    let mut own = title(2, "正高级");
    own["issuer"] = json!(authority.to_string());
    assert_eq!(
        code(r.authorise_credential(&own, &authority, at(5, "2026-06-01T00:00:00Z"))),
        "authority"
    );
    assert_eq!(
        code(r.authorise_credential(&title(2, "中级"), &did(2), at(5, "2026-06-01T00:00:00Z"))),
        "accredited"
    );
}

#[test]
fn a_rotation_from_ed25519_to_sm2_keeps_what_the_old_key_signed() {
    let mut r = registry();
    let next = sm2_key(6).did();
    let rotation = KeyRotation {
        id: id(5),
        previous_key: did(1),
        next_key: next.clone(),
        effective: time("2026-08-01T00:00:00Z"),
        issuer: did(1),
    };
    assert!(r.apply(&sign(rotation.to_unsigned(), 1, "2026-08-01T00:00:00Z"), 30));
    assert_eq!(r.latest_authority_key(), next);
    assert_eq!(r.authority_key(time("2026-07-01T00:00:00Z")), did(1));
    assert!(r.same_issuer(&did(1), &next));
    let mut own = title(1, "正高级");
    own["issuer"] = json!(next.to_string());
    assert_eq!(
        code(r.authorise_credential(&own, &next, at(31, "2026-09-01T00:00:00Z"))),
        "authority"
    );
    // What the Ed25519 key signed before the rotation stands, and so does its accreditation.
    assert_eq!(
        code(r.authorise_credential(&title(1, "正高级"), &did(1), at(20, "2026-07-01T00:00:00Z"))),
        "authority"
    );
    assert_eq!(
        code(r.authorise_credential(&title(2, "中级"), &did(2), at(31, "2026-09-01T00:00:00Z"))),
        "accredited"
    );
    // A further rotation signed by the SM2 key is the authority's.
    let onward = KeyRotation {
        id: id(6),
        previous_key: next.clone(),
        next_key: did(7),
        effective: time("2026-10-01T00:00:00Z"),
        issuer: next.clone(),
    };
    assert!(r.apply(
        &sign_sm2(onward.to_unsigned(), 6, "2026-10-01T00:00:00Z"),
        40
    ));
    assert_eq!(r.latest_authority_key(), did(7));
}
