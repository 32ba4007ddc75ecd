//! Issue 5: delegated issuers, key history and access control, on two real members
//! (`cq-sc` issuing, `cd-hz` verifying from its mirror).
//!
//! One scenario walks the matrix roles × actions × scopes and asserts the exact status and
//! code of every request, that a refused request writes nothing, and that both members reach
//! the same verdicts (naming the accreditation checked).

use std::time::Duration;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use federation_tests::{
    Federation, Node, client, client_with_token, create_token, talent_verify, verify_at,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::credential::{self, IssueRequest, format_datetime};
use talent_core::identifiers::CredentialId;
use talent_core::statement::KeyRotation;
use talent_integrity::did::DidKey;
use talent_integrity::keys::IssuerKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

const ISSUER_REGION: &str = "cq-sc";

/// A delegated issuer holding its own key (Ed25519 or SM2); it reserves status-list slots at
/// `node` and issues in its member's region.
pub(crate) struct Enterprise {
    key: IssuerKey,
    pub(crate) did: DidKey,
    region: String,
    /// An admin client and the node's slot reservation URL.
    slots: (reqwest::blocking::Client, String),
    /// The end of its accreditation: what it signs is valid no longer (issue 19).
    pub(crate) valid_until: Option<chrono::DateTime<Utc>>,
    /// Where its credentials name the context and schemas: the legacy base unless a test
    /// sets its node's (or another).
    pub(crate) namespace: credential::Namespace,
}

impl Enterprise {
    fn new(seed: u8, node: &Node) -> Enterprise {
        Enterprise::new_from(SigningKey::from_bytes(&[seed; 32]), node)
    }

    fn new_from(key: SigningKey, node: &Node) -> Enterprise {
        Enterprise::of_member(key, node, ISSUER_REGION)
    }

    /// An issuer with `key`, accredited (by the test) at `node`, the member `region`.
    pub(crate) fn of_member(key: impl Into<IssuerKey>, node: &Node, region: &str) -> Enterprise {
        let key = key.into();
        let did = key.did();
        Enterprise {
            key,
            did,
            region: region.to_owned(),
            slots: (node.client(), node.at("/api/v1/status-lists:allocate")),
            valid_until: None,
            namespace: credential::Namespace::legacy(),
        }
    }

    /// A `credentialStatus` reserved for this issuer at the node; none for an issuer
    /// without an accreditation in force, which gets no slot (issue 19).
    fn reserve_status(&self) -> Option<Value> {
        let (http, url) = &self.slots;
        let (status, answer) = post(http, url.clone(), &json!({"issuer": self.did.to_string()}));
        if status == StatusCode::FORBIDDEN && answer["code"] == "not_accredited" {
            return None;
        }
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        Some(answer["credentialStatus"].clone())
    }

    /// Signs `object` now (or `created` when given).
    fn sign(&self, object: &Value, created: Option<chrono::DateTime<Utc>>) -> Value {
        proof::sign(
            object,
            &self.key,
            &ProofOptions {
                created: format_datetime(created.unwrap_or_else(Utc::now)),
                proof_purpose: ASSERTION_METHOD,
            },
        )
        .expect("signs")
    }

    /// A credential of `credential_type` with `fields` in its subject, issued by this key.
    fn credential(&self, credential_type: &str, fields: Value) -> Value {
        let mut subject = json!({
            "name": "王小红",
            "idNumberMasked": "5001**********123X",
        });
        for (name, value) in fields.as_object().expect("fields") {
            subject[name] = value.clone();
        }
        let request = IssueRequest::from_json(&json!({
            "type": credential_type,
            "credentialSubject": subject,
        }))
        .expect("request");
        let prepared = credential::prepare(
            request,
            &self.did,
            &self.region.parse().expect("region"),
            &self.namespace,
            CredentialId::from_uuid(uuid::Uuid::now_v7()),
            Utc::now(),
        )
        .expect("prepares");
        let mut document = prepared.document;
        if let Some(until) = self.valid_until {
            document["validUntil"] = json!(format_datetime(until));
        }
        if let Some(status) = self.reserve_status() {
            document["credentialStatus"] = status;
        }
        self.sign(&document, None)
    }

    pub(crate) fn title(&self, level: &str, district: &str) -> Value {
        self.credential(
            "ProfessionalTitleCredential",
            json!({
                "series": "工程", "specialty": "机械", "level": level,
                "titleName": format!("{level}工程师"), "committee": "企业自主评审委员会",
                "conferredOn": "2026-06-30", "district": district,
            }),
        )
    }
}

pub(crate) fn post(
    http: &reqwest::blocking::Client,
    url: String,
    body: &Value,
) -> (StatusCode, Value) {
    let response = http.post(url).json(body).send().expect("POST");
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

pub(crate) fn accreditation(
    did: &DidKey,
    scope: Value,
    valid_until: chrono::DateTime<Utc>,
) -> Value {
    json!({
        "type": "IssuerAccreditationCredential",
        "credentialSubject": {
            "id": did.to_string(),
            "name": "重庆某智能装备有限公司（企业自主认定）",
            "creditCode": "91500000MA5U1234XH",
            "scope": scope,
        },
        "validUntil": format_datetime(valid_until),
    })
}

fn authority_check(verdict: &Value) -> Value {
    verdict["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["name"] == "authority"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn delegated_issuers_scopes_keys_and_roles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let cq_sc = federation.start(ISSUER_REGION).expect("cq-sc starts");
    let cd_hz = federation.start("cd-hz").expect("cd-hz starts");
    let admin = cq_sc.client();
    let submit = cq_sc.at("/api/v1/credentials:submit");

    let a_ends = Utc::now() + chrono::Duration::days(365);
    let b_expires = Utc::now() + chrono::Duration::seconds(6);
    let mut a = Enterprise::new(0x51, &cq_sc);
    a.valid_until = Some(a_ends);
    let mut b = Enterprise::new(0x52, &cq_sc);
    b.valid_until = Some(b_expires);
    let mut a_next = Enterprise::new(0x53, &cq_sc);
    a_next.valid_until = Some(a_ends);
    let outsider = Enterprise::new(0x54, &cq_sc);

    // Accredit A (titles 中级/副高级 and 青年人才 金凤凰, in 沙坪坝区) and B (titles, briefly).
    let (status, accredited_a) = post(
        &admin,
        cq_sc.at("/api/v1/credentials"),
        &accreditation(
            &a.did,
            json!({
                "types": ["ProfessionalTitleCredential", "GoldenPhoenixTalentCredential"],
                "levels": ["中级", "副高级", "塔基"],
                "categories": ["青年人才"],
                "districts": ["沙坪坝区"],
            }),
            a_ends,
        ),
    );
    assert_eq!(status, StatusCode::CREATED, "{accredited_a}");
    let accreditation_a = accredited_a["id"].as_str().expect("id").to_owned();
    let (status, accredited_b) = post(
        &admin,
        cq_sc.at("/api/v1/credentials"),
        &accreditation(
            &b.did,
            json!({"types": ["ProfessionalTitleCredential"]}),
            b_expires,
        ),
    );
    assert_eq!(status, StatusCode::CREATED, "{accredited_b}");

    let data = federation.data_dir(ISSUER_REGION);
    let token_a = create_token(&data, "issuer", Some(&a.did.to_string()), "A").expect("token");
    let token_b = create_token(&data, "issuer", Some(&b.did.to_string()), "B").expect("token");
    let auditor = create_token(&data, "auditor", None, "audit").expect("token");
    let as_a = client_with_token(&token_a);
    let as_b = client_with_token(&token_b);

    // In scope: logged, and the node names the accreditation.
    let in_scope = a.title("中级", "沙坪坝区");
    let (status, answer) = post(&as_a, submit.clone(), &in_scope);
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert!(
        answer["authorisation"]
            .as_str()
            .is_some_and(|text| text.contains(&accreditation_a)),
        "{answer}"
    );
    let b_in_window = b.title("正高级", "九龙坡区");
    let (status, answer) = post(&as_b, submit.clone(), &b_in_window);
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // Signed inside B's window, submitted after it ends (below).
    let b_late = b.title("正高级", "九龙坡区");

    // Every refusal: exact status and code, and nothing written.
    let size_before = cq_sc.checkpoint_size();
    let out_of_level = a.title("正高级", "沙坪坝区");
    let forged = format!(
        "Bearer trt_{}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "0123456789ab"
    );
    let cases: Vec<(&str, reqwest::blocking::Client, String, Value, StatusCode, &str)> = vec![
        (
            "out of type",
            as_a.clone(),
            submit.clone(),
            a.credential(
                "SkillLevelCredential",
                json!({"occupationCode": "6-18-01-01", "occupation": "车工", "level": "四级/中级工", "assessmentBody": "某评价机构"}),
            ),
            StatusCode::FORBIDDEN,
            "scope_type",
        ),
        ("out of level", as_a.clone(), submit.clone(), out_of_level.clone(), StatusCode::FORBIDDEN, "scope_level"),
        (
            "out of district",
            as_a.clone(),
            submit.clone(),
            a.title("中级", "九龙坡区"),
            StatusCode::FORBIDDEN,
            "scope_district",
        ),
        (
            "out of category",
            as_a.clone(),
            submit.clone(),
            a.credential(
                "GoldenPhoenixTalentCredential",
                json!({"category": "顶尖人才", "tier": "塔基", "field": "人工智能", "route": "enterprise", "district": "沙坪坝区"}),
            ),
            StatusCode::FORBIDDEN,
            "scope_category",
        ),
        (
            "another issuer's token",
            as_b.clone(),
            submit.clone(),
            a.title("中级", "沙坪坝区"),
            StatusCode::FORBIDDEN,
            "issuer_mismatch",
        ),
        ("no token", client(), submit.clone(), a.title("中级", "沙坪坝区"), StatusCode::UNAUTHORIZED, "token_required"),
        (
            "forged token",
            reqwest::blocking::Client::builder()
                .default_headers(
                    [(reqwest::header::AUTHORIZATION, forged.parse().expect("header"))]
                        .into_iter()
                        .collect(),
                )
                .build()
                .expect("client"),
            submit.clone(),
            a.title("中级", "沙坪坝区"),
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        ),
        (
            "auditor submits",
            client_with_token(&auditor),
            submit.clone(),
            a.title("中级", "沙坪坝区"),
            StatusCode::FORBIDDEN,
            "role_forbidden",
        ),
        (
            "issuer token asks the node to sign",
            as_a.clone(),
            cq_sc.at("/api/v1/credentials"),
            json!({"type": "ProfessionalTitleCredential", "credentialSubject": {"name": "王小红", "idNumberMasked": "5001**********123X", "level": "中级"}}),
            StatusCode::FORBIDDEN,
            "issuer_key_not_held",
        ),
        (
            "unaccredited issuer",
            admin.clone(),
            cq_sc.at("/api/v1/status-lists:allocate"),
            json!({"issuer": outsider.did.to_string()}),
            StatusCode::FORBIDDEN,
            "not_accredited",
        ),
        (
            "stale proof",
            as_a.clone(),
            submit.clone(),
            {
                let mut unsigned = a.title("中级", "沙坪坝区");
                unsigned.as_object_mut().expect("object").remove("proof");
                a.sign(&unsigned, Some(Utc::now() - chrono::Duration::hours(1)))
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "proof_not_fresh",
        ),
        ("replayed credential", as_a.clone(), submit.clone(), in_scope.clone(), StatusCode::CONFLICT, "duplicate_id"),
        (
            "delegated issuer accredits",
            as_a.clone(),
            submit.clone(),
            {
                let mut document = a.credential("ProfessionalTitleCredential", json!({"level": "中级"}));
                document.as_object_mut().expect("object").remove("proof");
                document["type"] = json!(["VerifiableCredential", "IssuerAccreditationCredential"]);
                document["credentialSubject"] = json!({"id": outsider.did.to_string(), "name": "某公司", "region": ISSUER_REGION, "scope": {"types": ["ProfessionalTitleCredential"]}});
                document["credentialSchema"]["id"] = json!(talent_core::credential::Namespace::legacy().schema_url(talent_core::credential::CredentialType::IssuerAccreditationCredential));
                a.sign(&document, None)
            },
            StatusCode::FORBIDDEN,
            "authority_only",
        ),
    ];
    for (name, http, url, body, expected_status, expected_code) in cases {
        let (status, answer) = post(&http, url, &body);
        assert_eq!(
            (status, answer["code"].as_str().unwrap_or_default()),
            (expected_status, expected_code),
            "{name}: {answer}"
        );
    }
    assert_eq!(
        cq_sc.checkpoint_size(),
        size_before,
        "a refused request wrote nothing"
    );

    // Rotation: A's old key signs nothing after it; the new key carries A's accreditation.
    // (Times have whole seconds: what A signed so far must be in an earlier second.)
    std::thread::sleep(Duration::from_millis(1100));
    let rotation = KeyRotation {
        id: CredentialId::from_uuid(uuid::Uuid::now_v7()),
        previous_key: a.did.clone(),
        next_key: a_next.did.clone(),
        effective: Utc::now(),
        issuer: a.did.clone(),
    };
    let (status, answer) = post(
        &as_a,
        submit.clone(),
        &a.sign(&rotation.to_unsigned(), None),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    std::thread::sleep(Duration::from_millis(1100));
    let (status, answer) = post(&as_a, submit.clone(), &a.title("中级", "沙坪坝区"));
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("key_retired")),
        "{answer}"
    );
    let after_rotation = a_next.title("副高级", "沙坪坝区");
    let (status, answer) = post(&as_a, submit.clone(), &after_rotation);
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the successor key acts for A: {answer}"
    );

    // Withdrawal (04) by the admin: not retroactive; the issuer can sign nothing new.
    let (status, answer) = post(
        &as_a,
        cq_sc.at(&format!("/api/v1/credentials/{accreditation_a}/status")),
        &json!({"status": "04", "reason": "授权撤回"}),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("issuer_key_not_held")),
        "{answer}"
    );
    // Signed (with its slot reserved) before the withdrawal, submitted after it: refused
    // whatever its proof.created says (issue 19).
    let a_late = a_next.title("中级", "沙坪坝区");
    let withdraw_url = cq_sc.at(&format!("/api/v1/credentials/{accreditation_a}/status"));
    let (status, answer) = post(
        &admin,
        withdraw_url.clone(),
        &json!({"status": "04", "reason": "授权撤回"}),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    std::thread::sleep(Duration::from_millis(1100));
    let (status, answer) = post(&as_a, submit.clone(), &a_late);
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("accreditation_withdrawn")),
        "{answer}"
    );
    let (status, answer) = post(
        &admin,
        withdraw_url,
        &json!({"status": "01", "reason": "恢复"}),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::CONFLICT, Some("status_transition")),
        "cancelled is final: {answer}"
    );

    // Expiry: B's accreditation ends; what B logged inside the window stays authorised, and
    // nothing is logged after the end, whenever it was signed (issue 19).
    let wait = (b_expires - Utc::now()).num_milliseconds().max(0) as u64 + 1100;
    std::thread::sleep(Duration::from_millis(wait));
    let (status, answer) = post(&as_b, submit.clone(), &b_late);
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("accreditation_expired")),
        "{answer}"
    );

    // Both members reach the same verdicts: the issuing node from its log, cd-hz from its
    // mirror (once it holds everything cq-sc logged).
    cd_hz
        .wait_mirrored(
            ISSUER_REGION,
            cq_sc.checkpoint_size(),
            Duration::from_secs(60),
        )
        .expect("cd-hz mirrors cq-sc");
    for node in [&cq_sc, &cd_hz] {
        for (name, credential) in [
            ("in scope, before rotation and withdrawal", &in_scope),
            ("successor key, before withdrawal", &after_rotation),
        ] {
            let verdict = verify_at(&node.url, credential, false);
            assert_eq!(
                verdict["verified"], true,
                "{name} at {}: {verdict}",
                node.url
            );
            assert_eq!(authority_check(&verdict)["ok"], true, "{verdict}");
        }
        // What B signed inside its window was authorised, and ends with B's accreditation.
        let verdict = verify_at(&node.url, &b_in_window, false);
        let failed: Vec<&str> = verdict["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|check| check["ok"] == false)
            .filter_map(|check| check["name"].as_str())
            .collect();
        assert_eq!(
            failed,
            ["validity"],
            "B after expiry at {}: {verdict}",
            node.url
        );
        // The withdrawn accreditation itself now shows status 04 at both members.
        let verdict = verify_at(&node.url, &accredited_a["credential"], false);
        let status = verdict["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|check| check["name"] == "status"))
            .cloned()
            .unwrap_or(Value::Null);
        assert!(
            verdict["verified"] == false
                && status["ok"] == false
                && status["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("04")),
            "withdrawn accreditation at {}: {verdict}",
            node.url
        );
        let verdict = verify_at(&node.url, &out_of_level, false);
        assert_eq!(verdict["verified"], false, "{verdict}");
        let check = authority_check(&verdict);
        let detail = check["detail"].as_str().unwrap_or_default();
        assert!(
            check["ok"] == false
                && detail.contains("scope_level")
                && detail.contains(&accreditation_a),
            "out of scope at {}, naming the accreditation: {check}",
            node.url
        );
        let verdict = verify_at(&node.url, &outsider.title("中级", "沙坪坝区"), false);
        assert!(
            authority_check(&verdict)["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("not_accredited")),
            "{verdict}"
        );
    }

    // The CLI reaches the same answers: it fetches the region's issuer history from a node
    // and verifies it against the pinned federation (--trust), at either member.
    let trust = federation.config.to_string_lossy().into_owned();
    let cli = |node: &Node, credential: &Value, pinned: bool| -> (Option<i32>, Value) {
        let bytes = serde_json::to_vec(credential).expect("JSON");
        let mut args = vec!["verify", "-", "--json", "--node", node.url.as_str()];
        if pinned {
            args.extend(["--trust", trust.as_str()]);
        }
        let output = talent_verify(&args, Some(&bytes)).expect("talent-verify runs");
        let verdict: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        (output.status.code(), verdict)
    };
    for node in [&cq_sc, &cd_hz] {
        let (code, verdict) = cli(node, &in_scope, true);
        assert_eq!(
            authority_check(&verdict)["ok"],
            true,
            "CLI via {}: {verdict}",
            node.url
        );
        if node.url == cq_sc.url {
            assert_eq!(code, Some(0), "{verdict}");
        }
        let (code, verdict) = cli(node, &out_of_level, true);
        assert_eq!(code, Some(1), "{verdict}");
        let detail = authority_check(&verdict)["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            detail.contains("scope_level") && detail.contains(&accreditation_a),
            "CLI via {}: {verdict}",
            node.url
        );
    }
    let (code, verdict) = cli(&cd_hz, &in_scope, false);
    assert_eq!(code, Some(1));
    assert!(
        authority_check(&verdict)["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("--trust")),
        "without a pinned federation cd-hz cannot vouch for cq-sc's issuers: {verdict}"
    );
    drop(cd_hz);
    drop(cq_sc);
}

/// The member's own authority rotates its key: new credentials are signed with the new key
/// and verify everywhere, the old key signs nothing new, what it signed stays valid, and the
/// node restarts with the new key.
#[test]
fn the_authority_rotates_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let cq_sc = federation.start(ISSUER_REGION).expect("cq-sc starts");
    let cd_hz = federation.start("cd-hz").expect("cd-hz starts");
    let title = json!({
        "type": "ProfessionalTitleCredential",
        "credentialSubject": {
            "name": "李明华", "idNumberMasked": "5001**********123X", "series": "工程",
            "level": "正高级", "titleName": "正高级工程师",
            "committee": "重庆市工程技术正高级职称评审委员会", "conferredOn": "2025-12-30",
        },
    });
    let before = cq_sc.issue(&title);
    let old_key = {
        let path = federation_tests::workspace_root()
            .join("federation-config/chengdu-chongqing/dev-keys/cq-sc/authority.key");
        let text = std::fs::read_to_string(path).expect("dev key");
        let seed = talent_integrity::multibase::decode_ed25519_secret(text.trim()).expect("seed");
        Enterprise::new_from(SigningKey::from_bytes(&seed), &cq_sc)
    };
    assert_eq!(before["issuer"], old_key.did.to_string());

    let (status, answer) = post(
        &client_with_token(
            &create_token(&federation.data_dir(ISSUER_REGION), "auditor", None, "a")
                .expect("token"),
        ),
        cq_sc.at("/api/v1/member/authority-key:rotate"),
        &json!({}),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("role_forbidden"))
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (status, answer) = post(
        &cq_sc.client(),
        cq_sc.at("/api/v1/member/authority-key:rotate"),
        &json!({}),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let new_key = answer["authorityKey"].as_str().expect("new key").to_owned();
    assert_ne!(new_key, old_key.did.to_string());
    std::thread::sleep(Duration::from_millis(1100));

    let after = cq_sc.issue(&title);
    assert_eq!(after["issuer"], new_key);
    // The old key (a copy leaked, say) can no longer write to cq-sc's log.
    let (status, answer) = post(
        &cq_sc.client(),
        cq_sc.at("/api/v1/credentials:submit"),
        &old_key.title("正高级", "沙坪坝区"),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("key_retired")),
        "{answer}"
    );

    // A restart keeps the new key (keys/authority.key was replaced, the old one retired).
    cq_sc.stop().expect("stops");
    let cq_sc = federation
        .start(ISSUER_REGION)
        .expect("cq-sc restarts with the rotated key");
    let member = cq_sc.member();
    assert_eq!(member["authorityKey"], new_key);
    assert_eq!(
        member["authorityDid"],
        old_key.did.to_string(),
        "the identity stays"
    );
    let again = cq_sc.issue(&title);
    assert_eq!(again["issuer"], new_key);

    cd_hz
        .wait_mirrored(
            ISSUER_REGION,
            cq_sc.checkpoint_size(),
            Duration::from_secs(60),
        )
        .expect("cd-hz mirrors cq-sc");
    for node in [&cq_sc, &cd_hz] {
        for credential in [&before, &after, &again] {
            let verdict = verify_at(&node.url, credential, false);
            assert_eq!(verdict["verified"], true, "at {}: {verdict}", node.url);
            assert!(
                authority_check(&verdict)["detail"]
                    .as_str()
                    .is_some_and(|detail| detail.contains("authority of cq-sc")),
                "{verdict}"
            );
        }
    }
}
