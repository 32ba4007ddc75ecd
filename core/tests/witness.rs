//! C2SP tlog-witness `add-checkpoint`: a growing log cosigned step by step, every error path
//! with its HTTP status, a fork, and malformed bodies.

use ed25519_dalek::SigningKey;
use talent_tlog::Hash;
use talent_tlog::checkpoint::{open_checkpoint, sign_checkpoint, verifier_key};
use talent_tlog::cosignature::{Cosigner, attach, verify_cosignatures};
use talent_tlog::merkle::{MemoryTree, format_hash};
use talent_tlog::witness::{
    AddCheckpointRequest, MAX_PROOF_LINES, MalformedBody, SIZE_CONTENT_TYPE, WitnessError,
    WitnessOutcome, WitnessRecord, WitnessedLog, add_checkpoint, parse_size_conflict,
    size_conflict_body,
};

const ORIGIN: &str = "registry.cq-sc.example/log";
const NOW: u64 = 1_750_000_000;

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[5u8; 32])
}

fn logs() -> Vec<WitnessedLog> {
    vec![WitnessedLog {
        origin: ORIGIN.to_owned(),
        log_vkey: verifier_key(ORIGIN, &log_key().verifying_key()),
        log_sm2_vkey: None,
    }]
}

fn cosigner() -> Cosigner {
    Cosigner::new(
        "registry.cd-hz.example/witness",
        SigningKey::from_bytes(&[9u8; 32]),
    )
    .expect("valid name")
}

fn grow(tree: &mut MemoryTree, to: u64) {
    while tree.size() < to {
        tree.push_entry(format!("entry {}", tree.size()).as_bytes());
    }
}

fn signed(tree: &MemoryTree, size: u64) -> Vec<u8> {
    let root = tree.root_at(size).expect("size in tree");
    sign_checkpoint(ORIGIN, size, root, &log_key()).expect("signs")
}

fn request(tree: &MemoryTree, old: u64, new: u64) -> AddCheckpointRequest {
    let proof = if old == 0 {
        Vec::new()
    } else {
        tree.consistency_proof(old, new).expect("proof")
    };
    AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint: signed(tree, new),
    }
}

/// Runs the request through the wire encoding, as a witness would receive it.
fn submit(
    request: &AddCheckpointRequest,
    previous: Option<&WitnessRecord>,
) -> Result<WitnessOutcome, WitnessError> {
    let parsed = AddCheckpointRequest::parse(&request.to_bytes()).expect("well-formed");
    assert_eq!(&parsed, request);
    assert_eq!(parsed.origin(), Ok(ORIGIN.to_owned()));
    add_checkpoint(&parsed, &logs(), previous, &cosigner(), NOW)
}

fn cosigned(outcome: Result<WitnessOutcome, WitnessError>) -> (WitnessRecord, Vec<u8>) {
    match outcome {
        Ok(WitnessOutcome::Cosigned {
            record,
            cosignature,
        }) => (record, cosignature),
        Err(error) => panic!("not cosigned: {error}"),
    }
}

#[test]
fn growing_log_is_cosigned_at_every_step() {
    let mut tree = MemoryTree::new();
    let mut previous: Option<WitnessRecord> = None;
    let mut last = 0;
    for size in [0u64, 1, 5, 17, 17] {
        grow(&mut tree, size);
        let (record, cosignature) =
            cosigned(submit(&request(&tree, last, size), previous.as_ref()));
        assert_eq!(record.size, size);
        assert_eq!(record.root, tree.root_at(size).expect("root"));
        assert_eq!(record.checkpoint, signed(&tree, size));

        // The response body is one cosignature line; attached, it verifies, and the note
        // still opens with the log key.
        assert!(cosignature.starts_with("— registry.cd-hz.example/witness ".as_bytes()));
        assert_eq!(cosignature.iter().filter(|&&b| b == b'\n').count(), 1);
        let note = attach(&record.checkpoint, &cosignature).expect("attaches");
        let verified = verify_cosignatures(&note, &[cosigner().key()]).expect("verifies");
        assert_eq!(verified.len(), 1);
        assert_eq!(verified[0].timestamp, NOW);
        assert_eq!(
            open_checkpoint(&note, ORIGIN, &logs()[0].log_vkey)
                .expect("opens")
                .size(),
            size
        );

        previous = Some(record);
        last = size;
    }
}

#[test]
fn every_refusal_has_its_status() {
    let mut tree = MemoryTree::new();
    grow(&mut tree, 17);
    let (at5, _) = cosigned(submit(&request(&tree, 0, 5), None));

    // Unknown origin: 404.
    let other_origin = "registry.other.example/log";
    let foreign = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: sign_checkpoint(other_origin, 1, tree.root_at(1).expect("root"), &log_key())
            .expect("signs"),
    };
    let error = add_checkpoint(&foreign, &logs(), None, &cosigner(), NOW).expect_err("refused");
    assert_eq!(
        error,
        WitnessError::UnknownOrigin {
            origin: other_origin.to_owned()
        }
    );
    assert_eq!(error.http_status(), 404);

    // Signed by another key: 403.
    let forged = AddCheckpointRequest {
        old_size: 5,
        proof: tree.consistency_proof(5, 17).expect("proof"),
        checkpoint: sign_checkpoint(
            ORIGIN,
            17,
            tree.root_at(17).expect("root"),
            &SigningKey::from_bytes(&[6u8; 32]),
        )
        .expect("signs"),
    };
    let error = add_checkpoint(&forged, &logs(), Some(&at5), &cosigner(), NOW).expect_err("403");
    assert_eq!(error, WitnessError::NotSignedByLog);
    assert_eq!(error.http_status(), 403);

    // A checkpoint whose text no longer matches its log signature: 403.
    let mut tampered = request(&tree, 5, 17);
    tampered.checkpoint = String::from_utf8(tampered.checkpoint)
        .expect("UTF-8")
        .replacen(
            &format_hash(&tree.root_at(17).expect("root")),
            &format_hash(&tree.root_at(16).expect("root")),
            1,
        )
        .into_bytes();
    assert_eq!(
        add_checkpoint(&tampered, &logs(), Some(&at5), &cosigner(), NOW),
        Err(WitnessError::NotSignedByLog)
    );

    // Old size above the checkpoint size: 400.
    let mut too_large = request(&tree, 0, 5);
    too_large.old_size = 6;
    let error = add_checkpoint(&too_large, &logs(), Some(&at5), &cosigner(), NOW).expect_err("400");
    assert_eq!(
        error,
        WitnessError::OldSizeTooLarge {
            old_size: 6,
            size: 5
        }
    );
    assert_eq!(error.http_status(), 400);

    // Old size is not what the witness cosigned: 409 with the latest size.
    for (old, previous) in [(1, Some(&at5)), (0, Some(&at5)), (5, None)] {
        let error = submit(&request(&tree, old, 17), previous).expect_err("409");
        let latest = previous.map_or(0, |record| record.size);
        assert_eq!(error, WitnessError::SizeMismatch { latest });
        assert_eq!(error.http_status(), 409);
        assert_eq!(parse_size_conflict(&size_conflict_body(latest)), Ok(latest));
    }
    assert_eq!(SIZE_CONTENT_TYPE, "text/x.tlog.size");

    // A proof that does not verify: 422, carrying both checkpoints.
    let mut bad_proof = request(&tree, 5, 17);
    bad_proof.proof[0].0[0] ^= 0x01;
    let error = submit(&bad_proof, Some(&at5)).expect_err("422");
    assert_eq!(error.http_status(), 422);
    assert_eq!(
        error,
        WitnessError::BadConsistencyProof {
            previous: at5.clone(),
            received: signed(&tree, 17),
        }
    );
    // A proof for other sizes, or truncated, or none at all.
    let mut wrong_sizes = request(&tree, 5, 17);
    wrong_sizes.proof = tree.consistency_proof(4, 17).expect("proof");
    let mut truncated = request(&tree, 5, 17);
    truncated.proof.pop();
    let mut empty = request(&tree, 5, 17);
    empty.proof.clear();
    for request in [wrong_sizes, truncated, empty] {
        assert!(matches!(
            submit(&request, Some(&at5)),
            Err(WitnessError::BadConsistencyProof { .. })
        ));
    }
    // Between equal sizes only the empty proof is valid.
    let mut same_size = request(&tree, 5, 5);
    same_size.proof = vec![Hash([0; 32])];
    assert!(matches!(
        submit(&same_size, Some(&at5)),
        Err(WitnessError::BadConsistencyProof { .. })
    ));
}

#[test]
fn fork_is_refused_with_both_checkpoints() {
    let mut honest = MemoryTree::new();
    grow(&mut honest, 5);
    let (at5, _) = cosigned(submit(&request(&honest, 0, 5), None));

    // A second history of the same size, signed by the same log key.
    let mut fork = MemoryTree::new();
    for index in 0..5 {
        fork.push_entry(format!("forked entry {index}").as_bytes());
    }
    let forked = request(&fork, 5, 5);
    let error = submit(&forked, Some(&at5)).expect_err("fork");
    assert_eq!(error.http_status(), 409);
    let WitnessError::RootMismatch { previous, received } = error else {
        panic!("not a root mismatch: {error}");
    };
    assert_eq!(previous, at5);
    assert_eq!(received, forked.checkpoint);
    // Both are valid log signatures over different roots for the same size: evidence.
    let first = open_checkpoint(&previous.checkpoint, ORIGIN, &logs()[0].log_vkey).expect("opens");
    let second = open_checkpoint(&received, ORIGIN, &logs()[0].log_vkey).expect("opens");
    assert_eq!(first.size(), second.size());
    assert_ne!(first.root(), second.root());

    // The fork grown further is inconsistent with what was cosigned: 422.
    grow(&mut fork, 9);
    let error = submit(&request(&fork, 5, 9), Some(&at5)).expect_err("inconsistent");
    assert_eq!(error.http_status(), 422);
}

#[test]
fn empty_tree_record_then_growth() {
    let mut tree = MemoryTree::new();
    let (at0, _) = cosigned(submit(&request(&tree, 0, 0), None));
    assert_eq!(at0.size, 0);
    // A size-0 checkpoint with a root that is not the empty tree's conflicts.
    let bogus = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: sign_checkpoint(ORIGIN, 0, Hash([1; 32]), &log_key()).expect("signs"),
    };
    assert!(matches!(
        submit(&bogus, Some(&at0)),
        Err(WitnessError::RootMismatch { .. })
    ));
    grow(&mut tree, 3);
    let (at3, _) = cosigned(submit(&request(&tree, 0, 3), Some(&at0)));
    assert_eq!(at3.size, 3);
}

#[test]
fn rotated_log_keys_are_both_accepted() {
    let mut tree = MemoryTree::new();
    grow(&mut tree, 2);
    let new_key = SigningKey::from_bytes(&[7u8; 32]);
    let mut trusted = logs();
    trusted.push(WitnessedLog {
        origin: ORIGIN.to_owned(),
        log_vkey: verifier_key(ORIGIN, &new_key.verifying_key()),
        log_sm2_vkey: None,
    });
    let by_new_key = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: sign_checkpoint(ORIGIN, 2, tree.root_at(2).expect("root"), &new_key)
            .expect("signs"),
    };
    assert!(add_checkpoint(&by_new_key, &trusted, None, &cosigner(), NOW).is_ok());
    assert_eq!(
        add_checkpoint(&by_new_key, &logs(), None, &cosigner(), NOW),
        Err(WitnessError::NotSignedByLog)
    );
    let broken = vec![WitnessedLog {
        origin: ORIGIN.to_owned(),
        log_vkey: "not a vkey".to_owned(),
        log_sm2_vkey: None,
    }];
    let error = add_checkpoint(&by_new_key, &broken, None, &cosigner(), NOW).expect_err("config");
    assert_eq!(error.http_status(), 500);
}

#[test]
fn request_already_carrying_cosignatures_is_accepted() {
    let mut tree = MemoryTree::new();
    grow(&mut tree, 4);
    let other = Cosigner::new("other.example/w", SigningKey::from_bytes(&[2; 32])).expect("name");
    let mut request = request(&tree, 0, 4);
    let line = other.cosign(&request.checkpoint, NOW).expect("cosigns");
    request.checkpoint = attach(&request.checkpoint, &line).expect("attaches");
    let (record, cosignature) = cosigned(submit(&request, None));
    assert_eq!(record.checkpoint, request.checkpoint);
    let note = attach(&record.checkpoint, &cosignature).expect("attaches");
    assert_eq!(
        verify_cosignatures(&note, &[other.key(), cosigner().key()])
            .expect("verifies")
            .len(),
        2
    );
}

fn body_with(proof_lines: &[String], separator: bool) -> Vec<u8> {
    let mut tree = MemoryTree::new();
    grow(&mut tree, 3);
    let mut body = b"old 1\n".to_vec();
    for line in proof_lines {
        body.extend_from_slice(line.as_bytes());
        body.push(b'\n');
    }
    if separator {
        body.push(b'\n');
    }
    body.extend_from_slice(&signed(&tree, 3));
    body
}

fn malformed(body: &[u8]) -> MalformedBody {
    match AddCheckpointRequest::parse(body) {
        Err(WitnessError::Malformed(kind)) => {
            assert_eq!(WitnessError::Malformed(kind).http_status(), 400);
            kind
        }
        other => panic!("not malformed: {other:?}"),
    }
}

#[test]
fn malformed_bodies_are_400() {
    let hash = format_hash(&Hash([7; 32]));
    assert!(AddCheckpointRequest::parse(&body_with(std::slice::from_ref(&hash), true)).is_ok());

    assert_eq!(
        malformed(&body_with(&["not base64!".to_owned()], true)),
        MalformedBody::ProofLine { index: 0 }
    );
    assert_eq!(
        malformed(&body_with(
            &[hash.clone(), format_hash(&Hash([1; 32]))[..40].to_owned()],
            true
        )),
        MalformedBody::ProofLine { index: 1 }
    );
    // 31 bytes of base64.
    let short = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 31]);
    assert_eq!(
        malformed(&body_with(&[short], true)),
        MalformedBody::ProofLine { index: 0 }
    );

    let sixty_three = vec![hash.clone(); MAX_PROOF_LINES];
    assert_eq!(
        AddCheckpointRequest::parse(&body_with(&sixty_three, true))
            .map(|request| request.proof.len()),
        Ok(63)
    );
    let sixty_four = vec![hash.clone(); MAX_PROOF_LINES + 1];
    assert_eq!(
        malformed(&body_with(&sixty_four, true)),
        MalformedBody::TooManyProofLines
    );

    // Without the empty line the checkpoint's origin line is read as a proof line.
    assert_eq!(
        malformed(&body_with(std::slice::from_ref(&hash), false)),
        MalformedBody::ProofLine { index: 1 }
    );
    assert_eq!(
        malformed(format!("old 1\n{hash}\n").as_bytes()),
        MalformedBody::MissingEmptyLine
    );
    assert_eq!(
        malformed(format!("old 1\n{hash}").as_bytes()),
        MalformedBody::MissingEmptyLine
    );

    for first in [
        "old 01",
        "old -1",
        "old  1",
        "old",
        "new 1",
        "old 18446744073709551616",
        "old 1 ",
    ] {
        let body = format!("{first}\n\nx\n");
        assert_eq!(
            malformed(body.as_bytes()),
            MalformedBody::OldSizeLine,
            "{first}"
        );
    }
    assert_eq!(malformed(b""), MalformedBody::OldSizeLine);
    assert_eq!(
        malformed(format!("old 0\n{hash}\n\nx\n").as_bytes()),
        MalformedBody::ProofFromZero
    );
    assert_eq!(malformed(&vec![b'a'; 1_048_577]), MalformedBody::TooLarge);

    // The checkpoint itself is checked by add_checkpoint.
    let garbage = AddCheckpointRequest::parse(b"old 0\n\nnot a note\n").expect("cut off");
    assert_eq!(
        garbage.origin(),
        Err(WitnessError::Malformed(MalformedBody::Checkpoint))
    );
    assert_eq!(
        add_checkpoint(&garbage, &logs(), None, &cosigner(), NOW),
        Err(WitnessError::Malformed(MalformedBody::Checkpoint))
    );
}
