//! Witness cosignatures: C2SP [`tlog-cosignature`](https://c2sp.org/tlog-cosignature),
//! type `cosignature/v1` (Ed25519).
//!
//! A cosignature is one more [signed-note](https://c2sp.org/signed-note) signature line on a
//! checkpoint:
//!
//! ```text
//! — <cosigner name> base64(key ID (4 bytes) || timestamp (u64, big endian) || Ed25519 signature (64 bytes))
//! ```
//!
//! - key ID = `SHA-256(<name> || "\n" || 0x04 || 32-byte public key)[:4]`, so it never equals
//!   the ID of the same key used as an ordinary note signer (type byte 0x01);
//! - the signature covers `"cosignature/v1\n" || "time " || <timestamp, decimal, no leading
//!   zeros> || "\n" || <checkpoint note body>`, the body being the note text up to the blank
//!   line before the signatures, including its final newline (extension lines included);
//! - the timestamp is POSIX seconds and must not exceed 2^63 − 1;
//! - a cosigner's public key is written as a vkey `<name>+<8 lowercase hex key ID>+<base64(0x04
//!   || public key)>`.
//!
//! Semantically, a cosignature says: "as of this time, this is the largest checkpoint
//! consistent with everything I have seen of this log". The `witness` module decides
//! when to give one; this module only makes and checks them.
//!
//! Log signatures and cosignatures live in the same note. `signed_note` ignores signature
//! lines of keys it was not given, so a checkpoint with cosignatures attached still opens with
//! [`open_checkpoint`](crate::checkpoint::open_checkpoint) and the log key alone, and
//! [`verify_cosignatures`] likewise ignores the log signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature as Ed25519Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use signed_note::{Note, Signature};
use thiserror::Error;
use tlog_tiles::Checkpoint;

/// Signed-note signature type byte of `cosignature/v1` Ed25519 keys.
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;

/// First line of every `cosignature/v1` signed message (domain separation).
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// Largest timestamp a cosignature may carry (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Largest note `signed_note` parses (its `MAX_NOTE_SIZE`); [`attach`] never makes a larger one.
pub const MAX_NOTE_SIZE: usize = 1_000_000;

/// Most signature lines `signed_note` accepts on a note (its `MAX_NOTE_SIGNATURES`);
/// [`attach`] never makes a note with more.
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// Length of a `cosignature/v1` signature after the key ID: timestamp and Ed25519 signature.
const TIMESTAMPED_SIGNATURE_LEN: usize = 8 + 64;

/// Why a cosignature, a cosigner key or a cosigned note was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The key name is empty, or contains whitespace or `+` (signed-note key name rules).
    #[error("invalid cosigner key name {0:?}")]
    InvalidKeyName(String),
    /// The vkey is not `<name>+<8 hex digits>+<base64>` with 33 bytes of key material.
    #[error("malformed cosigner verifier key")]
    MalformedVkey,
    /// The vkey's key material is not of type 0x04 (`cosignature/v1` Ed25519).
    #[error("verifier key type 0x{0:02x} is not cosignature/v1 (0x04)")]
    UnsupportedKeyType(u8),
    /// The vkey's key ID is not the one its name and key give.
    #[error("verifier key ID {found:08x} does not match the computed {expected:08x}")]
    KeyIdMismatch {
        /// Key ID computed from the name and key.
        expected: u32,
        /// Key ID written in the vkey.
        found: u32,
    },
    /// The public key is not a usable Ed25519 point (invalid or of small order).
    #[error("cosigner public key is not a valid Ed25519 key")]
    InvalidPublicKey,
    /// The bytes are not a well-formed signed note (or a note body, where one is expected).
    #[error("not a well-formed signed note")]
    MalformedNote,
    /// The note body is not a `tlog-checkpoint`.
    #[error("note body is not a checkpoint")]
    MalformedCheckpoint,
    /// The timestamp exceeds 2^63 − 1.
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// A line given to [`attach`] is not a signed-note signature line.
    #[error("cosignature line {index} is not a signed-note signature line")]
    MalformedSignatureLine {
        /// Zero-based index of the line.
        index: usize,
    },
    /// A signature line is not shaped as a `cosignature/v1` (72 bytes after the key ID, with
    /// a timestamp of at most 2^63 − 1).
    #[error("signature by {name}+{key_id:08x} is not a cosignature/v1")]
    MalformedCosignature {
        /// Key name on the line.
        name: String,
        /// Key ID on the line.
        key_id: u32,
    },
    /// A cosignature by a trusted cosigner does not verify.
    #[error("cosignature by {name}+{key_id:08x} is invalid")]
    InvalidCosignature {
        /// Key name on the line.
        name: String,
        /// Key ID on the line.
        key_id: u32,
    },
    /// A cosignature line carries the key name and ID of the note's first (log) signature,
    /// which [`attach`] never replaces.
    #[error("cosignature by {name}+{key_id:08x} collides with the log signature")]
    LogKeyCollision {
        /// Key name on the line.
        name: String,
        /// Key ID on the line.
        key_id: u32,
    },
    /// The cosigned note would have more than [`MAX_NOTE_SIGNATURES`] signature lines.
    #[error("note would carry {0} signatures, more than signed-note accepts")]
    TooManySignatures(usize),
    /// The cosigned note would be larger than [`MAX_NOTE_SIZE`] bytes.
    #[error("note would be {0} bytes, more than signed-note accepts")]
    NoteTooLarge(usize),
}

/// The `cosignature/v1` key ID of an Ed25519 public key under `name`.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([COSIGNATURE_V1_TYPE]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The message a `cosignature/v1` signs: header line, `time <timestamp>` line, note body.
///
/// `body` is used as given; [`Cosigner::cosign`] checks it before calling this.
pub fn signed_message(body: &[u8], timestamp: u64) -> Vec<u8> {
    let time_line = format!("time {timestamp}\n");
    let mut message =
        Vec::with_capacity(COSIGNATURE_V1_HEADER.len() + time_line.len() + body.len());
    message.extend_from_slice(COSIGNATURE_V1_HEADER.as_bytes());
    message.extend_from_slice(time_line.as_bytes());
    message.extend_from_slice(body);
    message
}

fn vkey_string(name: &str, key_id: u32, key: &VerifyingKey) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(COSIGNATURE_V1_TYPE);
    material.extend_from_slice(key.as_bytes());
    format!("{name}+{key_id:08x}+{}", BASE64.encode(material))
}

/// A witness's `cosignature/v1` signing key and its name.
#[derive(Debug)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl Cosigner {
    /// A cosigner named `name` (a schema-less URL, e.g. `registry.cq-sc.example/witness`).
    ///
    /// # Errors
    /// [`CosignatureError::InvalidKeyName`] when `name` is not a signed-note key name.
    pub fn new(name: &str, key: SigningKey) -> Result<Cosigner, CosignatureError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(CosignatureError::InvalidKeyName(name.to_owned()));
        }
        let key_id = key_id(name, &key.verifying_key());
        Ok(Cosigner {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// The cosigner's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosigner's key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The public half, as verifiers configure it.
    pub fn key(&self) -> CosignerKey {
        CosignerKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// The cosigner's verifier key, `<name>+<key ID>+<base64(0x04 || key)>`.
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, self.key_id, &self.key.verifying_key())
    }

    /// Cosigns a checkpoint at `timestamp` (POSIX seconds), returning one signature line
    /// `— <name> <base64>\n` ready for [`attach`] or an `add-checkpoint` response.
    ///
    /// `checkpoint_text` is the checkpoint note body (its text up to the blank line, with its
    /// final newline) or the whole signed note, whose signature lines are then left out of
    /// the signed message. Checkpoint bodies never contain a blank line, so the two cannot be
    /// confused. Nothing is verified here: the caller (the witness) has checked the log
    /// signature and consistency before.
    ///
    /// # Errors
    /// [`CosignatureError::TimestampOutOfRange`] above 2^63 − 1;
    /// [`CosignatureError::MalformedNote`] when the text is neither a note body nor a signed
    /// note; [`CosignatureError::MalformedCheckpoint`] when the body is not a checkpoint.
    pub fn cosign(
        &self,
        checkpoint_text: &[u8],
        timestamp: u64,
    ) -> Result<Vec<u8>, CosignatureError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        let body = note_body(checkpoint_text)?;
        let signature = self.key.sign(&signed_message(&body, timestamp));
        let mut payload = Vec::with_capacity(4 + TIMESTAMPED_SIGNATURE_LEN);
        payload.extend_from_slice(&self.key_id.to_be_bytes());
        payload.extend_from_slice(&timestamp.to_be_bytes());
        payload.extend_from_slice(&signature.to_bytes());
        Ok(format!("— {} {}\n", self.name, BASE64.encode(payload)).into_bytes())
    }
}

/// The body of a checkpoint given either as a bare body or as a whole signed note.
fn note_body(text: &[u8]) -> Result<Vec<u8>, CosignatureError> {
    let body = if text.windows(2).any(|pair| pair == b"\n\n") {
        Note::from_bytes(text)
            .map_err(|_| CosignatureError::MalformedNote)?
            .text()
            .to_vec()
    } else {
        Note::new(text, &[])
            .map_err(|_| CosignatureError::MalformedNote)?
            .text()
            .to_vec()
    };
    Checkpoint::from_bytes(&body).map_err(|_| CosignatureError::MalformedCheckpoint)?;
    Ok(body)
}

/// A trusted cosigner: name, Ed25519 public key and `cosignature/v1` key ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignerKey {
    /// Key name (the witness name).
    pub name: String,
    /// Ed25519 public key.
    pub key: VerifyingKey,
    /// `cosignature/v1` key ID of `name` and `key` (see [`key_id`]).
    pub key_id: u32,
}

impl CosignerKey {
    /// The cosigner `name` with `key`, its key ID computed.
    ///
    /// # Errors
    /// [`CosignatureError::InvalidKeyName`], [`CosignatureError::InvalidPublicKey`] for a key
    /// of small order.
    pub fn new(name: &str, key: VerifyingKey) -> Result<CosignerKey, CosignatureError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(CosignatureError::InvalidKeyName(name.to_owned()));
        }
        if key.is_weak() {
            return Err(CosignatureError::InvalidPublicKey);
        }
        Ok(CosignerKey {
            name: name.to_owned(),
            key_id: key_id(name, &key),
            key,
        })
    }

    /// Parses a `cosignature/v1` vkey `<name>+<8 hex key ID>+<base64(0x04 || key)>`.
    ///
    /// # Errors
    /// [`CosignatureError::MalformedVkey`], [`CosignatureError::InvalidKeyName`],
    /// [`CosignatureError::UnsupportedKeyType`], [`CosignatureError::InvalidPublicKey`],
    /// [`CosignatureError::KeyIdMismatch`].
    pub fn from_vkey(vkey: &str) -> Result<CosignerKey, CosignatureError> {
        // Key names cannot contain `+`, base64 can: only the first two `+` separate.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CosignatureError::MalformedVkey);
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(CosignatureError::InvalidKeyName(name.to_owned()));
        }
        // Lowercase only, as every vkey is written: a key has one text, so a configured
        // vkey compares equal to the one this code writes for the same key.
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(CosignatureError::MalformedVkey);
        }
        let found = u32::from_str_radix(id_hex, 16).map_err(|_| CosignatureError::MalformedVkey)?;
        let material = BASE64
            .decode(material)
            .map_err(|_| CosignatureError::MalformedVkey)?;
        let (&key_type, key_bytes) = material
            .split_first()
            .ok_or(CosignatureError::MalformedVkey)?;
        if key_type != COSIGNATURE_V1_TYPE {
            return Err(CosignatureError::UnsupportedKeyType(key_type));
        }
        let key_bytes: [u8; 32] = key_bytes
            .try_into()
            .map_err(|_| CosignatureError::MalformedVkey)?;
        let key =
            VerifyingKey::from_bytes(&key_bytes).map_err(|_| CosignatureError::InvalidPublicKey)?;
        let cosigner = CosignerKey::new(name, key)?;
        if cosigner.key_id != found {
            return Err(CosignatureError::KeyIdMismatch {
                expected: cosigner.key_id,
                found,
            });
        }
        Ok(cosigner)
    }

    /// The verifier key, `<name>+<key ID>+<base64(0x04 || key)>`.
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, self.key_id, &self.key)
    }

    fn matches(&self, signature: &Signature) -> bool {
        self.name == signature.name() && self.key_id == signature.id()
    }
}

/// A cosignature that verified against a trusted [`CosignerKey`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCosignature {
    /// The cosigner's name.
    pub name: String,
    /// When the cosigner signed (POSIX seconds, as the cosigner claims it).
    pub timestamp: u64,
}

/// A signed note split into its body and its signatures, in order.
struct ParsedNote {
    body: Vec<u8>,
    signatures: Vec<Signature>,
}

fn parse_note(note: &[u8]) -> Result<ParsedNote, CosignatureError> {
    let parsed = Note::from_bytes(note).map_err(|_| CosignatureError::MalformedNote)?;
    // `Note` does not expose its signatures. `Note::from_bytes` accepted the note, so it is
    // UTF-8 and its signature block is the text after the last blank line; each line is
    // parsed again the same way `signed_note` did.
    let text = std::str::from_utf8(note).map_err(|_| CosignatureError::MalformedNote)?;
    let block = text
        .rsplit_once("\n\n")
        .and_then(|(_, block)| block.strip_suffix('\n'))
        .ok_or(CosignatureError::MalformedNote)?;
    let signatures = block
        .split('\n')
        .map(|line| Signature::from_bytes(line.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CosignatureError::MalformedNote)?;
    Ok(ParsedNote {
        body: parsed.text().to_vec(),
        signatures,
    })
}

/// Splits a `cosignature/v1` signature (after the key ID) into timestamp and signature.
fn split_cosignature(signature: &Signature) -> Result<(u64, Ed25519Signature), CosignatureError> {
    let malformed = || CosignatureError::MalformedCosignature {
        name: signature.name().to_owned(),
        key_id: signature.id(),
    };
    let bytes: &[u8; TIMESTAMPED_SIGNATURE_LEN] =
        signature.signature().try_into().map_err(|_| malformed())?;
    let (timestamp, ed25519) = bytes.split_at(8);
    let timestamp = u64::from_be_bytes(timestamp.try_into().map_err(|_| malformed())?);
    if timestamp > MAX_TIMESTAMP {
        return Err(malformed());
    }
    let ed25519: &[u8; 64] = ed25519.try_into().map_err(|_| malformed())?;
    Ok((timestamp, Ed25519Signature::from_bytes(ed25519)))
}

/// Verifies the cosignatures of a signed checkpoint against trusted cosigners.
///
/// Lines whose (name, key ID) is not one of `cosigners` are ignored, the log signature
/// among them. Only the first line of each trusted cosigner counts (as `signed_note` does);
/// later lines by the same key are ignored. The result lists the verified cosignatures in
/// note order, at most one per cosigner, possibly none: counting them against a quorum, and
/// refusing timestamps in the future, is the caller's policy. This does not check the log
/// signature: open the note with [`open_checkpoint`](crate::checkpoint::open_checkpoint).
///
/// # Errors
/// [`CosignatureError::MalformedNote`], [`CosignatureError::MalformedCheckpoint`];
/// [`CosignatureError::MalformedCosignature`] or [`CosignatureError::InvalidCosignature`] when
/// a line of a trusted cosigner is not a valid cosignature of this checkpoint — a trusted
/// witness does not sign garbage, so the note is refused rather than the line skipped.
pub fn verify_cosignatures(
    note: &[u8],
    cosigners: &[CosignerKey],
) -> Result<Vec<VerifiedCosignature>, CosignatureError> {
    let parsed = parse_note(note)?;
    Checkpoint::from_bytes(&parsed.body).map_err(|_| CosignatureError::MalformedCheckpoint)?;
    let mut verified: Vec<VerifiedCosignature> = Vec::new();
    let mut seen: Vec<(&str, u32)> = Vec::new();
    for signature in &parsed.signatures {
        let trusted: Vec<&CosignerKey> = cosigners
            .iter()
            .filter(|cosigner| cosigner.matches(signature))
            .collect();
        if trusted.is_empty() || seen.contains(&(signature.name(), signature.id())) {
            continue;
        }
        seen.push((signature.name(), signature.id()));
        let (timestamp, ed25519) = split_cosignature(signature)?;
        let message = signed_message(&parsed.body, timestamp);
        // Two trusted keys can share a name and a 32-bit key ID only by accident (or by
        // configuration error); the line is valid if either key signed it.
        if !trusted
            .iter()
            .any(|cosigner| cosigner.key.verify_strict(&message, &ed25519).is_ok())
        {
            return Err(CosignatureError::InvalidCosignature {
                name: signature.name().to_owned(),
                key_id: signature.id(),
            });
        }
        verified.push(VerifiedCosignature {
            name: signature.name().to_owned(),
            timestamp,
        });
    }
    Ok(verified)
}

/// Adds cosignature lines (as [`Cosigner::cosign`] or a witness's `add-checkpoint` response
/// gives them: zero or more `— <name> <base64>\n` lines) to a signed note.
///
/// The note's first signature (the log's) stays first and is never replaced. A line whose
/// (name, key ID) is already on the note replaces that signature in place (a fresher
/// cosignature by the same witness); among the new lines, the last one per key wins; other
/// lines are appended in order. Nothing is verified here: verify the result with
/// [`verify_cosignatures`] before relying on it. The result still opens with
/// [`open_checkpoint`](crate::checkpoint::open_checkpoint), which ignores cosignatures.
///
/// # Errors
/// [`CosignatureError::MalformedNote`], [`CosignatureError::MalformedSignatureLine`],
/// [`CosignatureError::MalformedCosignature`] (a line that is not 72 bytes after its key ID),
/// [`CosignatureError::LogKeyCollision`], [`CosignatureError::TooManySignatures`],
/// [`CosignatureError::NoteTooLarge`].
pub fn attach(note: &[u8], cosignature_lines: &[u8]) -> Result<Vec<u8>, CosignatureError> {
    let mut parsed = parse_note(note)?;
    let new = parse_signature_lines(cosignature_lines)?;
    for signature in new {
        split_cosignature(&signature)?;
        let key = (signature.name(), signature.id());
        let position = parsed
            .signatures
            .iter()
            .position(|existing| (existing.name(), existing.id()) == key);
        match position {
            Some(0) => {
                return Err(CosignatureError::LogKeyCollision {
                    name: signature.name().to_owned(),
                    key_id: signature.id(),
                });
            }
            Some(index) => {
                if let Some(slot) = parsed.signatures.get_mut(index) {
                    *slot = signature;
                }
            }
            None => parsed.signatures.push(signature),
        }
    }
    if parsed.signatures.len() > MAX_NOTE_SIGNATURES {
        return Err(CosignatureError::TooManySignatures(parsed.signatures.len()));
    }
    let mut out = parsed.body;
    out.push(b'\n');
    for signature in &parsed.signatures {
        out.extend_from_slice(&signature.to_bytes());
    }
    if out.len() > MAX_NOTE_SIZE {
        return Err(CosignatureError::NoteTooLarge(out.len()));
    }
    Ok(out)
}

/// Parses zero or more newline-terminated signature lines.
fn parse_signature_lines(lines: &[u8]) -> Result<Vec<Signature>, CosignatureError> {
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let Some(lines) = lines.strip_suffix(b"\n") else {
        // The last line is not newline-terminated.
        let index = lines.iter().filter(|&&b| b == b'\n').count();
        return Err(CosignatureError::MalformedSignatureLine { index });
    };
    lines
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(index, line)| {
            Signature::from_bytes(line)
                .map_err(|_| CosignatureError::MalformedSignatureLine { index })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn body_and_whole_note_sign_the_same_message() {
        let cosigner =
            Cosigner::new("w.example/w1", SigningKey::from_bytes(&[3; 32])).expect("name");
        let mut note = BODY.to_vec();
        note.extend_from_slice(b"\n");
        note.extend_from_slice(&cosigner.cosign(BODY, 1).expect("cosigns"));
        assert_eq!(
            cosigner.cosign(BODY, 1).expect("body"),
            cosigner.cosign(&note, 1).expect("note")
        );
    }

    #[test]
    fn a_vkey_has_one_text_and_an_uppercase_key_id_is_refused() {
        // A key whose id has a letter in it (most have).
        let (vkey, name, id, material) = (1u8..=255)
            .map(|seed| {
                let cosigner = Cosigner::new("w.example/w1", SigningKey::from_bytes(&[seed; 32]))
                    .expect("name");
                cosigner.key().vkey()
            })
            .find_map(|vkey| {
                let (name, rest) = vkey.split_once('+')?;
                let (id, material) = rest.split_once('+')?;
                id.bytes().any(|b| b.is_ascii_lowercase()).then(|| {
                    (
                        vkey.clone(),
                        name.to_owned(),
                        id.to_owned(),
                        material.to_owned(),
                    )
                })
            })
            .expect("a key id with a letter");
        assert_eq!(CosignerKey::from_vkey(&vkey).expect("reads").vkey(), vkey);
        // The property test's find: the key id in capitals read as the same key, so one
        // key had two texts.
        let shouted = format!("{name}+{}+{material}", id.to_ascii_uppercase());
        assert_eq!(
            CosignerKey::from_vkey(&shouted),
            Err(CosignatureError::MalformedVkey)
        );
    }

    #[test]
    fn cosign_refuses_what_is_not_a_checkpoint() {
        let cosigner =
            Cosigner::new("w.example/w1", SigningKey::from_bytes(&[3; 32])).expect("name");
        assert_eq!(
            cosigner.cosign(b"not\na checkpoint\n", 1),
            Err(CosignatureError::MalformedCheckpoint)
        );
        assert_eq!(
            cosigner.cosign(b"no final newline", 1),
            Err(CosignatureError::MalformedNote)
        );
        assert_eq!(
            cosigner.cosign(BODY, MAX_TIMESTAMP + 1),
            Err(CosignatureError::TimestampOutOfRange(MAX_TIMESTAMP + 1))
        );
    }

    #[test]
    fn signature_lines_without_final_newline_are_refused() {
        assert_eq!(
            parse_signature_lines(b"\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 b AAAAAAA="),
            Err(CosignatureError::MalformedSignatureLine { index: 1 })
        );
    }
}
