//! Issue 22, the W3C VC-API at a real node: `POST /credentials/issue` (registry types by the
//! authority, general credentials by the opt-in open issuer), `/credentials/verify` as a
//! general verifier with the registry's checks on top, `/presentations/verify`, and
//! `/credentials/status`.

use ed25519_dalek::{Signer, SigningKey};
use federation_tests::{Node, client, client_with_token, create_token, example_requests};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_integrity::did::DidKey;
use talent_integrity::multibase;
use talent_integrity::proof::Cryptosuite;

fn post(node: &Node, path: &str, body: &Value) -> (StatusCode, Value) {
    post_as(&node.client(), node, path, body)
}

fn post_as(
    client: &reqwest::blocking::Client,
    node: &Node,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = client
        .post(node.at(path))
        .json(body)
        .send()
        .expect("POST reaches the node");
    let status = response.status();
    let text = response.text().expect("body");
    (status, serde_json::from_str(&text).expect("a JSON answer"))
}

fn verify(node: &Node, credential: &Value, options: Value) -> (StatusCode, Value) {
    post_as(
        &client(),
        node,
        "/credentials/verify",
        &json!({"verifiableCredential": credential, "options": options}),
    )
}

fn error_titles(result: &Value) -> Vec<String> {
    result["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["title"].as_str().expect("title").to_owned())
        .collect()
}

/// The example request of a registry type, as a VC-API `credential`.
fn registry_credential(type_name: &str) -> Value {
    let (_, request) = example_requests()
        .into_iter()
        .find(|(name, _)| name == type_name)
        .expect("an example of the type");
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", type_name],
        "credentialSubject": request["credentialSubject"],
    })
}

fn general_credential() -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:subject", "name": "ExampleClaim"}
    })
}

fn status_update(entry: &Value, set: bool, credential_id: Option<&str>) -> Value {
    json!({"credentialId": credential_id, "credentialStatus": entry, "status": set})
}

#[test]
fn registry_credentials_are_issued_verified_and_suspended_through_the_vc_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start_with(
        &dir.path().join("node"),
        &["--listen", "127.0.0.1:0", "--open-issuer"],
    )
    .expect("node starts");

    let (status, issued) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": registry_credential("ProfessionalTitleCredential")}),
    );
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let credential = issued["verifiableCredential"].clone();
    let member = node.member();
    assert_eq!(credential["issuer"], member["authorityDid"]);

    // The general checks and the registry's, with the registry's verdict.
    let (status, result) = verify(&node, &credential, json!({}));
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["verified"], true);
    for check in [
        "dataModel",
        "proof",
        "issuer",
        "validity",
        "schema",
        "authority",
        "inclusion",
        "status",
    ] {
        assert!(
            result["checks"]
                .as_array()
                .expect("checks")
                .contains(&json!(check)),
            "{check} ran: {result}"
        );
    }
    assert_eq!(result["registry"]["verified"], true);

    // One changed claim: the proof fails, and the answer says so.
    let mut changed = credential.clone();
    changed["credentialSubject"]["name"] = json!("王五");
    let (status, result) = verify(&node, &changed, json!({}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(result["verified"], false);
    assert!(
        error_titles(&result).contains(&"proof".to_owned()),
        "{result}"
    );

    // A logged suspension fails `status`; `options.checks` without it verifies.
    let id = credential["id"].as_str().expect("id");
    let suspension = json!({"type": "BitstringStatusListEntry", "statusPurpose": "suspension"});
    let (status, answer) = post(
        &node,
        "/credentials/status",
        &status_update(&suspension, true, Some(id)),
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["statusChange"]["status"], "02");
    let (status, result) = verify(&node, &credential, json!({}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_titles(&result), ["status"]);
    let (status, _) = verify(
        &node,
        &credential,
        json!({"checks": ["proof", "inclusion"]}),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &node,
        "/credentials/status",
        &status_update(&suspension, false, Some(id)),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = verify(&node, &credential, json!({}));
    assert_eq!(status, StatusCode::OK);

    // Refusals, each with its code; none of them issues anything.
    let mut extra = registry_credential("ProfessionalTitleCredential");
    extra["evidence"] = json!([{"type": "Evidence"}]);
    let (status, error) = post(&node, "/credentials/issue", &json!({"credential": extra}));
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unexpected_member"))
    );
    let mut other_issuer = registry_credential("ProfessionalTitleCredential");
    other_issuer["issuer"] = json!("did:example:someone");
    let (status, error) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": other_issuer}),
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unexpected_member"))
    );
    let (status, _) = post_as(
        &client(),
        &node,
        "/credentials/issue",
        &json!({"credential": registry_credential("ProfessionalTitleCredential")}),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, error) = verify(&node, &credential, json!({"checks": ["telepathy"]}));
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_check"))
    );
    let (status, error) = post_as(
        &client(),
        &node,
        "/credentials/verify",
        &json!({"credential": {}}),
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[test]
fn the_open_issuer_signs_general_credentials_that_never_pass_as_registry_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start_with(&data, &["--listen", "127.0.0.1:0", "--open-issuer"])
        .expect("node starts");
    let member = node.member();
    let open_issuer = member["openIssuer"].as_str().expect("openIssuer announced");
    assert_ne!(member["authorityDid"], json!(open_issuer));

    let (status, issued) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": general_credential()}),
    );
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let credential = issued["verifiableCredential"].clone();
    assert_eq!(credential["issuer"], open_issuer);
    let entry = credential["credentialStatus"].clone();
    let (status, result) = verify(&node, &credential, json!({}));
    assert_eq!(status, StatusCode::OK, "{result}");
    assert!(
        result["checks"]
            .as_array()
            .expect("checks")
            .contains(&json!("status"))
    );
    assert!(result.get("registry").is_none());

    // The registry's own verification refuses it: it is not a registry credential.
    let verdict: Value = client()
        .post(node.at("/api/v1/verify"))
        .json(&json!({"credential": credential}))
        .send()
        .expect("verify")
        .json()
        .expect("verdict");
    assert_eq!(verdict["verified"], false, "{verdict}");

    // Its list is published, signed by the open issuer; a revocation shows in it and in
    // verification, and `options.checks` can leave status out.
    let (status, _) = post(
        &node,
        "/credentials/status",
        &status_update(&entry, true, None),
    );
    assert_eq!(status, StatusCode::OK);
    let list: Value = client()
        .get(node.at("/credentials/status-lists/open/0"))
        .send()
        .expect("list")
        .json()
        .expect("JSON");
    assert_eq!(list["issuer"], open_issuer);
    let (status, result) = verify(&node, &list, json!({}));
    assert_eq!(
        status,
        StatusCode::OK,
        "the list credential verifies: {result}"
    );
    let (status, result) = verify(&node, &credential, json!({}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_titles(&result), ["status"]);
    let (status, _) = verify(&node, &credential, json!({"checks": ["proof", "issuer"]}));
    assert_eq!(status, StatusCode::OK);

    // eddsa-rdfc-2022 on request: verified over canonical N-Quads, a changed claim fails;
    // a term no context defines is refused before anything is signed.
    let (status, issued) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": general_credential(), "options": {"cryptosuite": "eddsa-rdfc-2022"}}),
    );
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let rdfc = issued["verifiableCredential"].clone();
    assert_eq!(rdfc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    let (status, result) = verify(&node, &rdfc, json!({"checks": ["proof", "issuer"]}));
    assert_eq!(status, StatusCode::OK, "{result}");
    let mut changed = rdfc.clone();
    changed["credentialSubject"]["name"] = json!("OtherClaim");
    let (status, result) = verify(&node, &changed, json!({"checks": ["proof"]}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_titles(&result), ["proof"]);
    let mut undefined = general_credential();
    undefined["statusEntry"] = json!({"type": "BitstringStatusListEntry"});
    let (status, error) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": undefined}),
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("json_ld"))
    );

    // Refusals: a broken data model, another issuer, an index never handed out, a
    // non-admin token.
    let mut broken = general_credential();
    broken["validFrom"] = json!("2026-13-01");
    let (status, error) = post(&node, "/credentials/issue", &json!({"credential": broken}));
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("data_model"))
    );
    let mut other = general_credential();
    other["issuer"] = json!("did:example:other");
    let (status, error) = post(&node, "/credentials/issue", &json!({"credential": other}));
    assert_eq!(error["code"], "issuer_mismatch", "{status}");
    let mut unknown = entry.clone();
    unknown["statusListIndex"] = json!("99");
    let (status, error) = post(
        &node,
        "/credentials/status",
        &status_update(&unknown, true, None),
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_status_index")
        )
    );
    let auditor = create_token(&data, "auditor", None, "auditor").expect("token");
    let (status, _) = post_as(
        &client_with_token(&auditor),
        &node,
        "/credentials/issue",
        &json!({"credential": general_credential()}),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Without --open-issuer, a general credential is refused with its own code.
    drop(node);
    let node = Node::start_with(&dir.path().join("closed"), &["--listen", "127.0.0.1:0"])
        .expect("node starts");
    let (status, error) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": general_credential()}),
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unsupported_credential_type")
        )
    );
    let (status, _) = client()
        .get(node.at("/credentials/status-lists/open/0"))
        .send()
        .map(|response| (response.status(), ()))
        .expect("answer");
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A presentation by `holder`, its `authentication` proof made over the challenge.
fn presentation(holder: &SigningKey, credentials: Vec<Value>, challenge: &str) -> Value {
    let did = DidKey::from_verifying_key(&holder.verifying_key());
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": did.to_string(),
        "verifiableCredential": credentials,
    });
    let mut proof = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2026-12-07T00:00:00Z",
        "verificationMethod": did.verification_method(),
        "proofPurpose": "authentication",
        "challenge": challenge,
    });
    let hash = Cryptosuite::EddsaJcs2022.hash_data(&proof, &unsigned);
    proof["proofValue"] = json!(multibase::encode_base58btc(&holder.sign(&hash).to_bytes()));
    let mut signed = unsigned;
    signed["proof"] = proof;
    signed
}

#[test]
fn a_presentation_is_verified_with_its_challenge_and_each_credential() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start_with(
        &dir.path().join("node"),
        &["--listen", "127.0.0.1:0", "--open-issuer"],
    )
    .expect("node starts");
    let (_, issued) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": registry_credential("SkillLevelCredential")}),
    );
    let registry = issued["verifiableCredential"].clone();
    let (_, issued) = post(
        &node,
        "/credentials/issue",
        &json!({"credential": general_credential()}),
    );
    let general = issued["verifiableCredential"].clone();
    let holder = SigningKey::from_bytes(&[5; 32]);
    let signed = presentation(&holder, vec![registry.clone(), general], "c-42");

    let verify_presentation = |presentation: &Value, options: Value| {
        post_as(
            &client(),
            &node,
            "/presentations/verify",
            &json!({"verifiablePresentation": presentation, "options": options}),
        )
    };
    let (status, result) = verify_presentation(&signed, json!({"challenge": "c-42"}));
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(
        result["credentials"].as_array().expect("credentials").len(),
        2
    );
    assert_eq!(result["credentials"][0]["registry"]["verified"], true);

    // A replayed proof (another challenge), a changed credential inside, a proof by
    // someone else than the holder: each refused, naming what failed.
    let (status, result) = verify_presentation(&signed, json!({"challenge": "c-43"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_titles(&result), ["proof"]);
    let mut changed = registry.clone();
    changed["credentialSubject"]["name"] = json!("王五");
    let tampered = presentation(&holder, vec![changed], "c-42");
    let (status, result) = verify_presentation(&tampered, json!({"challenge": "c-42"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(result["credentials"][0]["verified"], false, "{result}");
    let mut impostor = presentation(&SigningKey::from_bytes(&[6; 32]), vec![registry], "c-42");
    impostor["holder"] = signed["holder"].clone();
    let (status, result) = verify_presentation(&impostor, json!({"challenge": "c-42"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_titles(&result), ["proof"]);
}
