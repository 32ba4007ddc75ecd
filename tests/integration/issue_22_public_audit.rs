//! Issue 22 item 4: an outside auditor, with no token and no member key, reads checkpoints,
//! hash tiles and consistency proofs (never entry bundles), and `talent-verify log
//! public-audit` proves every node's view of a member's log one append-only log — and
//! fails on a rolled-back or forked view. Go's `x/mod/sumdb/tlog` reads the same public
//! tiles over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use federation_tests::byzantine::{FakeMember, ForgedLog, MemberKeys};
use federation_tests::cli::said;
use federation_tests::{
    Federation, MEMBERS, Node, client, example_requests, free_port, talent_verify,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONVERGE: Duration = Duration::from_secs(90);

/// Where Debian's golang-golang-x-mod-dev puts the sources (a GOPATH).
const GOPATH: &str = "/usr/share/gocode";

/// `talent-verify log public-audit --trust <config> --state <dir>` with `extra` arguments.
fn public_audit(federation: &Federation, state: &Path, extra: &[&str]) -> Output {
    let config = federation.config.to_string_lossy().into_owned();
    let state = state.to_string_lossy().into_owned();
    let mut args = vec!["log", "public-audit", "--trust", &config, "--state", &state];
    args.extend_from_slice(extra);
    talent_verify(&args, None).expect("talent-verify runs")
}

/// Issues `count` credentials at `node` and waits until every other node mirrors its log
/// at the new size; returns the last credential.
fn issue_and_converge(node: &Node, member: &str, peers: &[&Node], count: usize) -> Value {
    let examples = example_requests();
    let mut last = Value::Null;
    for i in 0..count {
        last = node.issue(&examples[i % examples.len()].1);
    }
    let size = node.checkpoint_size();
    for peer in peers {
        peer.wait_mirrored(member, size, CONVERGE)
            .expect("mirrored by every peer");
    }
    last
}

#[test]
fn an_outside_auditor_reads_public_tiles_and_proves_every_view_one_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let nodes: Vec<Node> = MEMBERS
        .iter()
        .map(|member| federation.start(member).expect("member starts"))
        .collect();
    let (cq_sc, peers) = nodes.split_first().expect("five nodes");
    let peers: Vec<&Node> = peers.iter().collect();
    issue_and_converge(cq_sc, "cq-sc", &peers, 3);
    // cq-hrss signs its checkpoints with an SM2 line too: the audit requires it.
    let cq_hrss = &nodes[2];
    let others: Vec<&Node> = nodes.iter().filter(|n| n.url != cq_hrss.url).collect();
    issue_and_converge(cq_hrss, "cq-hrss", &others, 2);

    // No token, no member signature: checkpoint, hash tiles and proofs are public.
    let http = client();
    let size = cq_sc.checkpoint_size();
    let checkpoint = http.get(cq_sc.at("/log/checkpoint")).send().expect("GET");
    assert_eq!(checkpoint.status(), StatusCode::OK);
    let tile = http
        .get(cq_sc.at(&format!("/log/tile/0/000.p/{size}")))
        .send()
        .expect("GET");
    assert_eq!(tile.status(), StatusCode::OK);
    assert_eq!(tile.bytes().expect("body").len() as u64, 32 * size);
    let bundle = http
        .get(cq_sc.at(&format!("/log/tile/entries/000.p/{size}")))
        .send()
        .expect("GET");
    assert_eq!(
        bundle.status(),
        StatusCode::UNAUTHORIZED,
        "entries stay private"
    );
    let forged = http
        .get(cq_sc.at(&format!("/log/tile/entries/000.p/{size}")))
        .header("Talent-Member", "cd-hz")
        .header("Talent-Timestamp", "1764146400")
        .header("Talent-Signature", "A".repeat(86) + "==")
        .send()
        .expect("GET");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let proof: Value = http
        .get(cq_sc.at(&format!("/log/proof/consistency?from=1&to={size}")))
        .send()
        .expect("GET")
        .json()
        .expect("JSON");
    assert_eq!(
        (proof["from"].as_u64(), proof["to"].as_u64()),
        (Some(1), Some(size))
    );
    assert!(
        !proof["proof"].as_array().expect("hashes").is_empty(),
        "{proof}"
    );
    for (query, status, code) in [
        (
            "from=0&to=1",
            StatusCode::BAD_REQUEST,
            "invalid_proof_range",
        ),
        (
            "from=2&to=1",
            StatusCode::BAD_REQUEST,
            "invalid_proof_range",
        ),
        (
            "from=x&to=1",
            StatusCode::BAD_REQUEST,
            "invalid_proof_range",
        ),
        ("to=1", StatusCode::BAD_REQUEST, "invalid_proof_range"),
        (
            &format!("from=1&to={}", size + 1),
            StatusCode::NOT_FOUND,
            "size_not_in_log",
        ),
    ] {
        let response = http
            .get(cq_sc.at(&format!("/log/proof/consistency?{query}")))
            .send()
            .expect("GET");
        assert_eq!(response.status(), status, "{query}");
        let body: Value = response.json().expect("error JSON");
        assert_eq!(body["code"], code, "{query}");
    }

    // The audit of every member passes and stores a state per member.
    let state = dir.path().join("audit-state");
    let first = public_audit(&federation, &state, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", said(&first));
    for member in MEMBERS {
        assert!(
            said(&first).contains(&format!("PUBLIC AUDIT OK  {member} (")),
            "{}",
            said(&first)
        );
        assert!(state.join(format!("{member}.json")).exists(), "{member}");
    }
    // Every node's view of cq-sc was compared: its own and the four peers'.
    let line = said(&first)
        .lines()
        .find(|line| line.contains("PUBLIC AUDIT OK  cq-sc ("))
        .map(str::to_owned)
        .expect("cq-sc's line");
    assert!(line.contains("5 views consistent"), "{line}");

    // More issuance: the next run proves the new log consistent with the saved state.
    issue_and_converge(cq_sc, "cq-sc", &peers, 2);
    let again = public_audit(&federation, &state, &["--member", "cq-sc", "--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", said(&again));
    let answer: Value = serde_json::from_slice(&again.stdout).expect("JSON");
    let report = &answer["members"][0]["report"];
    assert_eq!(report["previousSize"].as_u64(), Some(size), "{answer}");
    assert_eq!(report["state"]["size"].as_u64(), Some(size + 2), "{answer}");
    assert!(report["proofs"].as_u64() >= Some(1), "{answer}");

    // A saved state with another root at the same size: a split view (exit 1).
    let saved = state.join("cq-sc.json");
    let genuine = std::fs::read_to_string(&saved).expect("state");
    let mut forked: Value = serde_json::from_str(&genuine).expect("state JSON");
    forked["root"] = json!(talent_tlog::merkle::format_hash(&talent_tlog::Hash(
        [7; 32]
    )));
    std::fs::write(&saved, forked.to_string()).expect("writes");
    let split = public_audit(&federation, &state, &["--member", "cq-sc"]);
    assert_eq!(split.status.code(), Some(1), "{}", said(&split));
    assert!(said(&split).contains("split view"), "{}", said(&split));

    // A saved state larger than the log serves: a rollback (exit 1).
    let mut larger: Value = serde_json::from_str(&genuine).expect("state JSON");
    larger["size"] = json!(size + 10);
    std::fs::write(&saved, larger.to_string()).expect("writes");
    let rollback = public_audit(&federation, &state, &["--member", "cq-sc"]);
    assert_eq!(rollback.status.code(), Some(1), "{}", said(&rollback));
    assert!(said(&rollback).contains("rollback"), "{}", said(&rollback));
    std::fs::write(&saved, &genuine).expect("restores");

    // A node that holds a forked checkpoint of cq-sc (signed with its log key: the dev keys
    // are public) — another tree of 2 entries: a fork (exit 1), named with the node.
    let keys = MemberKeys::load(&federation.config, "cq-sc").expect("dev keys");
    let other_tree = ForgedLog::new(vec![b"another".to_vec(), b"tree".to_vec()]);
    let forged_note = keys.checkpoint_of(&other_tree).expect("signs");
    let fake = FakeMember::listen(&format!("http://127.0.0.1:{}", free_port().expect("port")))
        .expect("fake node");
    fake.serve(
        "/api/v1/federation/trust",
        json!({"checkpoints": {"cq-sc": String::from_utf8(forged_note).expect("UTF-8")}})
            .to_string()
            .into_bytes(),
    );
    let mut args = vec!["--member", "cq-sc", "--node"];
    let fake_url = fake.url();
    args.push(&fake_url);
    let fork = public_audit(&federation, &dir.path().join("fresh-state"), &args);
    assert_eq!(fork.status.code(), Some(1), "{}", said(&fork));
    assert!(
        said(&fork).contains("fork") && said(&fork).contains(&fake_url),
        "{}",
        said(&fork)
    );

    // A node that cannot be reached: unreadable (exit 2), not a verdict.
    drop(fake);
    let unreadable = public_audit(
        &federation,
        &dir.path().join("fresh-state"),
        &["--member", "cq-sc", "--node", &fake_url],
    );
    assert_eq!(unreadable.status.code(), Some(2), "{}", said(&unreadable));

    go_reads_the_public_tiles(dir.path(), &federation, cq_sc);
}

/// Go's `TileHashReader` reads cq-sc's public hash tiles with no credentials, proves an
/// older checkpoint a prefix of the current one and a known credential a leaf of it; and a
/// forked older checkpoint fails.
fn go_reads_the_public_tiles(dir: &Path, federation: &Federation, node: &Node) {
    let binary = build_go_auditor(dir);
    let keys = MemberKeys::load(&federation.config, "cq-sc").expect("dev keys");
    let http = client();
    let older = http
        .get(node.at("/log/checkpoint"))
        .send()
        .expect("GET")
        .bytes()
        .expect("note")
        .to_vec();
    let credential = node.issue(&example_requests()[0].1);
    let newer = http
        .get(node.at("/log/checkpoint"))
        .send()
        .expect("GET")
        .bytes()
        .expect("note")
        .to_vec();
    let id = credential["id"].as_str().expect("id");
    let proof: Value = http
        .get(node.at(&format!("/api/v1/credentials/{id}/proof")))
        .send()
        .expect("GET")
        .json()
        .expect("proof JSON");
    let index = proof["inclusionProof"]["leafIndex"]
        .as_u64()
        .expect("leaf index");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("writes");
        path.to_string_lossy().into_owned()
    };
    let entry = write("entry", &talent_integrity::jcs::canonicalize(&credential));
    let (older, newer) = (write("older", &older), write("newer", &newer));
    let run = |old: &str| {
        Command::new(&binary)
            .args([&node.url, &keys.member.log_vkey, old, &newer])
            .arg(index.to_string())
            .arg(&entry)
            .output()
            .expect("runs the Go auditor")
    };
    let passed = run(&older);
    assert_eq!(passed.status.code(), Some(0), "{}", said(&passed));
    assert!(
        String::from_utf8_lossy(&passed.stdout).contains(&format!("leaf {index} included")),
        "{}",
        said(&passed)
    );
    let fork = ForgedLog::new(vec![b"another".to_vec(), b"tree".to_vec()]);
    let forked = write("forked", &keys.checkpoint_of(&fork).expect("signs"));
    let refused = run(&forked);
    assert_eq!(refused.status.code(), Some(1), "{}", said(&refused));
}

/// Builds `tests/go/tlog_public_audit` into `dir` (GOPATH mode, offline).
fn build_go_auditor(dir: &Path) -> PathBuf {
    let source = federation_tests::workspace_root().join("tests/go/tlog_public_audit");
    assert!(
        Path::new(GOPATH)
            .join("src/golang.org/x/mod/sumdb/tlog")
            .is_dir(),
        "Go's x/mod sources are missing: run scripts/setup.sh (golang-golang-x-mod-dev)"
    );
    let binary = dir.join("tlog_public_audit");
    let output = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(".")
        .current_dir(&source)
        .env("GOPATH", GOPATH)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", dir.join("go-cache"))
        .output()
        .unwrap_or_else(|error| {
            panic!("go is missing ({error}): run scripts/setup.sh (golang-go)")
        });
    assert!(
        output.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}
