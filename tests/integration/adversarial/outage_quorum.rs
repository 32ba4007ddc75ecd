//! One issuance during an outage must not take the witness quorum from every older
//! credential (issue 19, item 5).
//!
//! Before the fix a node proved inclusion only under its newest checkpoint. With three of
//! five members down, one new credential gave the issuer a checkpoint no quorum could
//! cosign, and from then on no credential of that member verified with `requireQuorum`,
//! at the issuer or at a mirror, and a bundle fetched right after carried the unwitnessed
//! checkpoint. Now every node keeps the newest checkpoint that had the quorum (durably, for
//! its own log and each mirror) and proves older entries under it.

use std::time::Duration;

use federation_tests::{
    Federation, MEMBERS, Node, example_requests, talent_verify, verify_at, wait_for,
};
use reqwest::StatusCode;
use serde_json::Value;

const ISSUER: &str = "cq-sc";
const SURVIVOR: &str = "cd-hz";
/// Bound of every wait.
const STEP: Duration = Duration::from_secs(90);

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

/// `talent-verify verify - --json --trust CONFIG` (the quorum required by default): exit
/// code and verdict.
fn verify_offline(config: &str, bundle: &Value) -> (Option<i32>, Value) {
    let bytes = serde_json::to_vec(bundle).expect("JSON");
    let output = talent_verify(&["verify", "-", "--json", "--trust", config], Some(&bytes))
        .expect("talent-verify runs");
    let verdict = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), verdict)
}

fn inclusion(verdict: &Value) -> Value {
    verdict["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["name"] == "inclusion"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Every credential in `older` verifies with the quorum at every node of `nodes`.
fn older_ones_verify_with_the_quorum(nodes: &[&Node], older: &[Value], when: &str) {
    for node in nodes {
        for credential in older {
            let verdict = verify_at(&node.url, credential, true);
            assert_eq!(
                verdict["verified"], true,
                "{when}, at {}: {verdict}",
                node.url
            );
            assert!(
                verdict["log"]["cosigners"]
                    .as_array()
                    .is_some_and(|cosigners| cosigners.len() >= 3),
                "{verdict}"
            );
        }
    }
}

#[test]
fn one_issuance_during_an_outage_keeps_the_quorum_of_older_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let config = federation.config.to_string_lossy().into_owned();
    let mut nodes: Vec<(String, Node)> = MEMBERS
        .iter()
        .map(|member| {
            (
                (*member).to_owned(),
                federation.start(member).expect("member starts"),
            )
        })
        .collect();
    let node = |nodes: &[(String, Node)], member: &str| -> String {
        nodes
            .iter()
            .find(|(id, _)| id == member)
            .map(|(_, node)| node.url.clone())
            .expect("a started member")
    };
    let issuer_url = node(&nodes, ISSUER);
    let survivor_url = node(&nodes, SURVIVOR);
    let (_, title) = example_requests()
        .into_iter()
        .find(|(name, _)| name == "ProfessionalTitleCredential")
        .expect("title example");

    // All up: two credentials, witnessed by the quorum at the issuer and in the survivor's
    // mirror, and a bundle that verifies offline with it.
    let issuing = &nodes.iter().find(|(id, _)| id == ISSUER).expect("issuer").1;
    let older: Vec<Value> = (0..2).map(|_| issuing.issue(&title)).collect();
    wait_for(
        STEP,
        || {
            [&issuer_url, &survivor_url]
                .iter()
                .all(|url| {
                    older
                        .iter()
                        .all(|credential| verify_at(url, credential, true)["verified"] == true)
                })
                .then_some(())
        },
        || format!("{}", verify_at(&survivor_url, &older[1], true)),
    )
    .expect("the older credentials are witnessed by the quorum");

    // Three of five go down; the issuer logs one more credential, which no quorum can
    // witness now.
    for member in ["cq-hrss", "sc-hrss", "bj-zgc"] {
        let position = nodes
            .iter()
            .position(|(id, _)| id == member)
            .expect("started");
        nodes.remove(position).1.stop().expect("member stops");
    }
    let issuing = &nodes.iter().find(|(id, _)| id == ISSUER).expect("issuer").1;
    let newer = issuing.issue(&title);
    // A bundle fetched right after the issuance still carries a witnessed checkpoint.
    let (code, verdict) = verify_offline(&config, &bundle_of(issuing, &older[0]));
    assert_eq!(
        code,
        Some(0),
        "a bundle fetched right after: {}",
        inclusion(&verdict)
    );
    let size = issuing.checkpoint_size();
    let surviving = &nodes
        .iter()
        .find(|(id, _)| id == SURVIVOR)
        .expect("survivor")
        .1;
    surviving
        .wait_mirrored(ISSUER, size, STEP)
        .expect("the survivor mirrors the new credential");
    let both: Vec<&Node> = nodes.iter().map(|(_, node)| node).collect();
    older_ones_verify_with_the_quorum(&both, &older, "after one issuance during the outage");
    for node in &both {
        let verdict = verify_at(&node.url, &newer, true);
        let check = inclusion(&verdict);
        assert!(
            verdict["verified"] == false
                && check["detail"]
                    .as_str()
                    .is_some_and(|detail| detail.contains("not yet witnessed by a quorum")),
            "the newer credential at {}: {verdict}",
            node.url
        );
    }
    let (code, verdict) = verify_offline(&config, &bundle_of(issuing, &newer));
    assert!(
        code == Some(1)
            && inclusion(&verdict)["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("not yet witnessed by a quorum")),
        "{verdict}"
    );

    // Both survivors restart: what they kept survives.
    for member in [ISSUER, SURVIVOR] {
        let position = nodes
            .iter()
            .position(|(id, _)| id == member)
            .expect("started");
        nodes.remove(position).1.stop().expect("stops");
        nodes.push((
            member.to_owned(),
            federation.start(member).expect("restarts"),
        ));
    }
    let both: Vec<&Node> = nodes.iter().map(|(_, node)| node).collect();
    older_ones_verify_with_the_quorum(&both, &older, "after both restarted");
    let issuing = &nodes.iter().find(|(id, _)| id == ISSUER).expect("issuer").1;
    let (code, verdict) = verify_offline(&config, &bundle_of(issuing, &older[1]));
    assert_eq!(
        code,
        Some(0),
        "a bundle after the restart: {}",
        inclusion(&verdict)
    );
}
