//! Issue 7: cross-region recognition (互认). The seed agreements are published at cq-sc and
//! cd-hz; credentials issued at the provincial HR authorities, the enclave park and the
//! Science City are asked about at each region's node (from its mirrors) and offline with
//! `talent-verify` on bundles, and both must give the same answers. A withdrawn agreement
//! stays in force for what was conferred before it; an invalid credential is recognised
//! nowhere; `explain` lists the rules considered; flows are counted without personal data.

use std::path::PathBuf;
use std::time::Duration;

use federation_tests::{Federation, Node, client, talent_verify, workspace_root};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) fn seeds(member: &str) -> Vec<PathBuf> {
    let dir = workspace_root()
        .join("federation-config/chengdu-chongqing/recognition")
        .join(member);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("seed directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
}

/// Publishes `member`'s seed agreements; returns (file name, agreement id).
fn publish(node: &Node, member: &str) -> Vec<(String, String)> {
    seeds(member)
        .into_iter()
        .map(|file| {
            let body: Value =
                serde_json::from_str(&std::fs::read_to_string(&file).expect("seed")).expect("JSON");
            let credential = node.issue(&body);
            (
                file.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                credential["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect()
}

pub(crate) fn title(level: &str, conferred: &str) -> Value {
    json!({"type": "ProfessionalTitleCredential", "credentialSubject": {
        "name": "李明华", "idNumberMasked": "5001**********123X", "series": "工程",
        "level": level, "titleName": format!("{level}工程师"),
        "committee": "职称评审委员会", "conferredOn": conferred}})
}

fn phoenix(category: &str) -> Value {
    json!({"type": "GoldenPhoenixTalentCredential", "credentialSubject": {
        "name": "王小红", "idNumberMasked": "5001**********123X", "category": category,
        "tier": "塔身", "field": "人工智能", "route": "standard"}})
}

fn qualification(name: &str) -> Value {
    json!({"type": "ProfessionalQualificationCredential", "credentialSubject": {
        "name": "赵强", "idNumberMasked": "5101**********123X", "qualification": name,
        "level": "一级", "specialty": "建筑工程", "authority": "住房和城乡建设部门"}})
}

/// The node's answer: POST /api/v1/verify with asRegion at that region's node.
pub(crate) fn ask_node(node: &Node, credential: &Value, region: &str) -> Value {
    let response = client()
        .post(node.at("/api/v1/verify"))
        .json(&json!({"credential": credential, "asRegion": region}))
        .send()
        .expect("verify");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().expect("JSON");
    body["recognition"].clone()
}

/// `credential` as a proof bundle from `issuer`, with the issuer histories `region` needs.
pub(crate) fn bundle(issuer: &Node, credential: &Value, region: &str) -> Vec<u8> {
    let id = credential["id"].as_str().expect("id");
    let response = issuer
        .client()
        .get(issuer.at(&format!(
            "/api/v1/credentials/{id}/bundle?asRegion={region}"
        )))
        .send()
        .expect("bundle");
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().expect("bytes").to_vec()
}

/// The offline answer: a bundle carrying the region's history, verified by talent-verify.
pub(crate) fn ask_offline(
    issuer: &Node,
    credential: &Value,
    region: &str,
    config: &str,
) -> (Option<i32>, Value) {
    let bundle = bundle(issuer, credential, region);
    let output = talent_verify(
        &[
            "verify",
            "-",
            "--json",
            "--no-quorum",
            "--trust",
            config,
            "--as-region",
            region,
        ],
        Some(&bundle),
    )
    .expect("runs");
    let verdict: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert!(
        verdict.is_object(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), verdict["recognition"].clone())
}

#[test]
fn recognition_answers_agree_at_nodes_and_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let config = federation.config.to_string_lossy().into_owned();
    let nodes: Vec<(String, Node)> = ["cq-sc", "cd-hz", "cq-hrss", "sc-hrss", "bj-zgc"]
        .iter()
        .map(|member| {
            (
                (*member).to_owned(),
                federation.start(member).expect("starts"),
            )
        })
        .collect();
    let node = |id: &str| &nodes.iter().find(|(m, _)| m == id).expect("node").1;
    let cq_agreements = publish(node("cq-sc"), "cq-sc");
    publish(node("cd-hz"), "cd-hz");

    let issued = |member: &str, body: Value| (member.to_owned(), node(member).issue(&body));
    let credentials = vec![
        issued("sc-hrss", title("正高级", "2024-12-30")),
        issued("sc-hrss", title("副高级", "2024-12-30")),
        issued("sc-hrss", title("中级", "2024-12-30")),
        issued("sc-hrss", title("员级", "2024-12-30")),
        issued("cq-hrss", title("正高级", "2024-12-30")),
        issued("cq-hrss", title("中级", "2024-12-30")),
        issued("sc-hrss", qualification("一级注册建造师")),
        issued("sc-hrss", qualification("二级注册建造师")),
        issued("bj-zgc", phoenix("青年人才")),
        issued("cq-hrss", phoenix("领军人才")),
        issued("cq-sc", phoenix("顶尖人才")),
        issued("cq-sc", phoenix("青年人才")),
        issued("cd-hz", title("正高级", "2024-12-30")),
    ];
    // Every member mirrors every other: the asking regions hold the issuers' credentials,
    // and the issuers hold the asking regions' agreements (for the bundles' histories).
    for (asking, _) in &nodes {
        for (member, issuer) in &nodes {
            if member != asking {
                node(asking)
                    .wait_mirrored(member, issuer.checkpoint_size(), Duration::from_secs(90))
                    .expect("mirrored");
            }
        }
    }

    // (credential index, region, recognised, rule)
    let table: Vec<(usize, &str, bool, Option<&str>)> = vec![
        (0, "cq-sc", true, Some("senior-titles")),
        (1, "cq-sc", true, Some("senior-titles")),
        (2, "cq-sc", false, Some("intermediate-and-below")),
        (3, "cq-sc", false, Some("intermediate-and-below")),
        (4, "cq-sc", true, Some("municipal-titles")),
        (5, "cq-sc", true, Some("municipal-titles")),
        (6, "cq-sc", true, Some("constructor-to-engineer")),
        (7, "cq-sc", false, None),
        (8, "cq-sc", true, Some("enclave-talent")),
        (9, "cq-sc", true, Some("golden-phoenix-standard")),
        (10, "cq-sc", true, None),
        (12, "cq-sc", false, None),
        (0, "cd-hz", true, Some("provincial-titles")),
        (4, "cd-hz", true, Some("senior-titles")),
        (5, "cd-hz", false, Some("intermediate-and-below")),
        (10, "cd-hz", true, Some("top-to-golden-panda-a")),
        (11, "cd-hz", true, Some("young-to-green-card")),
        (8, "cd-hz", false, None),
    ];
    for (index, region, recognised, rule) in table {
        let (member, credential) = &credentials[index];
        let label = format!("#{index} from {member} in {region}");
        let at_node = ask_node(node(region), credential, region);
        assert_eq!(
            at_node["recognized"], recognised,
            "{label} at the node: {at_node}"
        );
        assert_eq!(
            at_node["rule"].as_str(),
            rule,
            "{label} at the node: {at_node}"
        );
        let (code, offline) = ask_offline(node(member), credential, region, &config);
        assert_eq!(
            offline["recognized"], recognised,
            "{label} offline: {offline}"
        );
        assert_eq!(offline["rule"].as_str(), rule, "{label} offline: {offline}");
        assert_eq!(code, Some(if recognised { 0 } else { 1 }), "{label}");
        for field in ["equivalent", "agreement", "outcome", "illustrative"] {
            assert_eq!(at_node[field], offline[field], "{label}: {field}");
        }
    }
    let answer = ask_node(node("cd-hz"), &credentials[10].1, "cd-hz");
    assert_eq!(answer["illustrative"], true, "{answer}");
    let answer = ask_node(node("cq-sc"), &credentials[2].1, "cq-sc");
    assert_eq!(answer["outcome"], "confirmation-required");
    assert!(
        answer["reason"]
            .as_str()
            .is_some_and(|r| r.contains("确认")),
        "{answer}"
    );

    // An invalid (edited) credential is recognised nowhere.
    let mut forged = credentials[0].1.clone();
    forged["credentialSubject"]["level"] = json!("正高级");
    forged["credentialSubject"]["name"] = json!("张冒名");
    let answer = ask_node(node("cq-sc"), &forged, "cq-sc");
    assert_eq!(answer["recognized"], false, "{answer}");

    // explain lists every rule considered.
    let id = credentials[2].1["id"].as_str().expect("id");
    let bundle = node("sc-hrss")
        .client()
        .get(node("sc-hrss").at(&format!("/api/v1/credentials/{id}/bundle?asRegion=cq-sc")))
        .send()
        .expect("bundle")
        .bytes()
        .expect("bytes");
    let output = talent_verify(
        &[
            "explain",
            "--as-region",
            "cq-sc",
            "--no-quorum",
            "--trust",
            &config,
            "-",
        ],
        Some(&bundle),
    )
    .expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✓") && text.contains("intermediate-and-below"),
        "{text}"
    );
    assert!(
        text.contains("senior-titles: level 中级 is not in"),
        "{text}"
    );

    // Withdrawing the senior agreement: titles conferred before stay recognised, a title
    // conferred today is not.
    let senior = &cq_agreements
        .iter()
        .find(|(file, _)| file.contains("senior"))
        .expect("senior agreement")
        .1;
    let response = node("cq-sc")
        .client()
        .post(node("cq-sc").at(&format!("/api/v1/credentials/{senior}/status")))
        .json(&json!({"status": "04", "reason": "协议修订，原协议注销"}))
        .send()
        .expect("withdraw");
    assert_eq!(response.status(), StatusCode::CREATED);
    let today = chrono::Utc::now().date_naive().to_string();
    let new_title = node("sc-hrss").issue(&title("正高级", &today));
    node("cq-sc")
        .wait_mirrored(
            "sc-hrss",
            node("sc-hrss").checkpoint_size(),
            Duration::from_secs(90),
        )
        .expect("mirrored");
    node("sc-hrss")
        .wait_mirrored(
            "cq-sc",
            node("cq-sc").checkpoint_size(),
            Duration::from_secs(90),
        )
        .expect("the withdrawal reached sc-hrss");
    let old = ask_node(node("cq-sc"), &credentials[0].1, "cq-sc");
    assert_eq!(old["recognized"], true, "not retroactive: {old}");
    let new = ask_node(node("cq-sc"), &new_title, "cq-sc");
    assert_eq!(new["recognized"], false, "{new}");
    let (code, offline) = ask_offline(node("sc-hrss"), &new_title, "cq-sc", &config);
    assert_eq!(
        (code, offline["recognized"].clone()),
        (Some(1), json!(false)),
        "{offline}"
    );

    // Flows are counted per (from, to, type, outcome), small counts suppressed.
    let flows: Value = client()
        .get(node("cq-sc").at("/api/v1/statistics/recognition-flows"))
        .send()
        .expect("flows")
        .json()
        .expect("JSON");
    let list = flows["flows"].as_array().expect("flows");
    assert!(
        list.iter().any(|flow| flow["from"] == "sc-hrss"
            && flow["to"] == "cq-sc"
            && flow["type"] == "ProfessionalTitleCredential"),
        "{flows}"
    );
    // Fewer than 5 answers of a kind: the count is withheld.
    let senior_flow = list
        .iter()
        .find(|flow| {
            flow["from"] == "sc-hrss"
                && flow["to"] == "cq-sc"
                && flow["type"] == "ProfessionalQualificationCredential"
        })
        .expect("a qualification flow");
    assert_eq!(senior_flow["suppressed"], true, "{flows}");
    assert_eq!(senior_flow["count"], Value::Null, "{flows}");
    assert!(
        !list.iter().any(|flow| flow["from"] == "bj-zgc"
            && flow["to"] == "cq-sc"
            && flow["type"] == "ProfessionalTitleCredential"),
        "only what was asked is counted: {flows}"
    );
    assert!(!flows.to_string().contains("李明华"), "no personal data");
}
