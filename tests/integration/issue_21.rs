//! Issue 21: a member that signs with SM2 (`sm2-jcs-2025`) in a federation of Ed25519
//! members. The shipped demo configuration has `cq-hrss` on SM2: its credentials verify at
//! the other members after sync and offline from their bundles, one changed byte fails,
//! recognition answers for them equal those for an Ed25519 member's credential under the
//! same agreement, delegated issuers sign with either suite, and an Ed25519 authority
//! rotated to SM2 keeps what it signed before valid.

use std::time::Duration;

use federation_tests::{
    Federation, Node, client_with_token, create_token, talent_verify, verify_at,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::status_list::StatusEntry;
use talent_integrity::keys::Sm2SigningKey;

use crate::issue_5::{Enterprise, accreditation, post};
use crate::issue_7::{ask_node, ask_offline, bundle, seeds, title};

const SM2_MEMBER: &str = "cq-hrss";
const MIRRORED: Duration = Duration::from_secs(90);

/// The suite of a credential's proof.
fn suite(credential: &Value) -> &str {
    credential["proof"]["cryptosuite"].as_str().unwrap_or("")
}

/// Waits until `at` mirrors everything `member` has logged so far.
fn mirror(at: &Node, member: &str, of: &Node) {
    at.wait_mirrored(member, of.checkpoint_size(), MIRRORED)
        .unwrap_or_else(|e| panic!("{member} mirrored: {e}"));
}

#[test]
fn an_sm2_members_credentials_verify_everywhere_and_are_recognised_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let config = federation.config.to_string_lossy().into_owned();
    let cq_sc = federation.start("cq-sc").expect("cq-sc starts");
    let cq_hrss = federation.start(SM2_MEMBER).expect("cq-hrss starts on SM2");
    let sc_hrss = federation.start("sc-hrss").expect("sc-hrss starts");

    // Only the senior-titles agreement: it names a member class, so it takes the SM2
    // member's and the Ed25519 member's titles alike.
    let senior = seeds("cq-sc")
        .into_iter()
        .find(|file| file.ends_with("01-senior-titles.json"))
        .expect("the senior-titles seed");
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(senior).expect("seed")).expect("JSON");
    cq_sc.issue(&body);

    let sm2 = cq_hrss.issue(&title("正高级", "2024-12-30"));
    let ed25519 = sc_hrss.issue(&title("正高级", "2024-12-30"));
    let at_cq_sc = cq_sc.issue(&title("副高级", "2024-12-30"));
    assert_eq!(suite(&sm2), "sm2-jcs-2025", "{sm2}");
    assert!(
        sm2["issuer"]
            .as_str()
            .is_some_and(|d| d.starts_with("did:key:zEP"))
    );
    assert_eq!(suite(&ed25519), "eddsa-jcs-2022");
    assert_eq!(suite(&at_cq_sc), "eddsa-jcs-2022");

    for (at, others) in [
        (&cq_sc, [(SM2_MEMBER, &cq_hrss), ("sc-hrss", &sc_hrss)]),
        (&cq_hrss, [("cq-sc", &cq_sc), ("sc-hrss", &sc_hrss)]),
        (&sc_hrss, [("cq-sc", &cq_sc), (SM2_MEMBER, &cq_hrss)]),
    ] {
        for (member, node) in others {
            mirror(at, member, node);
        }
    }

    // The SM2 credential verifies at the Ed25519 members, from their mirrors.
    for verifier in [&cq_sc, &sc_hrss] {
        let verdict = verify_at(&verifier.url, &sm2, false);
        assert_eq!(verdict["verified"], true, "{verdict}");
    }
    // Its status lists are signed with SM2 too, and verify as any W3C verifier checks them.
    let entries = StatusEntry::all_of(&sm2).expect("credentialStatus");
    assert!(!entries.is_empty());
    for entry in entries {
        let list: Value = reqwest::blocking::get(&entry.list_credential)
            .and_then(|response| response.json())
            .expect("the status list credential");
        assert_eq!(suite(&list), "sm2-jcs-2025", "{list}");
        let proof =
            talent_integrity::proof::verify(&list, talent_integrity::proof::ASSERTION_METHOD)
                .expect("the status list's SM2 proof verifies");
        assert_eq!(
            Some(proof.controller.to_string().as_str()),
            sm2["issuer"].as_str(),
            "signed by the member's authority"
        );
    }

    // An Ed25519 member's credential verifies at the SM2 member.
    let verdict = verify_at(&cq_hrss.url, &at_cq_sc, false);
    assert_eq!(verdict["verified"], true, "{verdict}");
    // One byte changed in the signed subject: refused.
    let mut tampered = sm2.clone();
    tampered["credentialSubject"]["level"] = json!("副高级");
    let verdict = verify_at(&cq_sc.url, &tampered, false);
    assert_eq!(verdict["verified"], false, "{verdict}");

    // Offline, from its bundle; and the bundle with one byte of the signature changed fails.
    let bytes = bundle(&cq_hrss, &sm2, "cq-sc");
    let args = ["verify", "-", "--json", "--no-quorum", "--trust", &config];
    let output = talent_verify(&args, Some(&bytes)).expect("talent-verify runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let proof_value = sm2["proof"]["proofValue"].as_str().expect("proofValue");
    let mut changed = proof_value.to_owned().into_bytes();
    let last = changed.len() - 2;
    changed[last] = if changed[last] == b'2' { b'3' } else { b'2' };
    let changed = String::from_utf8(changed).expect("base58");
    let text = String::from_utf8(bytes.clone()).expect("JSON text");
    assert!(text.contains(proof_value));
    let forged = text.replace(proof_value, &changed);
    let output = talent_verify(&args, Some(forged.as_bytes())).expect("talent-verify runs");
    assert_ne!(
        output.status.code(),
        Some(0),
        "a changed signature byte must fail"
    );

    // Recognition at cq-sc: the same answer for the SM2 member's title as for the Ed25519
    // member's, at the node and offline.
    let from_sm2 = ask_node(&cq_sc, &sm2, "cq-sc");
    let from_ed25519 = ask_node(&cq_sc, &ed25519, "cq-sc");
    assert_eq!(from_sm2["recognized"], true, "{from_sm2}");
    assert_eq!(from_sm2["rule"], "senior-titles", "{from_sm2}");
    for field in [
        "recognized",
        "rule",
        "outcome",
        "agreement",
        "equivalent",
        "illustrative",
    ] {
        assert_eq!(from_sm2[field], from_ed25519[field], "{field}");
    }
    let (code_sm2, offline_sm2) = ask_offline(&cq_hrss, &sm2, "cq-sc", &config);
    let (code_ed25519, offline_ed25519) = ask_offline(&sc_hrss, &ed25519, "cq-sc", &config);
    assert_eq!(code_sm2, Some(0));
    assert_eq!(code_sm2, code_ed25519);
    for field in ["recognized", "rule", "outcome", "agreement", "equivalent"] {
        assert_eq!(
            offline_sm2[field], offline_ed25519[field],
            "offline {field}"
        );
        assert_eq!(
            offline_sm2[field], from_sm2[field],
            "offline and node {field}"
        );
    }
}

#[test]
fn delegated_issuers_sign_with_either_suite_and_an_authority_rotates_to_sm2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let cq_sc = federation.start("cq-sc").expect("cq-sc starts");
    let cq_hrss = federation.start(SM2_MEMBER).expect("cq-hrss starts");
    let until = chrono::Utc::now() + chrono::Duration::days(365);

    // An SM2 issuer accredited by an Ed25519 authority, an Ed25519 issuer by the SM2 one.
    let mut sm2_issuer = Enterprise::of_member(
        Sm2SigningKey::from_bytes(&[0x61; 32]).expect("scalar"),
        &cq_sc,
        "cq-sc",
    );
    let mut ed25519_issuer = Enterprise::of_member(
        ed25519_dalek::SigningKey::from_bytes(&[0x62; 32]),
        &cq_hrss,
        SM2_MEMBER,
    );
    sm2_issuer.valid_until = Some(until);
    ed25519_issuer.valid_until = Some(until);
    let scope = json!({"types": ["ProfessionalTitleCredential"], "levels": ["中级"]});
    let mut delegated = Vec::new();
    for (node, member, issuer) in [
        (&cq_sc, "cq-sc", &sm2_issuer),
        (&cq_hrss, SM2_MEMBER, &ed25519_issuer),
    ] {
        let (status, answer) = post(
            &node.client(),
            node.at("/api/v1/credentials"),
            &accreditation(&issuer.did, scope.clone(), until),
        );
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let token = create_token(
            &federation.data_dir(member),
            "issuer",
            Some(&issuer.did.to_string()),
            "delegated",
        )
        .expect("token");
        let credential = issuer.title("中级", "沙坪坝区");
        let (status, answer) = post(
            &client_with_token(&token),
            node.at("/api/v1/credentials:submit"),
            &credential,
        );
        assert_eq!(status, StatusCode::CREATED, "{member}: {answer}");
        delegated.push((member, credential));
    }
    assert_eq!(suite(&delegated[0].1), "sm2-jcs-2025");
    assert_eq!(suite(&delegated[1].1), "eddsa-jcs-2022");

    // cq-sc's authority: an unknown suite is refused, then Ed25519 → SM2.
    let before = cq_sc.issue(&title("正高级", "2024-12-30"));
    assert_eq!(suite(&before), "eddsa-jcs-2022");
    let rotate = cq_sc.at("/api/v1/member/authority-key:rotate");
    let (status, answer) = post(
        &cq_sc.client(),
        rotate.clone(),
        &json!({"cryptosuite": "rsa"}),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_cryptosuite")),
        "{answer}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (status, answer) = post(
        &cq_sc.client(),
        rotate,
        &json!({"cryptosuite": "sm2-jcs-2025"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let new_key = answer["authorityKey"].as_str().expect("key").to_owned();
    assert!(new_key.starts_with("did:key:zEP"), "{new_key}");
    std::thread::sleep(Duration::from_millis(1100));
    let after = cq_sc.issue(&title("正高级", "2024-12-30"));
    assert_eq!(suite(&after), "sm2-jcs-2025");
    assert_eq!(after["issuer"], new_key);

    // A restart reads the SM2 key file; then everything verifies at both members: the
    // credential the Ed25519 key signed before the rotation, the SM2 one after, and the
    // delegated issuers' credentials.
    cq_sc.stop().expect("stops");
    let cq_sc = federation
        .start("cq-sc")
        .expect("cq-sc restarts with its SM2 key");
    mirror(&cq_hrss, "cq-sc", &cq_sc);
    mirror(&cq_sc, SM2_MEMBER, &cq_hrss);
    for credential in [&before, &after, &delegated[0].1, &delegated[1].1] {
        for verifier in [&cq_sc, &cq_hrss] {
            let verdict = verify_at(&verifier.url, credential, false);
            assert_eq!(verdict["verified"], true, "{verdict}");
        }
    }
}

/// Starts the SM2 member with its dev keys, each file of `replaced` taken from another
/// dev key file (`(file, "member/file")`); returns the error the start must end in.
fn start_refused_with(replaced: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let keys = dir.path().join("wrong-keys");
    std::fs::create_dir_all(&keys).expect("dir");
    let dev =
        federation_tests::workspace_root().join("federation-config/chengdu-chongqing/dev-keys");
    for file in ["authority.key", "log.key", "log-sm2.key", "witness.key"] {
        std::fs::copy(dev.join(SM2_MEMBER).join(file), keys.join(file)).expect("copy");
    }
    for (file, from) in replaced {
        std::fs::copy(dev.join(from), keys.join(file)).expect("copy");
    }
    let config = federation.config.to_string_lossy().into_owned();
    let keys = keys.to_string_lossy().into_owned();
    let Err(error) = Node::start_with(
        &federation.data_dir(SM2_MEMBER),
        &[
            "--config",
            &config,
            "--member",
            SM2_MEMBER,
            "--keys-from",
            &keys,
        ],
    ) else {
        panic!("keys {replaced:?} must be refused at start");
    };
    format!("{error:#}")
}

#[test]
fn a_key_file_of_the_other_kind_is_refused_at_start() {
    // cq-hrss's dev keys with an Ed25519 authority key in place of its SM2 one.
    let text = start_refused_with(&[("authority.key", "cq-sc/authority.key")]);
    assert!(
        text.contains("holds an Ed25519 key") && text.contains("SM2"),
        "{text}"
    );
}

/// `note` without the signature lines of the log `origin` that are not its Ed25519 line
/// (`log_vkey`): the SM2 line of an SM2 member's checkpoint.
fn strip_sm2_line(note: &str, origin: &str, log_vkey: &str) -> String {
    let prefix = format!("\u{2014} {origin} ");
    let mut stripped = note.to_owned();
    for line in note.lines().filter(|line| line.starts_with(&prefix)) {
        let without = note.replacen(&format!("{line}\n"), "", 1);
        if talent_tlog::checkpoint::open_checkpoint(without.as_bytes(), origin, log_vkey).is_ok() {
            stripped = stripped.replacen(&format!("{line}\n"), "", 1);
        }
    }
    stripped
}

/// `note` with one signature character of its SM2 line changed (key ID kept).
fn forge_sm2_line(note: &str, origin: &str, log_vkey: &str) -> String {
    let stripped = strip_sm2_line(note, origin, log_vkey);
    let Some(line) = note
        .lines()
        .find(|line| !stripped.lines().any(|kept| kept == *line))
    else {
        return note.to_owned();
    };
    let mut forged = line.to_owned().into_bytes();
    let at = forged.len() - 5;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    note.replacen(line, &String::from_utf8(forged).expect("ASCII"), 1)
}

/// Every string in `value` that holds a checkpoint of `origin`, changed by `change`.
fn change_checkpoints(value: &mut Value, change: &dyn Fn(&str) -> String) {
    match value {
        Value::String(text) if text.contains("\n\n\u{2014} ") => *text = change(text),
        Value::Array(items) => items.iter_mut().for_each(|v| change_checkpoints(v, change)),
        Value::Object(map) => map.values_mut().for_each(|v| change_checkpoints(v, change)),
        _ => {}
    }
}

#[test]
fn an_sm2_members_checkpoints_carry_both_lines_and_peers_require_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let config = federation.config.to_string_lossy().into_owned();
    let pinned = talent_core::federation::Federation::parse(
        &std::fs::read_to_string(&federation.config).expect("config text"),
    )
    .expect("config parses");
    let member = pinned.member(SM2_MEMBER).expect("cq-hrss");
    let sm2_vkey = member
        .log_sm2_vkey
        .as_deref()
        .expect("cq-hrss has an SM2 log key");
    let (origin, log_vkey) = (member.log_origin.as_str(), member.log_vkey.as_str());
    let cq_sc = federation.start("cq-sc").expect("cq-sc starts");
    let cq_hrss = federation.start(SM2_MEMBER).expect("cq-hrss starts");

    let credential = cq_hrss.issue(&title("正高级", "2024-12-30"));
    // Its checkpoint: two lines under the origin, both verify.
    let note = cq_hrss
        .client()
        .get(cq_hrss.at("/log/checkpoint"))
        .send()
        .expect("checkpoint")
        .text()
        .expect("text");
    let lines = note
        .lines()
        .filter(|line| line.starts_with(&format!("\u{2014} {origin} ")))
        .count();
    assert_eq!(lines, 2, "{note}");
    talent_tlog::checkpoint::open_checkpoint_with_sm2(
        note.as_bytes(),
        origin,
        log_vkey,
        Some(sm2_vkey),
    )
    .expect("both lines verify");
    // A peer mirrors it (each mirrored checkpoint opened with both keys).
    mirror(&cq_sc, SM2_MEMBER, &cq_hrss);

    // The node announces its SM2 log key, and talent-verify against the node (no --trust)
    // requires the line with it; cq-sc announces none.
    let announced: Value = cq_hrss
        .client()
        .get(cq_hrss.at("/api/v1/member"))
        .send()
        .and_then(|response| response.json())
        .expect("member");
    assert_eq!(
        announced["logSm2Vkey"].as_str(),
        Some(sm2_vkey),
        "{announced}"
    );
    let announced: Value = cq_sc
        .client()
        .get(cq_sc.at("/api/v1/member"))
        .send()
        .and_then(|response| response.json())
        .expect("member");
    assert!(announced.get("logSm2Vkey").is_none(), "{announced}");
    // An auditor (here cq-sc, signing its reads) audits the SM2 member's log, its
    // checkpoint opened with both announced keys.
    let key = federation.data_dir("cq-sc").join("keys/witness.key");
    let key = key.to_string_lossy().into_owned();
    let audit = talent_verify(
        &[
            "log",
            "audit",
            "--node",
            &cq_hrss.url,
            "--member",
            "cq-sc",
            "--key",
            &key,
        ],
        None,
    )
    .expect("talent-verify runs");
    assert_eq!(audit.status.code(), Some(0), "{audit:?}");
    let online = serde_json::to_vec(&credential).expect("JSON");
    let output = talent_verify(&["verify", "--node", &cq_hrss.url, "-"], Some(&online))
        .expect("talent-verify runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // A peer's witness refuses it without its SM2 line or with a forged one: 403.
    for (what, changed) in [
        ("stripped", strip_sm2_line(&note, origin, log_vkey)),
        ("forged", forge_sm2_line(&note, origin, log_vkey)),
    ] {
        assert_ne!(changed, note, "{what}");
        let response = federation_tests::client()
            .post(cq_sc.at("/log/add-checkpoint"))
            .body(format!("old 0\n\n{changed}"))
            .send()
            .expect("add-checkpoint");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
    }

    // Offline: the bundle passes with the pinned config, and fails with its checkpoints'
    // SM2 lines stripped or forged.
    let bytes = bundle(&cq_hrss, &credential, "cq-sc");
    let args = ["verify", "-", "--json", "--no-quorum", "--trust", &config];
    let output = talent_verify(&args, Some(&bytes)).expect("talent-verify runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let strip = |text: &str| strip_sm2_line(text, origin, log_vkey);
    let forge = |text: &str| forge_sm2_line(text, origin, log_vkey);
    for (what, change) in [
        ("stripped", &strip as &dyn Fn(&str) -> String),
        ("forged", &forge),
    ] {
        let mut value: Value = serde_json::from_slice(&bytes).expect("bundle JSON");
        change_checkpoints(&mut value, change);
        let changed = serde_json::to_vec(&value).expect("JSON");
        assert_ne!(
            changed,
            serde_json::to_vec(&serde_json::from_slice::<Value>(&bytes).expect("JSON"))
                .expect("JSON"),
            "{what}"
        );
        let output = talent_verify(&args, Some(&changed)).expect("talent-verify runs");
        assert_ne!(
            output.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn an_sm2_log_key_that_is_not_the_configured_one_is_refused_at_start() {
    // An SM2 key of the right format, but not the one log_sm2_vkey names.
    let text = start_refused_with(&[("log-sm2.key", "cq-hrss/authority.key")]);
    assert!(
        text.contains("log-sm2.key does not match log_sm2_vkey"),
        "{text}"
    );
}
