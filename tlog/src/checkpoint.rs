//! Checkpoints: C2SP `tlog-checkpoint` tree heads signed as C2SP `signed-note`s with the
//! member's log key, whose key name is the log origin (`registry.cq-sc.example/log`).
//!
//! [`open_checkpoint`] is the one way to turn bytes into a [`VerifiedCheckpoint`]: it parses
//! the note, requires a valid signature by the log key, and checks the origin.
//!
//! A member may also sign with an SM2 key ([`crate::sm2_note`]):
//! [`sign_checkpoint_with_sm2`] adds that second line, and [`open_checkpoint_with_sm2`]
//! requires both signatures.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, StandardVerifier, VerifierList};
use thiserror::Error;
use tlog_tiles::{Checkpoint, Hash};

use crate::sm2_note::{Sm2NoteError, Sm2NoteSigner, Sm2NoteVerifier};

/// signed-note algorithm byte of Ed25519 keys.
const ALG_ED25519: u8 = 0x01;

/// Why a checkpoint was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The bytes are not a well-formed signed note.
    #[error("checkpoint is not a well-formed signed note")]
    MalformedNote,
    /// The note carries no signature by the log key.
    #[error("checkpoint is not signed by the log key {key_name}")]
    NotSignedByLog {
        /// The key name expected.
        key_name: String,
    },
    /// A signature by the log key does not verify.
    #[error("checkpoint signature by {key_name} is invalid")]
    BadSignature {
        /// The key name whose signature failed.
        key_name: String,
    },
    /// The note text is not a `tlog-checkpoint` body.
    #[error("note text is not a checkpoint")]
    MalformedCheckpoint,
    /// The checkpoint is for another log.
    #[error("checkpoint origin {found:?} is not {expected:?}")]
    OriginMismatch {
        /// Origin required.
        expected: String,
        /// Origin found.
        found: String,
    },
    /// The verifier key is not a signed-note Ed25519 verifier key.
    #[error("log verifier key is malformed")]
    BadVerifierKey,
    /// The SM2 verifier key, or the SM2 signing key, cannot be used.
    #[error("SM2 log key: {0}")]
    Sm2Key(Sm2NoteError),
    /// The note carries no signature by the log's SM2 key, which this member requires.
    #[error("checkpoint is not signed by the SM2 log key {key_name}")]
    NotSignedBySm2 {
        /// The key name expected.
        key_name: String,
    },
    /// The signature by the log's SM2 key does not verify.
    #[error("checkpoint SM2 signature by {key_name} is invalid")]
    BadSm2Signature {
        /// The key name whose signature failed.
        key_name: String,
    },
}

/// A checkpoint whose log signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCheckpoint {
    origin: String,
    size: u64,
    root: Hash,
    note: Vec<u8>,
}

impl VerifiedCheckpoint {
    /// Log origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The signed note, as received (with every signature it carries).
    pub fn note(&self) -> &[u8] {
        &self.note
    }
}

/// A signed-note signer over an Ed25519 key, named by the log origin.
#[derive(Debug)]
pub struct NoteSigner<'a> {
    name: &'a str,
    key: &'a SigningKey,
    id: u32,
}

impl<'a> NoteSigner<'a> {
    /// A signer for key name `name` (the log origin).
    pub fn new(name: &'a str, key: &'a SigningKey) -> NoteSigner<'a> {
        let id = signed_note::key_id(name, &ed25519_key_bytes(&key.verifying_key()));
        NoteSigner { name, key, id }
    }
}

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
}

fn ed25519_key_bytes(key: &VerifyingKey) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(ALG_ED25519);
    bytes.extend_from_slice(key.as_bytes());
    bytes
}

/// The signed-note verifier key (`<name>+<id>+<base64>`) of a log key.
pub fn verifier_key(name: &str, key: &VerifyingKey) -> String {
    signed_note::new_ed25519_verifier_key(name, key)
}

/// Signs a checkpoint of `size` leaves with `root` for the log `origin`.
///
/// # Errors
/// [`CheckpointError::MalformedCheckpoint`] when `origin` is not a valid key name.
pub fn sign_checkpoint(
    origin: &str,
    size: u64,
    root: Hash,
    key: &SigningKey,
) -> Result<Vec<u8>, CheckpointError> {
    sign_note(origin, size, root, &[&NoteSigner::new(origin, key)])
}

/// Signs a checkpoint like [`sign_checkpoint`], and adds a second signature line by the
/// SM2 key `sm2` under the same key name ([`crate::sm2_note`]).
///
/// # Errors
/// [`CheckpointError::MalformedCheckpoint`] when `origin` is not a valid key name,
/// [`CheckpointError::Sm2Key`] when `sm2` has another distinguishing ID.
pub fn sign_checkpoint_with_sm2(
    origin: &str,
    size: u64,
    root: Hash,
    key: &SigningKey,
    sm2: &sm2::dsa::SigningKey,
) -> Result<Vec<u8>, CheckpointError> {
    let sm2 = Sm2NoteSigner::new(origin, sm2).map_err(CheckpointError::Sm2Key)?;
    sign_note(origin, size, root, &[&NoteSigner::new(origin, key), &sm2])
}

fn sign_note(
    origin: &str,
    size: u64,
    root: Hash,
    signers: &[&dyn signed_note::Signer],
) -> Result<Vec<u8>, CheckpointError> {
    if !signed_note::is_key_name_valid(origin) {
        return Err(CheckpointError::MalformedCheckpoint);
    }
    let checkpoint = Checkpoint::new(origin, size, root, "")
        .map_err(|_| CheckpointError::MalformedCheckpoint)?;
    let mut note =
        Note::new(&checkpoint.to_bytes(), &[]).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    note.add_sigs(signers)
        .map_err(|_| CheckpointError::MalformedCheckpoint)?;
    Ok(note.to_bytes())
}

/// Verifies a checkpoint against the log's origin and verifier key.
///
/// Signatures by other keys (witness cosignatures) are allowed and ignored here.
///
/// # Errors
/// Every [`CheckpointError`] variant but `BadVerifierKey` describes the bytes; that one the
/// key.
pub fn open_checkpoint(
    bytes: &[u8],
    origin: &str,
    log_vkey: &str,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    open_checkpoint_with_sm2(bytes, origin, log_vkey, None)
}

/// Verifies a checkpoint like [`open_checkpoint`] and, when `sm2_vkey` names the log's SM2
/// key ([`crate::sm2_note::sm2_verifier_key`]), requires its signature too.
///
/// # Errors
/// As [`open_checkpoint`]; [`CheckpointError::NotSignedBySm2`] and
/// [`CheckpointError::BadSm2Signature`] for the SM2 line, [`CheckpointError::Sm2Key`] for a
/// malformed `sm2_vkey`.
pub fn open_checkpoint_with_sm2(
    bytes: &[u8],
    origin: &str,
    log_vkey: &str,
    sm2_vkey: Option<&str>,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    use signed_note::Verifier as _;
    let verifier = StandardVerifier::new(log_vkey).map_err(|_| CheckpointError::BadVerifierKey)?;
    let key_name = verifier.name().to_owned();
    let log_id = verifier.key_id();
    let sm2 = sm2_vkey
        .map(Sm2NoteVerifier::new)
        .transpose()
        .map_err(CheckpointError::Sm2Key)?;
    let sm2_key = sm2
        .as_ref()
        .map(|sm2| (sm2.name().to_owned(), sm2.key_id()));
    let note = Note::from_bytes(bytes).map_err(|_| CheckpointError::MalformedNote)?;
    let mut verifiers: Vec<Box<dyn signed_note::Verifier>> = vec![Box::new(verifier)];
    verifiers.extend(sm2.map(|sm2| Box::new(sm2) as Box<dyn signed_note::Verifier>));
    let verified = match note.verify(&VerifierList::new(verifiers)) {
        Ok((verified, _)) => verified,
        Err(signed_note::NoteError::UnverifiedNote) => {
            return Err(CheckpointError::NotSignedByLog { key_name });
        }
        Err(signed_note::NoteError::InvalidSignature { name, id }) => {
            return Err(
                if sm2_key.as_ref().is_some_and(|(_, sm2_id)| *sm2_id == id) {
                    CheckpointError::BadSm2Signature { key_name: name }
                } else {
                    CheckpointError::BadSignature { key_name: name }
                },
            );
        }
        Err(_) => return Err(CheckpointError::MalformedNote),
    };
    let signed_by = |name: &str, id: u32| {
        verified
            .iter()
            .any(|signature| signature.name() == name && signature.id() == id)
    };
    if !signed_by(&key_name, log_id) {
        return Err(CheckpointError::NotSignedByLog { key_name });
    }
    if let Some((sm2_name, sm2_id)) = sm2_key
        && !signed_by(&sm2_name, sm2_id)
    {
        return Err(CheckpointError::NotSignedBySm2 { key_name: sm2_name });
    }
    let checkpoint =
        Checkpoint::from_bytes(note.text()).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    if checkpoint.origin() != origin {
        return Err(CheckpointError::OriginMismatch {
            expected: origin.to_owned(),
            found: checkpoint.origin().to_owned(),
        });
    }
    Ok(VerifiedCheckpoint {
        origin: origin.to_owned(),
        size: checkpoint.size(),
        root: *checkpoint.hash(),
        note: bytes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "registry.cq-sc.example/log";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[5u8; 32])
    }

    fn vkey() -> String {
        verifier_key(ORIGIN, &key().verifying_key())
    }

    #[test]
    fn signed_checkpoint_opens() {
        let note = sign_checkpoint(ORIGIN, 7, Hash([9; 32]), &key()).expect("signs");
        let text = String::from_utf8(note.clone()).expect("UTF-8");
        assert!(text.starts_with(&format!("{ORIGIN}\n7\n")), "{text}");
        let checkpoint = open_checkpoint(&note, ORIGIN, &vkey()).expect("opens");
        assert_eq!(checkpoint.size(), 7);
        assert_eq!(checkpoint.root(), &Hash([9; 32]));
    }

    #[test]
    fn other_key_origin_and_tampering_are_refused() {
        let note = sign_checkpoint(ORIGIN, 7, Hash([9; 32]), &key()).expect("signs");
        let other = verifier_key(ORIGIN, &SigningKey::from_bytes(&[6u8; 32]).verifying_key());
        assert!(matches!(
            open_checkpoint(&note, ORIGIN, &other),
            Err(CheckpointError::NotSignedByLog { .. })
        ));
        let other_origin = verifier_key("registry.cd-hz.example/log", &key().verifying_key());
        assert!(open_checkpoint(&note, "registry.cd-hz.example/log", &other_origin).is_err());
        let tampered = String::from_utf8(note)
            .expect("UTF-8")
            .replacen("\n7\n", "\n8\n", 1);
        assert!(matches!(
            open_checkpoint(tampered.as_bytes(), ORIGIN, &vkey()),
            Err(CheckpointError::BadSignature { .. })
        ));
        assert_eq!(
            open_checkpoint(b"garbage", ORIGIN, &vkey()),
            Err(CheckpointError::MalformedNote)
        );
    }

    fn sm2_key() -> sm2::dsa::SigningKey {
        sm2::dsa::SigningKey::from_slice(crate::sm2_note::SM2_DISTINGUISHING_ID, &[0x33; 32])
            .expect("an SM2 key")
    }

    fn sm2_vkey() -> String {
        crate::sm2_note::sm2_verifier_key(ORIGIN, sm2_key().verifying_key()).expect("vkey")
    }

    #[test]
    fn a_checkpoint_with_an_sm2_line_opens_with_and_without_requiring_it() {
        let note =
            sign_checkpoint_with_sm2(ORIGIN, 7, Hash([9; 32]), &key(), &sm2_key()).expect("signs");
        let text = String::from_utf8(note.clone()).expect("UTF-8");
        assert_eq!(text.matches("\n— ").count(), 2, "{text}");
        let both = open_checkpoint_with_sm2(&note, ORIGIN, &vkey(), Some(&sm2_vkey()))
            .expect("both verify");
        assert_eq!(both.size(), 7);
        assert_eq!(
            open_checkpoint(&note, ORIGIN, &vkey()).expect("Ed25519 alone"),
            both
        );
    }

    #[test]
    fn a_required_sm2_line_that_is_missing_forged_or_alone_is_refused() {
        let ed_only = sign_checkpoint(ORIGIN, 7, Hash([9; 32]), &key()).expect("signs");
        assert!(matches!(
            open_checkpoint_with_sm2(&ed_only, ORIGIN, &vkey(), Some(&sm2_vkey())),
            Err(CheckpointError::NotSignedBySm2 { .. })
        ));
        // The SM2 line of another key under the same name is ignored, so still missing.
        let other =
            sm2::dsa::SigningKey::from_slice(crate::sm2_note::SM2_DISTINGUISHING_ID, &[0x34; 32])
                .expect("key");
        let wrong =
            sign_checkpoint_with_sm2(ORIGIN, 7, Hash([9; 32]), &key(), &other).expect("signs");
        assert!(matches!(
            open_checkpoint_with_sm2(&wrong, ORIGIN, &vkey(), Some(&sm2_vkey())),
            Err(CheckpointError::NotSignedBySm2 { .. })
        ));
        // A flipped bit in the SM2 signature.
        let good =
            sign_checkpoint_with_sm2(ORIGIN, 7, Hash([9; 32]), &key(), &sm2_key()).expect("signs");
        let text = String::from_utf8(good).expect("UTF-8");
        let (head, line) = text.trim_end().rsplit_once("— ").expect("the SM2 line");
        let (name, signature) = line.split_once(' ').expect("name, signature");
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut bytes = engine.decode(signature).expect("base64");
        bytes[20] ^= 0x80;
        let forged = format!("{head}— {name} {}\n", engine.encode(&bytes));
        assert!(matches!(
            open_checkpoint_with_sm2(forged.as_bytes(), ORIGIN, &vkey(), Some(&sm2_vkey())),
            Err(CheckpointError::BadSm2Signature { .. })
        ));
        // An SM2 signature alone does not stand for the log key.
        let mut note = Note::new(
            &Checkpoint::new(ORIGIN, 7, Hash([9; 32]), "")
                .expect("checkpoint")
                .to_bytes(),
            &[],
        )
        .expect("note");
        let sm2 = sm2_key();
        note.add_sigs(&[&Sm2NoteSigner::new(ORIGIN, &sm2).expect("signer")])
            .expect("signs");
        assert!(matches!(
            open_checkpoint_with_sm2(&note.to_bytes(), ORIGIN, &vkey(), Some(&sm2_vkey())),
            Err(CheckpointError::NotSignedByLog { .. })
        ));
        assert!(matches!(
            open_checkpoint_with_sm2(&ed_only, ORIGIN, &vkey(), Some("not a key")),
            Err(CheckpointError::Sm2Key(_))
        ));
    }
}
