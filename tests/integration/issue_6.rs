//! Issue 6: proof bundles verified offline by `talent-verify` against the pinned federation
//! configuration, with the issuing member stopped; edited bundles fail naming the check; bad
//! input exits 2; a revoked credential's bundle shows the revocation. W3C status lists follow
//! status changes at once and agree with the log; submitted credentials must use reserved
//! slots; `talent-verify trust update` stores anchors checked against the pin.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use federation_tests::{Federation, MEMBERS, Node, client, talent_verify, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::credential::format_datetime;
use talent_core::status_list::{StatusEntry, StatusListCredential, StatusPurpose};
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

/// A change to a bundle.
type Edit = Box<dyn Fn(&mut Value)>;

fn title() -> Value {
    json!({
        "type": "ProfessionalTitleCredential",
        "credentialSubject": {
            "name": "李明华", "idNumberMasked": "5001**********123X", "series": "工程",
            "level": "正高级", "titleName": "正高级工程师",
            "committee": "重庆市工程技术正高级职称评审委员会", "conferredOn": "2025-12-30",
        },
    })
}

fn bundle_of(node: &Node, credential: &Value) -> Value {
    let id = credential["id"].as_str().expect("id");
    let response = node
        .client()
        .get(node.at(&format!("/api/v1/credentials/{id}/bundle")))
        .send()
        .expect("bundle request");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().expect("bundle JSON")
}

/// Runs `talent-verify verify - --json --trust CONFIG EXTRA…` on `input`: exit code, verdict.
fn verify_offline(config: &str, input: &[u8], extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["verify", "-", "--json", "--trust", config];
    args.extend_from_slice(extra);
    let output = talent_verify(&args, Some(input)).expect("talent-verify runs");
    let verdict = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        output.status.code(),
        verdict,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn failed_checks(verdict: &Value) -> Vec<String> {
    verdict["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|check| check["ok"] == false && check["skipped"] != true)
                .filter_map(|check| check["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn bundles_verify_offline_and_edits_or_bad_input_are_caught() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let mut nodes: Vec<Node> = MEMBERS
        .iter()
        .map(|member| federation.start(member).expect("member starts"))
        .collect();
    let config = federation.config.to_string_lossy().into_owned();
    let cq_sc = &nodes[0];
    let valid = cq_sc.issue(&title());
    let revoked = cq_sc.issue(&title());
    let id = revoked["id"].as_str().expect("id").to_owned();
    let response = cq_sc
        .client()
        .post(cq_sc.at(&format!("/api/v1/credentials/{id}/status")))
        .json(&json!({"status": "03", "reason": "材料不实，撤销"}))
        .send()
        .expect("status change");
    assert_eq!(response.status(), StatusCode::CREATED);

    // Bundles once the checkpoint carries the witness quorum.
    let bundles = wait_for(
        Duration::from_secs(90),
        || {
            let good = bundle_of(cq_sc, &valid);
            let bytes = serde_json::to_vec(&good).expect("JSON");
            let (code, _, _) = verify_offline(&config, &bytes, &[]);
            (code == Some(0)).then(|| (good, bundle_of(cq_sc, &revoked)))
        },
        || "the bundle never verified with the quorum".to_owned(),
    )
    .expect("a bundle with the quorum");
    let (good, revoked_bundle) = bundles;

    // The issuing member goes down: the bundle still verifies, offline.
    nodes.remove(0).stop().expect("cq-sc stops");
    let bytes = serde_json::to_vec(&good).expect("JSON");
    let (code, verdict, stderr) = verify_offline(&config, &bytes, &[]);
    assert_eq!(code, Some(0), "{verdict} {stderr}");
    let names: Vec<&str> = verdict["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|check| check["name"].as_str())
        .collect();
    for name in [
        "schema",
        "proof",
        "issuer",
        "validity",
        "authority",
        "status",
        "inclusion",
    ] {
        assert!(names.contains(&name), "{name} missing: {verdict}");
    }
    assert!(
        verdict["log"]["cosigners"]
            .as_array()
            .is_some_and(|c| c.len() >= 3),
        "{verdict}"
    );

    // An old status can be refused.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, verdict, _) = verify_offline(&config, &bytes, &["--max-age", "0s"]);
    assert_eq!(
        (code, failed_checks(&verdict)),
        (Some(1), vec!["status".to_owned()])
    );

    // The revoked credential's bundle carries the revocation.
    let (code, verdict, _) = verify_offline(
        &config,
        &serde_json::to_vec(&revoked_bundle).expect("JSON"),
        &[],
    );
    assert_eq!(code, Some(1));
    assert_eq!(failed_checks(&verdict), ["status"], "{verdict}");

    // Edits anywhere fail, naming the check.
    let edits: Vec<(&str, Edit, &str)> = vec![
        (
            "subject name",
            Box::new(|b: &mut Value| b["credential"]["credentialSubject"]["name"] = json!("王五")),
            "proof",
        ),
        (
            "inclusion hash",
            Box::new(|b: &mut Value| {
                // The proof may be under a witnessed checkpoint of one entry, with no hash:
                // then a hash is added instead of replaced.
                let forged = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
                match b["inclusionProof"]["hashes"].as_array_mut() {
                    Some(hashes) if !hashes.is_empty() => hashes[0] = forged,
                    Some(hashes) => hashes.push(forged),
                    None => b["inclusionProof"]["hashes"] = json!([forged]),
                }
            }),
            "inclusion",
        ),
        (
            "leaf index",
            Box::new(|b: &mut Value| {
                let index = b["inclusionProof"]["leafIndex"].as_u64().expect("index");
                b["inclusionProof"]["leafIndex"] = json!(index + 1);
            }),
            "inclusion",
        ),
        (
            "checkpoint",
            Box::new(|b: &mut Value| {
                let text = b["issuerHistory"]["checkpoint"]
                    .as_str()
                    .expect("note")
                    .to_owned();
                let mut lines: Vec<&str> = text.lines().collect();
                lines[1] = "999";
                b["issuerHistory"]["checkpoint"] = json!(format!("{}\n", lines.join("\n")));
            }),
            "inclusion",
        ),
        (
            "a forged status change",
            Box::new(
                |b: &mut Value| b["statusChanges"] = json!([{"index": 1, "entry": {}, "inclusionProof": {"leafIndex": 1, "treeSize": 1, "hashes": []}}]),
            ),
            "status",
        ),
    ];
    for (name, edit, check) in edits {
        let mut edited = good.clone();
        edit(&mut edited);
        let (code, verdict, stderr) =
            verify_offline(&config, &serde_json::to_vec(&edited).expect("JSON"), &[]);
        assert_eq!(code, Some(1), "{name}: {verdict} {stderr}");
        assert!(
            failed_checks(&verdict).contains(&check.to_owned()),
            "{name} must fail {check}: {:?}",
            failed_checks(&verdict)
        );
    }

    // Bad input: exit 2 with a message, never a panic.
    let text = serde_json::to_string(&good).expect("JSON");
    let mut unknown_member = good.clone();
    unknown_member["issuerHistory"]["member"] = json!("xx-yy");
    let mut bad_base64 = good.clone();
    bad_base64["inclusionProof"]["hashes"] = json!(["not base64!"]);
    let mut wrong_shape = good.clone();
    wrong_shape
        .as_object_mut()
        .expect("object")
        .remove("inclusionProof");
    let bad_inputs: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"this is not JSON".to_vec()),
        ("truncated", text.as_bytes()[..text.len() / 2].to_vec()),
        (
            "wrong shape",
            serde_json::to_vec(&wrong_shape).expect("JSON"),
        ),
        (
            "unknown member",
            serde_json::to_vec(&unknown_member).expect("JSON"),
        ),
        ("bad base64", serde_json::to_vec(&bad_base64).expect("JSON")),
    ];
    for (name, input) in bad_inputs {
        let (code, _, stderr) = verify_offline(&config, &input, &[]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.starts_with("talent-verify: "), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let output = talent_verify(&["verify", "-"], Some(&bytes)).expect("runs");
    assert_eq!(output.status.code(), Some(2), "a bundle needs --trust");
}

/// Reads the bit of `credential`'s `purpose` entry from the list the node serves now,
/// checking the list credential's proof, issuer and shape on the way.
fn status_bit(node: &Node, credential: &Value, purpose: StatusPurpose) -> bool {
    let entries = StatusEntry::all_of(credential).expect("credentialStatus");
    let entry = entries
        .iter()
        .find(|entry| entry.purpose == purpose)
        .expect("an entry of the purpose");
    assert!(
        entry
            .list_credential
            .starts_with(&node.at("/api/v1/status-lists/")),
        "{}",
        entry.list_credential
    );
    // Public: no token, as any standard verifier fetches it.
    let response = client()
        .get(&entry.list_credential)
        .send()
        .expect("list request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("cache-control")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("max-age=300")),
        "{:?}",
        response.headers()
    );
    let signed: Value = response.json().expect("list JSON");
    let verified = proof::verify(&signed, ASSERTION_METHOD).expect("the list's proof verifies");
    let list = StatusListCredential::from_json(&signed).expect("a BitstringStatusListCredential");
    assert_eq!(list.issuer, verified.controller.to_string());
    assert_eq!(Some(list.issuer.as_str()), credential["issuer"].as_str());
    assert_eq!(list.purpose, purpose);
    assert_eq!(list.id, entry.list_credential);
    assert!(list.list.bits() >= 131_072);
    assert_eq!(list.ttl_ms, Some(300_000));
    list.list.get(entry.index).expect("index inside the list")
}

fn change_status(node: &Node, credential: &Value, status: &str) {
    let id = credential["id"].as_str().expect("id");
    let response = node
        .client()
        .post(node.at(&format!("/api/v1/credentials/{id}/status")))
        .json(&json!({"status": status, "reason": "测试状态变更"}))
        .send()
        .expect("status change");
    assert_eq!(response.status(), StatusCode::CREATED, "{status}");
}

#[test]
fn status_lists_follow_changes_and_trust_anchors_are_pinned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let cq_sc = federation.start("cq-sc").expect("cq-sc starts");
    let _cd_hz = federation.start("cd-hz").expect("cd-hz starts");
    let config = federation.config.to_string_lossy().into_owned();

    // Every credential carries a revocation and a suspension entry into cq-sc's lists.
    let credential = cq_sc.issue(&title());
    let entries = StatusEntry::all_of(&credential).expect("entries");
    assert_eq!(entries.len(), 2, "{credential}");
    assert_eq!(entries[0].index, entries[1].index);
    let other = cq_sc.issue(&title());
    assert_ne!(
        StatusEntry::all_of(&other).expect("entries")[0].index,
        entries[0].index,
        "each credential has its own index"
    );

    // Status changes show in the lists at once (the next fetch after the change's batch).
    use StatusPurpose::{Revocation, Suspension};
    assert_eq!(
        (
            status_bit(&cq_sc, &credential, Revocation),
            status_bit(&cq_sc, &credential, Suspension)
        ),
        (false, false)
    );
    change_status(&cq_sc, &credential, "02");
    assert_eq!(
        (
            status_bit(&cq_sc, &credential, Revocation),
            status_bit(&cq_sc, &credential, Suspension)
        ),
        (false, true),
        "suspended"
    );
    change_status(&cq_sc, &credential, "01");
    assert!(!status_bit(&cq_sc, &credential, Suspension), "reinstated");
    change_status(&cq_sc, &credential, "07");
    assert_eq!(
        (
            status_bit(&cq_sc, &credential, Revocation),
            status_bit(&cq_sc, &credential, Suspension)
        ),
        (true, false),
        "revoked as a penalty"
    );
    assert!(
        !status_bit(&cq_sc, &other, Revocation),
        "another credential's bit is untouched"
    );

    // Lists that do not exist.
    for path in [
        "/api/v1/status-lists/revocation/99",
        "/api/v1/status-lists/message/0",
        "/api/v1/status-lists/revocation/00",
    ] {
        let response = client().get(cq_sc.at(path)).send().expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().expect("JSON error");
        assert_eq!(body["code"], "status_list_not_found", "{path}");
    }

    // The bundle carries both lists; offline, they must agree with the logged status.
    let bundle = bundle_of(&cq_sc, &credential);
    assert_eq!(
        bundle["statusLists"].as_array().map(Vec::len),
        Some(2),
        "{bundle}"
    );
    let (code, verdict, stderr) = verify_offline(
        &config,
        &serde_json::to_vec(&bundle).expect("JSON"),
        &["--no-quorum"],
    );
    assert_eq!(code, Some(1), "revoked: {verdict} {stderr}");
    assert_eq!(failed_checks(&verdict), ["status"], "{verdict}");
    let good = bundle_of(&cq_sc, &other);
    let good_bytes = serde_json::to_vec(&good).expect("JSON");
    let (code, verdict, stderr) = verify_offline(&config, &good_bytes, &["--no-quorum"]);
    assert_eq!(code, Some(0), "{verdict} {stderr}");
    let list_edits: Vec<(&str, Edit)> = vec![
        (
            "a list's bits replaced",
            Box::new(|b: &mut Value| {
                b["statusLists"][0]["credentialSubject"]["encodedList"] =
                    json!(talent_core::status_list::Bitstring::new().encode())
            }),
        ),
        (
            "a list removed",
            Box::new(|b: &mut Value| {
                b["statusLists"].as_array_mut().expect("lists").remove(0);
            }),
        ),
    ];
    for (name, edit) in list_edits {
        let mut edited = good.clone();
        edit(&mut edited);
        let (code, verdict, stderr) = verify_offline(
            &config,
            &serde_json::to_vec(&edited).expect("JSON"),
            &["--no-quorum"],
        );
        assert_eq!(code, Some(1), "{name}: {verdict} {stderr}");
        assert_eq!(failed_checks(&verdict), ["status"], "{name}: {verdict}");
    }

    // A credential an issuer signs itself must use a slot reserved for it at this node.
    let outsider = SigningKey::from_bytes(&[0x61; 32]);
    let outsider_did = DidKey::from_verifying_key(&outsider.verifying_key()).to_string();
    let self_signed = |status: Option<Value>| {
        let mut document = credential.clone();
        let object = document.as_object_mut().expect("object");
        object.remove("proof");
        object.remove("credentialStatus");
        object.insert(
            "id".into(),
            json!(format!("urn:uuid:{}", uuid::Uuid::now_v7())),
        );
        object.insert("issuer".into(), json!(outsider_did));
        if let Some(status) = status {
            object.insert("credentialStatus".into(), status);
        }
        proof::sign(
            &document,
            &outsider,
            &ProofOptions {
                created: format_datetime(chrono::Utc::now()),
                proof_purpose: ASSERTION_METHOD,
            },
        )
        .expect("signs")
    };
    let allocate = |issuer: &str| {
        cq_sc
            .client()
            .post(cq_sc.at("/api/v1/status-lists:allocate"))
            .json(&json!({"issuer": issuer}))
            .send()
            .expect("allocate")
    };
    let reserve = |issuer: &str| -> Value {
        let response = allocate(issuer);
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().expect("JSON");
        body["credentialStatus"].clone()
    };
    let foreign = json!(
        credential["credentialStatus"]
            .to_string()
            .replace(&cq_sc.at(""), "https://elsewhere.example")
    );
    let foreign: Value = serde_json::from_str(foreign.as_str().expect("text")).expect("JSON");
    // Slots are reserved only for accredited issuers (issue 19).
    let someone_else_did =
        DidKey::from_verifying_key(&SigningKey::from_bytes(&[0x62; 32]).verifying_key())
            .to_string();
    let accredited = cq_sc
        .client()
        .post(cq_sc.at("/api/v1/credentials"))
        .json(&json!({
            "type": "IssuerAccreditationCredential",
            "credentialSubject": {
                "id": someone_else_did, "name": "某公司", "creditCode": "91500000MA5U1234XH",
                "scope": {"types": ["ProfessionalTitleCredential"]},
            },
        }))
        .send()
        .expect("accredit");
    assert_eq!(accredited.status(), StatusCode::CREATED);
    let someone_else = reserve(&someone_else_did);
    let size_before = cq_sc.checkpoint_size();
    for (name, status, code) in [
        ("no credentialStatus", None, "status_entry_required"),
        (
            "another member's lists",
            Some(foreign),
            "status_entry_invalid",
        ),
        (
            "a slot reserved for another issuer",
            Some(someone_else),
            "status_slot_unavailable",
        ),
        (
            "a slot another credential uses",
            Some(credential["credentialStatus"].clone()),
            "status_slot_unavailable",
        ),
    ] {
        let response = cq_sc
            .client()
            .post(cq_sc.at("/api/v1/credentials:submit"))
            .json(&self_signed(status))
            .send()
            .expect("submit");
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let body: Value = response.json().expect("JSON");
        assert_eq!(body["code"], code, "{name}: {body}");
    }
    // An issuer without an accreditation gets no slot at all.
    let response = allocate(&outsider_did);
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["code"], "not_accredited", "{body}");
    assert_eq!(cq_sc.checkpoint_size(), size_before, "nothing was written");

    // Trust anchors: fetched from a member, checked against the pin, then used offline.
    let store = dir.path().join("verifier/trust.json");
    let store_arg = store.to_string_lossy().into_owned();
    let url = cq_sc.at("");
    let output = talent_verify(
        &[
            "trust", "update", "--node", &url, "--pin", &config, "--store", &store_arg,
        ],
        None,
    )
    .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stored: Value =
        serde_json::from_slice(&std::fs::read(&store).expect("stored")).expect("JSON");
    assert!(stored["checkpoints"]["cq-sc"].is_string(), "{stored}");
    let output = federation_tests::talent_verify_with_env(
        &["verify", "-", "--json", "--no-quorum"],
        Some(&good_bytes),
        &[("TALENT_VERIFY_TRUST", &store_arg)],
    )
    .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "the stored anchors serve as --trust: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A pin that disagrees with what the node serves is refused, naming the difference.
    let pinned_text = std::fs::read_to_string(&federation.config).expect("config");
    let other_pin = dir.path().join("other-pin.toml");
    let changed = pinned_text.replacen("witness_quorum = 3", "witness_quorum = 2", 1);
    assert_ne!(
        changed, pinned_text,
        "the test config has witness_quorum = 3"
    );
    std::fs::write(&other_pin, changed).expect("write");
    let output = talent_verify(
        &[
            "trust",
            "update",
            "--node",
            &url,
            "--pin",
            &other_pin.to_string_lossy(),
            "--store",
            &store_arg,
        ],
        None,
    )
    .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("witness_quorum"), "{stderr}");
}
