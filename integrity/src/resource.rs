//! Resource integrity (VC Data Model 2.0 §5.3, VC Data Integrity 1.0 §2.6): the digests a
//! document gives of a resource it names (`digestSRI`, `digestMultibase`), checked against
//! the resource's bytes, and the resources whose exact bytes are held here. Nothing is
//! fetched: a digest of a resource not held cannot be checked (see [`HeldResources`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// `https://www.w3.org/ns/credentials/v2` as VC Data Model 2.0 §B.1 says implementations
/// treat it as already retrieved: the bytes whose SHA-256 it publishes
/// (`24a18c90e9856d526111f29376e302d970b2bd10182e33959995b0207d7043b9`). Source:
/// `integrity/resources/README.md`. (JSON-LD processing uses `rdfc`'s copy, a later
/// revision of the same context.)
pub const CREDENTIALS_V2_PUBLISHED: &[u8] =
    include_bytes!("../resources/credentials-v2-2024-07.jsonld");

/// The SHA-256 of [`CREDENTIALS_V2_PUBLISHED`] that VC Data Model 2.0 §B.1 publishes.
pub const CREDENTIALS_V2_SHA256_HEX: &str =
    "24a18c90e9856d526111f29376e302d970b2bd10182e33959995b0207d7043b9";

/// Why a digest does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The value is not a digest this module reads.
    #[error("{field} is not a digest: {reason}")]
    Malformed {
        /// `digestSRI` or `digestMultibase`.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The digest is not the resource's.
    #[error("{field} does not match the resource's bytes")]
    Mismatch {
        /// `digestSRI` or `digestMultibase`.
        field: &'static str,
    },
}

/// A hash function a digest may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Sha256 => Sha256::digest(bytes).to_vec(),
            Algorithm::Sha384 => Sha384::digest(bytes).to_vec(),
            Algorithm::Sha512 => Sha512::digest(bytes).to_vec(),
        }
    }

    /// The algorithm of a raw digest of `length` bytes.
    fn of_length(length: usize) -> Option<Algorithm> {
        match length {
            32 => Some(Algorithm::Sha256),
            48 => Some(Algorithm::Sha384),
            64 => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// Checks a `digestSRI` value (SRI hash expressions, `sha256-`, `sha384-` or `sha512-`
/// then standard base64, separated by spaces) against `bytes`: every expression must match.
///
/// # Errors
/// [`DigestError`].
pub fn check_sri(value: &str, bytes: &[u8]) -> Result<(), DigestError> {
    const FIELD: &str = "digestSRI";
    let malformed = |reason| DigestError::Malformed {
        field: FIELD,
        reason,
    };
    let mut expressions = value.split_ascii_whitespace().peekable();
    if expressions.peek().is_none() {
        return Err(malformed("it is empty"));
    }
    for expression in expressions {
        // Options after `?` (SRI §3.5) say nothing of the digest.
        let expression = expression.split('?').next().unwrap_or(expression);
        let (name, encoded) = expression
            .split_once('-')
            .ok_or(malformed("a hash expression is <algorithm>-<base64>"))?;
        let algorithm = match name {
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return Err(malformed("the algorithm is not sha256, sha384 or sha512")),
        };
        // Standard base64 as SRI writes it; URL-safe as some issuers (and the W3C suite)
        // write it.
        let digest = STANDARD
            .decode(encoded)
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')))
            .map_err(|_| malformed("the digest is not base64"))?;
        if digest != algorithm.digest(bytes) {
            return Err(DigestError::Mismatch { field: FIELD });
        }
    }
    Ok(())
}

/// Checks a `digestMultibase` value against `bytes`: multibase (`u` base64url without
/// padding, or `z` base58btc) of either a raw SHA-256, SHA-384 or SHA-512 digest (told by
/// its length) or a multihash of one (`0x12 0x20`, `0x20 0x30`, `0x13 0x40`).
///
/// # Errors
/// [`DigestError`].
pub fn check_multibase(value: &str, bytes: &[u8]) -> Result<(), DigestError> {
    const FIELD: &str = "digestMultibase";
    let malformed = |reason| DigestError::Malformed {
        field: FIELD,
        reason,
    };
    let mut chars = value.chars();
    let decoded = match chars.next() {
        Some('u') => URL_SAFE_NO_PAD
            .decode(chars.as_str())
            .map_err(|_| malformed("the `u` multibase is not base64url"))?,
        Some('z') if chars.as_str().len() <= 128 => bs58::decode(chars.as_str())
            .into_vec()
            .map_err(|_| malformed("the `z` multibase is not base58btc"))?,
        _ => return Err(malformed("the multibase is not `u` or `z`")),
    };
    let (algorithm, digest) = match decoded.as_slice() {
        [0x12, 0x20, digest @ ..] if digest.len() == 32 => (Algorithm::Sha256, digest),
        [0x20, 0x30, digest @ ..] if digest.len() == 48 => (Algorithm::Sha384, digest),
        [0x13, 0x40, digest @ ..] if digest.len() == 64 => (Algorithm::Sha512, digest),
        raw => (
            Algorithm::of_length(raw.len())
                .ok_or(malformed("not a SHA-2 digest or multihash of one"))?,
            raw,
        ),
    };
    if digest != algorithm.digest(bytes).as_slice() {
        return Err(DigestError::Mismatch { field: FIELD });
    }
    Ok(())
}

/// Resources whose exact bytes are held, by URL: [`CREDENTIALS_V2_PUBLISHED`] and those the
/// caller adds. A related resource not held here has digests nothing can check without
/// fetching it, which is never done. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct HeldResources {
    registered: Arc<BTreeMap<String, Arc<[u8]>>>,
}

impl Default for HeldResources {
    fn default() -> Self {
        HeldResources::new()
    }
}

impl HeldResources {
    /// The W3C base context as published ([`CREDENTIALS_V2_PUBLISHED`]) only.
    pub fn new() -> HeldResources {
        let mut registered = BTreeMap::new();
        registered.insert(
            crate::rdfc::CREDENTIALS_V2_URL.to_owned(),
            Arc::from(CREDENTIALS_V2_PUBLISHED),
        );
        HeldResources {
            registered: Arc::new(registered),
        }
    }

    /// These resources, with `bytes` held for `url`.
    #[must_use]
    pub fn with(mut self, url: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Arc::make_mut(&mut self.registered).insert(url.into(), bytes.into());
        self
    }

    /// The bytes held for `url`, if any.
    pub fn bytes(&self, url: &str) -> Option<&[u8]> {
        self.registered.get(url).map(AsRef::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn the_held_base_context_is_the_one_the_data_model_publishes() {
        assert_eq!(
            hex(&Sha256::digest(CREDENTIALS_V2_PUBLISHED)),
            CREDENTIALS_V2_SHA256_HEX
        );
        let held = HeldResources::new();
        assert_eq!(
            held.bytes("https://www.w3.org/ns/credentials/v2"),
            Some(CREDENTIALS_V2_PUBLISHED)
        );
        assert_eq!(held.bytes("https://example.org/other"), None);
        let more = held.with("https://example.org/other", b"x".as_slice());
        assert_eq!(more.bytes("https://example.org/other"), Some(&b"x"[..]));
    }

    #[test]
    fn sri_expressions_match_or_name_what_is_wrong() {
        let bytes = b"alert('Hello, world.');";
        // SRI's own example (W3C Subresource Integrity §3.3.1).
        let good = "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO";
        assert_eq!(check_sri(good, bytes), Ok(()));
        let sha256 = format!("sha256-{}", STANDARD.encode(Sha256::digest(bytes)));
        assert_eq!(check_sri(&format!("{sha256} {good}"), bytes), Ok(()));
        assert_eq!(check_sri(&format!("{good}?ct=text/plain"), bytes), Ok(()));
        assert_eq!(
            check_sri(good, b"alert('Hello, world!');"),
            Err(DigestError::Mismatch { field: "digestSRI" })
        );
        for bad in ["", "sha1-abc", "sha384", "sha384-***"] {
            assert!(
                matches!(check_sri(bad, bytes), Err(DigestError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn multibase_digests_raw_or_multihash_match_or_name_what_is_wrong() {
        let bytes = CREDENTIALS_V2_PUBLISHED;
        let sha256 = Sha256::digest(bytes).to_vec();
        let sha384 = Sha384::digest(bytes).to_vec();
        let mut multihash = vec![0x12, 0x20];
        multihash.extend_from_slice(&sha256);
        // The W3C data-model suite's digest of the base context: raw SHA-256, base64url.
        assert_eq!(
            check_multibase("uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k", bytes),
            Ok(())
        );
        for good in [
            format!("u{}", URL_SAFE_NO_PAD.encode(&sha384)),
            format!("u{}", URL_SAFE_NO_PAD.encode(&multihash)),
            format!("z{}", bs58::encode(&multihash).into_string()),
        ] {
            assert_eq!(check_multibase(&good, bytes), Ok(()), "{good}");
        }
        assert_eq!(
            check_multibase("uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0", bytes),
            Err(DigestError::Mismatch {
                field: "digestMultibase"
            })
        );
        for bad in ["", "mAAAA", "u***", "uAAAA"] {
            assert!(
                matches!(
                    check_multibase(bad, bytes),
                    Err(DigestError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
