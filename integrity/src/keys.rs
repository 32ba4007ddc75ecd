//! The private keys proofs are made with: Ed25519 (`eddsa-jcs-2022`) or SM2
//! (`sm2-jcs-2025`).
//!
//! An SM2 signature covers `SM3(Z_A ‖ M)`, where `Z_A` hashes the signer's distinguishing ID
//! with its public key (GB/T 32918.2). Every SM2 key here uses
//! [`SM2_DISTINGUISHING_ID`], the standard's default, so an [`Sm2SigningKey`] can only be
//! made with it: a signature under another ID would never verify.

use std::fmt;

use thiserror::Error;

use crate::did::{self, DidKey, KeyKind, SM2_DISTINGUISHING_ID};

/// Why bytes are not a usable private key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The 32 bytes are not an SM2 private key `d` with `1 ≤ d ≤ n − 2` (GB/T 32918.1, key
    /// pair generation: `d = n − 1` has no `(1 + d)⁻¹`, which signing needs).
    #[error("SM2 private key is not an integer in [1, n-2]")]
    InvalidSm2Secret,
}

/// An SM2 private key with the registry's distinguishing ID [`SM2_DISTINGUISHING_ID`].
///
/// Signing is the `sm2` crate's: constant-time, with a deterministic nonce derived from the
/// key and the message as RFC 6979 derives it (HMAC-SM3), so the same key signs the same
/// bytes the same way.
#[derive(Clone)]
pub struct Sm2SigningKey {
    key: sm2::dsa::SigningKey,
}

impl Sm2SigningKey {
    /// The key whose private scalar `d` is the big-endian `secret`.
    ///
    /// # Errors
    /// [`KeyError::InvalidSm2Secret`] unless `1 ≤ d ≤ n − 2`: zero, `n − 1` and values at or
    /// above the group order `n` (about one 32-byte string in 2³²) are refused, so a caller
    /// drawing random bytes draws again.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Sm2SigningKey, KeyError> {
        let key = sm2::dsa::SigningKey::from_slice(SM2_DISTINGUISHING_ID, secret)
            .map_err(|_| KeyError::InvalidSm2Secret)?;
        let d_plus_one = **key.as_nonzero_scalar() + sm2::Scalar::ONE;
        if bool::from(d_plus_one.is_zero()) {
            return Err(KeyError::InvalidSm2Secret);
        }
        Ok(Sm2SigningKey { key })
    }

    /// The big-endian private scalar (for a key file; keep it secret).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The `sm2` crate's signing key (for signers outside this crate, such as the SM2
    /// checkpoint signature line of `talent_tlog::sm2_note`).
    pub fn as_sm2(&self) -> &sm2::dsa::SigningKey {
        &self.key
    }

    /// The public key, with the registry's distinguishing ID.
    pub fn verifying_key(&self) -> &sm2::dsa::VerifyingKey {
        self.key.verifying_key()
    }

    /// The public key as a 33-byte compressed SEC1 point (what an `sm2-pub` multikey holds).
    pub fn public_point(&self) -> [u8; 33] {
        did::sm2_compressed_point(self.key.verifying_key())
    }

    /// The did:key of the public key.
    pub fn did(&self) -> DidKey {
        DidKey::from_sm2_verifying_key(self.key.verifying_key())
    }

    /// The `sm2` crate's key, for signing.
    pub(crate) fn inner(&self) -> &sm2::dsa::SigningKey {
        &self.key
    }
}

impl fmt::Debug for Sm2SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2SigningKey({})", self.did())
    }
}

/// The private key an issuer signs proofs with: the key's kind chooses the cryptosuite.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IssuerKey {
    /// Proofs with `eddsa-jcs-2022`.
    Ed25519(ed25519_dalek::SigningKey),
    /// Proofs with `sm2-jcs-2025`.
    Sm2(Sm2SigningKey),
}

impl IssuerKey {
    /// Ed25519 or SM2.
    pub fn kind(&self) -> KeyKind {
        match self {
            IssuerKey::Ed25519(_) => KeyKind::Ed25519,
            IssuerKey::Sm2(_) => KeyKind::Sm2,
        }
    }

    /// The did:key of the public key.
    pub fn did(&self) -> DidKey {
        match self {
            IssuerKey::Ed25519(key) => DidKey::from_verifying_key(&key.verifying_key()),
            IssuerKey::Sm2(key) => key.did(),
        }
    }

    /// The Ed25519 key, when it is one.
    pub fn ed25519(&self) -> Option<&ed25519_dalek::SigningKey> {
        match self {
            IssuerKey::Ed25519(key) => Some(key),
            IssuerKey::Sm2(_) => None,
        }
    }

    /// The SM2 key, when it is one.
    pub fn sm2(&self) -> Option<&Sm2SigningKey> {
        match self {
            IssuerKey::Sm2(key) => Some(key),
            IssuerKey::Ed25519(_) => None,
        }
    }
}

impl From<ed25519_dalek::SigningKey> for IssuerKey {
    fn from(key: ed25519_dalek::SigningKey) -> IssuerKey {
        IssuerKey::Ed25519(key)
    }
}

impl From<Sm2SigningKey> for IssuerKey {
    fn from(key: Sm2SigningKey) -> IssuerKey {
        IssuerKey::Sm2(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n − 1 and n of the SM2 curve, big-endian.
    const N_MINUS_ONE: [u8; 32] = [
        0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5,
        0x41, 0x22,
    ];

    #[test]
    fn sm2_secrets_outside_one_to_n_minus_two_are_refused() {
        let mut n = N_MINUS_ONE;
        n[31] += 1;
        let mut n_minus_two = N_MINUS_ONE;
        n_minus_two[31] -= 1;
        for bad in [[0u8; 32], N_MINUS_ONE, n, [0xff; 32]] {
            assert_eq!(
                Sm2SigningKey::from_bytes(&bad).err(),
                Some(KeyError::InvalidSm2Secret),
                "{bad:02x?}"
            );
        }
        let mut one = [0u8; 32];
        one[31] = 1;
        for good in [one, n_minus_two] {
            let key = Sm2SigningKey::from_bytes(&good).expect("in range");
            assert_eq!(key.to_bytes(), good);
            assert_eq!(key.verifying_key().distid(), SM2_DISTINGUISHING_ID);
        }
    }

    #[test]
    fn debug_shows_the_did_not_the_secret() {
        let key = Sm2SigningKey::from_bytes(&[0x11; 32]).expect("in range");
        let shown = format!("{key:?}");
        assert!(shown.starts_with("Sm2SigningKey(did:key:zEP"), "{shown}");
        assert!(!shown.contains(&"11".repeat(32)), "{shown}");
    }
}
