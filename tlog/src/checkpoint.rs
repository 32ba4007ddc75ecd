//! Checkpoints: C2SP `tlog-checkpoint` tree heads signed as C2SP `signed-note`s with the
//! member's log key, whose key name is the log origin (`registry.cq-sc.example/log`).
//!
//! [`open_checkpoint`] is the one way to turn bytes into a [`VerifiedCheckpoint`]: it parses
//! the note, requires a valid signature by the log key, and checks the origin.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, StandardVerifier, VerifierList};
use thiserror::Error;
use tlog_tiles::{Checkpoint, Hash};

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
    if !signed_note::is_key_name_valid(origin) {
        return Err(CheckpointError::MalformedCheckpoint);
    }
    let checkpoint = Checkpoint::new(origin, size, root, "")
        .map_err(|_| CheckpointError::MalformedCheckpoint)?;
    let mut note =
        Note::new(&checkpoint.to_bytes(), &[]).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    note.add_sigs(&[&NoteSigner::new(origin, key)])
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
    let verifier = StandardVerifier::new(log_vkey).map_err(|_| CheckpointError::BadVerifierKey)?;
    let key_name = signed_note::Verifier::name(&verifier).to_owned();
    let note = Note::from_bytes(bytes).map_err(|_| CheckpointError::MalformedNote)?;
    match note.verify(&VerifierList::new(vec![Box::new(verifier)])) {
        Ok(_) => {}
        Err(signed_note::NoteError::UnverifiedNote) => {
            return Err(CheckpointError::NotSignedByLog { key_name });
        }
        Err(signed_note::NoteError::InvalidSignature { name, .. }) => {
            return Err(CheckpointError::BadSignature { key_name: name });
        }
        Err(_) => return Err(CheckpointError::MalformedNote),
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
}
