//! A second checkpoint signature by an SM2 key (GB/T 32918.2), for members whose rules on
//! national cryptography ask for one beside the C2SP Ed25519 log signature.
//!
//! The signature is one more `signed-note` signature line, of a signature type that C2SP
//! leaves to other specifications: byte `0xff` followed by an identifier. Every C2SP
//! verifier (Go's `x/mod/sumdb/note`, the witnesses) keeps working: signed-note verifiers
//! ignore signatures from keys they do not know. This is the project's **local extension**,
//! written down in `docs/federation-protocol.md` ("SM2 checkpoint signatures"):
//!
//! - signature type: `0xff` followed by the ASCII identifier [`SM2_SIGNATURE_IDENTIFIER`];
//! - public key: the 33-byte compressed SEC1 point;
//! - key ID = `SHA-256(key name ‖ 0x0A ‖ 0xff ‖ identifier ‖ point)[:4]`, the C2SP
//!   recommendation with the `0xff` type and its identifier;
//! - verifier key: `<key name>+<key ID, 8 hex digits>+base64(0xff ‖ identifier ‖ point)`;
//! - signature: SM2 with the distinguishing ID [`SM2_DISTINGUISHING_ID`] over the note text
//!   (the signer hashes `Z_A ‖ text` with SM3), encoded `r ‖ s`, 64 bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::sec1::ToSec1Point;
use thiserror::Error;

/// The signed-note signature type byte for types without an assigned byte (C2SP).
pub const SM2_SIGNATURE_TYPE: u8 = 0xff;
/// The identifier that follows [`SM2_SIGNATURE_TYPE`] in key IDs and verifier keys.
pub const SM2_SIGNATURE_IDENTIFIER: &str = "talent-registry/sm2-sm3/v1";
/// The distinguishing ID of every SM2 note key: GB/T 32918's default.
pub const SM2_DISTINGUISHING_ID: &str = "1234567812345678";

/// Length of a compressed SEC1 SM2 point.
const POINT_LEN: usize = 33;
/// Length of an `r ‖ s` signature.
const SIGNATURE_LEN: usize = 64;

/// Why an SM2 note key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Sm2NoteError {
    /// The key name is empty or holds a space or `+`.
    #[error("{0:?} is not a signed-note key name")]
    BadKeyName(String),
    /// The verifier key is not `<name>+<id>+<base64>`, or its ID does not match its key.
    #[error("SM2 note verifier key is malformed")]
    MalformedVerifierKey,
    /// The verifier key's type is not this extension's `0xff ‖ identifier`.
    #[error("the verifier key is not an SM2 note key ({SM2_SIGNATURE_IDENTIFIER})")]
    NotSm2,
    /// The key bytes are not a compressed point of the SM2 curve.
    #[error("the SM2 public key is not a point of the curve")]
    InvalidPoint,
    /// The signing key's distinguishing ID is not [`SM2_DISTINGUISHING_ID`].
    #[error("the SM2 key's distinguishing ID is {0:?}, not {SM2_DISTINGUISHING_ID}")]
    DistinguishingId(String),
}

/// `0xff ‖ identifier ‖ point`: the key encoding hashed into the key ID.
fn key_encoding(key: &VerifyingKey) -> Vec<u8> {
    let point = key.to_sec1_point(true);
    let mut bytes = Vec::with_capacity(1 + SM2_SIGNATURE_IDENTIFIER.len() + POINT_LEN);
    bytes.push(SM2_SIGNATURE_TYPE);
    bytes.extend_from_slice(SM2_SIGNATURE_IDENTIFIER.as_bytes());
    bytes.extend_from_slice(point.as_bytes());
    bytes
}

fn check_name(name: &str) -> Result<(), Sm2NoteError> {
    if signed_note::is_key_name_valid(name) {
        Ok(())
    } else {
        Err(Sm2NoteError::BadKeyName(name.to_owned()))
    }
}

/// The verifier key (`<name>+<id>+<base64>`) of an SM2 note key.
///
/// # Errors
/// [`Sm2NoteError::BadKeyName`].
pub fn sm2_verifier_key(name: &str, key: &VerifyingKey) -> Result<String, Sm2NoteError> {
    check_name(name)?;
    let encoding = key_encoding(key);
    Ok(format!(
        "{name}+{:08x}+{}",
        signed_note::key_id(name, &encoding),
        BASE64.encode(&encoding)
    ))
}

/// A signed-note signer over an SM2 key.
#[derive(Debug)]
pub struct Sm2NoteSigner<'a> {
    name: &'a str,
    key: &'a SigningKey,
    id: u32,
}

impl<'a> Sm2NoteSigner<'a> {
    /// A signer for key name `name` (the log origin).
    ///
    /// # Errors
    /// [`Sm2NoteError::BadKeyName`], or [`Sm2NoteError::DistinguishingId`] for a key made
    /// with another distinguishing ID (its signatures would not verify as this extension's).
    pub fn new(name: &'a str, key: &'a SigningKey) -> Result<Sm2NoteSigner<'a>, Sm2NoteError> {
        check_name(name)?;
        let distid = key.verifying_key().distid();
        if distid != SM2_DISTINGUISHING_ID {
            return Err(Sm2NoteError::DistinguishingId(distid.to_owned()));
        }
        let id = signed_note::key_id(name, &key_encoding(key.verifying_key()));
        Ok(Sm2NoteSigner { name, key, id })
    }
}

impl signed_note::Signer for Sm2NoteSigner<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let signature: Signature = self
            .key
            .try_sign(message)
            .map_err(|_| ed25519_dalek::SignatureError::new())?;
        Ok(signature.to_bytes().to_vec())
    }
}

/// A signed-note verifier of an SM2 note key, read from its verifier key.
#[derive(Debug, Clone)]
pub struct Sm2NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl Sm2NoteVerifier {
    /// Reads a verifier key made by [`sm2_verifier_key`].
    ///
    /// # Errors
    /// [`Sm2NoteError::MalformedVerifierKey`] (including a key ID that does not match the
    /// key), [`Sm2NoteError::NotSm2`], [`Sm2NoteError::InvalidPoint`].
    pub fn new(vkey: &str) -> Result<Sm2NoteVerifier, Sm2NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Sm2NoteError::MalformedVerifierKey);
        };
        check_name(name).map_err(|_| Sm2NoteError::MalformedVerifierKey)?;
        if id.len() != 8 {
            return Err(Sm2NoteError::MalformedVerifierKey);
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| Sm2NoteError::MalformedVerifierKey)?;
        let encoding = BASE64
            .decode(encoded)
            .map_err(|_| Sm2NoteError::MalformedVerifierKey)?;
        let point = encoding
            .strip_prefix(&[SM2_SIGNATURE_TYPE])
            .and_then(|rest| rest.strip_prefix(SM2_SIGNATURE_IDENTIFIER.as_bytes()))
            .ok_or(Sm2NoteError::NotSm2)?;
        if point.len() != POINT_LEN {
            return Err(Sm2NoteError::InvalidPoint);
        }
        let key = VerifyingKey::from_sec1_bytes(SM2_DISTINGUISHING_ID, point)
            .map_err(|_| Sm2NoteError::InvalidPoint)?;
        if signed_note::key_id(name, &encoding) != id {
            return Err(Sm2NoteError::MalformedVerifierKey);
        }
        Ok(Sm2NoteVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }
}

impl signed_note::Verifier for Sm2NoteVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if signature.len() != SIGNATURE_LEN {
            return false;
        }
        // r or s out of [1, n − 1] is refused here, before any arithmetic.
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify(message, &signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use signed_note::{Note, Verifier as _, VerifierList};

    use super::*;

    const NAME: &str = "registry.cq-hrss.example/log";

    fn key() -> SigningKey {
        SigningKey::from_slice(SM2_DISTINGUISHING_ID, &[0x42; 32]).expect("an SM2 key")
    }

    fn signed(text: &str) -> Vec<u8> {
        let key = key();
        let mut note = Note::new(text.as_bytes(), &[]).expect("note");
        note.add_sigs(&[&Sm2NoteSigner::new(NAME, &key).expect("signer")])
            .expect("signs");
        note.to_bytes()
    }

    fn verifier() -> Sm2NoteVerifier {
        Sm2NoteVerifier::new(&sm2_verifier_key(NAME, key().verifying_key()).expect("vkey"))
            .expect("reads")
    }

    fn verifies(note: &[u8]) -> bool {
        let Ok(note) = Note::from_bytes(note) else {
            return false;
        };
        note.verify(&VerifierList::new(vec![Box::new(verifier())]))
            .is_ok()
    }

    #[test]
    fn the_key_id_is_the_c2sp_recipe_with_the_extension_type() {
        use sha2::{Digest, Sha256};
        let vkey = sm2_verifier_key(NAME, key().verifying_key()).expect("vkey");
        let point = key().verifying_key().to_sec1_point(true);
        let digest = Sha256::new()
            .chain_update(NAME.as_bytes())
            .chain_update(b"\n\xff")
            .chain_update(SM2_SIGNATURE_IDENTIFIER.as_bytes())
            .chain_update(point.as_bytes())
            .finalize();
        let id = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        assert!(vkey.starts_with(&format!("{NAME}+{id:08x}+")), "{vkey}");
        assert_eq!(verifier().key_id(), id);
    }

    #[test]
    fn a_signed_note_verifies_and_tampering_does_not() {
        let note = signed("registry.cq-hrss.example/log\n3\nAAAA\n");
        assert!(verifies(&note));
        let tampered = String::from_utf8(note.clone())
            .expect("UTF-8")
            .replacen("\n3\n", "\n4\n", 1);
        assert!(!verifies(tampered.as_bytes()));
        // A flipped bit of the signature.
        let text = String::from_utf8(note).expect("UTF-8");
        let (body, line) = text.rsplit_once("— ").expect("a signature line");
        let (name, signature) = line.trim_end().split_once(' ').expect("name and signature");
        let mut bytes = BASE64.decode(signature).expect("base64");
        bytes[10] ^= 1;
        let forged = format!("{body}— {name} {}\n", BASE64.encode(&bytes));
        assert!(!verifies(forged.as_bytes()));
    }

    #[test]
    fn an_ed25519_verifier_ignores_the_sm2_line() {
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let sm2 = key();
        let mut note = Note::new(b"registry.cq-hrss.example/log\n3\nAAAA\n", &[]).expect("note");
        note.add_sigs(&[
            &crate::checkpoint::NoteSigner::new(NAME, &ed),
            &Sm2NoteSigner::new(NAME, &sm2).expect("signer"),
        ])
        .expect("signs");
        let ed_only = signed_note::StandardVerifier::new(&signed_note::new_ed25519_verifier_key(
            NAME,
            &ed.verifying_key(),
        ))
        .expect("verifier");
        let bytes = note.to_bytes();
        let reread = Note::from_bytes(&bytes).expect("parses");
        let (verified, unverified) = reread
            .verify(&VerifierList::new(vec![Box::new(ed_only)]))
            .expect("the Ed25519 signature verifies");
        assert_eq!(verified.len(), 1);
        assert_eq!(unverified.len(), 1, "the SM2 line is kept, unverified");
    }

    #[test]
    fn malformed_verifier_keys_are_refused_without_panicking() {
        let good = sm2_verifier_key(NAME, key().verifying_key()).expect("vkey");
        // Base64 may hold `+`: the key ID ends at the second one.
        let id_end = NAME.len() + 1 + 8;
        let (prefix, encoded) = (&good[..id_end], &good[id_end + 1..]);
        let mut encoding = BASE64.decode(encoded).expect("base64");
        let cases: Vec<(String, Sm2NoteError)> = vec![
            ("".into(), Sm2NoteError::MalformedVerifierKey),
            (
                format!("{NAME}+zz+AAAA"),
                Sm2NoteError::MalformedVerifierKey,
            ),
            (
                format!("{prefix}+{}", BASE64.encode([0x01; 33])),
                Sm2NoteError::NotSm2,
            ),
            (
                format!(
                    "{prefix}+{}",
                    BASE64.encode(&encoding[..encoding.len() - 1])
                ),
                Sm2NoteError::InvalidPoint,
            ),
            (
                good.replacen(&good[NAME.len() + 1..NAME.len() + 9], "00000000", 1),
                Sm2NoteError::MalformedVerifierKey,
            ),
        ];
        for (vkey, expected) in cases {
            assert_eq!(Sm2NoteVerifier::new(&vkey).err(), Some(expected), "{vkey}");
        }
        // A compressed point whose x is not on the curve.
        let last = encoding.len() - 1;
        encoding[last - 31..].fill(0xff);
        let vkey = format!("{prefix}+{}", BASE64.encode(&encoding));
        assert!(Sm2NoteVerifier::new(&vkey).is_err());
    }

    #[test]
    fn signatures_of_the_wrong_length_or_range_do_not_verify() {
        let verifier = verifier();
        let message = b"text\n";
        assert!(!verifier.verify(message, &[]));
        assert!(!verifier.verify(message, &[1; 63]));
        assert!(!verifier.verify(message, &[0; 64]), "r = s = 0");
        assert!(!verifier.verify(message, &[0xff; 64]), "r, s ≥ n");
    }

    #[test]
    fn a_key_with_another_distinguishing_id_is_refused() {
        let other = SigningKey::from_slice("ALICE123@YAHOO.COM", &[0x42; 32]).expect("key");
        assert_eq!(
            Sm2NoteSigner::new(NAME, &other).err(),
            Some(Sm2NoteError::DistinguishingId("ALICE123@YAHOO.COM".into()))
        );
    }
}
