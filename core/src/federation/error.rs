//! Why a configuration was refused, and where.

use thiserror::Error;

use crate::identifiers::IdentifierError;
use talent_integrity::did::{DidError, KeyKind};
use talent_integrity::proof::Cryptosuite;

use super::vkey::VkeyError;
use talent_tlog::sm2_note::Sm2NoteError;

/// A configuration that was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ConfigError {
    /// 1-based line of the offending value (or key, or table header).
    pub line: usize,
    /// 1-based column, counted in characters, of the offending value.
    pub column: usize,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is larger than [`MAX_CONFIG_BYTES`](super::MAX_CONFIG_BYTES).
    #[error("configuration is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Size of the text.
        size: usize,
        /// [`MAX_CONFIG_BYTES`](super::MAX_CONFIG_BYTES).
        max: usize,
    },
    /// The text is not valid TOML; the message is the TOML parser's.
    #[error("TOML syntax: {0}")]
    Syntax(String),
    /// A key that is not part of the format.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A required field is absent from the table the error points at.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong TOML type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A name or origin field is empty.
    #[error("`{0}` must not be empty")]
    EmptyField(&'static str),
    /// The federation id is not 2–64 characters of `a-z`, `0-9` and `-`.
    #[error("federation id {0:?} must be 2-64 characters of a-z, 0-9 and '-'")]
    BadFederationId(String),
    /// A member id is not a valid [`RegionId`](crate::identifiers::RegionId).
    #[error("{0}")]
    BadMemberId(IdentifierError),
    /// Two members have the same id.
    #[error("member id {id:?} is already used on line {first_line}")]
    DuplicateMemberId {
        /// The repeated id.
        id: String,
        /// Line of the first member with that id.
        first_line: usize,
    },
    /// The member class is not one of [`MemberClass::ALL`](super::MemberClass::ALL).
    #[error(
        "unknown member class {0:?} (expected science-city, high-tech-zone, \
         provincial-hr-authority, district or enclave-park)"
    )]
    BadClass(String),
    /// The endpoint is not `http(s)://host[:port]`; the reason says which part is wrong.
    #[error("endpoint {reason}")]
    BadEndpoint {
        /// Which rule the endpoint breaks.
        reason: &'static str,
    },
    /// The cryptosuite is neither `eddsa-jcs-2022` nor `sm2-jcs-2025`.
    #[error("unknown cryptosuite {0:?} (expected eddsa-jcs-2022 or sm2-jcs-2025)")]
    BadCryptosuite(String),
    /// The authority is not a did:key (Ed25519 or SM2).
    #[error("authority: {0}")]
    BadDid(DidError),
    /// The authority's key is not of the kind the member's cryptosuite signs with.
    #[error("authority is an {key} did:key but the member's cryptosuite is {cryptosuite}")]
    AuthorityNotOfSuite {
        /// Kind of the authority's key.
        key: KeyKind,
        /// The member's cryptosuite.
        cryptosuite: Cryptosuite,
    },
    /// The log vkey is not a signed-note Ed25519 verifier key.
    #[error("log_vkey: {0}")]
    BadLogVkey(VkeyError),
    /// The log vkey's key name is not the log origin.
    #[error("log_vkey key name {key_name:?} is not the log origin {origin:?}")]
    LogVkeyNameNotOrigin {
        /// Key name in the vkey.
        key_name: String,
        /// The `log_origin` field.
        origin: String,
    },
    /// The optional `log_sm2_vkey` is not an SM2 signed-note verifier key
    /// (`talent_tlog::sm2_note`).
    #[error("log_sm2_vkey: {0}")]
    BadLogSm2Vkey(Sm2NoteError),
    /// The `log_sm2_vkey`'s key name is not the log origin: both checkpoint signature lines
    /// are under the origin's name.
    #[error("log_sm2_vkey key name {key_name:?} is not the log origin {origin:?}")]
    LogSm2VkeyNameNotOrigin {
        /// Key name in the vkey.
        key_name: String,
        /// The `log_origin` field.
        origin: String,
    },
    /// The witness vkey is not a `cosignature/v1` Ed25519 verifier key.
    #[error("witness_vkey: {0}")]
    BadWitnessVkey(VkeyError),
    /// The same public key appears twice (in any role, in any member): every role of every
    /// member has its own key.
    #[error("`{field}` repeats a public key already used on line {first_line}")]
    DuplicateKey {
        /// The field holding the repeated key.
        field: &'static str,
        /// Line where the key first appears.
        first_line: usize,
    },
    /// The same key name is used twice as a log origin or witness name: signatures on a
    /// checkpoint are told apart by key name.
    #[error("key name {name:?} is already used on line {first_line}")]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// Line where the name first appears.
        first_line: usize,
    },
    /// The configuration has no `[[member]]`.
    #[error("the federation has no [[member]]")]
    NoMembers,
    /// The witness quorum is 0: checkpoints would need no cosignature at all.
    #[error("witness_quorum must be at least 1")]
    QuorumZero,
    /// The witness quorum cannot be met: a member never cosigns its own checkpoints.
    #[error(
        "witness_quorum {quorum} cannot be met by {members} members (a log is cosigned only by \
         the other members)"
    )]
    QuorumTooLarge {
        /// The configured quorum.
        quorum: usize,
        /// Number of members.
        members: usize,
    },
}
