//! Why an SD-JWT, a JWS or a key proof was refused: one enum, each variant with a stable
//! code the node answers with.

use thiserror::Error;

/// Why an SD-JWT, KB-JWT, JWS or key proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdJwtError {
    /// A part is not unpadded base64url.
    #[error("{0} is not base64url")]
    Encoding(&'static str),
    /// A part is not the JSON it must be.
    #[error("{0} is not well-formed")]
    Malformed(&'static str),
    /// The JWS is not three dot-separated parts.
    #[error("not a compact JWS")]
    NotCompactJws,
    /// The header's `alg` is not `EdDSA` (the only one this registry signs and accepts).
    #[error("unsupported alg {0:?}")]
    UnsupportedAlg(String),
    /// The header's `typ` is not the one this kind of JWT must have.
    #[error("typ must be {expected:?}, not {found:?}")]
    WrongTyp {
        /// The `typ` required.
        expected: &'static str,
        /// The `typ` given (empty when absent).
        found: String,
    },
    /// The signature does not verify under the key.
    #[error("the {0} signature does not verify")]
    BadSignature(&'static str),
    /// A JWK is not an Ed25519 OKP public key.
    #[error("the key is not an Ed25519 OKP JWK")]
    UnsupportedKey,
    /// A disclosure's digest is not in the SD-JWT, or in it twice.
    #[error("disclosure {0} is not referenced exactly once by the SD-JWT")]
    UnreferencedDisclosure(String),
    /// Two disclosures, or two `_sd` entries, have the same digest.
    #[error("digest {0} appears twice")]
    DuplicateDigest(String),
    /// A disclosed claim name is `_sd` or `...`, or already present in its object.
    #[error("disclosed claim {0:?} is not allowed where it is")]
    ClaimConflict(String),
    /// `_sd_alg` is not `sha-256`.
    #[error("unsupported _sd_alg {0:?}")]
    UnsupportedHashAlg(String),
    /// A key-binding JWT was required and is absent.
    #[error("the presentation has no key-binding JWT")]
    MissingKeyBinding,
    /// The SD-JWT has no `cnf.jwk` to check key binding with.
    #[error("the SD-JWT names no holder key (cnf.jwk)")]
    MissingHolderKey,
    /// A claim that must be present is absent or of the wrong kind.
    #[error("claim {0:?} is missing or invalid")]
    MissingClaim(&'static str),
    /// `aud` is not the verifier's.
    #[error("aud is not this verifier's")]
    WrongAudience,
    /// `nonce` is not the one the verifier handed out.
    #[error("nonce is not the one issued")]
    WrongNonce,
    /// `iat` is outside the accepted window around the verifier's time.
    #[error("iat {0} is outside the accepted window")]
    StaleIssuedAt(i64),
    /// `sd_hash` does not cover the SD-JWT and disclosures presented.
    #[error("sd_hash does not match the presentation")]
    WrongSdHash,
    /// The credential is not one this profile makes SD-JWT VCs of.
    #[error("cannot make an SD-JWT VC: {0}")]
    Unsupported(&'static str),
    /// The SD-JWT VC has expired or is not yet valid.
    #[error("the credential is not valid at this time")]
    NotValidNow,
}

impl SdJwtError {
    /// The stable code a client is answered with.
    pub fn code(&self) -> &'static str {
        match self {
            SdJwtError::Encoding(_) | SdJwtError::Malformed(_) | SdJwtError::NotCompactJws => {
                "sd_jwt_malformed"
            }
            SdJwtError::UnsupportedAlg(_) => "unsupported_alg",
            SdJwtError::WrongTyp { .. } => "wrong_typ",
            SdJwtError::BadSignature(_) => "bad_signature",
            SdJwtError::UnsupportedKey => "unsupported_key",
            SdJwtError::UnreferencedDisclosure(_)
            | SdJwtError::DuplicateDigest(_)
            | SdJwtError::ClaimConflict(_)
            | SdJwtError::UnsupportedHashAlg(_) => "bad_disclosure",
            SdJwtError::MissingKeyBinding | SdJwtError::MissingHolderKey => "missing_key_binding",
            SdJwtError::MissingClaim(_) => "missing_claim",
            SdJwtError::WrongAudience => "wrong_audience",
            SdJwtError::WrongNonce => "wrong_nonce",
            SdJwtError::StaleIssuedAt(_) => "stale_iat",
            SdJwtError::WrongSdHash => "wrong_sd_hash",
            SdJwtError::Unsupported(_) => "sd_jwt_unsupported",
            SdJwtError::NotValidNow => "not_valid_now",
        }
    }
}
