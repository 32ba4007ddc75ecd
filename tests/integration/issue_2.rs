//! Issue 2: a node issues every credential type, keeps them across restarts and crashes, and
//! both the node and `talent-verify` verify them; bad input gets stable 4xx codes.

use federation_tests::{Node, client, example_requests, talent_verify};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn issue(node: &Node, body: &Value) -> Value {
    let response = node
        .client()
        .post(node.at("/api/v1/credentials"))
        .json(body)
        .send()
        .expect("POST /api/v1/credentials");
    let status = response.status();
    let text = response.text().expect("body");
    assert_eq!(status, StatusCode::CREATED, "{text}");
    serde_json::from_str(&text).expect("JSON body")
}

fn fetch(node: &Node, id: &str) -> (StatusCode, String) {
    let response = node
        .client()
        .get(node.at(&format!("/api/v1/credentials/{id}")))
        .send()
        .expect("GET credential");
    (response.status(), response.text().expect("body"))
}

fn verify_at_node(node: &Node, credential: &Value) -> Value {
    let response = client()
        .post(node.at("/api/v1/verify"))
        .json(&json!({ "credential": credential }))
        .send()
        .expect("POST /api/v1/verify");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().expect("verdict JSON")
}

fn authority(node: &Node) -> String {
    let member = node.member();
    member["authorityDid"]
        .as_str()
        .expect("authorityDid")
        .to_owned()
}

#[test]
fn every_type_is_issued_kept_across_restart_and_crash_and_verified() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("node starts");
    let did = authority(&node);

    let examples = example_requests();
    assert_eq!(examples.len(), 7, "one example per credential type");
    let mut issued = Vec::new();
    for (name, request) in &examples {
        let response = issue(&node, request);
        let credential = response["credential"].clone();
        assert_eq!(credential["type"][1], name.as_str());
        assert_eq!(credential["issuer"], did.as_str());
        assert!(
            !credential.to_string().contains("11010519491231002X"),
            "the full ID number never leaves the node"
        );
        let id = response["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with("urn:uuid:"));
        issued.push((id, credential));
    }

    // A graceful restart, then a crash: everything acknowledged is still there.
    assert!(node.stop().expect("stops").success());
    let node = Node::start(&data).expect("restarts");
    assert_eq!(authority(&node), did, "keys are kept across restarts");
    node.kill().expect("crashes");
    let node = Node::start(&data).expect("restarts after a crash");

    for (id, credential) in &issued {
        let (status, body) = fetch(&node, id);
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
        let stored: Value = serde_json::from_str(&body).expect("stored credential is JSON");
        assert_eq!(&stored, credential);
        let verdict = verify_at_node(&node, &stored);
        assert_eq!(verdict["verified"], true, "{verdict:#}");

        let file = dir.path().join("credential.json");
        std::fs::write(&file, &body).expect("write credential");
        let output = talent_verify(&["verify", file.to_str().expect("path")], None)
            .expect("talent-verify runs");
        let report = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{report}");
        assert!(report.contains("有效 VALID"), "{report}");
    }
}

#[test]
fn tampered_credential_is_rejected_by_node_and_cli_naming_the_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let (_, request) = example_requests()
        .into_iter()
        .find(|(name, _)| name == "ProfessionalTitleCredential")
        .expect("title example");
    let mut credential = issue(&node, &request)["credential"].clone();
    credential["credentialSubject"]["level"] = "中级".into();

    let verdict = verify_at_node(&node, &credential);
    assert_eq!(verdict["verified"], false);
    let failed: Vec<&str> = verdict["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|check| check["ok"] == false && check["skipped"] != true)
        .map(|check| check["name"].as_str().expect("name"))
        .collect();
    // The signature no longer matches, and the changed credential is not the logged entry;
    // whether the signer was authorised cannot be judged without a valid signature.
    assert_eq!(failed, ["proof", "inclusion"]);
    let authority = verdict["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["name"] == "authority"))
        .expect("authority check");
    assert_eq!(
        (&authority["ok"], &authority["skipped"]),
        (&json!(false), &json!(true))
    );

    let bytes = serde_json::to_vec(&credential).expect("JSON");
    let output = talent_verify(&["verify", "-"], Some(&bytes)).expect("runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("✘ 失败 FAIL  数字签名 Signature"),
        "{report}"
    );

    let output = talent_verify(&["verify", "--json", "-"], Some(&bytes)).expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    assert_eq!(json["verified"], false);

    // Online: the node's verdict, through the CLI.
    let output = talent_verify(&["verify", "--node", &node.url, "-"], Some(&bytes)).expect("runs");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn cli_bad_input_exits_2_with_a_message() {
    /// Arguments, standard input, and what the error message must say.
    type Case<'a> = (&'a [&'a str], Option<&'a [u8]>, &'a str);
    let cases: [Case<'_>; 4] = [
        (&["verify", "-"], Some(b"not json"), "not JSON"),
        (
            &["verify", "-"],
            Some(b"[1,2,3]"),
            "not a verifiable credential",
        ),
        (&["verify", "/nonexistent/credential.json"], None, "reading"),
        (&["frobnicate"], None, "unrecognized subcommand"),
    ];
    for (args, stdin, message) in cases {
        let output = talent_verify(args, stdin).expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn bad_requests_get_stable_4xx_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let http = node.client();
    let expect = |response: reqwest::blocking::Response, status: StatusCode, code: &str| {
        assert_eq!(response.status(), status);
        let body: Value = response.json().expect("error body is JSON");
        assert_eq!(body["code"], code, "{body:#}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        body
    };
    let post = |body: &str| {
        http.post(node.at("/api/v1/credentials"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .expect("POST")
    };
    expect(post("{not json"), StatusCode::BAD_REQUEST, "invalid_json");
    expect(
        http.post(node.at("/api/v1/credentials"))
            .body("{}")
            .send()
            .expect("POST"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let huge = format!("{{\"padding\": \"{}\"}}", "x".repeat(1024 * 1024));
    expect(post(&huge), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    let body = expect(
        post(r#"{"type": "ProfessionalTitleCredential", "credentialSubject": {"name": "x"}}"#),
        StatusCode::UNPROCESSABLE_ENTITY,
        "schema_violation",
    );
    assert!(
        body["violations"]
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["pointer"] == "/credentialSubject")),
        "{body:#}"
    );
    expect(
        post(
            r#"{"type": "SkillLevelCredential", "credentialSubject": {"name": "张三", "idNumber": "110105194912310021",
                "occupationCode": "6-18-01-01", "occupation": "车工", "level": "二级/技师", "assessmentBody": "某中心"}}"#,
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_identifier",
    );
    expect(
        http.get(node.at("/api/v1/credentials/not-a-uuid"))
            .send()
            .expect("GET"),
        StatusCode::BAD_REQUEST,
        "invalid_credential_id",
    );
    expect(
        http.get(node.at("/api/v1/credentials/0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d"))
            .send()
            .expect("GET"),
        StatusCode::NOT_FOUND,
        "credential_not_found",
    );
    expect(
        http.get(node.at("/no/such/route")).send().expect("GET"),
        StatusCode::NOT_FOUND,
        "route_not_found",
    );
    expect(
        http.delete(node.at("/api/v1/credentials"))
            .send()
            .expect("DELETE"),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    expect(
        http.post(node.at("/api/v1/verify"))
            .json(&json!({"credential": "nope"}))
            .send()
            .expect("POST"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "schema_violation",
    );
    // The node is still healthy after all that.
    assert_eq!(
        http.get(node.at("/healthz")).send().expect("GET").status(),
        StatusCode::OK
    );
}

#[test]
fn data_directory_with_foreign_keys_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("node starts");
    node.stop().expect("stops");
    // Replace the authority key: the stored data no longer belongs to it.
    let other = tempfile::tempdir().expect("temp dir");
    let donor = Node::start(&other.path().join("node")).expect("donor starts");
    donor.stop().expect("stops");
    std::fs::copy(
        other.path().join("node/keys/authority.key"),
        data.join("keys/authority.key"),
    )
    .expect("copy key");
    let error = Node::start(&data).expect_err("refused");
    assert!(
        error.to_string().contains("restore the original key"),
        "{error:#}"
    );
}
