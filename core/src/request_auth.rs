//! Authenticated federation requests: members sign the HTTP requests they make to each other.
//!
//! Entry bundles carry personal data (names, masked ID numbers), so reads of
//! `/log/tile/entries/…` are served only to federation members (checkpoints and hash tiles
//! are public: they hide the entries; docs/federation-protocol.md §12.6). Members sign every
//! request they make to each other anyway, sync calls included. A member proves
//! who it is by signing each request with its **witness key** — the Ed25519 key it cosigns
//! with, which is its federation identity for transport — and the serving node checks the
//! signature against the key the federation configuration lists for that member.
//!
//! # Wire format (`talent-registry/request/v1`)
//!
//! Three request headers, all present or all absent:
//!
//! | header | value |
//! |---|---|
//! | `Talent-Member` | the member id (`cq-sc`, `cd-hz`: 2–32 of `a-z 0-9 -`, starting with a letter) |
//! | `Talent-Timestamp` | signing time, POSIX seconds, decimal without sign or leading zeros |
//! | `Talent-Signature` | standard base64 (RFC 4648 §4, padded) of the 64-byte Ed25519 signature |
//!
//! The signature is over these bytes (every line ends with one `\n`, 0x0A; no other
//! whitespace):
//!
//! ```text
//! talent-registry/request/v1\n
//! <member id>\n
//! <METHOD>\n                   upper case: GET, POST
//! <path-and-query>\n           the request target exactly as sent, e.g. /log/tile/0/x001/234.p/5
//! <timestamp>\n                the same decimal as the Talent-Timestamp header
//! <sha256(body)>\n             64 lower-case hex digits; an empty body hashes the empty string
//! ```
//!
//! The path-and-query is the origin-form request target of the HTTP request line (RFC 9112
//! §3.2.1): path plus `?query` if any, byte for byte as sent — no percent-decoding, no
//! normalisation, no scheme or host. Signers must sign the target their HTTP client will
//! put on the wire; verifiers must use the raw target they received.
//!
//! Ed25519 is RFC 8032 pure Ed25519 (no prehash, no context); verifiers use strict
//! verification (ed25519-dalek `verify_strict`).
//!
//! # Verification
//!
//! 1. No `Talent-*` header at all: the request is anonymous (the node then refuses what needs
//!    a member); one or two of the three: [`RequestAuthError::MissingHeader`].
//! 2. Parse the headers ([`parse_headers`]): a malformed value is
//!    [`RequestAuthError::MalformedHeader`].
//! 3. Look the member up in the federation configuration: unknown is
//!    [`RequestAuthError::UnknownMember`] (the caller returns it).
//! 4. `|now − timestamp| ≤` [`MAX_CLOCK_SKEW_SECS`] (300 s), in both directions, else
//!    [`RequestAuthError::Expired`].
//! 5. The signature verifies over the message rebuilt from the request, else
//!    [`RequestAuthError::BadSignature`].
//!
//! Errors carry stable machine codes ([`RequestAuthError::code`]); the node answers 401.
//!
//! # What it does not do
//!
//! The signature binds member, method, target, time and body, not the host: within the
//! skew window a request can be replayed, to the same node or to another member that
//! serves the same path. Reads are harmless to replay (the replayer is a member that may read
//! anyway) and the signed write calls (`add-checkpoint`, hints) are idempotent. TLS protects
//! confidentiality; this only authenticates the requester.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::identifiers::RegionId;

/// Most seconds a request's timestamp may lie before or after the verifier's clock.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Header naming the requesting member.
pub const HEADER_MEMBER: &str = "Talent-Member";

/// Header carrying the signing time, POSIX seconds.
pub const HEADER_TIMESTAMP: &str = "Talent-Timestamp";

/// Header carrying the base64 Ed25519 signature.
pub const HEADER_SIGNATURE: &str = "Talent-Signature";

/// First line of the signed message (domain separation and version).
pub const SIGNED_MESSAGE_HEADER: &str = "talent-registry/request/v1\n";

/// Why a request's member signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RequestAuthError {
    /// Some but not all of the three headers are present; names a missing one.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header value is malformed; names the header.
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    /// The member is not in the federation configuration (raised by the caller's lookup).
    #[error("unknown member {0:?}")]
    UnknownMember(String),
    /// The timestamp is more than [`MAX_CLOCK_SKEW_SECS`] away from the verifier's clock.
    #[error("request timestamp is {skew} s away from now")]
    Expired {
        /// `now − timestamp` in seconds: positive for a request from the past, negative for
        /// one from the future (saturated at the `i64` range).
        skew: i64,
    },
    /// The signature does not verify with the member's key over this request.
    #[error("request signature does not verify")]
    BadSignature,
}

impl RequestAuthError {
    /// A stable machine code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            RequestAuthError::MissingHeader(_) => "auth_missing",
            RequestAuthError::MalformedHeader(_) => "auth_malformed",
            RequestAuthError::UnknownMember(_) => "auth_unknown_member",
            RequestAuthError::Expired { .. } => "auth_expired",
            RequestAuthError::BadSignature => "auth_bad_signature",
        }
    }
}

/// The parsed signature headers of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSignature {
    /// The member id claimed.
    pub member: String,
    /// Signing time, POSIX seconds.
    pub timestamp: u64,
    /// The Ed25519 signature.
    pub signature: [u8; 64],
}

/// The bytes a member signs for a request (see the module docs). `method` is upper-cased.
pub fn signed_message(
    member: &str,
    method: &str,
    path_and_query: &str,
    timestamp: u64,
    body: &[u8],
) -> Vec<u8> {
    let body_hash: String = Sha256::digest(body)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!(
        "{SIGNED_MESSAGE_HEADER}{member}\n{}\n{path_and_query}\n{timestamp}\n{body_hash}\n",
        method.to_ascii_uppercase()
    )
    .into_bytes()
}

/// Signs a request as `member` with its witness key; returns the three headers to add.
pub fn sign_request(
    member: &str,
    key: &SigningKey,
    method: &str,
    path_and_query: &str,
    timestamp: u64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let signature = key.sign(&signed_message(
        member,
        method,
        path_and_query,
        timestamp,
        body,
    ));
    [
        (HEADER_MEMBER, member.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_SIGNATURE, BASE64.encode(signature.to_bytes())),
    ]
}

/// Parses the three header values (`None` for an absent header).
///
/// Returns `Ok(None)` when all three are absent (an anonymous request).
///
/// # Errors
/// [`RequestAuthError::MissingHeader`] when one or two are absent (naming the first missing
/// in the order member, timestamp, signature); [`RequestAuthError::MalformedHeader`] when the
/// member is not a member id, the timestamp not a canonical decimal, or the signature not
/// base64 of 64 bytes.
pub fn parse_headers(
    member: Option<&str>,
    timestamp: Option<&str>,
    signature: Option<&str>,
) -> Result<Option<RequestSignature>, RequestAuthError> {
    let (member, timestamp, signature) = match (member, timestamp, signature) {
        (None, None, None) => return Ok(None),
        (Some(member), Some(timestamp), Some(signature)) => (member, timestamp, signature),
        (None, _, _) => return Err(RequestAuthError::MissingHeader(HEADER_MEMBER)),
        (_, None, _) => return Err(RequestAuthError::MissingHeader(HEADER_TIMESTAMP)),
        (_, _, None) => return Err(RequestAuthError::MissingHeader(HEADER_SIGNATURE)),
    };
    let member = member
        .parse::<RegionId>()
        .map_err(|_| RequestAuthError::MalformedHeader(HEADER_MEMBER))?;
    let timestamp =
        parse_timestamp(timestamp).ok_or(RequestAuthError::MalformedHeader(HEADER_TIMESTAMP))?;
    let signature: [u8; 64] = BASE64
        .decode(signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(RequestAuthError::MalformedHeader(HEADER_SIGNATURE))?;
    Ok(Some(RequestSignature {
        member: member.as_str().to_owned(),
        timestamp,
        signature,
    }))
}

/// A decimal u64 without sign or leading zeros (`0` itself allowed).
fn parse_timestamp(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// Verifies a request's signature with the member's key (looked up by the caller from
/// `sig.member`) at `now` (POSIX seconds).
///
/// # Errors
/// [`RequestAuthError::Expired`] when the timestamp is more than [`MAX_CLOCK_SKEW_SECS`]
/// from `now`; [`RequestAuthError::BadSignature`].
pub fn verify_request(
    sig: &RequestSignature,
    key: &VerifyingKey,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now: u64,
) -> Result<(), RequestAuthError> {
    let skew = i128::from(now) - i128::from(sig.timestamp);
    if skew.unsigned_abs() > u128::from(MAX_CLOCK_SKEW_SECS) {
        let skew = i64::try_from(skew).unwrap_or(if skew < 0 { i64::MIN } else { i64::MAX });
        return Err(RequestAuthError::Expired { skew });
    }
    let message = signed_message(&sig.member, method, path_and_query, sig.timestamp, body);
    key.verify_strict(&message, &Signature::from_bytes(&sig.signature))
        .map_err(|_| RequestAuthError::BadSignature)
}
