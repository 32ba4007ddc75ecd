//! The SM2 checkpoint line's vector (`tests/vectors/sm2-checkpoint/`): a fixed Ed25519 log
//! key and SM2 key sign a fixed checkpoint; the verifier keys and the whole signed note must
//! come out byte for byte (SM2 nonces are derived as in RFC 6979, so the signature is fixed),
//! and the note must open with both keys required. A change to the extension's encoding
//! fails here before it reaches a peer.

use std::path::Path;

use talent_tlog::Hash;
use talent_tlog::checkpoint::{open_checkpoint_with_sm2, sign_checkpoint_with_sm2, verifier_key};
use talent_tlog::sm2_note::{SM2_DISTINGUISHING_ID, sm2_verifier_key};

fn vector(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/sm2-checkpoint")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn hex32(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.trim().len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text.trim()[at..at + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}

#[test]
fn the_vector_is_reproduced_and_opens() {
    let origin = vector("origin.txt").trim().to_owned();
    let ed = ed25519_dalek::SigningKey::from_bytes(&hex32(&vector("ed25519-secret.hex")));
    let sm2 =
        sm2::dsa::SigningKey::from_slice(SM2_DISTINGUISHING_ID, &hex32(&vector("sm2-secret.hex")))
            .expect("SM2 key");
    let root = Hash(hex32(&vector("root.hex")));
    let log_vkey = verifier_key(&origin, &ed.verifying_key());
    let sm2_vkey = sm2_verifier_key(&origin, sm2.verifying_key()).expect("vkey");
    assert_eq!(log_vkey, vector("ed25519.vkey").trim());
    assert_eq!(sm2_vkey, vector("sm2.vkey").trim());
    let note = sign_checkpoint_with_sm2(&origin, 42, root, &ed, &sm2).expect("signs");
    assert_eq!(
        String::from_utf8(note.clone()).expect("UTF-8"),
        vector("checkpoint.note")
    );
    let opened =
        open_checkpoint_with_sm2(&note, &origin, &log_vkey, Some(&sm2_vkey)).expect("opens");
    assert_eq!(opened.size(), 42);
}
