//! Issue 19, item 6: policy gaps a delegated issuer, a revoked token or an auditor could
//! use. Each case failed before the fix (see docs/security.md):
//!
//! - a delegated issuer lifted (02 → 01) a suspension the authority set;
//! - a withdrawn issuer (or a rotated-out key) kept signing by back-dating `proof.created`
//!   within the node's clock tolerance;
//! - a console import kept issuing after its operator's token was revoked;
//! - issuer tokens without an accreditation reserved status-list slots, without bound;
//! - a delegated credential's `validUntil` outlasted its accreditation;
//! - an auditor could upload an import.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use federation_tests::{Node, binary, client_with_token, create_token};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::credential::{self, IssueRequest, format_datetime};
use talent_core::identifiers::CredentialId;
use talent_core::statement::{KeyRotation, StatusChange};
use talent_core::status::CredentialStatus;
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

use super::console_search::ConsoleSession;

/// The development member's region.
const REGION: &str = "dev";

/// A delegated issuer holding its own key, with an issuer token at the node.
pub(super) struct Enterprise {
    key: SigningKey,
    /// Its DID.
    pub(super) did: DidKey,
    /// A client sending its issuer token.
    pub(super) http: reqwest::blocking::Client,
    node: String,
}

impl Enterprise {
    /// A new issuer with key `seed` and an issuer token at `node` (not yet accredited).
    pub(super) fn new(seed: u8, node: &Node) -> Enterprise {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let did = DidKey::from_verifying_key(&key.verifying_key());
        let token = create_token(&node.data_dir, "issuer", Some(&did.to_string()), "企业")
            .expect("issuer token");
        Enterprise {
            key,
            did,
            http: client_with_token(&token),
            node: node.url.clone(),
        }
    }

    /// The same issuer signing with another key (after a rotation), with the same token.
    fn with_key(&self, seed: u8) -> Enterprise {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let did = DidKey::from_verifying_key(&key.verifying_key());
        Enterprise {
            key,
            did,
            http: self.http.clone(),
            node: self.node.clone(),
        }
    }

    fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        post(&self.http, &format!("{}{path}", self.node), body)
    }

    /// `POST /api/v1/status-lists:allocate` with this issuer's token.
    pub(super) fn reserve(&self) -> (StatusCode, Value) {
        self.post("/api/v1/status-lists:allocate", &json!({}))
    }

    /// A reserved `credentialStatus`, or a failed test.
    pub(super) fn reserved(&self) -> Value {
        let (status, answer) = self.reserve();
        assert_eq!(status, StatusCode::CREATED, "reserve: {answer}");
        answer["credentialStatus"].clone()
    }

    /// Signs `object` with `created` as its `proof.created`.
    fn sign(&self, object: &Value, created: DateTime<Utc>) -> Value {
        proof::sign(
            object,
            &self.key,
            &ProofOptions {
                created: format_datetime(created),
                proof_purpose: ASSERTION_METHOD,
            },
        )
        .expect("signs")
    }

    /// A 中级 title credential signed at `created`, valid until `until` (none: no end),
    /// with `status` as its `credentialStatus`.
    pub(super) fn title(
        &self,
        created: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        status: &Value,
    ) -> Value {
        let request = IssueRequest::from_json(&json!({
            "type": "ProfessionalTitleCredential",
            "credentialSubject": {
                "name": "王小红", "idNumberMasked": "5001**********123X",
                "series": "工程", "specialty": "机械", "level": "中级",
                "titleName": "工程师", "committee": "企业自主评审委员会",
                "conferredOn": "2026-06-30",
            },
        }))
        .expect("request");
        let mut document = credential::prepare(
            request,
            &self.did,
            &REGION.parse().expect("region"),
            &credential::Namespace::legacy(),
            CredentialId::from_uuid(uuid::Uuid::now_v7()),
            created,
        )
        .expect("prepares")
        .document;
        if let Some(until) = until {
            document["validUntil"] = json!(format_datetime(until));
        }
        document["credentialStatus"] = status.clone();
        self.sign(&document, created)
    }

    /// `POST /api/v1/credentials:submit`.
    pub(super) fn submit(&self, object: &Value) -> (StatusCode, Value) {
        self.post("/api/v1/credentials:submit", object)
    }

    /// A status change of `credential` signed by this issuer now.
    fn status_change(&self, credential: &str, status: CredentialStatus) -> Value {
        let change = StatusChange {
            id: CredentialId::from_uuid(uuid::Uuid::now_v7()),
            credential_id: credential.parse().expect("id"),
            status,
            reason: "企业核查".to_owned(),
            effective: Utc::now(),
            issuer: self.did.clone(),
            successor: None,
        };
        self.sign(&change.to_unsigned(), Utc::now())
    }
}

pub(super) fn post(
    http: &reqwest::blocking::Client,
    url: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = http.post(url).json(body).send().expect("POST");
    let status = response.status();
    (status, response.json().unwrap_or(Value::Null))
}

/// Accredits `issuer` for titles from an hour ago until `until`; returns the accreditation
/// id.
pub(super) fn accredit(node: &Node, issuer: &DidKey, until: DateTime<Utc>) -> String {
    let (status, answer) = post(
        &client_with_token(&node.admin_token),
        &node.at("/api/v1/credentials"),
        &json!({
            "type": "IssuerAccreditationCredential",
            "credentialSubject": {
                "id": issuer.to_string(),
                "name": "重庆某智能装备有限公司（企业自主认定）",
                "creditCode": "91500000MA5U1234XH",
                "scope": {"types": ["ProfessionalTitleCredential"]},
            },
            "validFrom": format_datetime(Utc::now() - chrono::Duration::hours(1)),
            "validUntil": format_datetime(until),
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "accreditation: {answer}");
    answer["id"].as_str().expect("id").to_owned()
}

/// The answer's `(status, code)`.
fn outcome((status, answer): &(StatusCode, Value)) -> (StatusCode, &str) {
    (*status, answer["code"].as_str().unwrap_or_default())
}

#[test]
fn delegated_issuers_act_only_within_their_authority() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start_with(
        &dir.path().join("node"),
        &["--listen", "127.0.0.1:0", "--max-reserved-slots", "2"],
    )
    .expect("node starts");
    let admin = client_with_token(&node.admin_token);
    let ends = Utc::now() + chrono::Duration::days(30);
    let e = Enterprise::new(0x71, &node);
    let accreditation_e = accredit(&node, &e.did, ends);

    // Status-list slots: none for an issuer without an accreditation in force; at most the
    // configured number unused per issuer, with a clear 429.
    let unaccredited = Enterprise::new(0x72, &node);
    assert_eq!(
        outcome(&unaccredited.reserve()),
        (StatusCode::FORBIDDEN, "not_accredited"),
        "an unaccredited issuer token reserved a slot"
    );
    let (status, _) = post(
        &admin,
        &node.at("/api/v1/status-lists:allocate"),
        &json!({"issuer": unaccredited.did.to_string()}),
    );
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "not for an admin naming it either"
    );
    let first = e.reserved();
    let second = e.reserved();
    let refused = e.reserve();
    assert_eq!(
        outcome(&refused),
        (StatusCode::TOO_MANY_REQUESTS, "reservation_limit"),
        "{}",
        refused.1
    );

    // validUntil: no later than the accreditation's end, and not open-ended under one that
    // ends.
    let now = Utc::now();
    for (name, until) in [
        ("no end", None),
        ("a day after", Some(ends + chrono::Duration::days(1))),
    ] {
        assert_eq!(
            outcome(&e.submit(&e.title(now, until, &first))),
            (StatusCode::FORBIDDEN, "validity_outlasts_accreditation"),
            "{name}"
        );
    }
    let (status, issued) = e.submit(&e.title(now, Some(ends), &first));
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let credential = issued["id"].as_str().expect("id").to_owned();
    // The slot it used is no longer outstanding: one more may be reserved, then no more.
    let third = e.reserved();
    assert_eq!(outcome(&e.reserve()).0, StatusCode::TOO_MANY_REQUESTS);

    // A suspension the authority set is lifted by the authority only.
    let status_url = node.at(&format!(
        "/api/v1/credentials/{}/status",
        credential.trim_start_matches("urn:uuid:")
    ));
    let suspend = json!({"status": "02", "reason": "核查"});
    assert_eq!(post(&admin, &status_url, &suspend).0, StatusCode::CREATED);
    assert_eq!(
        outcome(&e.submit(&e.status_change(&credential, CredentialStatus::Valid))),
        (StatusCode::FORBIDDEN, "lift_not_allowed"),
        "the issuer lifted the authority's suspension"
    );
    let lift = json!({"status": "01", "reason": "核查完毕"});
    assert_eq!(post(&admin, &status_url, &lift).0, StatusCode::CREATED);
    // Its own suspension the issuer lifts itself.
    for status in [CredentialStatus::Suspended, CredentialStatus::Valid] {
        let answer = e.submit(&e.status_change(&credential, status));
        assert_eq!(answer.0, StatusCode::CREATED, "{}", answer.1);
    }

    // Withdrawn: nothing logged after the withdrawal, however it is dated.
    let back_dated = e.title(
        Utc::now() - chrono::Duration::minutes(4),
        Some(ends),
        &second,
    );
    let withdraw = json!({"status": "04", "reason": "授权撤回"});
    let withdrawal = post(
        &admin,
        &node.at(&format!(
            "/api/v1/credentials/{}/status",
            accreditation_e.trim_start_matches("urn:uuid:")
        )),
        &withdraw,
    );
    assert_eq!(withdrawal.0, StatusCode::CREATED, "{}", withdrawal.1);
    assert_eq!(
        outcome(&e.submit(&back_dated)),
        (StatusCode::FORBIDDEN, "accreditation_withdrawn"),
        "a withdrawn issuer logged a back-dated credential"
    );
    assert_eq!(
        outcome(&e.submit(&e.title(Utc::now(), Some(ends), &third))),
        (StatusCode::FORBIDDEN, "accreditation_withdrawn")
    );
    assert_eq!(
        outcome(&e.reserve()),
        (StatusCode::FORBIDDEN, "not_accredited")
    );

    // Rotated out: the old key signs nothing logged after the rotation, however dated.
    let f = Enterprise::new(0x73, &node);
    accredit(&node, &f.did, ends);
    let slot = f.reserved();
    let f_next = f.with_key(0x74);
    let rotation = KeyRotation {
        id: CredentialId::from_uuid(uuid::Uuid::now_v7()),
        previous_key: f.did.clone(),
        next_key: f_next.did.clone(),
        effective: Utc::now(),
        issuer: f.did.clone(),
    };
    let rotated = f.submit(&f.sign(&rotation.to_unsigned(), Utc::now()));
    assert_eq!(rotated.0, StatusCode::CREATED, "{}", rotated.1);
    let old_key_back_dated = f.title(Utc::now() - chrono::Duration::minutes(4), Some(ends), &slot);
    assert_eq!(
        outcome(&f.submit(&old_key_back_dated)),
        (StatusCode::FORBIDDEN, "key_retired"),
        "a rotated-out key logged a back-dated credential"
    );
    // The new key signs under the same accreditation and slot.
    let answer = f_next.submit(&f_next.title(Utc::now(), Some(ends), &slot));
    assert_eq!(answer.0, StatusCode::CREATED, "{}", answer.1);

    // The same verdicts from the log: the node's verifier replays the same rules.
    let verdict = post(
        &federation_tests::client(),
        &node.at("/api/v1/verify"),
        &json!({"credential": issued["credential"]}),
    );
    assert_eq!(verdict.1["verified"], true, "{}", verdict.1);
}

/// The node's log size from its public checkpoint.
fn log_size(node: &Node) -> u64 {
    let text = reqwest::blocking::get(node.at("/log/checkpoint"))
        .and_then(|response| response.text())
        .expect("checkpoint");
    text.lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .expect("a checkpoint's second line is its size")
}

/// A CSV file of `rows` title rows for the import.
fn title_rows(rows: usize) -> Vec<u8> {
    let mut csv = String::from(
        "类型,姓名,身份证号,工作单位,系列,专业,级别,职称名称,评审委员会,批准文号,取得日期\n",
    );
    for _ in 0..rows {
        csv.push_str("职称,张三,11010519491231002X,重庆某某科技有限公司,工程,电子信息,正高级,正高级工程师,重庆市工程技术高级职称评审委员会,渝职改〔2024〕1号,2024-12-20\n");
    }
    csv.into_bytes()
}

/// Polls `condition` every 20 ms until it holds or `within` passes.
fn poll(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn imports_stop_with_their_token_and_auditors_import_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("node starts");

    // Auditors: no upload page, no upload, no batch at the API.
    let auditor_token = create_token(&data, "auditor", None, "审计").expect("token");
    let auditor = ConsoleSession::login(&node, &auditor_token);
    assert_eq!(
        auditor.get("/console/import").status(),
        StatusCode::FORBIDDEN
    );
    let upload = auditor.upload("/console/import", "talents.csv", &title_rows(1));
    assert_eq!(
        upload.status(),
        StatusCode::FORBIDDEN,
        "an auditor uploaded an import"
    );
    let (status, answer) = post(
        &client_with_token(&auditor_token),
        &node.at("/api/v1/credentials:batch"),
        &json!({"credentials": [{"type": "ProfessionalTitleCredential", "credentialSubject": {}}]}),
    );
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("role_forbidden")),
        "{answer}"
    );

    // An import whose token is revoked while it runs stops at its next batch.
    let token = create_token(&data, "admin", None, "窗口二").expect("token");
    let token_id = token
        .trim_start_matches("trt_")
        .split('_')
        .next()
        .expect("id")
        .to_owned();
    let office = ConsoleSession::login(&node, &token);
    let rows = 6000;
    let uploaded = office.upload("/console/import", "talents.csv", &title_rows(rows));
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER, "upload");
    let job = uploaded.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let csrf = office.csrf(&job);
    let before = log_size(&node);
    let started = office.post(&format!("{job}/issue"), &[("csrf", &csrf), ("mode", "all")]);
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert!(
        poll(Duration::from_secs(60), || log_size(&node) > before),
        "the import's first batch was logged"
    );
    let revoked = std::process::Command::new(binary("registry-node"))
        .args(["token", "revoke", &token_id, "--data"])
        .arg(&data)
        .output()
        .expect("token revoke runs");
    assert!(revoked.status.success(), "{revoked:?}");
    let at_revocation = log_size(&node);
    assert!(
        at_revocation < before + rows as u64,
        "the import finished before the revocation; make it longer"
    );
    // The job says how it ended in the node's log (its page is its owner's only).
    let node_log = data.with_extension("log");
    let ended = || std::fs::read_to_string(&node_log).unwrap_or_default();
    assert!(
        poll(Duration::from_secs(60), || ended().contains("import job")),
        "the import job did not end"
    );
    assert!(
        ended().contains("import job stopped"),
        "the import went on after its token was revoked ({} of {rows} rows issued)",
        log_size(&node) - before
    );
    // At most the batch being written when the token was revoked was logged after it.
    let after = log_size(&node);
    assert!(
        after <= at_revocation + 250,
        "{} credentials were issued after the revocation",
        after - at_revocation
    );
}
