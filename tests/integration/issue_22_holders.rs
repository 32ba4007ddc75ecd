//! Issue 22, holders with wallets: an independent wallet — the openid4vc OpenID4VCI and
//! OpenID4VP clients and the OpenWallet Foundation's SD-JWT VC library, from the npm
//! registry (interop/holders-wallet) — receives a credential through an office's offer
//! (pre-authorized code, transaction code, key proof), verifies it on its own, and answers
//! an employer's presentation request disclosing only the claims asked for; the node
//! verifies it against the log. Changed disclosures, replays, a wrong audience and a
//! revoked credential are refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use federation_tests::{Node, client, example_requests, workspace_root};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Installs the wallet's pinned packages (npm registry only) into `target/holders-wallet`
/// once; later runs reuse them while the lock file is unchanged.
fn wallet_dir() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let source = workspace_root().join("interop/holders-wallet");
    let dir = workspace_root().join("target/holders-wallet");
    std::fs::create_dir_all(&dir).expect("wallet dir");
    for file in ["package.json", "package-lock.json", "wallet.mjs"] {
        std::fs::copy(source.join(file), dir.join(file)).expect("copy wallet file");
    }
    let stamp = dir.join("node_modules/.installed-from");
    let lock = std::fs::read(dir.join("package-lock.json")).expect("lock file");
    if std::fs::read(&stamp).ok().as_deref() != Some(lock.as_slice()) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (scripts/setup.sh installs Node.js)");
        assert!(status.success(), "npm ci of the wallet");
        std::fs::write(&stamp, &lock).expect("stamp");
    }
    dir
}

/// Runs the wallet; its JSON answer, or its error text.
fn wallet(dir: &Path, args: &[&str]) -> Result<Value, String> {
    let output = Command::new("node")
        .arg(dir.join("wallet.mjs"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("wallet answers JSON"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn post_json(client: &reqwest::blocking::Client, url: &str, body: &Value) -> (StatusCode, Value) {
    let response = client.post(url).json(body).send().expect("POST");
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

fn post_form(url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client().post(url).form(form).send().expect("POST");
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

fn golden_phoenix() -> Value {
    example_requests()
        .into_iter()
        .find(|(name, _)| name == "GoldenPhoenixTalentCredential")
        .expect("example")
        .1
}

/// An employer's request for `claims`, recognised in `region`: (request URI, result token).
fn ask(node: &Node, claims: &[&str], region: &str) -> (String, String) {
    let (status, made) = post_json(
        &client(),
        &node.at("/api/v1/presentation-requests"),
        &json!({"purpose": "入职核验 / onboarding check", "claims": claims, "region": region,
                "verifier": "重庆某智能装备有限公司"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let uri = made["requestUri"].as_str().expect("requestUri").to_owned();
    assert!(
        uri.starts_with("openid4vp://?client_id=decentralized_identifier"),
        "{uri}"
    );
    (uri, made["resultToken"].as_str().expect("token").to_owned())
}

fn result(node: &Node, token: &str) -> Value {
    let (status, result) = post_json(
        &client(),
        &node.at("/api/v1/presentation-requests:result"),
        &json!({"resultToken": token}),
    );
    assert_eq!(status, StatusCode::OK, "{result}");
    result
}

#[test]
fn a_wallet_receives_a_credential_by_offer_and_discloses_only_what_the_employer_asks() {
    let wallet_dir = wallet_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let (status, issued) = post_json(
        &node.client(),
        &node.at("/api/v1/credentials"),
        &golden_phoenix(),
    );
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let credential = issued["credential"].clone();
    let access_code = issued["holderAccessCode"].as_str().expect("access code");
    let id = credential["id"].as_str().expect("id");
    let region = credential["credentialSubject"]["region"]
        .as_str()
        .expect("region");

    // The office's offer: a URI for the QR code and a transaction code told apart.
    let (status, offer) = post_json(
        &node.client(),
        &node.at(&format!("/api/v1/credentials/{id}/offer")),
        &json!({}),
    );
    assert_eq!(status, StatusCode::CREATED, "{offer}");
    let offer_uri = offer["offerUri"].as_str().expect("offerUri");
    assert!(offer_uri.starts_with("openid-credential-offer://?credential_offer="));
    let tx_code = offer["txCode"].as_str().expect("txCode");
    assert_eq!(tx_code.len(), 6);
    let code =
        offer["credentialOffer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()
            .expect("code")
            .to_owned();
    // Anonymous callers make no offers.
    let (status, _) = post_json(
        &client(),
        &node.at(&format!("/api/v1/credentials/{id}/offer")),
        &json!({}),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A wrong PIN spends one attempt and gets nothing.
    let token_url = node.at("/oid4vci/token");
    let grant = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
    let wrong = if tx_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, error) = post_form(
        &token_url,
        &[
            ("grant_type", grant),
            ("pre-authorized_code", &code),
            ("tx_code", wrong),
        ],
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (error["error"].as_str(), error["code"].as_str()),
        (Some("invalid_grant"), Some("wrong_tx_code"))
    );

    // The independent wallet receives the credential and verifies it with its own library.
    let wallet_file = dir.path().join("wallet.json");
    let wallet_path = wallet_file.to_str().expect("path");
    let received = wallet(&wallet_dir, &["receive", wallet_path, offer_uri, tx_code])
        .unwrap_or_else(|error| panic!("the wallet receives: {error}"));
    let claims = &received["claims"];
    assert_eq!(claims["credential_id"], json!(id));
    assert_eq!(claims["region"], json!(region));
    assert_eq!(
        claims["credentialSubject"]["name"],
        json!("陈思远"),
        "{claims}"
    );
    assert_eq!(claims["credentialSubject"]["category"], json!("领军人才"));
    assert!(
        claims["vct"]
            .as_str()
            .is_some_and(|vct| vct.ends_with("/vct/GoldenPhoenixTalentCredential"))
    );
    assert_eq!(claims["cnf"]["jwk"]["kty"], json!("OKP"));
    assert_eq!(claims["credentialStatus"], credential["credentialStatus"]);
    let sd_jwt = received["credential"].as_str().expect("credential");
    let issuer_jwt = sd_jwt.split('~').next().expect("jwt");
    assert!(!issuer_jwt.contains('~'));
    for secret in ["陈思远", "002X"] {
        assert!(
            !sd_jwt
                .split('~')
                .next()
                .unwrap_or_default()
                .contains(secret)
        );
    }

    // The library on its own never takes a changed disclosure's value. (It drops a
    // disclosure the issuer did not sign where RFC 9901 §7.1 says to reject the whole;
    // the node rejects it: `bad_disclosure` in talent-sdjwt's tests.)
    wallet(&wallet_dir, &["verify", "-", sd_jwt])
        .unwrap_or_else(|error| panic!("the library verifies the credential: {error}"));
    let mut parts: Vec<&str> = sd_jwt.split('~').collect();
    let forged = base64_url(r#"["c2FsdHNhbHRzYWx0c2FsdA","category","顶尖人才"]"#);
    parts[1] = &forged;
    let changed = parts.join("~");
    match wallet(&wallet_dir, &["verify", "-", &changed]) {
        Err(_) => {}
        Ok(read) => {
            let subject = &read["claims"]["credentialSubject"];
            assert_ne!(subject["category"], json!("顶尖人才"), "{read}");
            assert_eq!(subject["category"], Value::Null, "{read}");
        }
    }

    // The offer and the access token are spent.
    let (status, error) = post_form(
        &token_url,
        &[
            ("grant_type", grant),
            ("pre-authorized_code", &code),
            ("tx_code", tx_code),
        ],
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let access_token = received["accessToken"].as_str().expect("token");
    let spent = client()
        .post(node.at("/oid4vci/credential"))
        .bearer_auth(access_token)
        .json(&json!({"credential_configuration_id": "GoldenPhoenixTalentCredential"}))
        .send()
        .expect("POST");
    assert_eq!(spent.status(), StatusCode::UNAUTHORIZED);

    // The employer asks for category and tier, recognised in the issuing region.
    let (request_uri, token) = ask(&node, &["category", "tier"], region);
    assert_eq!(result(&node, &token)["status"], json!("pending"));
    let presented = wallet(&wallet_dir, &["present", wallet_path, &request_uri])
        .unwrap_or_else(|error| panic!("the wallet presents: {error}"));
    assert_eq!(presented["status"], json!(200), "{presented}");
    let answer = result(&node, &token);
    assert_eq!(answer["verified"], json!(true), "{answer}");
    assert_eq!(
        answer["disclosed"],
        json!({"category": "领军人才", "tier": "塔身"})
    );
    assert_eq!(answer["credential"]["id"], json!(id));
    assert_eq!(answer["recognition"]["recognized"], json!(true), "{answer}");
    let text = answer.to_string();
    for personal in ["陈思远", "002X", "1101", "employer", "creditCode"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // The talent sees who asked and why in their query log.
    let (status, log) = post_json(
        &client(),
        &node.at("/api/v1/holder/queries"),
        &json!({"credentialId": id, "accessCode": access_code}),
    );
    assert_eq!(status, StatusCode::OK, "{log}");
    let queries = log["queries"].as_array().expect("queries");
    assert_eq!(queries.len(), 1, "{log}");
    assert_eq!(
        (
            queries[0]["channel"].as_str(),
            queries[0]["verifier"].as_str(),
            queries[0]["purpose"].as_str(),
            queries[0]["verified"].as_bool()
        ),
        (
            Some("wallet"),
            Some("重庆某智能装备有限公司"),
            Some("入职核验 / onboarding check"),
            Some(true)
        )
    );

    // A wallet that discloses the name unasked: checked, but not kept for the employer.
    let (extra_uri, extra_token) = ask(&node, &["category"], region);
    let careless = wallet(
        &wallet_dir,
        &["present", wallet_path, &extra_uri, "--extra", "name"],
    )
    .unwrap_or_else(|error| panic!("the wallet presents: {error}"));
    assert_eq!(careless["status"], json!(200), "{careless}");
    let answer = result(&node, &extra_token);
    assert_eq!(answer["verified"], json!(true), "{answer}");
    assert_eq!(answer["disclosed"], json!({"category": "领军人才"}));
    assert!(!answer.to_string().contains("陈思远"), "{answer}");

    // The same answer again: the request is answered once.
    let vp_token = presented["vpToken"].as_str().expect("vpToken");
    let state = presented["state"].as_str().expect("state");
    let response_url = node.at("/oid4vp/response");
    let (status, error) = post_form(&response_url, &[("vp_token", vp_token), ("state", state)]);
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_request"))
    );

    // Replayed at another request: its nonce is not this one's.
    let (other_uri, other_token) = ask(&node, &["category"], region);
    let other = wallet(
        &wallet_dir,
        &["present", wallet_path, &other_uri, "--no-submit"],
    )
    .unwrap_or_else(|error| panic!("the wallet prepares: {error}"));
    let other_state = other["state"].as_str().expect("state");
    let (status, error) = post_form(
        &response_url,
        &[("vp_token", vp_token), ("state", other_state)],
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("wrong_nonce"))
    );
    let refused = result(&node, &other_token);
    assert_eq!(refused["verified"], json!(false));
    assert_eq!(refused["error"]["code"], json!("wrong_nonce"));

    // Bound to another audience.
    let (aud_uri, _) = ask(&node, &["category"], region);
    let wrong_aud = wallet(
        &wallet_dir,
        &[
            "present",
            wallet_path,
            &aud_uri,
            "--aud",
            "decentralized_identifier:did:key:z6MkOther",
        ],
    )
    .unwrap_or_else(|error| panic!("the wallet presents: {error}"));
    assert_eq!(wrong_aud["status"], json!(400), "{wrong_aud}");
    assert_eq!(wrong_aud["body"]["code"], json!("wrong_audience"));

    // A changed disclosure: the category claimed higher than issued.
    let (changed_uri, _) = ask(&node, &["category"], region);
    let prepared = wallet(
        &wallet_dir,
        &["present", wallet_path, &changed_uri, "--no-submit"],
    )
    .unwrap_or_else(|error| panic!("the wallet prepares: {error}"));
    let token_json: Value =
        serde_json::from_str(prepared["vpToken"].as_str().expect("vpToken")).expect("JSON");
    let presentation = token_json["talent"][0].as_str().expect("presentation");
    let forged = base64_url(r#"["c2FsdHNhbHRzYWx0c2FsdA","category","顶尖人才"]"#);
    let mut parts: Vec<String> = presentation.split('~').map(str::to_owned).collect();
    assert_eq!(
        parts.len(),
        3,
        "JWT, one disclosure, KB-JWT: {presentation}"
    );
    parts[1] = forged;
    let tampered = json!({"talent": [parts.join("~")]}).to_string();
    let (status, error) = post_form(
        &response_url,
        &[
            ("vp_token", &tampered),
            ("state", prepared["state"].as_str().expect("state")),
        ],
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("wrong_sd_hash")),
        "{error}"
    );

    // Revoked: no new offer, and a presentation does not verify.
    let (status, _) = post_json(
        &node.client(),
        &node.at(&format!("/api/v1/credentials/{id}/status")),
        &json!({"status": "03", "reason": "issued in error"}),
    );
    assert_eq!(status, StatusCode::CREATED);
    let (status, error) = post_json(
        &node.client(),
        &node.at(&format!("/api/v1/credentials/{id}/offer")),
        &json!({}),
    );
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::CONFLICT, Some("credential_not_valid"))
    );
    let (revoked_uri, revoked_token) = ask(&node, &["category"], region);
    let presented = wallet(&wallet_dir, &["present", wallet_path, &revoked_uri])
        .unwrap_or_else(|error| panic!("the wallet presents: {error}"));
    assert_eq!(presented["status"], json!(200), "{presented}");
    let answer = result(&node, &revoked_token);
    assert_eq!(answer["verified"], json!(false), "{answer}");
    assert!(
        answer["checks"]
            .as_array()
            .expect("checks")
            .contains(&json!({"name": "status", "ok": false})),
        "{answer}"
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
