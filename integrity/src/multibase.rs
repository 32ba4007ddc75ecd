//! Multibase `base58btc` (prefix `z`) and the Ed25519 and SM2 multikey encodings.
//!
//! Data Integrity proofs carry their signature as multibase base58btc, and did:key /
//! `Multikey` carry keys as multibase base58btc over a multicodec-prefixed key
//! ([Controlled Identifiers §2.2.2 Multikey](https://www.w3.org/TR/cid-1.0/#Multikey)).

use thiserror::Error;

/// Multicodec varint prefix of an Ed25519 public key (`ed25519-pub`, 0xed).
pub const ED25519_PUB_PREFIX: [u8; 2] = [0xed, 0x01];
/// Multicodec varint prefix of an Ed25519 secret key seed (`ed25519-priv`, 0x1300).
pub const ED25519_PRIV_PREFIX: [u8; 2] = [0x80, 0x26];
/// Multicodec varint prefix of an SM2 public key (`sm2-pub`, 0x1206), followed by the
/// 33-byte compressed SEC1 point.
pub const SM2_PUB_PREFIX: [u8; 2] = [0x86, 0x24];
/// Multicodec varint prefix of an SM2 secret key (`sm2-priv`, 0x1306), followed by the
/// 32-byte big-endian scalar. 0x1306 is the multicodec table's *draft* entry for SM2
/// private keys (beside `sm2-pub`, 0x1206): only this project's key files use it.
pub const SM2_PRIV_PREFIX: [u8; 2] = [0x86, 0x26];
/// Multibase prefix character of base58btc.
pub const BASE58BTC_PREFIX: char = 'z';
/// Longest base58btc text (after the `z`) that is decoded. The longest value the registry
/// encodes is a 64-byte signature, at most 88 characters (a multikey is 48). Decoding
/// base58 is quadratic in the length — 64,000 characters took 0.8 s of CPU, and a
/// presented credential carries two such values (`proofValue`, `verificationMethod`) — so
/// longer text is refused before it is decoded.
pub const MAX_BASE58_CHARS: usize = 128;

/// Why a multibase or multikey string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MultibaseError {
    /// The string is empty or does not start with `z` (base58btc).
    #[error("multibase value must start with 'z' (base58btc)")]
    UnsupportedBase,
    /// The characters after the prefix are not valid base58btc.
    #[error("invalid base58btc encoding")]
    InvalidBase58,
    /// More characters after the prefix than [`MAX_BASE58_CHARS`]: longer than any value
    /// the registry encodes, and refused before decoding.
    #[error("base58btc value of {0} characters is longer than {MAX_BASE58_CHARS}")]
    TooLong(usize),
    /// The decoded multikey does not start with the expected multicodec prefix.
    #[error("multikey has multicodec prefix {found:02x?}, expected {expected:02x?}")]
    WrongMulticodec {
        /// The first two bytes found (fewer when the key was shorter).
        found: Vec<u8>,
        /// The prefix this key kind requires.
        expected: [u8; 2],
    },
    /// The decoded multikey starts with the prefix of no public key kind a did:key may hold
    /// (`ed25519-pub` or `sm2-pub`).
    #[error(
        "multikey has multicodec prefix {found:02x?}, expected ed25519-pub {ED25519_PUB_PREFIX:02x?} or sm2-pub {SM2_PUB_PREFIX:02x?}"
    )]
    UnsupportedKeyCodec {
        /// The first two bytes found (fewer when the key was shorter).
        found: Vec<u8>,
    },
    /// The key material after the prefix has the wrong length.
    #[error("key material is {found} bytes, expected {expected}")]
    WrongLength {
        /// Bytes found after the prefix.
        found: usize,
        /// Bytes required.
        expected: usize,
    },
}

/// Encodes bytes as multibase base58btc (`z…`).
///
/// 64 bytes (every `proofValue`) take `five8`'s fixed-width encoder: the general one is
/// quadratic in the length and was 3 % of the node's CPU when issuing.
pub fn encode_base58btc(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    out.push(BASE58BTC_PREFIX);
    if let Ok(signature) = <&[u8; 64]>::try_from(bytes) {
        let mut encoded = [0u8; five8::BASE58_ENCODED_64_MAX_LEN];
        let len = usize::from(five8::encode_64(signature, &mut encoded));
        // The encoder writes only base58 alphabet characters, all ASCII.
        out.extend(encoded[..len].iter().map(|&byte| char::from(byte)));
    } else {
        out.push_str(&bs58::encode(bytes).into_string());
    }
    out
}

/// Decodes a multibase base58btc string.
///
/// # Errors
/// [`MultibaseError::UnsupportedBase`] without the `z` prefix,
/// [`MultibaseError::InvalidBase58`] for characters outside the base58btc alphabet,
/// [`MultibaseError::TooLong`] beyond [`MAX_BASE58_CHARS`].
pub fn decode_base58btc(value: &str) -> Result<Vec<u8>, MultibaseError> {
    let rest = value
        .strip_prefix(BASE58BTC_PREFIX)
        .ok_or(MultibaseError::UnsupportedBase)?;
    if rest.is_empty() {
        return Err(MultibaseError::InvalidBase58);
    }
    if rest.len() > MAX_BASE58_CHARS {
        return Err(MultibaseError::TooLong(rest.len()));
    }
    bs58::decode(rest)
        .into_vec()
        .map_err(|_| MultibaseError::InvalidBase58)
}

/// Decodes a multibase base58btc string that must hold exactly 64 bytes (an Ed25519
/// signature, or an SM2 signature's `r ‖ s`): the same answer as [`decode_base58btc`] followed by a length check, with
/// `Err(Ok(n))` for a valid encoding of `n ≠ 64` bytes.
///
/// Every proof verification decodes one, and the general decoder is quadratic in the
/// length (about 2 µs per signature, a few per cent of a catch-up); `five8` decodes the
/// 64-byte case with fixed-width arithmetic.
///
/// # Errors
/// `Err(Err(_))` as [`decode_base58btc`]; `Err(Ok(n))` for a valid encoding of `n` bytes.
pub fn decode_signature(value: &str) -> Result<[u8; 64], Result<usize, MultibaseError>> {
    let mut out = [0u8; 64];
    if let Some(rest) = value.strip_prefix(BASE58BTC_PREFIX)
        && five8::decode_64(rest, &mut out).is_ok()
    {
        return Ok(out);
    }
    // Not a 64-byte encoding: the general decoder says exactly what it is.
    match decode_base58btc(value) {
        Ok(bytes) => match <[u8; 64]>::try_from(bytes.as_slice()) {
            Ok(signature) => Ok(signature),
            Err(_) => Err(Ok(bytes.len())),
        },
        Err(error) => Err(Err(error)),
    }
}

/// Encodes a 32-byte Ed25519 public key as a multikey (`z6Mk…`).
pub fn encode_ed25519_public(key: &[u8; 32]) -> String {
    encode_prefixed(ED25519_PUB_PREFIX, key)
}

/// Encodes a 32-byte Ed25519 secret seed as a multikey (`z3u2…`).
pub fn encode_ed25519_secret(seed: &[u8; 32]) -> String {
    encode_prefixed(ED25519_PRIV_PREFIX, seed)
}

/// Decodes an Ed25519 public multikey into its 32 key bytes.
///
/// # Errors
/// Any [`decode_base58btc`] error, [`MultibaseError::WrongMulticodec`] when the prefix is not
/// `0xed01`, [`MultibaseError::WrongLength`] when the key is not 32 bytes.
pub fn decode_ed25519_public(value: &str) -> Result<[u8; 32], MultibaseError> {
    decode_prefixed(ED25519_PUB_PREFIX, value)
}

/// Decodes an Ed25519 secret multikey into its 32-byte seed.
///
/// # Errors
/// As [`decode_ed25519_public`], with the prefix `0x8026`.
pub fn decode_ed25519_secret(value: &str) -> Result<[u8; 32], MultibaseError> {
    decode_prefixed(ED25519_PRIV_PREFIX, value)
}

/// Encodes a 33-byte compressed SEC1 SM2 point as a multikey (`zEP…`, multicodec
/// `sm2-pub`).
pub fn encode_sm2_public(point: &[u8; 33]) -> String {
    encode_prefixed(SM2_PUB_PREFIX, point)
}

/// Decodes an SM2 public multikey into its 33 bytes (not checked to be a point).
///
/// # Errors
/// Any [`decode_base58btc`] error, [`MultibaseError::WrongMulticodec`] when the prefix is not
/// `0x8624`, [`MultibaseError::WrongLength`] when the key is not 33 bytes.
pub fn decode_sm2_public(value: &str) -> Result<[u8; 33], MultibaseError> {
    decode_prefixed(SM2_PUB_PREFIX, value)
}

/// Encodes a 32-byte SM2 secret scalar as a secret multikey (`sm2-priv`, [`SM2_PRIV_PREFIX`]).
pub fn encode_sm2_secret(scalar: &[u8; 32]) -> String {
    encode_prefixed(SM2_PRIV_PREFIX, scalar)
}

/// Decodes an SM2 secret multikey into its 32-byte scalar (not checked to be a valid
/// secret key: `Sm2SigningKey::from_bytes` does that).
///
/// # Errors
/// As [`decode_ed25519_public`], with the prefix `0x8626`.
pub fn decode_sm2_secret(value: &str) -> Result<[u8; 32], MultibaseError> {
    decode_prefixed(SM2_PRIV_PREFIX, value)
}

/// The key bytes of a public multikey of either kind a did:key may hold, not yet checked to
/// be a valid key of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicMultikey {
    /// `ed25519-pub`: a 32-byte Ed25519 public key.
    Ed25519([u8; 32]),
    /// `sm2-pub`: a 33-byte compressed SEC1 SM2 point.
    Sm2([u8; 33]),
}

/// Decodes a public multikey of either kind, told apart by its multicodec prefix.
///
/// # Errors
/// Any [`decode_base58btc`] error, [`MultibaseError::UnsupportedKeyCodec`] for another
/// prefix, [`MultibaseError::WrongLength`] when the key after the prefix has the wrong length
/// for its kind.
pub fn decode_public_multikey(value: &str) -> Result<PublicMultikey, MultibaseError> {
    let bytes = decode_base58btc(value)?;
    if let Some(key) = bytes.strip_prefix(&ED25519_PUB_PREFIX) {
        return exact(key).map(PublicMultikey::Ed25519);
    }
    if let Some(key) = bytes.strip_prefix(&SM2_PUB_PREFIX) {
        return exact(key).map(PublicMultikey::Sm2);
    }
    Err(MultibaseError::UnsupportedKeyCodec {
        found: bytes.iter().take(2).copied().collect(),
    })
}

fn encode_prefixed<const N: usize>(prefix: [u8; 2], key: &[u8; N]) -> String {
    let mut bytes = Vec::with_capacity(2 + N);
    bytes.extend_from_slice(&prefix);
    bytes.extend_from_slice(key);
    encode_base58btc(&bytes)
}

fn decode_prefixed<const N: usize>(
    prefix: [u8; 2],
    value: &str,
) -> Result<[u8; N], MultibaseError> {
    let bytes = decode_base58btc(value)?;
    let Some(key) = bytes.strip_prefix(&prefix) else {
        return Err(MultibaseError::WrongMulticodec {
            found: bytes.iter().take(2).copied().collect(),
            expected: prefix,
        });
    };
    exact(key)
}

/// `key` as exactly `N` bytes.
fn exact<const N: usize>(key: &[u8]) -> Result<[u8; N], MultibaseError> {
    key.try_into().map_err(|_| MultibaseError::WrongLength {
        found: key.len(),
        expected: N,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_64_byte_encoding_is_the_general_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(64);
        for case in 0..2_000 {
            let mut bytes = [0u8; 64];
            rng.fill(&mut bytes[..]);
            // Leading zero bytes are leading `1`s: cover up to all-zero.
            let zeros = case % 70;
            bytes[..zeros.min(64)].fill(0);
            let expected = format!("z{}", bs58::encode(&bytes[..]).into_string());
            assert_eq!(encode_base58btc(&bytes), expected, "{bytes:?}");
            assert_eq!(decode_signature(&expected), Ok(bytes));
        }
    }

    #[test]
    fn round_trips_sm2_secret_key() {
        let encoded = encode_sm2_secret(&[7u8; 32]);
        assert_eq!(decode_sm2_secret(&encoded), Ok([7u8; 32]));
        assert_eq!(
            decode_base58btc(&encoded).expect("base58")[..2],
            [0x86, 0x26]
        );
        assert!(matches!(
            decode_sm2_secret(&encode_ed25519_secret(&[7u8; 32])),
            Err(MultibaseError::WrongMulticodec { .. })
        ));
    }

    #[test]
    fn round_trips_public_key() {
        let key = [7u8; 32];
        let encoded = encode_ed25519_public(&key);
        assert!(encoded.starts_with("z6Mk"), "{encoded}");
        assert_eq!(decode_ed25519_public(&encoded), Ok(key));
    }

    #[test]
    fn rejects_secret_key_as_public() {
        let encoded = encode_ed25519_secret(&[1u8; 32]);
        assert!(matches!(
            decode_ed25519_public(&encoded),
            Err(MultibaseError::WrongMulticodec { .. })
        ));
    }

    #[test]
    fn rejects_malformed_multibase() {
        assert_eq!(
            decode_base58btc("u6Mk"),
            Err(MultibaseError::UnsupportedBase)
        );
        assert_eq!(decode_base58btc(""), Err(MultibaseError::UnsupportedBase));
        assert_eq!(decode_base58btc("z"), Err(MultibaseError::InvalidBase58));
        // 0, O, I and l are not in the base58btc alphabet.
        assert_eq!(
            decode_base58btc("z0OIl"),
            Err(MultibaseError::InvalidBase58)
        );
    }

    #[test]
    fn signatures_decode_as_the_general_decoder_says() {
        let mut cases: Vec<String> = Vec::new();
        for length in [0usize, 1, 63, 64, 65, 100] {
            for fill in [0u8, 1, 0x7f, 0xff] {
                let mut bytes = vec![fill; length];
                if let Some(first) = bytes.first_mut() {
                    *first = 0; // a leading zero byte: a leading '1'
                }
                cases.push(encode_base58btc(&bytes));
                cases.push(encode_base58btc(&vec![fill; length]));
            }
        }
        let sixty_four = encode_base58btc(&[0xab; 64]);
        cases.push(format!("z1{}", &sixty_four[1..])); // an extra leading zero: 65 bytes
        cases.push(sixty_four.replace('z', "u"));
        cases.push(format!("{}0", &sixty_four[..sixty_four.len() - 1]));
        cases.extend(["".into(), "z".into(), "zzzz".into()]);
        for case in cases {
            let expected = match decode_base58btc(&case) {
                Ok(bytes) if bytes.len() == 64 => Ok(bytes),
                Ok(bytes) => Err(Ok(bytes.len())),
                Err(error) => Err(Err(error)),
            };
            assert_eq!(
                decode_signature(&case).map(|bytes| bytes.to_vec()),
                expected,
                "{case}"
            );
        }
    }

    /// Regression: a 64,000-character `proofValue` or did:key took 0.8 s of
    /// CPU each to decode (quadratic), and `POST /api/v1/verify` takes 64 KiB bodies, the
    /// console's `/verify` 16 MiB. Text longer than any encoded value is refused unread.
    #[test]
    fn overlong_values_are_refused_before_decoding() {
        let longest = encode_base58btc(&[0xff; 64]);
        assert!(longest.len() - 1 <= MAX_BASE58_CHARS, "{}", longest.len());
        assert_eq!(decode_base58btc(&longest), Ok(vec![0xff; 64]));
        let overlong = format!("z{}", "2".repeat(64_000));
        assert_eq!(
            decode_base58btc(&overlong),
            Err(MultibaseError::TooLong(64_000))
        );
        assert_eq!(
            decode_signature(&overlong),
            Err(Err(MultibaseError::TooLong(64_000)))
        );
        assert_eq!(
            decode_ed25519_public(&overlong),
            Err(MultibaseError::TooLong(64_000))
        );
        assert_eq!(
            decode_base58btc(&format!("z{}", "2".repeat(MAX_BASE58_CHARS + 1))),
            Err(MultibaseError::TooLong(MAX_BASE58_CHARS + 1))
        );
    }

    #[test]
    fn round_trips_sm2_public_key_and_tells_the_kinds_apart() {
        let mut point = [0x5a; 33];
        point[0] = 0x02;
        let encoded = encode_sm2_public(&point);
        assert!(encoded.starts_with("zEP"), "{encoded}");
        assert_eq!(decode_sm2_public(&encoded), Ok(point));
        assert_eq!(
            decode_public_multikey(&encoded),
            Ok(PublicMultikey::Sm2(point))
        );
        assert_eq!(
            decode_public_multikey(&encode_ed25519_public(&[7; 32])),
            Ok(PublicMultikey::Ed25519([7; 32]))
        );
        assert!(matches!(
            decode_sm2_public(&encode_ed25519_public(&[7; 32])),
            Err(MultibaseError::WrongMulticodec { .. })
        ));
        // A 32-byte SM2 key and a 33-byte Ed25519 key are the wrong length for their kind.
        for (prefix, length, expected) in [(SM2_PUB_PREFIX, 32, 33), (ED25519_PUB_PREFIX, 33, 32)] {
            let mut bytes = prefix.to_vec();
            bytes.extend(std::iter::repeat_n(2, length));
            assert_eq!(
                decode_public_multikey(&encode_base58btc(&bytes)),
                Err(MultibaseError::WrongLength {
                    found: length,
                    expected
                })
            );
        }
        for bytes in [&[0xec, 0x01, 9][..], &[0x86][..], &[0x24, 0x86][..]] {
            assert_eq!(
                decode_public_multikey(&encode_base58btc(bytes)),
                Err(MultibaseError::UnsupportedKeyCodec {
                    found: bytes.iter().take(2).copied().collect()
                })
            );
        }
    }

    #[test]
    fn rejects_short_key() {
        let short = encode_base58btc(&[0xed, 0x01, 1, 2, 3]);
        assert_eq!(
            decode_ed25519_public(&short),
            Err(MultibaseError::WrongLength {
                found: 3,
                expected: 32
            })
        );
    }
}
