//! Issue 22, item 6: a talent sees who verified their credential through the node. Each
//! verification of an own credential records who asked and why (sealed at rest); the
//! holder reads the log with the access code the office handed over, and no one else can.

use federation_tests::{Node, client, example_requests};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Issues the example request of `type_name` with the node's admin token: the answer.
pub(crate) fn issue(node: &Node, type_name: &str) -> Value {
    let (_, request) = example_requests()
        .into_iter()
        .find(|(name, _)| name == type_name)
        .expect("an example of the type");
    let response = node
        .client()
        .post(node.at("/api/v1/credentials"))
        .json(&request)
        .send()
        .expect("issue");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().expect("JSON")
}

fn holder_queries(node: &Node, id: &str, code: &str) -> (StatusCode, Value) {
    let response = client()
        .post(node.at("/api/v1/holder/queries"))
        .json(&json!({"credentialId": id, "accessCode": code}))
        .send()
        .expect("holder queries");
    (response.status(), response.json().expect("JSON"))
}

#[test]
fn the_holder_sees_who_verified_their_credential_and_why_and_no_one_else_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("node starts");
    let issued = issue(&node, "ProfessionalTitleCredential");
    let other = issue(&node, "SkillLevelCredential");
    let (id, code) = (
        issued["id"].as_str().expect("id"),
        issued["holderAccessCode"]
            .as_str()
            .expect("a holder access code"),
    );
    let other_code = other["holderAccessCode"].as_str().expect("code");
    assert_ne!(code, other_code);

    let (status, log) = holder_queries(&node, id, code);
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["queries"], json!([]));

    // Two verifications, through the registry's API and the VC-API, each saying who and why.
    let response = client()
        .post(node.at("/api/v1/verify"))
        .json(&json!({
            "credential": issued["credential"],
            "verifier": "重庆某软件有限公司",
            "purpose": "入职背景核验 pre-employment check"
        }))
        .send()
        .expect("verify");
    assert_eq!(response.status(), StatusCode::OK);
    let response = client()
        .post(node.at("/credentials/verify"))
        .json(&json!({
            "verifiableCredential": issued["credential"],
            "options": {"verifier": "成都某研究院", "purpose": "人才引进"}
        }))
        .send()
        .expect("verify");
    assert_eq!(response.status(), StatusCode::OK);

    let (status, log) = holder_queries(&node, id, &code.to_lowercase());
    assert_eq!(status, StatusCode::OK);
    let queries = log["queries"].as_array().expect("queries");
    assert_eq!(queries.len(), 2, "{log}");
    assert_eq!(queries[0]["verifier"], "成都某研究院");
    assert_eq!(queries[0]["channel"], "vcApi");
    assert_eq!(queries[1]["verifier"], "重庆某软件有限公司");
    assert_eq!(queries[1]["purpose"], "入职背景核验 pre-employment check");
    assert_eq!(
        (
            queries[1]["channel"].as_str(),
            queries[1]["verified"].as_bool()
        ),
        (Some("api"), Some(true))
    );
    // The other credential's log is its own.
    let (_, other_log) = holder_queries(&node, other["id"].as_str().expect("id"), other_code);
    assert_eq!(other_log["queries"], json!([]));

    // Wrong code, another credential's code: refused with the stable code, nothing shown.
    for wrong in ["AAAAAAAAAAAAAAAAAAAAAAAAAA", other_code] {
        let (status, error) = holder_queries(&node, id, wrong);
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("holder_code_mismatch"))
        );
        assert!(error.get("queries").is_none());
    }
    // Bounded inquiries.
    let response = client()
        .post(node.at("/credentials/verify"))
        .json(&json!({
            "verifiableCredential": issued["credential"],
            "options": {"purpose": "长".repeat(201)}
        }))
        .send()
        .expect("verify");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().expect("JSON");
    assert_eq!(error["code"], "field_too_long");
    let response = client()
        .post(node.at("/api/v1/verify"))
        .json(&json!({"credential": issued["credential"], "verifier": "x".repeat(101)}))
        .send()
        .expect("verify");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // What verifiers said is sealed at rest: no file of the store holds it in plaintext.
    node.stop().expect("node stops");
    let needle = "pre-employment check".as_bytes();
    let mut files = vec![data.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("dir")
                    .map(|entry| entry.expect("entry").path()),
            );
        } else {
            let bytes = std::fs::read(&path).expect("readable");
            assert!(
                !bytes.windows(needle.len()).any(|window| window == needle),
                "{} holds a verifier's purpose in plaintext",
                path.display()
            );
        }
    }
}
