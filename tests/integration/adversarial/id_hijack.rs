//! Credential-id hijack across members (issue 19, item 1).
//!
//! The attack: another member's log carries a credential under the id of a genuine
//! credential. Before the fix a node answered "an entry with this id": a delegated issuer
//! at `cd-hz` could log a copy of `cq-sc`'s id (201), and once a mirror held the copy the
//! genuine credential failed verification there while `/verify?credential=ID` showed the
//! intruder's.
//!
//! Real `cq-sc` (the genuine issuer) and `cd-hz` (where a delegated issuer tries to log the
//! id) nodes; `bj-zgc` is played by the byzantine harness, serving a log whose first entry,
//! signed with bj-zgc's authority key, carries the genuine id. `bj-zgc` sorts before
//! `cq-sc`, so a node that took the first mirror holding the id would take the intruder's.

use std::time::Duration;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use federation_tests::byzantine::{FakeMember, ForgedLog, MemberKeys, encode_entry};
use federation_tests::{
    Federation, client, client_with_token, create_token, example_requests, peer_status, verify_at,
    wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::credential::{self, IssueRequest, format_datetime};
use talent_core::identifiers::CredentialId;
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

const GENUINE: &str = "cq-sc";
const ADMITTING: &str = "cd-hz";
const HOSTILE: &str = "bj-zgc";
/// Bound of every wait.
const STEP: Duration = Duration::from_secs(60);

/// A professional title credential for `region` with id `id`, signed now by `key`.
fn title(key: &SigningKey, region: &str, id: CredentialId, name: &str, status: Value) -> Value {
    let did = DidKey::from_verifying_key(&key.verifying_key());
    let request = IssueRequest::from_json(&json!({
        "type": "ProfessionalTitleCredential",
        "credentialSubject": {
            "name": name, "idNumberMasked": "5001**********123X", "series": "工程",
            "specialty": "机械", "level": "中级", "titleName": "中级工程师",
            "committee": "企业自主评审委员会", "conferredOn": "2026-06-30",
        },
        // Within the enterprise's 30-day accreditation: a delegated credential may not
        // outlast it.
        "validUntil": format_datetime(Utc::now() + chrono::Duration::days(10)),
    }))
    .expect("request");
    let mut document = credential::prepare(
        request,
        &did,
        &region.parse().expect("region"),
        // Delegated issuers' tools may keep naming the legacy URLs; nodes accept them.
        &credential::Namespace::legacy(),
        id,
        Utc::now(),
    )
    .expect("prepares")
    .document;
    if !status.is_null() {
        document["credentialStatus"] = status;
    }
    proof::sign(
        &document,
        key,
        &ProofOptions {
            created: format_datetime(Utc::now()),
            proof_purpose: ASSERTION_METHOD,
        },
    )
    .expect("signs")
}

fn post(http: &reqwest::blocking::Client, url: String, body: &Value) -> (StatusCode, Value) {
    let response = http.post(url).json(body).send().expect("POST");
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

fn page(url: String) -> (StatusCode, String) {
    let response = client().get(url).send().expect("GET page");
    (response.status(), response.text().expect("text"))
}

/// The inclusion evidence's origin must be `member`'s log.
fn relies_on(verdict: &Value, member: &str) -> bool {
    verdict["verified"] == true
        && verdict["log"]["origin"]
            .as_str()
            .is_some_and(|origin| origin.contains(member))
}

#[test]
fn a_credential_id_held_by_one_log_cannot_be_hijacked_by_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let hostile_keys = MemberKeys::load(&federation.config, HOSTILE).expect("bj-zgc's dev keys");
    let fake = FakeMember::listen(federation.endpoint(HOSTILE)).expect("fake bj-zgc listens");
    let genuine_node = federation.start(GENUINE).expect("cq-sc starts");
    let mut admitting = federation.start(ADMITTING).expect("cd-hz starts");

    let (_, body) = example_requests()
        .into_iter()
        .find(|(name, _)| name == "ProfessionalTitleCredential")
        .expect("title example");
    let genuine = genuine_node.issue(&body);
    let id: CredentialId = genuine["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("issued id");
    admitting
        .wait_mirrored(GENUINE, genuine_node.checkpoint_size(), STEP)
        .expect("cd-hz mirrors cq-sc");

    // (a) Admission: a delegated issuer accredited at cd-hz submits its own credential under
    // the genuine id. Refused, with a stable code; the same credential under a new id is
    // logged (so only the id was wrong).
    let enterprise = SigningKey::from_bytes(&[0x61; 32]);
    let enterprise_did = DidKey::from_verifying_key(&enterprise.verifying_key()).to_string();
    let admin = admitting.client();
    let (status, answer) = post(
        &admin,
        admitting.at("/api/v1/credentials"),
        &json!({
            "type": "IssuerAccreditationCredential",
            "credentialSubject": {
                "id": enterprise_did, "name": "成都某科技有限公司（企业自主认定）",
                "creditCode": "91510100MA61234567", "scope": {"types": ["ProfessionalTitleCredential"]},
            },
            "validUntil": format_datetime(Utc::now() + chrono::Duration::days(30)),
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let token = create_token(
        &federation.data_dir(ADMITTING),
        "issuer",
        Some(&enterprise_did),
        "enterprise",
    )
    .expect("issuer token");
    let as_enterprise = client_with_token(&token);
    let reserve = || {
        let (status, answer) = post(
            &as_enterprise,
            admitting.at("/api/v1/status-lists:allocate"),
            &json!({}),
        );
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        answer["credentialStatus"].clone()
    };
    let size_before = admitting.checkpoint_size();
    let hijack = title(&enterprise, ADMITTING, id, "冒名者", reserve());
    let (status, answer) = post(
        &as_enterprise,
        admitting.at("/api/v1/credentials:submit"),
        &hijack,
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("id_held_by_member")),
        "a copy of cq-sc's id is refused at cd-hz: {answer}"
    );
    assert_eq!(admitting.checkpoint_size(), size_before, "nothing written");
    let fresh = CredentialId::from_uuid(uuid::Uuid::now_v7());
    let (status, answer) = post(
        &as_enterprise,
        admitting.at("/api/v1/credentials:submit"),
        &title(&enterprise, ADMITTING, fresh, "冒名者", reserve()),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    // (b) Sync: bj-zgc's log carries the id (signed by its own authority, valid under its
    // registry). Both honest members mirror it and keep evidence; sync goes on.
    let intruder = title(&hostile_keys.authority, HOSTILE, id, "冒名者", Value::Null);
    // bj-zgc's own second entry under one id: the first stays the one found by that id.
    let bystander_id = CredentialId::from_uuid(uuid::Uuid::now_v7());
    let bystander = title(
        &hostile_keys.authority,
        HOSTILE,
        bystander_id,
        "旁观者",
        Value::Null,
    );
    let bystander_again = title(
        &hostile_keys.authority,
        HOSTILE,
        bystander_id,
        "旁观者二",
        Value::Null,
    );
    let hostile_log = ForgedLog::new(vec![
        encode_entry(&intruder).expect("entry"),
        encode_entry(&bystander).expect("entry"),
        encode_entry(&bystander_again).expect("entry"),
    ]);
    fake.serve_log(
        &hostile_log,
        hostile_keys
            .checkpoint_of(&hostile_log)
            .expect("checkpoint"),
    )
    .expect("hostile log scripted");
    for node in [&genuine_node, &admitting] {
        node.wait_mirrored(HOSTILE, hostile_log.size(), STEP)
            .expect("bj-zgc's log is mirrored, its copied id included");
        let peer = peer_status(&node.url, HOSTILE);
        assert_ne!(peer["state"], "halted", "{peer}");
        let evidence = peer["evidence"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            evidence.len(),
            2,
            "two pieces of evidence at {}: {peer}",
            node.url
        );
        assert!(
            evidence.iter().all(|item| item["kind"] == "duplicate-id"),
            "{peer}"
        );
        assert_eq!(evidence[0]["credentialId"], id.to_string(), "{peer}");
        assert_eq!(evidence[0]["entry"]["index"], 0, "{peer}");
        assert_eq!(
            evidence[0]["heldBy"],
            json!([[GENUINE, 0]]),
            "the genuine holder is named: {peer}"
        );
        assert_eq!(evidence[1]["credentialId"], bystander_id.to_string());
        assert_eq!(evidence[1]["entry"]["index"], 2, "{peer}");
        assert_eq!(evidence[1]["heldBy"], json!([[HOSTILE, 1]]), "{peer}");
    }

    // The genuine credential still verifies at every member, relying on cq-sc's log; the
    // intruder's copy is judged as what it is, bj-zgc's own entry.
    for node in [&admitting, &genuine_node] {
        let verdict = verify_at(&node.url, &genuine, false);
        assert!(relies_on(&verdict, GENUINE), "at {}: {verdict}", node.url);
        let verdict = verify_at(&node.url, &intruder, false);
        assert!(relies_on(&verdict, HOSTILE), "at {}: {verdict}", node.url);
        let verdict = verify_at(&node.url, &bystander, false);
        assert!(relies_on(&verdict, HOSTILE), "at {}: {verdict}", node.url);
    }
    let name = genuine["credentialSubject"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    let (status, html) =
        page(admitting.at(&format!("/verify?lang=en&credential={id}&member={GENUINE}")));
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("data-verified=\"true\"") && html.contains(&name),
        "/verify names cq-sc: the genuine credential, verified: {html}"
    );
    let (_, html) = page(admitting.at(&format!("/verify?lang=en&credential={id}")));
    assert!(
        !html.contains("data-verified")
            && html.contains("More than one member")
            && html.contains(&format!("member={GENUINE}"))
            && html.contains(&format!("member={HOSTILE}")),
        "/verify without a member says two logs hold the id: {html}"
    );

    // The evidence does not halt sync after a restart either.
    admitting.stop().expect("cd-hz stops");
    admitting = federation.start(ADMITTING).expect("cd-hz restarts");
    wait_for(
        STEP,
        || (peer_status(&admitting.url, HOSTILE)["state"] == "in-sync").then_some(()),
        || format!("{}", peer_status(&admitting.url, HOSTILE)),
    )
    .expect("sync from bj-zgc goes on after a restart");
    let verdict = verify_at(&admitting.url, &genuine, false);
    assert!(relies_on(&verdict, GENUINE), "{verdict}");
    drop(admitting);
    drop(genuine_node);
}
