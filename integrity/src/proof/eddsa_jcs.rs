//! The `eddsa-jcs-2022` cryptosuite's own parts
//! ([vc-di-eddsa §3.3](https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022)): SHA-256 for
//! the two hashes of hashData, Ed25519 (RFC 8032) over hashData for the signature.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// SHA-256 of the concatenated `parts`.
pub(super) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The Ed25519 signature of `hash_data`.
pub(super) fn sign(key: &SigningKey, hash_data: &[u8; 64]) -> [u8; 64] {
    key.sign(hash_data).to_bytes()
}

/// Whether `signature` is `key`'s Ed25519 signature of `hash_data` (`ed25519_dalek`'s
/// `verify`, as ever).
pub(super) fn verifies(key: &VerifyingKey, hash_data: &[u8; 64], signature: &Signature) -> bool {
    key.verify(hash_data, signature).is_ok()
}
