//! The witness side of C2SP [`tlog-witness`](https://c2sp.org/tlog-witness): the
//! `add-checkpoint` request codec and the decision whether to cosign, as a pure function of
//! the request, the trusted logs and the witness's last record for the log.
//!
//! ```text
//! POST <prefix>/add-checkpoint
//!
//! old <size>\n                  previous size, decimal, no leading zeros
//! <base64 hash>\n               zero to 63 consistency proof lines (none when old is 0)
//! \n                            an empty line
//! <signed checkpoint note>      with one or more signatures
//! ```
//!
//! [`add_checkpoint`] applies the checks of the spec in its order, each with its HTTP status
//! ([`WitnessError::http_status`]):
//!
//! | check | error | status |
//! |---|---|---|
//! | body or checkpoint malformed | [`WitnessError::Malformed`] | 400 |
//! | origin not witnessed | [`WitnessError::UnknownOrigin`] | 404 |
//! | no valid signature by a trusted log key | [`WitnessError::NotSignedByLog`] | 403 |
//! | old size > checkpoint size | [`WitnessError::OldSizeTooLarge`] | 400 |
//! | old size ≠ size last cosigned (0 if never) | [`WitnessError::SizeMismatch`] | 409, body `<latest size>\n`, `Content-Type: text/x.tlog.size` |
//! | old size = checkpoint size, roots differ | [`WitnessError::RootMismatch`] | 409 |
//! | consistency proof does not verify | [`WitnessError::BadConsistencyProof`] | 422 |
//!
//! On success the response is `200` with the cosignature line(s) as body.
//!
//! **The caller persists.** [`add_checkpoint`] reads the witness's [`WitnessRecord`] for the
//! origin and returns the new one; it stores nothing. The caller must check-and-store
//! atomically — hold a per-origin lock (or compare-and-swap on the stored record) from
//! reading `previous` until the new record is durable, and answer only then. Otherwise two
//! concurrent requests can both pass against the same `previous` and the later write rolls
//! the record back (the race spelled out in the spec).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::Note;
use thiserror::Error;
use tlog_tiles::Checkpoint;

use crate::Hash;
use crate::checkpoint::{CheckpointError, VerifiedCheckpoint, open_checkpoint_with_sm2};
use crate::cosignature::{CosignatureError, Cosigner};
use crate::merkle::{format_hash, verify_consistency};

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// Largest `add-checkpoint` body accepted: a checkpoint note can be as large as
/// `signed_note` parses (1 MB), plus the old size and proof lines.
pub const MAX_REQUEST_SIZE: usize = 1_048_576;

/// `Content-Type` of a 409 [`WitnessError::SizeMismatch`] response.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a request body (or a 409 size response) is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MalformedBody {
    /// The body is larger than [`MAX_REQUEST_SIZE`].
    #[error("body larger than {MAX_REQUEST_SIZE} bytes")]
    TooLarge,
    /// The first line is not `old <decimal size>` without leading zeros.
    #[error("first line is not `old <size>`")]
    OldSizeLine,
    /// A consistency proof line is not one base64 hash of 32 bytes.
    #[error("proof line {index} is not a base64 hash")]
    ProofLine {
        /// Zero-based index of the proof line.
        index: usize,
    },
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} proof lines")]
    TooManyProofLines,
    /// No empty line ends the proof.
    #[error("no empty line between the proof and the checkpoint")]
    MissingEmptyLine,
    /// `old 0` with proof lines: the spec requires an empty proof from size zero.
    #[error("a proof from old size 0 must be empty")]
    ProofFromZero,
    /// The checkpoint is not a signed note whose body is a `tlog-checkpoint`.
    #[error("checkpoint is not a signed tlog-checkpoint note")]
    Checkpoint,
    /// A 409 body is not `<decimal size>\n`.
    #[error("size response is not `<size>\\n`")]
    SizeResponse,
}

/// Why the witness did not cosign. [`WitnessError::http_status`] gives the response status.
// `PartialEq` only: `Hash` is not `Eq`.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request (or a size response) is malformed. 400.
    #[error("malformed add-checkpoint body: {0}")]
    Malformed(MalformedBody),
    /// The checkpoint's origin is not a log this witness witnesses. 404.
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin {
        /// The checkpoint's origin.
        origin: String,
    },
    /// No signature on the checkpoint verifies against a trusted key of its log. 403.
    #[error("checkpoint carries no valid signature by its log")]
    NotSignedByLog,
    /// The old size is larger than the checkpoint's size. 400.
    #[error("old size {old_size} exceeds checkpoint size {size}")]
    OldSizeTooLarge {
        /// Old size in the request.
        old_size: u64,
        /// Size of the submitted checkpoint.
        size: u64,
    },
    /// The old size is not the size this witness last cosigned. 409 with body
    /// [`size_conflict_body`]`(latest)` and `Content-Type` [`SIZE_CONTENT_TYPE`].
    #[error("old size does not match the latest cosigned size {latest}")]
    SizeMismatch {
        /// Size of the latest checkpoint cosigned for the origin (0 if none).
        latest: u64,
    },
    /// A checkpoint of the size last cosigned but with another root: the log signed two
    /// views of the same tree (equivocation). Both notes are evidence. 409.
    #[error("checkpoint of size {} has another root than the one cosigned", .previous.size)]
    RootMismatch {
        /// What the witness cosigned before.
        previous: WitnessRecord,
        /// The conflicting checkpoint note, as received (log signature verified).
        received: Vec<u8>,
    },
    /// The consistency proof from the last cosigned checkpoint does not verify. The log
    /// signature of `received` did; keep both if the log is suspected. 422.
    #[error("consistency proof from size {} does not verify", .previous.size)]
    BadConsistencyProof {
        /// What the witness cosigned before.
        previous: WitnessRecord,
        /// The checkpoint note, as received (log signature verified).
        received: Vec<u8>,
    },
    /// A configured log verifier key is malformed: a witness configuration error. 500.
    #[error("verifier key configured for {origin:?} is malformed")]
    BadLogKey {
        /// Origin whose key is malformed.
        origin: String,
    },
    /// The cosignature could not be made (the clock is beyond 2^63 − 1). 500.
    #[error("cannot cosign: {0}")]
    Cosign(CosignatureError),
}

impl WitnessError {
    /// The HTTP status of the `add-checkpoint` response for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            WitnessError::Malformed(_) | WitnessError::OldSizeTooLarge { .. } => 400,
            WitnessError::NotSignedByLog => 403,
            WitnessError::UnknownOrigin { .. } => 404,
            WitnessError::SizeMismatch { .. } | WitnessError::RootMismatch { .. } => 409,
            WitnessError::BadConsistencyProof { .. } => 422,
            WitnessError::BadLogKey { .. } | WitnessError::Cosign(_) => 500,
        }
    }
}

/// The body of a 409 [`WitnessError::SizeMismatch`] response: `<latest>\n`.
pub fn size_conflict_body(latest: u64) -> Vec<u8> {
    format!("{latest}\n").into_bytes()
}

/// Client side: the latest cosigned size from a 409 response body (`<size>\n`).
///
/// # Errors
/// [`WitnessError::Malformed`]`(`[`MalformedBody::SizeResponse`]`)`.
pub fn parse_size_conflict(body: &[u8]) -> Result<u64, WitnessError> {
    body.strip_suffix(b"\n")
        .and_then(parse_decimal)
        .ok_or(WitnessError::Malformed(MalformedBody::SizeResponse))
}

/// A decimal u64 without sign or leading zeros (`0` itself allowed).
fn parse_decimal(text: &[u8]) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.iter().all(u8::is_ascii_digit)
        && (text.len() == 1 || text.first() != Some(&b'0'));
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// An `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpointRequest {
    /// Size of the checkpoint the client believes the witness cosigned last.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpointRequest {
    /// Parses a request body. The checkpoint is not parsed here (see
    /// [`AddCheckpointRequest::origin`] and [`add_checkpoint`]), only cut off.
    ///
    /// A body without the empty line usually fails on its first checkpoint line, as a proof
    /// line ([`MalformedBody::ProofLine`]).
    ///
    /// # Errors
    /// [`WitnessError::Malformed`] with [`MalformedBody::TooLarge`],
    /// [`MalformedBody::OldSizeLine`], [`MalformedBody::ProofLine`],
    /// [`MalformedBody::TooManyProofLines`], [`MalformedBody::MissingEmptyLine`] or
    /// [`MalformedBody::ProofFromZero`].
    pub fn parse(body: &[u8]) -> Result<AddCheckpointRequest, WitnessError> {
        let malformed = WitnessError::Malformed;
        if body.len() > MAX_REQUEST_SIZE {
            return Err(malformed(MalformedBody::TooLarge));
        }
        let (first, mut rest) = split_line(body).ok_or(malformed(MalformedBody::OldSizeLine))?;
        let old_size = first
            .strip_prefix(b"old ")
            .and_then(parse_decimal)
            .ok_or(malformed(MalformedBody::OldSizeLine))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) =
                split_line(rest).ok_or(malformed(MalformedBody::MissingEmptyLine))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(malformed(MalformedBody::TooManyProofLines));
            }
            let index = proof.len();
            proof
                .push(parse_proof_line(line).ok_or(malformed(MalformedBody::ProofLine { index }))?);
        }
        if old_size == 0 && !proof.is_empty() {
            return Err(malformed(MalformedBody::ProofFromZero));
        }
        Ok(AddCheckpointRequest {
            old_size,
            proof,
            checkpoint: rest.to_vec(),
        })
    }

    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut body = format!("old {}\n", self.old_size).into_bytes();
        for hash in &self.proof {
            body.extend_from_slice(format_hash(hash).as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(&self.checkpoint);
        body
    }

    /// The origin the checkpoint claims (not verified), to look up the witness's record for
    /// it before calling [`add_checkpoint`].
    ///
    /// # Errors
    /// [`WitnessError::Malformed`]`(`[`MalformedBody::Checkpoint`]`)`.
    pub fn origin(&self) -> Result<String, WitnessError> {
        Ok(parse_checkpoint(&self.checkpoint)?.1.origin().to_owned())
    }
}

/// The next `\n`-terminated line (without its newline) and the rest.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    Some((bytes.get(..end)?, bytes.get(end + 1..)?))
}

fn parse_proof_line(line: &[u8]) -> Option<Hash> {
    let bytes = BASE64.decode(line).ok()?;
    Some(Hash(bytes.try_into().ok()?))
}

/// The note and its checkpoint body, unverified.
fn parse_checkpoint(bytes: &[u8]) -> Result<(Note, Checkpoint), WitnessError> {
    let malformed = || WitnessError::Malformed(MalformedBody::Checkpoint);
    let note = Note::from_bytes(bytes).map_err(|_| malformed())?;
    let checkpoint = Checkpoint::from_bytes(note.text()).map_err(|_| malformed())?;
    Ok((note, checkpoint))
}

/// A log the witness witnesses: its origin and a trusted signed-note verifier key (`<name>+<key
/// ID>+<base64>`). Several entries may share an origin (key rotation): a signature by any of
/// them is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedLog {
    /// The log's origin line.
    pub origin: String,
    /// The log's verifier key.
    pub log_vkey: String,
    /// The log's SM2 verifier key ([`crate::sm2_note`]), when its checkpoints must carry a
    /// second signature line by it.
    pub log_sm2_vkey: Option<String>,
}

/// What the witness cosigned last for one origin; the caller persists it per origin and
/// passes it back as `previous`.
#[derive(Debug, Clone, PartialEq)]
pub struct WitnessRecord {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The checkpoint note as received (with the signatures it came with).
    pub checkpoint: Vec<u8>,
}

/// What the witness decided.
#[derive(Debug, Clone, PartialEq)]
pub enum WitnessOutcome {
    /// The checkpoint is cosigned: persist `record` for the origin (atomically with the check,
    /// see the module docs), then answer 200 with `cosignature` as body.
    Cosigned {
        /// The new record for the origin.
        record: WitnessRecord,
        /// The cosignature line(s), `— <name> <base64>\n` each.
        cosignature: Vec<u8>,
    },
}

/// An `add-checkpoint` request read once: its body parsed ([`AddCheckpointRequest`]) and its
/// checkpoint parsed as a signed note whose text is a checkpoint, so its origin is known.
/// Nothing is verified yet: [`CheckpointSubmission::open`] checks the log signature.
#[derive(Debug)]
pub struct CheckpointSubmission {
    request: AddCheckpointRequest,
    note: Note,
    origin: String,
}

impl CheckpointSubmission {
    /// Parses a request body and its checkpoint.
    ///
    /// # Errors
    /// [`WitnessError::Malformed`]: every case of [`AddCheckpointRequest::parse`], then
    /// [`MalformedBody::Checkpoint`].
    pub fn parse(body: &[u8]) -> Result<CheckpointSubmission, WitnessError> {
        CheckpointSubmission::from_request(AddCheckpointRequest::parse(body)?)
    }

    /// Parses the checkpoint of a request whose body is parsed already.
    ///
    /// # Errors
    /// [`WitnessError::Malformed`]`(`[`MalformedBody::Checkpoint`]`)`.
    pub fn from_request(
        request: AddCheckpointRequest,
    ) -> Result<CheckpointSubmission, WitnessError> {
        let (note, checkpoint) = parse_checkpoint(&request.checkpoint)?;
        let origin = checkpoint.origin().to_owned();
        Ok(CheckpointSubmission {
            request,
            note,
            origin,
        })
    }

    /// The origin the checkpoint claims (not verified).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The request as parsed.
    pub fn request(&self) -> &AddCheckpointRequest {
        &self.request
    }

    /// Verifies the checkpoint's log signature with the first trusted key of its origin in
    /// `logs` that signed it: the one time the submission is opened.
    ///
    /// # Errors
    /// [`WitnessError::UnknownOrigin`], [`WitnessError::NotSignedByLog`],
    /// [`WitnessError::BadLogKey`], [`WitnessError::Malformed`].
    pub fn open(self, logs: &[WitnessedLog]) -> Result<OpenedSubmission, WitnessError> {
        let checkpoint = open_with_trusted_keys(&self.request.checkpoint, &self.origin, logs)?;
        Ok(OpenedSubmission {
            submission: self,
            checkpoint,
        })
    }
}

/// An `add-checkpoint` request whose checkpoint is signed by a log the witness witnesses.
#[derive(Debug)]
pub struct OpenedSubmission {
    submission: CheckpointSubmission,
    checkpoint: VerifiedCheckpoint,
}

impl OpenedSubmission {
    /// The verified checkpoint (its origin, size and root; its note as received).
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// The request as parsed.
    pub fn request(&self) -> &AddCheckpointRequest {
        &self.submission.request
    }
}

/// Decides an `add-checkpoint` request.
///
/// `previous` is the witness's record for the checkpoint's origin
/// ([`AddCheckpointRequest::origin`]), `None` if it never cosigned that log; `now` is the
/// cosignature timestamp (POSIX seconds). A first checkpoint (no record, `old 0`) is
/// accepted on the log signature alone, as the spec has it. Re-submitting the checkpoint last
/// cosigned (`old` = its size, empty proof, same root) is cosigned again with a new
/// timestamp.
///
/// This parses and opens the checkpoint; a caller that needs the verified checkpoint
/// itself parses once with [`CheckpointSubmission::parse`], opens once with
/// [`CheckpointSubmission::open`] and decides with [`decide`].
///
/// # Errors
/// Every [`WitnessError`] but the `Malformed(SizeResponse)` case, in the order of the table
/// in the module docs.
pub fn add_checkpoint(
    request: &AddCheckpointRequest,
    logs: &[WitnessedLog],
    previous: Option<&WitnessRecord>,
    cosigner: &Cosigner,
    now: u64,
) -> Result<WitnessOutcome, WitnessError> {
    let opened = CheckpointSubmission::from_request(request.clone())?.open(logs)?;
    decide(&opened, previous, cosigner, now)
}

/// Decides an opened `add-checkpoint` request: the checks of the module docs' table after
/// the log signature, in its order. `previous` and `now` as for [`add_checkpoint`].
///
/// # Errors
/// [`WitnessError::OldSizeTooLarge`], [`WitnessError::SizeMismatch`],
/// [`WitnessError::RootMismatch`], [`WitnessError::BadConsistencyProof`],
/// [`WitnessError::Cosign`].
pub fn decide(
    opened: &OpenedSubmission,
    previous: Option<&WitnessRecord>,
    cosigner: &Cosigner,
    now: u64,
) -> Result<WitnessOutcome, WitnessError> {
    let request = opened.request();
    let (size, root) = (opened.checkpoint.size(), *opened.checkpoint.root());

    if request.old_size > size {
        return Err(WitnessError::OldSizeTooLarge {
            old_size: request.old_size,
            size,
        });
    }
    let latest = previous.map_or(0, |record| record.size);
    if request.old_size != latest {
        return Err(WitnessError::SizeMismatch { latest });
    }
    if let Some(previous) = previous {
        let received = || request.checkpoint.clone();
        if size == previous.size {
            if root != previous.root {
                return Err(WitnessError::RootMismatch {
                    previous: previous.clone(),
                    received: received(),
                });
            }
            if !request.proof.is_empty() {
                // Between equal trees the only proof is the empty one.
                return Err(WitnessError::BadConsistencyProof {
                    previous: previous.clone(),
                    received: received(),
                });
            }
        } else if previous.size > 0
            && verify_consistency(previous.size, size, &previous.root, &root, &request.proof)
                .is_err()
        {
            return Err(WitnessError::BadConsistencyProof {
                previous: previous.clone(),
                received: received(),
            });
        }
        // From a recorded empty tree every tree is an extension; the parser already required
        // the proof to be empty.
    }

    let cosignature = cosigner
        .cosign(opened.submission.note.text(), now)
        .map_err(WitnessError::Cosign)?;
    Ok(WitnessOutcome::Cosigned {
        record: WitnessRecord {
            size,
            root,
            checkpoint: request.checkpoint.clone(),
        },
        cosignature,
    })
}

/// Opens the checkpoint with the first trusted key of its origin that signed it.
fn open_with_trusted_keys(
    bytes: &[u8],
    origin: &str,
    logs: &[WitnessedLog],
) -> Result<VerifiedCheckpoint, WitnessError> {
    let mut known = false;
    for log in logs.iter().filter(|log| log.origin == origin) {
        known = true;
        match open_checkpoint_with_sm2(bytes, origin, &log.log_vkey, log.log_sm2_vkey.as_deref()) {
            Ok(verified) => return Ok(verified),
            Err(CheckpointError::BadVerifierKey | CheckpointError::Sm2Key(_)) => {
                return Err(WitnessError::BadLogKey {
                    origin: origin.to_owned(),
                });
            }
            Err(CheckpointError::MalformedNote | CheckpointError::MalformedCheckpoint) => {
                return Err(WitnessError::Malformed(MalformedBody::Checkpoint));
            }
            // Not signed by this key, an invalid signature by it, or (impossible here) another
            // origin: try the next key of the log.
            Err(_) => {}
        }
    }
    if known {
        Err(WitnessError::NotSignedByLog)
    } else {
        Err(WitnessError::UnknownOrigin {
            origin: origin.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"17"), Some(17));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"00",
            b"017",
            b"+1",
            b"-1",
            b" 1",
            b"18446744073709551616",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    /// A parsed and opened submission decides exactly as the one-call path, and each
    /// step raises its own errors of the spec's table.
    #[test]
    fn a_submission_is_parsed_once_opened_once_and_decided_as_before() {
        use super::super::checkpoint::{sign_checkpoint, verifier_key};
        use ed25519_dalek::SigningKey;
        const ORIGIN: &str = "registry.test.example/log";
        let log_key = SigningKey::from_bytes(&[3; 32]);
        let logs = [WitnessedLog {
            origin: ORIGIN.to_owned(),
            log_vkey: verifier_key(ORIGIN, &log_key.verifying_key()),
            log_sm2_vkey: None,
        }];
        let cosigner =
            Cosigner::new("witness.test.example", SigningKey::from_bytes(&[4; 32])).expect("key");
        let root = Hash([9; 32]);
        let request = AddCheckpointRequest {
            old_size: 0,
            proof: Vec::new(),
            checkpoint: sign_checkpoint(ORIGIN, 5, root, &log_key).expect("signed"),
        };
        let body = request.to_bytes();

        let submission = CheckpointSubmission::parse(&body).expect("parses");
        assert_eq!(submission.origin(), ORIGIN);
        assert_eq!(submission.request(), &request);
        let opened = submission.open(&logs).expect("opens");
        assert_eq!(
            (opened.checkpoint().size(), *opened.checkpoint().root()),
            (5, root)
        );
        assert_eq!(
            decide(&opened, None, &cosigner, 1_700_000_000),
            add_checkpoint(&request, &logs, None, &cosigner, 1_700_000_000)
        );

        // A malformed checkpoint fails the parse; an unknown log or a foreign key the open.
        let mut garbled = body.clone();
        garbled.truncate(body.len() - request.checkpoint.len());
        garbled.extend_from_slice(b"not a note\n");
        assert_eq!(
            CheckpointSubmission::parse(&garbled).err(),
            Some(WitnessError::Malformed(MalformedBody::Checkpoint))
        );
        let other = CheckpointSubmission::parse(&body).expect("parses");
        assert_eq!(
            other.open(&[]).err(),
            Some(WitnessError::UnknownOrigin {
                origin: ORIGIN.to_owned()
            })
        );
        let foreign = [WitnessedLog {
            origin: ORIGIN.to_owned(),
            log_vkey: verifier_key(ORIGIN, &SigningKey::from_bytes(&[5; 32]).verifying_key()),
            log_sm2_vkey: None,
        }];
        let unsigned = CheckpointSubmission::parse(&body).expect("parses");
        assert_eq!(
            unsigned.open(&foreign).err(),
            Some(WitnessError::NotSignedByLog)
        );
    }

    #[test]
    fn size_conflict_round_trips() {
        assert_eq!(parse_size_conflict(&size_conflict_body(42)), Ok(42));
        for bad in [&b"42"[..], b"042\n", b"\n", b"42\n\n", b"x\n"] {
            assert_eq!(
                parse_size_conflict(bad),
                Err(WitnessError::Malformed(MalformedBody::SizeResponse)),
                "{bad:?}"
            );
        }
    }
}
