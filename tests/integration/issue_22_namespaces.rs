//! Issue 22, stable context and schema URLs: a credential names the registry's JSON-LD
//! context and its JSON Schema under the issuing member's node, which serves both; a
//! credential under another base is refused at submission and fails verification; a node
//! that moves keeps verifying what it issued before.

use chrono::Utc;
use ed25519_dalek::SigningKey;
use federation_tests::cli::{said, talent_verify};
use federation_tests::{Federation, Node, client, create_token, example_requests, verify_at};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::credential::Namespace;

use crate::issue_5::{Enterprise, accreditation, post};

fn get(url: &str) -> (StatusCode, String, String) {
    let response = client().get(url).send().expect("GET reaches the node");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().expect("body"))
}

fn title_request() -> Value {
    example_requests()
        .into_iter()
        .find(|(name, _)| name == "ProfessionalTitleCredential")
        .expect("an example title")
        .1
}

fn check<'a>(verdict: &'a Value, name: &str) -> &'a Value {
    verdict["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["name"] == name))
        .unwrap_or(&Value::Null)
}

/// The URLs a credential names resolve at the node that issued it: the context is the
/// registry's, and the schema names itself by that URL so that its relative `$ref`s resolve
/// there too.
fn assert_resolvable(credential: &Value, base: &str) {
    let context_url = credential["@context"][1].as_str().expect("a context URL");
    assert_eq!(context_url, format!("{base}/ns/v1"));
    let (status, content_type, context) = get(context_url);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/ld+json");
    assert_eq!(context, talent_core::schema::CONTEXT_V1);

    let schema_url = credential["credentialSchema"]["id"]
        .as_str()
        .expect("schema");
    let type_name = credential["type"][1].as_str().expect("type");
    assert_eq!(
        schema_url,
        format!("{base}/schemas/credentials/{type_name}.json")
    );
    let (status, content_type, text) = get(schema_url);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/schema+json");
    let schema: Value = serde_json::from_str(&text).expect("a JSON Schema");
    assert_eq!(schema["$id"], schema_url);
    let reference = schema["$ref"].as_str().expect("the envelope $ref");
    let (path, _) = reference.split_once('#').expect("a fragment");
    assert_eq!(path, "../common.json");
    let common_url = format!("{base}/schemas/common.json");
    let (status, _, common) = get(&common_url);
    assert_eq!(status, StatusCode::OK);
    let common: Value = serde_json::from_str(&common).expect("JSON");
    assert_eq!(common["$id"], common_url);
    assert!(!text.contains("talent-registry.example"), "{text}");
}

#[test]
fn credentials_name_their_member_node_and_another_base_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let node = federation.start("cq-sc").expect("cq-sc starts");
    let endpoint = federation.endpoint("cq-sc").to_owned();

    // The authority's credential names the member's endpoint, which serves both documents.
    let issued = node.issue(&title_request());
    assert_resolvable(&issued, &endpoint);
    let verdict = verify_at(&node.url, &issued, false);
    assert_eq!(verdict["verified"], true, "{verdict:#}");

    // A delegated issuer may name the member's node or the legacy base, nothing else.
    let until = Utc::now() + chrono::Duration::days(30);
    let mut enterprise = Enterprise::of_member(SigningKey::from_bytes(&[0x71; 32]), &node, "cq-sc");
    enterprise.valid_until = Some(until);
    let scope = json!({"types": ["ProfessionalTitleCredential"], "levels": ["中级"]});
    let (status, answer) = post(
        &node.client(),
        node.at("/api/v1/credentials"),
        &accreditation(&enterprise.did, scope, until),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let token = create_token(
        &federation.data_dir("cq-sc"),
        "issuer",
        Some(&enterprise.did.to_string()),
        "delegated",
    )
    .expect("token");
    let submit = |credential: &Value| {
        post(
            &federation_tests::client_with_token(&token),
            node.at("/api/v1/credentials:submit"),
            credential,
        )
    };
    for accepted in [Namespace::at(&endpoint), Namespace::legacy()] {
        enterprise.namespace = accepted.clone();
        let credential = enterprise.title("中级", "沙坪坝区");
        let (status, answer) = submit(&credential);
        assert_eq!(status, StatusCode::CREATED, "{accepted}: {answer}");
        let verdict = verify_at(&node.url, &credential, false);
        assert_eq!(verdict["verified"], true, "{accepted}: {verdict:#}");
    }

    // Under another base, even one that serves the same context: refused, nothing stored.
    enterprise.namespace = Namespace::at("https://cq-sc.elsewhere.example");
    let foreign = enterprise.title("中级", "沙坪坝区");
    let (status, answer) = submit(&foreign);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], "foreign_namespace", "{answer}");
    let message = answer["message"].as_str().expect("message");
    assert!(
        message.contains("https://cq-sc.elsewhere.example/ns/v1"),
        "{message}"
    );
    assert!(message.contains(&endpoint), "{message}");
    let id = foreign["id"].as_str().expect("id");
    let stored = node
        .client()
        .get(node.at(&format!("/api/v1/credentials/{id}")))
        .send()
        .expect("GET");
    assert_eq!(
        stored.status(),
        StatusCode::NOT_FOUND,
        "nothing of a refused submission is stored"
    );
    // Presented anyway, it fails the authority check by name.
    let verdict = verify_at(&node.url, &foreign, false);
    assert_eq!(verdict["verified"], false, "{verdict:#}");
    let authority = check(&verdict, "authority");
    assert_eq!(authority["ok"], false, "{verdict:#}");
    assert!(
        authority["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("foreign_namespace")),
        "{authority}"
    );
}

#[test]
fn a_node_that_moves_keeps_verifying_what_it_issued_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start_with(&data, &["--listen", "127.0.0.1:0", "--open-issuer"])
        .expect("node starts");
    let before = node.url.clone();
    let issued = node.issue(&title_request());
    assert_resolvable(&issued, &before);

    // The open issuer signs eddsa-rdfc-2022 with the registry's context at this node, which
    // its JSON-LD loader maps to the embedded copy; a context elsewhere is never fetched.
    let rdfc = |context: &str| {
        post(
            &node.client(),
            node.at("/credentials/issue"),
            &json!({
                "credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2", context],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": "did:example:talent", "tier": "A"},
                },
                "options": {"cryptosuite": "eddsa-rdfc-2022"},
            }),
        )
    };
    let (status, signed) = rdfc(&format!("{before}/ns/v1"));
    assert_eq!(status, StatusCode::CREATED, "{signed}");
    assert_eq!(
        signed["verifiableCredential"]["proof"]["cryptosuite"],
        "eddsa-rdfc-2022"
    );
    let (status, elsewhere) = rdfc("https://elsewhere.example/ns/v1");
    assert!(status.is_client_error(), "{status}: {elsewhere}");

    // A related resource the node holds, its context at its URL: the open issuer signs
    // the right digest and refuses another.
    let related = |bytes: &[u8]| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes));
        post(
            &node.client(),
            node.at("/credentials/issue"),
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"id": "did:example:talent"},
                "relatedResource": [{"id": format!("{before}/ns/v1"), "digestSRI": format!("sha256-{digest}")}],
            }}),
        )
    };
    let (status, answer) = related(talent_core::schema::CONTEXT_V1.as_bytes());
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = related(b"other bytes");
    assert!(status.is_client_error(), "{status}: {answer}");
    assert!(answer.to_string().contains("digestSRI"), "{answer}");
    node.stop().expect("stops");

    // On another port: new credentials name the new URL; the old ones still verify, at the
    // node and with talent-verify asking it.
    let node =
        Node::start_with(&data, &["--listen", "127.0.0.1:0", "--open-issuer"]).expect("restarts");
    assert_ne!(node.url, before);
    let member = node.member();
    assert_eq!(member["publicUrl"], node.url);
    assert_eq!(member["formerPublicUrls"], json!([before]));
    let fresh = node.issue(&title_request());
    assert_resolvable(&fresh, &node.url);
    for credential in [&issued, &fresh] {
        let verdict = verify_at(&node.url, credential, false);
        assert_eq!(verdict["verified"], true, "{verdict:#}");
    }
    let file = dir.path().join("before.json");
    std::fs::write(&file, issued.to_string()).expect("write");
    let output = talent_verify(
        &["verify", file.to_str().expect("path"), "--node", &node.url],
        None,
    )
    .expect("talent-verify runs");
    assert!(output.status.success(), "{}", said(&output));

    let (status, result) = post(
        &client(),
        node.at("/credentials/verify"),
        &json!({"verifiableCredential": signed["verifiableCredential"]}),
    );
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["verified"], true, "{result}");
}
