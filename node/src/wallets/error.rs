//! Why a holder-facing request was refused: each with its HTTP status, its OAuth 2.0 /
//! OpenID4VC `error` value (what wallets act on) and the registry's stable `code`.

use talent_sdjwt::SdJwtError;

use super::pending::Full;
use crate::InternalError;

/// Every refusal of the OpenID4VCI and OpenID4VP endpoints and of the offer and request
/// APIs.
#[derive(Debug, thiserror::Error)]
pub enum HolderError {
    /// The request is not what the endpoint takes.
    #[error("{0}")]
    InvalidRequest(String),
    /// `grant_type` is not the pre-authorized code.
    #[error("only the pre-authorized code grant is supported")]
    UnsupportedGrantType,
    /// The pre-authorized code is unknown, used or expired.
    #[error("the pre-authorized code is unknown, used or expired")]
    InvalidGrant,
    /// The transaction code (PIN) is wrong; the offer survives a few of these.
    #[error("the transaction code is wrong")]
    WrongTxCode,
    /// The access token is unknown, used or expired.
    #[error("the access token is unknown, used or expired")]
    InvalidToken,
    /// The key proof's nonce is not one this node handed out, or was used.
    #[error("the proof's nonce is unknown, used or expired")]
    InvalidNonce,
    /// The key proof does not prove a key.
    #[error("invalid key proof: {0}")]
    InvalidProof(SdJwtError),
    /// The credential configuration asked for is not the offered credential's.
    #[error("credential configuration {0:?} is not the one offered")]
    UnknownConfiguration(String),
    /// The member's authority key is SM2, and JOSE has no SM2 algorithm.
    #[error(
        "this member's authority key is SM2: SD-JWT VCs and signed presentation requests need an Ed25519 authority"
    )]
    RequiresEd25519,
    /// Only talent credentials go to wallets.
    #[error("only talent credentials are offered to wallets")]
    NotTalentCredential,
    /// The credential is revoked, suspended or otherwise not valid now.
    #[error("the credential's status is {0}: it is not offered")]
    NotValid(String),
    /// No such credential, or not one the operator may read.
    #[error("no credential {0} on this node")]
    CredentialNotFound(String),
    /// Too many open offers, tokens or requests.
    #[error(transparent)]
    Full(#[from] Full),
    /// No open presentation request has this id, state or result token.
    #[error("no open presentation request matches")]
    UnknownRequest,
    /// The presentation does not verify.
    #[error("the presentation is refused: {0}")]
    Presentation(SdJwtError),
    /// The presented credential id is in no log this node holds.
    #[error("the presented credential is in no log this node holds")]
    NotLogged,
    /// A disclosed claim differs from the logged credential.
    #[error("a disclosed claim differs from the logged credential: {0}")]
    ClaimsDiffer(String),
    /// A claim the request asked for was not disclosed.
    #[error("the presentation does not disclose {0}")]
    MissingRequestedClaim(String),
    /// The node's own fault.
    #[error("internal error")]
    Internal(InternalError),
}

impl HolderError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            HolderError::InvalidToken => 401,
            HolderError::CredentialNotFound(_) | HolderError::UnknownRequest => 404,
            HolderError::NotValid(_) => 409,
            HolderError::RequiresEd25519 | HolderError::NotTalentCredential => 422,
            HolderError::Full(_) => 503,
            HolderError::Internal(_) => 500,
            _ => 400,
        }
    }

    /// The OAuth 2.0 / OpenID4VCI / OpenID4VP `error` value.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            HolderError::UnsupportedGrantType => "unsupported_grant_type",
            HolderError::InvalidGrant | HolderError::WrongTxCode => "invalid_grant",
            HolderError::InvalidToken => "invalid_token",
            HolderError::InvalidNonce => "invalid_nonce",
            HolderError::InvalidProof(_) => "invalid_proof",
            HolderError::UnknownConfiguration(_) => "unknown_credential_configuration",
            HolderError::Full(_) => "temporarily_unavailable",
            HolderError::Internal(_) => "server_error",
            // The rest, presentations included (OpenID4VP §8.5 has no finer code).
            _ => "invalid_request",
        }
    }

    /// The registry's stable code.
    pub fn code(&self) -> &'static str {
        match self {
            HolderError::InvalidRequest(_) => "invalid_request",
            HolderError::UnsupportedGrantType => "unsupported_grant_type",
            HolderError::InvalidGrant => "invalid_grant",
            HolderError::WrongTxCode => "wrong_tx_code",
            HolderError::InvalidToken => "invalid_token",
            HolderError::InvalidNonce => "invalid_nonce",
            HolderError::InvalidProof(_) => "invalid_proof",
            HolderError::UnknownConfiguration(_) => "unknown_credential_configuration",
            HolderError::RequiresEd25519 => "sd_jwt_requires_ed25519",
            HolderError::NotTalentCredential => "not_a_talent_credential",
            HolderError::NotValid(_) => "credential_not_valid",
            HolderError::CredentialNotFound(_) => "credential_not_found",
            HolderError::Full(_) => "too_many_pending",
            HolderError::UnknownRequest => "unknown_request",
            HolderError::Presentation(error) => error.code(),
            HolderError::NotLogged => "not_logged",
            HolderError::ClaimsDiffer(_) => "claims_differ",
            HolderError::MissingRequestedClaim(_) => "missing_requested_claim",
            HolderError::Internal(_) => "internal",
        }
    }
}
