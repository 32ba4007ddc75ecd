//! Issue 4: five real members on 127.0.0.1 sync, witness and cross-verify each other, and
//! a member that was down catches up with nothing missing or duplicated.

use std::time::Duration;

use federation_tests::{
    Federation, MEMBERS, Node, client, example_requests, federation_status, peer_status, verify_at,
    wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(90);

fn verify(url: &str, credential: &Value) -> Value {
    verify_at(url, credential, true)
}

fn status(url: &str) -> Value {
    federation_status(url)
}

fn mirrored_size(url: &str, peer: &str) -> u64 {
    peer_status(url, peer)["mirroredSize"].as_u64().unwrap_or(0)
}

#[test]
fn five_members_sync_witness_and_verify_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let nodes: Vec<Node> = MEMBERS
        .iter()
        .map(|member| federation.start(member).expect("member starts"))
        .collect();
    let examples = example_requests();
    // One credential of a different type at each member.
    let issued: Vec<(usize, Value)> = nodes
        .iter()
        .enumerate()
        .map(|(position, node)| {
            let (_, body) = &examples[position % examples.len()];
            (position, node.issue(body))
        })
        .collect();

    for (issuer, credential) in &issued {
        for (position, verifier) in nodes.iter().enumerate() {
            if position == *issuer {
                continue;
            }
            let verdict = wait_for(
                CONVERGE,
                || {
                    let verdict = verify(&verifier.url, credential);
                    (verdict["verified"] == true).then_some(verdict)
                },
                || {
                    format!(
                        "{} verifying {}'s credential: {}",
                        MEMBERS[position],
                        MEMBERS[*issuer],
                        verify(&verifier.url, credential)
                    )
                },
            )
            .expect("verified from the mirror with the quorum");
            let log = &verdict["log"];
            assert_eq!(
                log["origin"],
                format!("registry.{}.example/log", MEMBERS[*issuer])
            );
            let cosigners = log["cosigners"].as_array().expect("cosigners listed");
            assert!(cosigners.len() >= 3, "quorum of 3: {verdict}");
            assert!(
                !cosigners
                    .iter()
                    .any(|name| name == &json!(format!("witness.{}.example", MEMBERS[*issuer]))),
                "a log never counts its own witness: {verdict}"
            );
            assert!(
                log["ageSeconds"].as_i64().is_some(),
                "mirror freshness reported: {verdict}"
            );
        }
    }

    // Every member shows every peer in sync, with no evidence.
    for (position, node) in nodes.iter().enumerate() {
        let status = status(&node.url);
        assert_eq!(status["member"], MEMBERS[position]);
        for peer in status["peers"].as_array().expect("peers") {
            assert_eq!(peer["evidence"], json!([]), "{status}");
            assert!(
                peer["mirroredSize"].as_u64().expect("size") >= 1,
                "{status}"
            );
        }
    }

    // A credential that was never issued is not found in any mirror.
    let mut forged = issued[0].1.clone();
    forged["id"] = json!("urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d");
    let verdict = verify(&nodes[1].url, &forged);
    assert_eq!(verdict["verified"], false, "{verdict}");

    // Tiles are for members only.
    let unsigned = client()
        .get(nodes[0].at("/log/tile/entries/000.p/1"))
        .send()
        .expect("tile request");
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let forged_signature = client()
        .get(nodes[0].at("/log/tile/entries/000.p/1"))
        .header("Talent-Member", "cd-hz")
        .header("Talent-Timestamp", chrono_now().to_string())
        .header("Talent-Signature", "A".repeat(86) + "==")
        .send()
        .expect("tile request");
    assert_eq!(forged_signature.status(), StatusCode::FORBIDDEN);
    let body: Value = forged_signature.json().expect("error JSON");
    assert_eq!(body["code"], "auth_bad_signature");
    // The checkpoint itself stays public, with its cosignatures.
    let checkpoint = client()
        .get(nodes[0].at("/log/checkpoint"))
        .send()
        .expect("checkpoint")
        .text()
        .expect("text");
    assert!(
        checkpoint.matches("\n\u{2014} ").count() >= 4,
        "log signature and cosignatures: {checkpoint}"
    );

    // An auditor reads the tiles as a member: unsigned, the CLI explains what is missing;
    // signed with cd-hz's witness key, the audit of cq-sc's log passes.
    let url = nodes[0].url.clone();
    let unsigned = federation_tests::talent_verify(&["log", "audit", "--node", &url], None)
        .expect("talent-verify runs");
    assert_eq!(unsigned.status.code(), Some(2), "{unsigned:?}");
    assert!(
        String::from_utf8_lossy(&unsigned.stderr).contains("--member"),
        "{unsigned:?}"
    );
    let key = federation.data_dir("cd-hz").join("keys/witness.key");
    let key = key.to_string_lossy().into_owned();
    let signed = federation_tests::talent_verify(
        &[
            "log", "audit", "--node", &url, "--member", "cd-hz", "--key", &key,
        ],
        None,
    )
    .expect("talent-verify runs");
    assert_eq!(signed.status.code(), Some(0), "{signed:?}");
}

fn chrono_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn a_member_that_was_down_catches_up_and_peers_verify_while_the_issuer_is_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let issuer = federation.start("cq-sc").expect("cq-sc starts");
    let mut reader = federation.start("cd-hz").expect("cd-hz starts");
    let _witness = federation.start("cq-hrss").expect("cq-hrss starts");
    let _witness2 = federation.start("sc-hrss").expect("sc-hrss starts");
    let first = issuer.issue(&example_requests()[0].1);
    wait_for(
        CONVERGE,
        || (mirrored_size(&reader.url, "cq-sc") >= 1).then_some(()),
        || status(&reader.url).to_string(),
    )
    .expect("first entry mirrored");

    // cd-hz goes down while cq-sc keeps issuing, in batches and singly.
    reader.stop().expect("stops");
    let bodies: Vec<Value> = example_requests()
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    let mut issued = vec![first];
    for round in 0..3 {
        let batch: Vec<Value> = (0..200).map(|i| bodies[(i + round) % 5].clone()).collect();
        let response = issuer
            .client()
            .post(issuer.at("/api/v1/credentials:batch"))
            .json(&json!({"credentials": batch}))
            .send()
            .expect("batch");
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer: Value = response.json().expect("JSON");
        for item in answer["results"].as_array().expect("results") {
            issued.push(item["credential"].clone());
        }
    }
    for body in bodies.iter().take(5) {
        issued.push(issuer.issue(body));
    }
    let expected = issued.len() as u64;

    reader = federation.start("cd-hz").expect("cd-hz restarts");
    wait_for(
        CONVERGE,
        || (mirrored_size(&reader.url, "cq-sc") == expected).then_some(()),
        || format!("want {expected}: {}", status(&reader.url)),
    )
    .expect("caught up to exactly the issuer's size: nothing missing, nothing duplicated");
    // The issuer goes down; cd-hz still verifies its credentials from the mirror.
    issuer.stop().expect("issuer stops");
    // (The witness quorum at a mirror is the five-member test's subject; here only the
    // mirror's content matters.)
    for credential in issued.iter().step_by(50) {
        let verdict = verify_at(&reader.url, credential, false);
        assert_eq!(verdict["verified"], true, "{verdict}");
        assert_eq!(verdict["log"]["treeSize"], expected, "{verdict}");
    }
    let peer_status = status(&reader.url);
    let cq = peer_status["peers"]
        .as_array()
        .and_then(|peers| peers.iter().find(|p| p["id"] == "cq-sc"))
        .cloned()
        .expect("cq-sc listed");
    assert_eq!(cq["evidence"], json!([]), "{cq}");
}
