//! Issue 6 (part): proof bundles verified offline by `talent-verify` against the pinned
//! federation configuration, with the issuing member stopped; edited bundles fail naming the
//! check; bad input exits 2; a revoked credential's bundle shows the revocation.

use std::time::Duration;

use federation_tests::{Federation, MEMBERS, Node, talent_verify, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
                b["inclusionProof"]["hashes"][0] =
                    json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
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
    bad_base64["inclusionProof"]["hashes"][0] = json!("not base64!");
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
