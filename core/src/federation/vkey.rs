//! The verifier keys of the configuration (`<name>+<8 hex digits>+<base64>`): a log's
//! C2SP `signed-note` key and a witness's `cosignature/v1` key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use thiserror::Error;

/// signed-note algorithm byte of Ed25519 log keys (C2SP `signed-note`).
pub(super) const ALG_ED25519: u8 = 0x01;

/// Algorithm byte of `cosignature/v1` Ed25519 witness keys (C2SP `tlog-cosignature`).
pub(super) const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Why a verifier key (`<name>+<8 hex digits>+<base64>`) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VkeyError {
    /// Not `<name>+<id>+<key>` with an 8-digit hexadecimal key id. (The base64 key may itself
    /// contain `+`: only the first two separate parts.)
    #[error("must be <name>+<8 hex digits>+<base64 key>")]
    Format,
    /// The key name is empty or contains whitespace.
    #[error("key name must be non-empty and contain no whitespace or '+'")]
    KeyName,
    /// The key is not standard padded base64.
    #[error("key is not base64")]
    Base64,
    /// The algorithm byte is not the one this key must have.
    #[error("algorithm byte is {found:#04x}, expected {expected:#04x}")]
    Algorithm {
        /// The byte required.
        expected: u8,
        /// The byte found.
        found: u8,
    },
    /// The encoded key is not an algorithm byte and 32 bytes.
    #[error("encoded key is {found} bytes, expected 33")]
    KeyLength {
        /// Bytes found.
        found: usize,
    },
    /// The key id is not the one computed from the name and the key.
    #[error("key id {found:08x} does not match the key (expected {expected:08x})")]
    KeyIdMismatch {
        /// Key id computed from the name and key.
        expected: u32,
        /// Key id written.
        found: u32,
    },
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("not a valid Ed25519 public key")]
    InvalidPoint,
}

/// Parses a verifier key `<name>+<hex id>+<base64(alg || key)>` whose algorithm byte must be
/// `alg` and whose key id must be the first four bytes of SHA-256(name || "\n" || alg || key),
/// as in C2SP `signed-note` (alg 0x01) and `tlog-cosignature` (alg 0x04).
pub(super) fn parse_vkey(vkey: &str, alg: u8) -> Result<(&str, VerifyingKey), VkeyError> {
    let (name, rest) = vkey.split_once('+').ok_or(VkeyError::Format)?;
    let (id_hex, key_base64) = rest.split_once('+').ok_or(VkeyError::Format)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VkeyError::Format);
    }
    let found = u32::from_str_radix(id_hex, 16).map_err(|_| VkeyError::Format)?;
    if !signed_note::is_key_name_valid(name) {
        return Err(VkeyError::KeyName);
    }
    let encoded = BASE64.decode(key_base64).map_err(|_| VkeyError::Base64)?;
    let (&found_alg, key) = encoded
        .split_first()
        .ok_or(VkeyError::KeyLength { found: 0 })?;
    if found_alg != alg {
        return Err(VkeyError::Algorithm {
            expected: alg,
            found: found_alg,
        });
    }
    let key: &[u8; 32] = key.try_into().map_err(|_| VkeyError::KeyLength {
        found: encoded.len(),
    })?;
    let expected = signed_note::key_id(name, &encoded);
    if found != expected {
        return Err(VkeyError::KeyIdMismatch { expected, found });
    }
    let key = VerifyingKey::from_bytes(key).map_err(|_| VkeyError::InvalidPoint)?;
    Ok((name, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_vkey_round_trips_signed_note_encoding() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        let vkey = talent_tlog::checkpoint::verifier_key("registry.cq-sc.example/log", &key);
        assert_eq!(
            parse_vkey(&vkey, ALG_ED25519),
            Ok(("registry.cq-sc.example/log", key))
        );
        assert_eq!(
            parse_vkey(&vkey, ALG_COSIGNATURE_V1),
            Err(VkeyError::Algorithm {
                expected: 0x04,
                found: 0x01
            })
        );
        assert_eq!(parse_vkey("no-plus", ALG_ED25519), Err(VkeyError::Format));
        assert_eq!(
            parse_vkey("a+1234567+AQ==", ALG_ED25519),
            Err(VkeyError::Format)
        );
        assert_eq!(
            parse_vkey("a+12345678+!!", ALG_ED25519),
            Err(VkeyError::Base64)
        );
        assert_eq!(
            parse_vkey("a+12345678+", ALG_ED25519),
            Err(VkeyError::KeyLength { found: 0 })
        );
        assert_eq!(
            parse_vkey("a+12345678+AQ==", ALG_ED25519),
            Err(VkeyError::KeyLength { found: 1 })
        );
    }
}
