//! Issue 4, "Equivocation and forgery": a byzantine member is detected every time, the
//! evidence is kept, and the other members are unaffected.
//!
//! `bj-zgc` is played by [`FakeMember`], which holds bj-zgc's development keys and serves, on
//! bj-zgc's endpoint, whatever log a test scripts. Two honest members, `cq-sc` and `cd-hz`,
//! are real `registry-node` processes. Every test first lets both mirror an honest log of
//! five entries, then turns bj-zgc byzantine in one way and checks, at both honest members:
//! sync from bj-zgc halts with evidence of the right kind (and stays halted even when bj-zgc
//! goes back to serving an honest-looking extension), and the honest members still mirror and
//! verify each other's credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use federation_tests::byzantine::{
    FakeMember, ForgedLog, Issuer, MemberKeys, bundle_of, encode_entry, entry_sha256_hex,
};
use federation_tests::{
    Federation, Node, client, example_requests, federation_status, peer_status, verify_at, wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::log_entry::{self, EntryVerifyError};
use talent_tlog::cosignature::{self, CosignerKey};
use talent_tlog::merkle;
use talent_tlog::witness::SIZE_CONTENT_TYPE;

/// The member played by the byzantine harness.
const BYZANTINE: &str = "bj-zgc";
/// The honest members started in every test.
const HONEST: [&str; 2] = ["cq-sc", "cd-hz"];
/// Entries of the honest log every test starts from.
const HONEST_SIZE: u64 = 5;
/// Bound of every wait.
const STEP: Duration = Duration::from_secs(60);
/// Several poll intervals (2 s) of the honest members' sync loops.
const SEVERAL_POLLS: Duration = Duration::from_secs(7);
/// Seed of a key that is nobody's authority.
const OUTSIDER_SEED: [u8; 32] = *b"issue-4 unaccredited outsider!!!";

/// Two honest members mirroring an honest log of bj-zgc served by the fake member.
/// Fields drop in order: the nodes stop before the fake member and the directory go.
struct Setup {
    nodes: BTreeMap<&'static str, Node>,
    fake: FakeMember,
    keys: MemberKeys,
    issuer: Issuer,
    /// The credentials of the honest log, in log order.
    honest_credentials: Vec<Value>,
    honest: ForgedLog,
    honest_checkpoint: Vec<u8>,
    federation: Federation,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("federation config");
    let keys = MemberKeys::load(&federation.config, BYZANTINE)
        .expect("bj-zgc's dev keys match the configuration");
    let issuer = keys.issuer().expect("bj-zgc's authority as an issuer");
    let fake = FakeMember::listen(federation.endpoint(BYZANTINE))
        .expect("the fake bj-zgc listens on bj-zgc's endpoint");
    let honest_credentials = issuer
        .credentials(HONEST_SIZE as usize)
        .expect("credentials signed by bj-zgc's authority");
    let honest = ForgedLog::new(
        honest_credentials
            .iter()
            .map(|credential| encode_entry(credential).expect("entry"))
            .collect(),
    );
    let honest_checkpoint = keys.checkpoint_of(&honest).expect("checkpoint");
    fake.serve_log(&honest, honest_checkpoint.clone())
        .expect("honest log scripted");
    let nodes: BTreeMap<&'static str, Node> = HONEST
        .iter()
        .map(|member| {
            (
                *member,
                federation.start(member).expect("honest member starts"),
            )
        })
        .collect();
    let setup = Setup {
        nodes,
        fake,
        keys,
        issuer,
        honest_credentials,
        honest,
        honest_checkpoint,
        federation,
        _dir: dir,
    };
    for member in HONEST {
        setup.mirrors_whole(member, HONEST_SIZE, &setup.honest_checkpoint);
    }
    setup
}

impl Setup {
    /// Has the fake bj-zgc serve `log` under a checkpoint signed with bj-zgc's log key, and
    /// returns that checkpoint.
    fn serve(&self, log: &ForgedLog) -> Vec<u8> {
        let checkpoint = self.keys.checkpoint_of(log).expect("checkpoint");
        self.fake
            .serve_log(log, checkpoint.clone())
            .expect("log scripted");
        checkpoint
    }

    /// Waits until `member` mirrors all `size` entries of bj-zgc's log under `checkpoint`,
    /// in sync and with no evidence against bj-zgc.
    fn mirrors_whole(&self, member: &str, size: u64, checkpoint: &[u8]) {
        let url = &self.node(member).url;
        wait_for(
            STEP,
            || {
                let peer = peer(url, BYZANTINE);
                (peer["mirroredSize"] == size && peer["state"] == "in-sync").then_some(())
            },
            || {
                format!(
                    "{member} mirroring bj-zgc's {size} entries: {}",
                    status(url)
                )
            },
        )
        .expect("bj-zgc's log is mirrored");
        let peer = peer(url, BYZANTINE);
        assert_eq!(peer["checkpoint"], text(checkpoint), "{member}: {peer}");
        assert_eq!(peer["evidence"], json!([]), "{member}: {peer}");
    }

    fn node(&self, member: &str) -> &Node {
        self.nodes
            .get(member)
            .expect("an honest member of this test")
    }

    /// Serves an honest-looking extension of the honest log (two more genuine entries,
    /// validly signed) and checks, after several polls, that `members` applied none of it
    /// and never asked bj-zgc for anything again: state `halted`, one piece of evidence,
    /// still the honest checkpoint of five entries.
    fn stays_halted(&self, members: &[&str]) {
        let reads: Vec<usize> = members
            .iter()
            .map(|member| self.fake.log_reads_by(member))
            .collect();
        let extension = self
            .honest
            .extended(&self.issuer.entries(2).expect("more genuine entries"));
        self.serve(&extension);
        std::thread::sleep(SEVERAL_POLLS);
        for (member, before) in members.iter().zip(reads) {
            let peer = peer(&self.node(member).url, BYZANTINE);
            assert_eq!(peer["state"], "halted", "{member}: {peer}");
            assert_eq!(peer["mirroredSize"], HONEST_SIZE, "{member}: {peer}");
            assert_eq!(
                peer["checkpoint"],
                text(&self.honest_checkpoint),
                "{member}: {peer}"
            );
            assert_eq!(
                peer["evidence"].as_array().map(Vec::len),
                Some(1),
                "{member}: evidence recorded once: {peer}"
            );
            assert_eq!(
                self.fake.log_reads_by(member),
                before,
                "{member} kept reading bj-zgc's log after halting: {:?}",
                self.fake.requests()
            );
        }
    }

    /// The honest members still mirror and verify each other's new credentials, and hold
    /// nothing against each other.
    fn others_unaffected(&self) {
        let examples = example_requests();
        for (position, (issuer, verifier)) in [("cd-hz", "cq-sc"), ("cq-sc", "cd-hz")]
            .into_iter()
            .enumerate()
        {
            let (_, body) = &examples[(position + 3) % examples.len()];
            let credential = self.node(issuer).issue(body);
            let url = &self.node(verifier).url;
            wait_for(
                STEP,
                || (verify(url, &credential)["verified"] == true).then_some(()),
                || {
                    format!(
                        "{verifier} verifying {issuer}'s new credential: {}",
                        verify(url, &credential)
                    )
                },
            )
            .expect("honest members still verify each other");
            let peer = peer(url, issuer);
            assert_ne!(peer["state"], "halted", "{verifier} about {issuer}: {peer}");
            assert_eq!(
                peer["evidence"],
                json!([]),
                "{verifier} about {issuer}: {peer}"
            );
            assert!(
                peer["mirroredSize"].as_u64() >= Some(1),
                "{verifier} about {issuer}: {peer}"
            );
        }
    }
}

fn status(url: &str) -> Value {
    federation_status(url)
}

fn peer(url: &str, id: &str) -> Value {
    peer_status(url, id)
}

fn verify(url: &str, credential: &Value) -> Value {
    verify_at(url, credential, false)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// Waits until `member` halted sync from bj-zgc and returns its one piece of evidence,
/// checked to be of `kind`, against bj-zgc, dated.
fn halted(setup: &Setup, member: &str, kind: &str) -> Value {
    let url = &setup.node(member).url;
    let peer = wait_for(
        STEP,
        || {
            let peer = peer(url, BYZANTINE);
            (peer["state"] == "halted").then_some(peer)
        },
        || format!("{member} halting bj-zgc ({kind}): {}", status(url)),
    )
    .expect("sync from the byzantine member halts");
    let evidence = peer["evidence"].as_array().expect("evidence listed");
    assert_eq!(evidence.len(), 1, "{member}: one piece of evidence: {peer}");
    let evidence = evidence[0].clone();
    assert_eq!(evidence["kind"], kind, "{member}: {evidence}");
    assert_eq!(evidence["member"], BYZANTINE, "{member}: {evidence}");
    assert!(evidence["detectedAt"].is_string(), "{member}: {evidence}");
    assert_eq!(
        peer["mirroredSize"], HONEST_SIZE,
        "{member}: nothing applied: {peer}"
    );
    assert_eq!(
        peer["checkpoint"],
        text(&setup.honest_checkpoint),
        "{member}: {peer}"
    );
    assert!(
        peer["lastError"]
            .as_str()
            .is_some_and(|error| !error.is_empty()),
        "{member}: the alert says why: {peer}"
    );
    evidence
}

/// The harness itself, without nodes: what the fake bj-zgc serves opens with bj-zgc's
/// configured log key, its entry bundle holds entries that verify as bj-zgc's, and they hash
/// to the signed root; anything not scripted is 404.
#[test]
fn the_fake_member_serves_a_log_an_honest_member_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("federation config");
    let keys = MemberKeys::load(&federation.config, BYZANTINE).expect("keys");
    let fake = FakeMember::listen(federation.endpoint(BYZANTINE)).expect("listens");
    let log = ForgedLog::new(keys.issuer().expect("issuer").entries(3).expect("entries"));
    fake.serve_log(&log, keys.checkpoint_of(&log).expect("checkpoint"))
        .expect("scripted");
    let get = |path: &str| {
        let response = client()
            .get(format!("{}{path}", fake.url()))
            .header("Talent-Member", "cq-sc")
            .send()
            .expect("request");
        (response.status(), response.bytes().expect("body").to_vec())
    };
    let (status, note) = get("/log/checkpoint");
    assert_eq!(status, StatusCode::OK);
    let opened = talent_tlog::checkpoint::open_checkpoint(
        &note,
        &keys.member.log_origin,
        &keys.member.log_vkey,
    )
    .expect("signed by bj-zgc's configured log key");
    assert_eq!((opened.size(), *opened.root()), (3, log.root()));
    let (status, bundle) = get("/log/tile/entries/000.p/3");
    assert_eq!(status, StatusCode::OK);
    let entries = talent_tlog::bundle::decode(&bundle, 3).expect("a bundle of three entries");
    let mut tree = talent_tlog::merkle::MemoryTree::new();
    for bytes in entries {
        log_entry::verify_entry(bytes).expect("a genuine entry of bj-zgc");
        tree.push_entry(bytes);
    }
    assert_eq!(tree.root(), *opened.root());
    assert_eq!(get("/log/tile/0/000.p/3").0, StatusCode::OK);
    assert_eq!(get("/log/tile/entries/000.p/2").0, StatusCode::NOT_FOUND);
    let posted = client()
        .post(format!("{}/log/add-checkpoint", fake.url()))
        .body("old 0\n\n")
        .send()
        .expect("request");
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    let seen = fake.requests();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(fake.log_reads_by("cq-sc"), 4, "{seen:?}");
}

/// Scenario 1: A validly signed checkpoint of three entries after one of five: `rollback`, with
/// both checkpoints; kept across a restart.
#[test]
fn a_rollback_is_detected_kept_across_a_restart_and_others_are_unaffected() {
    let mut setup = setup();
    let rolled_back = setup.honest.prefix(3);
    let rolled_back_checkpoint = setup.serve(&rolled_back);
    for member in HONEST {
        let evidence = halted(&setup, member, "rollback");
        assert_eq!(
            evidence["checkpoints"],
            json!([
                text(&setup.honest_checkpoint),
                text(&rolled_back_checkpoint)
            ]),
            "{member}: the held and the served checkpoint: {evidence}"
        );
        assert!(
            evidence["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("3 entries after signing one of 5")),
            "{member}: {evidence}"
        );
        assert!(evidence.get("entry").is_none(), "{member}: {evidence}");
    }
    setup.stays_halted(&HONEST);
    setup.others_unaffected();

    // The evidence is durable: after a restart cq-sc still shows it and still does not
    // sync from bj-zgc.
    let before = peer(&setup.node("cq-sc").url, BYZANTINE)["evidence"].clone();
    let node = setup.nodes.remove("cq-sc").expect("cq-sc runs");
    node.stop().expect("cq-sc stops");
    let reads = setup.fake.log_reads_by("cq-sc");
    let node = setup.federation.start("cq-sc").expect("cq-sc restarts");
    setup.nodes.insert("cq-sc", node);
    let url = &setup.node("cq-sc").url;
    let after = peer(url, BYZANTINE);
    assert_eq!(after["state"], "halted", "{after}");
    assert_eq!(after["evidence"], before, "{after}");
    assert_eq!(after["mirroredSize"], HONEST_SIZE, "{after}");
    std::thread::sleep(SEVERAL_POLLS);
    assert_eq!(
        setup.fake.log_reads_by("cq-sc"),
        reads,
        "restarted cq-sc read bj-zgc's log again"
    );
    assert_eq!(peer(url, BYZANTINE)["mirroredSize"], HONEST_SIZE);
    setup.others_unaffected();
}

/// Scenario 2: A validly signed checkpoint of the same size with another root: `fork`, with both.
#[test]
fn a_fork_is_detected_and_others_are_unaffected() {
    let setup = setup();
    let fork = ForgedLog::new(setup.issuer.entries(5).expect("other genuine entries"));
    assert_ne!(fork.root(), setup.honest.root());
    let fork_checkpoint = setup.serve(&fork);
    for member in HONEST {
        let evidence = halted(&setup, member, "fork");
        assert_eq!(
            evidence["checkpoints"],
            json!([text(&setup.honest_checkpoint), text(&fork_checkpoint)]),
            "{member}: {evidence}"
        );
        assert!(
            evidence["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains("two different trees of 5 entries")),
            "{member}: {evidence}"
        );
    }
    setup.stays_halted(&HONEST);
    setup.others_unaffected();
}

/// Scenario 3: A validly signed checkpoint of eight entries (an honest extension), but the entry
/// bundle served for it has entry 6 swapped for another credential genuinely signed by
/// bj-zgc's authority. Every entry passes `verify_entry`, so this is not `bad-entry`: only
/// the recomputed root betrays the bundle, hence `inconsistent-entries`, with both
/// checkpoints and both roots named; the swapped-in credential never becomes verifiable.
#[test]
fn a_forged_entry_bundle_is_detected_and_others_are_unaffected() {
    let setup = setup();
    let cq_sc = &setup.node("cq-sc").url;
    // Control: a mirrored credential of bj-zgc verifies at cq-sc.
    let control = verify(cq_sc, &setup.honest_credentials[0]);
    assert_eq!(control["verified"], true, "{control}");

    let extension = setup
        .honest
        .extended(&setup.issuer.entries(3).expect("genuine entries"));
    let checkpoint = setup.keys.checkpoint_of(&extension).expect("checkpoint");
    let swapped_in = setup
        .issuer
        .credentials(1)
        .expect("a genuine credential")
        .remove(0);
    let swapped_bytes = encode_entry(&swapped_in).expect("entry");
    log_entry::verify_entry(&swapped_bytes)
        .expect("the swapped-in entry is genuine: only the root can show the forgery");
    let forged = extension
        .with_entry(6, swapped_bytes)
        .expect("entry 6 swapped");
    assert_ne!(forged.root(), extension.root());
    setup
        .fake
        .serve_log(&extension, checkpoint.clone())
        .expect("extension scripted");
    let bundle_path = extension.only_bundle_path().expect("one bundle");
    assert_eq!(bundle_path, "/log/tile/entries/000.p/8");
    setup
        .fake
        .serve(&bundle_path, bundle_of(forged.entries()).expect("bundle"));

    for member in HONEST {
        let evidence = halted(&setup, member, "inconsistent-entries");
        assert_eq!(
            evidence["checkpoints"],
            json!([text(&setup.honest_checkpoint), text(&checkpoint)]),
            "{member}: {evidence}"
        );
        let detail = evidence["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&merkle::format_hash(&forged.root()))
                && detail.contains(&merkle::format_hash(&extension.root())),
            "{member}: the served entries' root and the signed root: {evidence}"
        );
        assert!(evidence.get("entry").is_none(), "{member}: {evidence}");
        assert!(
            setup
                .fake
                .requests()
                .iter()
                .any(|request| request.path == bundle_path
                    && request.member.as_deref() == Some(member)
                    && request.status == 200),
            "{member} fetched the forged bundle"
        );
    }
    let verdict = verify(cq_sc, &swapped_in);
    assert_eq!(
        verdict["verified"], false,
        "an entry of a forged bundle must never be verifiable: {verdict}"
    );
    setup.stays_halted(&HONEST);
    setup.others_unaffected();
}

/// Serves the honest log extended by a genuine entry, `bad` at index 6 and another genuine
/// entry, all consistent and signed by bj-zgc's log key; expects `bad-entry` naming entry 6
/// by index and SHA-256 (the status endpoint does not show entry bytes: personal data) and
/// a detail containing `why`.
fn bad_entry_is_detected(setup: &Setup, bad: Vec<u8>, why: &str) {
    bad_entry_is_detected_after(setup, 1, bad, why);
}

/// [`bad_entry_is_detected`] with `before` genuine entries between the honest log and the
/// bad one, which is then entry `HONEST_SIZE + before`.
fn bad_entry_is_detected_after(setup: &Setup, before: usize, bad: Vec<u8>, why: &str) {
    let mut more = setup.issuer.entries(before + 1).expect("genuine entries");
    more.insert(before, bad.clone());
    let log = setup.honest.extended(&more);
    let index = HONEST_SIZE + before as u64;
    assert_eq!(log.entries()[index as usize], bad);
    let sha256 = entry_sha256_hex(&bad).expect("digest of a canonical entry");
    let checkpoint = setup.serve(&log);
    for member in HONEST {
        let evidence = halted(setup, member, "bad-entry");
        assert_eq!(
            evidence["entry"],
            json!({"index": index, "sha256": sha256}),
            "{member}: the offending entry, by index and digest: {evidence}"
        );
        assert_eq!(
            evidence["checkpoints"],
            json!([text(&checkpoint)]),
            "{member}: {evidence}"
        );
        let detail = evidence["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&format!("entry {index}")) && detail.contains(why),
            "{member}: expected {why:?}: {evidence}"
        );
    }
    setup.stays_halted(&HONEST);
    setup.others_unaffected();
}

/// Scenario 4: An entry genuinely signed by a key that is not bj-zgc's authority (its `issuer` is
/// that key's DID, so the proof verifies and names its signer): `bad-entry`, index 6.
#[test]
fn an_entry_from_an_unaccredited_issuer_is_detected_and_others_are_unaffected() {
    let setup = setup();
    let namespace = talent_core::credential::Namespace::at(&setup.keys.member.endpoint);
    let outsider = Issuer::new(
        SigningKey::from_bytes(&OUTSIDER_SEED),
        BYZANTINE,
        namespace.clone(),
    )
    .expect("outsider");
    assert_ne!(outsider.did(), &setup.keys.member.authority);
    let credential = outsider
        .credentials(1)
        .expect("a credential signed by the outsider")
        .remove(0);
    let bytes = encode_entry(&credential).expect("entry");
    let verified = log_entry::verify_entry(&bytes).expect("the outsider's signature is genuine");
    let mut registry = talent_core::issuers::IssuerRegistry::new(
        BYZANTINE,
        setup.keys.member.authority.clone(),
        namespace,
    );
    assert_eq!(
        registry
            .admit(&verified.entry.object, &verified.signer, 6, &mut |_| None)
            .map_err(|error| error.code()),
        Err("not_accredited"),
        "the forgery fails exactly the accreditation check"
    );
    bad_entry_is_detected(&setup, bytes, "nor accredited by it");
    let verdict = verify(&setup.node("cq-sc").url, &credential);
    assert_eq!(verdict["verified"], false, "{verdict}");
}

/// Scenario 5: A credential genuinely issued by bj-zgc's authority with one character of
/// `credentialSubject.name` changed, re-canonicalised (still canonical JCS, so only the
/// proof fails): `bad-entry`, index 6.
#[test]
fn an_entry_with_a_bad_signature_is_detected_and_others_are_unaffected() {
    let setup = setup();
    let bytes = tampered_entry(&setup);
    bad_entry_is_detected(&setup, bytes, "proof does not verify");
}

/// Scenario 5, deep in a long log: 2,600 genuine entries come first, so the forgery is in
/// the third step of the catch-up (steps of 1,024 entries are fetched, verified and written
/// in a pipeline, the first two written while the third is verified). It is found at its
/// index all the same, and the steps written before it do not count as mirrored.
#[test]
fn a_bad_entry_in_a_later_catch_up_step_is_detected_at_its_index() {
    let setup = setup();
    let bytes = tampered_entry(&setup);
    bad_entry_is_detected_after(&setup, 2_600, bytes, "proof does not verify");
}

/// The same long log without the forgery, as the control: both honest members mirror all of
/// it across the pipeline's steps, in order (the root they recompute matches the signed
/// one), and a credential from the last step verifies from the mirror.
#[test]
fn a_long_log_is_mirrored_whole_across_catch_up_steps() {
    let mut setup = setup();
    let credentials = setup
        .issuer
        .credentials(2_600)
        .expect("genuine credentials");
    let entries: Vec<Vec<u8>> = credentials
        .iter()
        .map(|credential| encode_entry(credential).expect("entry"))
        .collect();
    let log = setup.honest.extended(&entries);
    let size = log.size();
    let checkpoint = setup.serve(&log);
    for member in HONEST {
        setup.mirrors_whole(member, size, &checkpoint);
        let url = &setup.node(member).url;
        let last = credentials.last().expect("a credential");
        let verdict = verify(url, last);
        assert_eq!(verdict["verified"], true, "{member}: {verdict}");
    }
    // A catch-up of several steps writes them without the WAL and flushes them before its
    // state moves: a crash right after it loses nothing.
    let member = HONEST[0];
    let node = setup.nodes.remove(member).expect("an honest member");
    node.kill().expect("SIGKILL");
    let node = setup
        .federation
        .start(member)
        .expect("restarts after SIGKILL");
    let restarted = peer(&node.url, BYZANTINE);
    assert_eq!(restarted["mirroredSize"], size, "{member}: {restarted}");
    for credential in [&credentials[0], &credentials[1_500], &credentials[2_599]] {
        let verdict = verify(&node.url, credential);
        assert_eq!(
            verdict["verified"], true,
            "{member} after a crash: {verdict}"
        );
    }
    setup.nodes.insert(member, node);
}

/// A credential genuinely issued by bj-zgc's authority with one character of its subject's
/// name changed and written canonically again: only its proof fails.
fn tampered_entry(setup: &Setup) -> Vec<u8> {
    let mut credential = setup
        .issuer
        .credentials(1)
        .expect("a genuine credential")
        .remove(0);
    let name = credential["credentialSubject"]["name"]
        .as_str()
        .expect("subject name")
        .to_owned();
    let mut chars: Vec<char> = name.chars().collect();
    chars[0] = if chars[0] == '王' { '李' } else { '王' };
    let tampered: String = chars.into_iter().collect();
    assert_ne!(tampered, name);
    credential["credentialSubject"]["name"] = json!(tampered);
    let bytes = encode_entry(&credential).expect("entry");
    log_entry::decode(&bytes).expect("still a canonical entry of a known type");
    assert!(
        matches!(
            log_entry::verify_entry(&bytes),
            Err(EntryVerifyError::Proof(_))
        ),
        "the forgery fails exactly the proof check"
    );
    bytes
}

/// Scenario 6: bj-zgc submits its checkpoint of five entries to cq-sc's witness (cosigned), then a
/// different checkpoint of five entries: 409, and cq-sc keeps `fork` evidence with both
/// checkpoints and stops syncing from bj-zgc. cd-hz, which saw no fork, carries on.
#[test]
fn a_fork_submitted_to_a_witness_is_refused_kept_and_halts_sync() {
    let setup = setup();
    let cq_sc = setup.node("cq-sc");
    let witness = MemberKeys::load(&setup.federation.config, "cq-sc").expect("cq-sc keys");
    let body = |old: u64, note: &[u8]| {
        let mut body = format!("old {old}\n\n").into_bytes();
        body.extend_from_slice(note);
        body
    };

    let response = client()
        .post(cq_sc.at("/log/add-checkpoint"))
        .body(body(0, &setup.honest_checkpoint))
        .send()
        .expect("add-checkpoint");
    assert_eq!(response.status(), StatusCode::OK);
    let lines = response.bytes().expect("cosignature lines").to_vec();
    assert!(
        text(&lines).starts_with(&format!("\u{2014} {} ", witness.member.witness_name)),
        "{}",
        text(&lines)
    );
    let key = CosignerKey::from_vkey(&witness.member.witness_vkey).expect("witness key");
    let attached = cosignature::attach(&setup.honest_checkpoint, &lines).expect("attach");
    let cosigned = cosignature::verify_cosignatures(&attached, &[key]).expect("valid cosignature");
    assert_eq!(cosigned.len(), 1, "cq-sc cosigned bj-zgc's checkpoint");

    let fork = ForgedLog::new(setup.issuer.entries(5).expect("other genuine entries"));
    let fork_checkpoint = setup.keys.checkpoint_of(&fork).expect("checkpoint");
    let response = client()
        .post(cq_sc.at("/log/add-checkpoint"))
        .body(body(HONEST_SIZE, &fork_checkpoint))
        .send()
        .expect("add-checkpoint");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        !content_type.starts_with(SIZE_CONTENT_TYPE),
        "a root conflict, not a size conflict: {content_type}"
    );
    let refusal = response.text().expect("refusal");
    assert!(refusal.contains("another root"), "{refusal}");

    let view = peer(&cq_sc.url, BYZANTINE);
    let forks: Vec<&Value> = view["evidence"]
        .as_array()
        .expect("evidence listed")
        .iter()
        .filter(|evidence| evidence["kind"] == "fork")
        .collect();
    assert_eq!(forks.len(), 1, "{view}");
    assert_eq!(
        forks[0]["checkpoints"],
        json!([text(&setup.honest_checkpoint), text(&fork_checkpoint)]),
        "{view}"
    );
    assert_eq!(forks[0]["member"], BYZANTINE, "{view}");
    assert!(forks[0]["detectedAt"].is_string(), "{view}");
    // Once the fork is proven, the witness cosigns nothing more for that log: the fork and
    // even the checkpoint it cosigned before are refused (403), and no evidence is added.
    let again = client()
        .post(cq_sc.at("/log/add-checkpoint"))
        .body(body(HONEST_SIZE, &fork_checkpoint))
        .send()
        .expect("add-checkpoint");
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    let honest_again = client()
        .post(cq_sc.at("/log/add-checkpoint"))
        .body(body(HONEST_SIZE, &setup.honest_checkpoint))
        .send()
        .expect("add-checkpoint");
    assert_eq!(honest_again.status(), StatusCode::FORBIDDEN);
    assert_eq!(view["mirroredSize"], HONEST_SIZE, "{view}");

    setup.others_unaffected();

    // Sync from bj-zgc stops at cq-sc: its next, honest-looking checkpoint is not applied.
    // cd-hz holds no evidence and mirrors it.
    let extension = setup
        .honest
        .extended(&setup.issuer.entries(2).expect("genuine entries"));
    setup.serve(&extension);
    let cd_hz = &setup.node("cd-hz").url;
    wait_for(
        STEP,
        || (peer(cd_hz, BYZANTINE)["mirroredSize"] == extension.size()).then_some(()),
        || status(cd_hz).to_string(),
    )
    .expect("cd-hz, which saw no fork, keeps mirroring bj-zgc");
    std::thread::sleep(SEVERAL_POLLS);
    let view = peer(&cq_sc.url, BYZANTINE);
    assert_eq!(
        (&view["state"], &view["mirroredSize"]),
        (&json!("halted"), &json!(HONEST_SIZE)),
        "cq-sc holds fork evidence against bj-zgc from its witness but kept syncing from it: {view}"
    );
}
