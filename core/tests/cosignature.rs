//! `cosignature/v1` (C2SP tlog-cosignature): a fixed vector, interoperability with
//! checkpoint opening, and rejection of every tampered byte.

use ed25519_dalek::SigningKey;
use talent_tlog::Hash;
use talent_tlog::checkpoint::{open_checkpoint, sign_checkpoint, verifier_key};
use talent_tlog::cosignature::{
    CosignatureError, Cosigner, CosignerKey, MAX_TIMESTAMP, VerifiedCosignature, attach, key_id,
    verify_cosignatures,
};

/// The checkpoint of the spec's example (tlog-cosignature, tlog-witness), with the spec's
/// log signature line (its key is not published: the line must simply be ignored).
const SPEC_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SPEC_LOG_LINE: &str = "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

/// Vector computed independently (Python `cryptography`, straight from the spec text):
/// Ed25519 seed 00 01 02 … 1f, name `witness.example.com/w1`, timestamp 1679315147 (the spec's
/// example time), message `cosignature/v1\ntime 1679315147\n` + SPEC_BODY.
const VECTOR_SEED: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];
const VECTOR_NAME: &str = "witness.example.com/w1";
const VECTOR_TIME: u64 = 1_679_315_147;
const VECTOR_VKEY: &str =
    "witness.example.com/w1+a0059f11+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const VECTOR_LINE: &str = "— witness.example.com/w1 oAWfEQAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8YiWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n";

/// A real `cosignature/v1` vkey published by a deployed witness (from transparency-dev/formats
/// tests): its key ID was computed by the Go implementation.
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

const ORIGIN: &str = "registry.cq-sc.example/log";

fn log_key() -> SigningKey {
    SigningKey::from_bytes(&[5u8; 32])
}

fn log_vkey() -> String {
    verifier_key(ORIGIN, &log_key().verifying_key())
}

fn witness(n: u8) -> Cosigner {
    Cosigner::new(
        &format!("witness-{n}.example/w"),
        SigningKey::from_bytes(&[n; 32]),
    )
    .expect("valid name")
}

fn checkpoint(size: u64) -> Vec<u8> {
    sign_checkpoint(ORIGIN, size, Hash([size as u8; 32]), &log_key()).expect("signs")
}

fn vector_cosigner() -> Cosigner {
    Cosigner::new(VECTOR_NAME, SigningKey::from_bytes(&VECTOR_SEED)).expect("valid name")
}

fn spec_note_with(lines: &str) -> Vec<u8> {
    format!("{SPEC_BODY}\n{SPEC_LOG_LINE}{lines}").into_bytes()
}

#[test]
fn independent_vector_matches() {
    let cosigner = vector_cosigner();
    assert_eq!(cosigner.vkey(), VECTOR_VKEY);
    assert_eq!(cosigner.key_id(), 0xa005_9f11);
    let line = cosigner
        .cosign(SPEC_BODY.as_bytes(), VECTOR_TIME)
        .expect("cosigns");
    assert_eq!(String::from_utf8(line).expect("UTF-8"), VECTOR_LINE);

    let key = CosignerKey::from_vkey(VECTOR_VKEY).expect("parses");
    assert_eq!(key, cosigner.key());
    let verified = verify_cosignatures(&spec_note_with(VECTOR_LINE), &[key]).expect("verifies");
    assert_eq!(
        verified,
        vec![VerifiedCosignature {
            name: VECTOR_NAME.to_owned(),
            timestamp: VECTOR_TIME,
        }]
    );
}

#[test]
fn deployed_vkey_parses_and_round_trips() {
    let key = CosignerKey::from_vkey(REMORA_VKEY).expect("parses");
    assert_eq!(key.name, "remora.n621.de");
    assert_eq!(key.key_id, 0xda77_ade7);
    assert_eq!(key_id(&key.name, &key.key), key.key_id);
    assert_eq!(key.vkey(), REMORA_VKEY);
}

#[test]
fn bad_vkeys_are_refused_precisely() {
    let valid = CosignerKey::from_vkey(VECTOR_VKEY).expect("parses");
    // The base64 of this key contains a `+`: only the first two `+` separate parts.
    let material = VECTOR_VKEY.splitn(3, '+').nth(2).expect("three parts");
    assert!(material.contains('+'));
    // The same key as an ordinary signed-note (0x01) verifier key.
    let note_vkey = verifier_key(VECTOR_NAME, &valid.key);
    assert_eq!(
        CosignerKey::from_vkey(&note_vkey),
        Err(CosignatureError::UnsupportedKeyType(0x01))
    );
    assert_eq!(
        CosignerKey::from_vkey(&format!("{VECTOR_NAME}+00000000+{material}")),
        Err(CosignatureError::KeyIdMismatch {
            expected: 0xa005_9f11,
            found: 0
        })
    );
    assert_eq!(
        CosignerKey::from_vkey(&format!("other.example+a0059f11+{material}")),
        Err(CosignatureError::KeyIdMismatch {
            expected: key_id("other.example", &valid.key),
            found: 0xa005_9f11
        })
    );
    for malformed in [
        "",
        "name",
        "name+a0059f11",
        "name+a0059f1+BAOh",
        "name+a0059f11+BAOh+x",
        "witness.example.com/w1+a0059f11+not base64",
        "witness.example.com/w1+a0059f11+BAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4AA==",
        "witness.example.com/w1+a0059f11+",
    ] {
        assert!(
            matches!(
                CosignerKey::from_vkey(malformed),
                Err(CosignatureError::MalformedVkey)
            ),
            "{malformed:?}: {:?}",
            CosignerKey::from_vkey(malformed)
        );
    }
    assert_eq!(
        CosignerKey::from_vkey(&format!("+a0059f11+{material}")),
        Err(CosignatureError::InvalidKeyName(String::new()))
    );
    // Small-order point (the identity): a key every signature can be forged for.
    let mut identity = vec![0x04, 1];
    identity.extend_from_slice(&[0; 31]);
    let identity_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, identity);
    assert_eq!(
        CosignerKey::from_vkey(&format!("w+00000000+{identity_b64}")),
        Err(CosignatureError::InvalidPublicKey)
    );
    assert_eq!(
        Cosigner::new("two words", SigningKey::from_bytes(&[1; 32])).map(|c| c.vkey()),
        Err(CosignatureError::InvalidKeyName("two words".to_owned()))
    );
}

#[test]
fn cosigned_checkpoint_still_opens_with_the_log_key() {
    let note = checkpoint(7);
    let (w1, w2) = (witness(1), witness(2));
    let mut lines = w1.cosign(&note, 1_700_000_000).expect("cosigns");
    lines.extend(w2.cosign(&note, 1_700_000_001).expect("cosigns"));
    let cosigned = attach(&note, &lines).expect("attaches");

    let opened = open_checkpoint(&cosigned, ORIGIN, &log_vkey()).expect("opens");
    assert_eq!(opened.size(), 7);
    assert_eq!(opened.note(), cosigned.as_slice());
    // The log signature stays first.
    let original_log_line = &note[note.len() - cosigned_line_len(&note)..];
    let text = String::from_utf8(cosigned.clone()).expect("UTF-8");
    let signature_block = text.split_once("\n\n").expect("note").1;
    assert!(signature_block.as_bytes().starts_with(original_log_line));

    let verified =
        verify_cosignatures(&cosigned, &[w1.key(), w2.key()]).expect("cosignatures verify");
    assert_eq!(
        verified,
        vec![
            VerifiedCosignature {
                name: w1.name().to_owned(),
                timestamp: 1_700_000_000
            },
            VerifiedCosignature {
                name: w2.name().to_owned(),
                timestamp: 1_700_000_001
            },
        ]
    );
    // Unknown cosigners (and the log key) are ignored.
    assert_eq!(
        verify_cosignatures(&cosigned, &[witness(3).key()]),
        Ok(vec![])
    );
    assert_eq!(verify_cosignatures(&note, &[w1.key()]), Ok(vec![]));
}

/// Length of the single (log) signature line of a freshly signed note.
fn cosigned_line_len(note: &[u8]) -> usize {
    let text = std::str::from_utf8(note).expect("UTF-8");
    text.split_once("\n\n").expect("note").1.len()
}

#[test]
fn attach_replaces_a_cosigner_in_place_and_dedupes() {
    let note = checkpoint(3);
    let (w1, w2) = (witness(1), witness(2));
    let first = attach(
        &note,
        &[
            w1.cosign(&note, 10).expect("c"),
            w2.cosign(&note, 10).expect("c"),
        ]
        .concat(),
    )
    .expect("attaches");
    // A fresher cosignature by w1, given twice: one line, in w1's place, the last one kept.
    let again = attach(
        &first,
        &[
            w1.cosign(&note, 11).expect("c"),
            w1.cosign(&note, 12).expect("c"),
        ]
        .concat(),
    )
    .expect("attaches");
    assert_eq!(again.len(), first.len());
    let verified = verify_cosignatures(&again, &[w1.key(), w2.key()]).expect("verifies");
    assert_eq!(
        verified
            .iter()
            .map(|v| (v.name.as_str(), v.timestamp))
            .collect::<Vec<_>>(),
        vec![(w1.name(), 12), (w2.name(), 10)]
    );
    // Attaching nothing changes nothing.
    assert_eq!(attach(&again, b""), Ok(again.clone()));
}

#[test]
fn attach_refuses_bad_lines() {
    let note = checkpoint(3);
    let line = witness(1).cosign(&note, 10).expect("c");
    assert_eq!(
        attach(&note, &line[..line.len() - 1]),
        Err(CosignatureError::MalformedSignatureLine { index: 0 })
    );
    assert_eq!(
        attach(&note, b"garbage\n"),
        Err(CosignatureError::MalformedSignatureLine { index: 0 })
    );
    assert_eq!(
        attach(b"not a note", &line),
        Err(CosignatureError::MalformedNote)
    );
    // The log's own signature line is not a cosignature (64 bytes, not 72)…
    let log_line = note[note.len() - cosigned_line_len(&note)..].to_vec();
    assert!(matches!(
        attach(&note, &log_line),
        Err(CosignatureError::MalformedCosignature { .. })
    ));
    // …and a cosignature-shaped line claiming the log key's name and ID cannot replace it.
    let text = String::from_utf8(log_line).expect("UTF-8");
    let (name_part, b64) = text.trim_end().rsplit_once(' ').expect("line");
    let mut payload =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).expect("b64");
    payload.splice(4..4, [0u8; 8]);
    let forged = format!(
        "{name_part} {}\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload)
    );
    assert!(matches!(
        attach(&note, forged.as_bytes()),
        Err(CosignatureError::LogKeyCollision { .. })
    ));
}

#[test]
fn attach_respects_signed_note_limits() {
    let note = checkpoint(3);
    let lines: Vec<u8> = (1..=100u8)
        .flat_map(|n| witness(n).cosign(&note, 1).expect("c"))
        .collect();
    assert_eq!(
        attach(&note, &lines),
        Err(CosignatureError::TooManySignatures(101))
    );
    let ninety_nine: Vec<u8> = (1..=99u8)
        .flat_map(|n| witness(n).cosign(&note, 1).expect("c"))
        .collect();
    let full = attach(&note, &ninety_nine).expect("100 signatures fit");
    assert!(open_checkpoint(&full, ORIGIN, &log_vkey()).is_ok());
}

#[test]
fn every_byte_flip_of_a_cosignature_is_rejected() {
    let cosigner = vector_cosigner();
    let key = cosigner.key();
    let note = spec_note_with(VECTOR_LINE);
    let body_len = SPEC_BODY.len();
    // Flip each bit-0 of every byte of the body and of the cosignature payload.
    for index in 0..body_len {
        let mut tampered = note.clone();
        tampered[index] ^= 0x01;
        let result = verify_cosignatures(&tampered, std::slice::from_ref(&key));
        assert!(result.is_err(), "body byte {index}: {result:?}");
    }
    let payload_b64 = VECTOR_LINE
        .trim_end()
        .rsplit_once(' ')
        .expect("line")
        .1
        .to_owned();
    let payload = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &payload_b64)
        .expect("b64");
    assert_eq!(payload.len(), 4 + 8 + 64);
    for index in 0..payload.len() {
        let mut flipped = payload.clone();
        flipped[index] ^= 0x01;
        let line = format!(
            "— {VECTOR_NAME} {}\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &flipped)
        );
        let result = verify_cosignatures(&spec_note_with(&line), std::slice::from_ref(&key));
        if index < 4 {
            // Another key ID: not this cosigner's line, ignored.
            assert_eq!(result, Ok(vec![]), "key ID byte {index}");
        } else {
            // Timestamp (bit 0 of its top byte is 2^56, still below 2^63) or signature.
            assert_eq!(
                result,
                Err(CosignatureError::InvalidCosignature {
                    name: VECTOR_NAME.to_owned(),
                    key_id: 0xa005_9f11
                }),
                "payload byte {index}"
            );
        }
    }
}

#[test]
fn malformed_cosignatures_of_a_trusted_key_are_refused() {
    let key = vector_cosigner().key();
    let line_with = |payload: Vec<u8>| {
        format!(
            "— {VECTOR_NAME} {}\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload)
        )
    };
    let id = 0xa005_9f11u32.to_be_bytes();
    // Too short (a plain Ed25519 note signature shape) and too long.
    for len in [64usize, 71, 73] {
        let payload = [id.to_vec(), vec![0; len]].concat();
        assert_eq!(
            verify_cosignatures(
                &spec_note_with(&line_with(payload)),
                std::slice::from_ref(&key)
            ),
            Err(CosignatureError::MalformedCosignature {
                name: VECTOR_NAME.to_owned(),
                key_id: 0xa005_9f11
            }),
            "{len}"
        );
    }
    // Timestamp above 2^63 - 1.
    let payload = [
        id.to_vec(),
        (MAX_TIMESTAMP + 1).to_be_bytes().to_vec(),
        vec![0; 64],
    ]
    .concat();
    assert!(matches!(
        verify_cosignatures(&spec_note_with(&line_with(payload)), &[key]),
        Err(CosignatureError::MalformedCosignature { .. })
    ));
}

#[test]
fn only_the_first_line_of_a_cosigner_counts() {
    let cosigner = vector_cosigner();
    let later = cosigner
        .cosign(SPEC_BODY.as_bytes(), VECTOR_TIME + 5)
        .expect("cosigns");
    let later = String::from_utf8(later).expect("UTF-8");
    let note = spec_note_with(&format!("{VECTOR_LINE}{later}"));
    assert_eq!(
        verify_cosignatures(&note, &[cosigner.key()]),
        Ok(vec![VerifiedCosignature {
            name: VECTOR_NAME.to_owned(),
            timestamp: VECTOR_TIME
        }])
    );
}

#[test]
fn cosignature_covers_extension_lines() {
    let cosigner = witness(1);
    let body = format!("{SPEC_BODY}extension line\n");
    let line =
        String::from_utf8(cosigner.cosign(body.as_bytes(), 9).expect("cosigns")).expect("UTF-8");
    let good = format!("{body}\n{SPEC_LOG_LINE}{line}");
    assert_eq!(
        verify_cosignatures(good.as_bytes(), &[cosigner.key()]).map(|v| v.len()),
        Ok(1)
    );
    let bad = good.replacen("extension line", "extension lime", 1);
    assert!(matches!(
        verify_cosignatures(bad.as_bytes(), &[cosigner.key()]),
        Err(CosignatureError::InvalidCosignature { .. })
    ));
}

#[test]
fn a_note_that_is_not_a_checkpoint_is_refused() {
    let key = witness(1).key();
    assert_eq!(
        verify_cosignatures(
            b"hello\n\n\xe2\x80\x94 a AAAAAAA=\n",
            std::slice::from_ref(&key)
        ),
        Err(CosignatureError::MalformedCheckpoint)
    );
    assert_eq!(
        verify_cosignatures(b"garbage", &[key]),
        Err(CosignatureError::MalformedNote)
    );
}
