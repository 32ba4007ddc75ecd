//! OpenID4VCI 1.0 at the node, pre-authorized code flow: an office makes an offer for one
//! logged talent credential ([`create_offer`]); the wallet trades the offer's code and the
//! transaction code (PIN) the office tells the talent for an access token ([`token`]),
//! fetches a nonce ([`nonce`]) and asks for the credential with a key proof over that
//! nonce ([`credential`]), which answers the SD-JWT VC bound to the proven key.

use std::time::Instant;

use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use talent_core::credential::{CredentialType, CredentialView};
use talent_core::identifiers::CredentialId;
use talent_core::status::CredentialStatus;
use talent_sdjwt::jws::{ALG_EDDSA, Jws};
use talent_sdjwt::{key_proof, vc};

use super::pending::hashed;
use super::{
    HolderError, Holders, IAT_WINDOW_SECONDS, TX_CODE_ATTEMPTS, epoch_seconds, query_value, salt,
    secret, vct,
};
use crate::issuance::IssuanceService;
use crate::issuers::Issuers;
use crate::services::HeldLogs;
use crate::services::search::{self, ReadError};
use crate::store::LogSpace;
use crate::tokens::Operator;

/// The OAuth grant type of the flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// Digits of the transaction code.
pub const TX_CODE_LENGTH: usize = 6;

/// An open offer: which credential, and the hash of its transaction code.
#[derive(Debug)]
pub struct Offer {
    credential: CredentialId,
    tx_code: [u8; 32],
    attempts_left: u32,
}

/// What an access token lets its wallet fetch.
#[derive(Debug, Clone, Copy)]
pub struct AccessGrant {
    credential: CredentialId,
}

/// The parts of the node the issuer reads and signs with.
#[derive(Debug, Clone, Copy)]
pub struct IssuerContext<'a> {
    /// Open offers, tokens, nonces.
    pub holders: &'a Holders,
    /// Signs as the authority.
    pub issuance: &'a IssuanceService,
    /// The own log.
    pub logs: &'a HeldLogs,
    /// Who may read what.
    pub issuers: &'a Issuers,
    /// The credential issuer identifier: the node's public URL.
    pub public_url: &'a str,
}

/// An offer made: what the office shows the talent.
#[derive(Debug)]
pub struct MadeOffer {
    /// `openid-credential-offer://?credential_offer=…`, for the QR code.
    pub uri: String,
    /// The offer object itself.
    pub offer: Value,
    /// The transaction code, told to the talent apart from the QR code.
    pub tx_code: String,
    /// Seconds the offer stays open.
    pub expires_in: u64,
}

/// The issuer metadata (`/.well-known/openid-credential-issuer`): one `dc+sd-jwt`
/// configuration per talent type, EdDSA only.
pub fn issuer_metadata(public_url: &str) -> Value {
    let configurations: serde_json::Map<String, Value> = CredentialType::ALL
        .into_iter()
        .filter(|t| t.is_talent())
        .map(|t| {
            (
                t.as_str().to_owned(),
                json!({
                    "format": "dc+sd-jwt",
                    "vct": vct(public_url, t.as_str()),
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "credential_signing_alg_values_supported": [ALG_EDDSA],
                    "proof_types_supported": {
                        "jwt": {"proof_signing_alg_values_supported": [ALG_EDDSA]}
                    },
                    "credential_metadata": {
                        "display": [{"name": t.label_zh(), "locale": "zh-CN"},
                                    {"name": t.as_str(), "locale": "en"}]
                    }
                }),
            )
        })
        .collect();
    json!({
        "credential_issuer": public_url,
        "credential_endpoint": format!("{public_url}/oid4vci/credential"),
        "nonce_endpoint": format!("{public_url}/oid4vci/nonce"),
        "display": [{"name": "Talent registry", "locale": "en"}],
        "credential_configurations_supported": configurations,
    })
}

/// The authorization server metadata (`/.well-known/oauth-authorization-server`): the
/// node is its own authorization server, for the pre-authorized code grant only.
pub fn authorization_server_metadata(public_url: &str) -> Value {
    json!({
        "issuer": public_url,
        "token_endpoint": format!("{public_url}/oid4vci/token"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": true,
        "response_types_supported": [],
    })
}

/// Makes an offer of own credential `id` for `operator` (who must be allowed to issue and
/// to read it): a valid talent credential, with an Ed25519 authority.
///
/// # Errors
/// [`HolderError::CredentialNotFound`], [`HolderError::NotTalentCredential`],
/// [`HolderError::NotValid`], [`HolderError::RequiresEd25519`], [`HolderError::Full`];
/// the operator's refusal as [`HolderError::InvalidRequest`] is the API's to map.
pub fn create_offer(
    context: IssuerContext<'_>,
    operator: &Operator,
    id: CredentialId,
) -> Result<MadeOffer, HolderError> {
    let own = search::own_credential(context.logs, context.issuers, operator, id)
        .map_err(|error| read_error(error, id))?;
    let credential_type = CredentialView::of(&own.credential)
        .credential_type()
        .filter(|t| t.is_talent())
        .ok_or(HolderError::NotTalentCredential)?;
    if !own.status.is_valid() {
        return Err(HolderError::NotValid(own.status.label_en().to_owned()));
    }
    context
        .issuance
        .with_authority_jws_key(|_, _| ())
        .ok_or(HolderError::RequiresEd25519)?;
    let code = secret();
    let tx_code: String = {
        let mut rng = rand::rngs::OsRng;
        (0..TX_CODE_LENGTH)
            .map(|_| char::from(b'0' + rng.gen_range(0..10)))
            .collect()
    };
    let offer = Offer {
        credential: id,
        tx_code: hashed(&tx_code),
        attempts_left: TX_CODE_ATTEMPTS,
    };
    context
        .holders
        .offers
        .insert(&code, offer, Instant::now())?;
    let object = json!({
        "credential_issuer": context.public_url,
        "credential_configuration_ids": [credential_type.as_str()],
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": "办理窗口告知的 6 位数字 / the 6-digit code the office told you"
                }
            }
        }
    });
    let encoded = query_value(&object.to_string());
    Ok(MadeOffer {
        uri: format!("openid-credential-offer://?credential_offer={encoded}"),
        offer: object,
        tx_code,
        expires_in: context.holders.offers.lifetime().as_secs(),
    })
}

/// The token endpoint: a pre-authorized code and its transaction code for an access
/// token. The code is single use; a wrong transaction code spends one of its attempts.
///
/// # Errors
/// [`HolderError::UnsupportedGrantType`], [`HolderError::InvalidGrant`],
/// [`HolderError::WrongTxCode`], [`HolderError::Full`].
pub fn token(
    holders: &Holders,
    grant_type: &str,
    code: &str,
    tx_code: Option<&str>,
) -> Result<Value, HolderError> {
    if grant_type != PRE_AUTHORIZED_GRANT {
        return Err(HolderError::UnsupportedGrantType);
    }
    let now = Instant::now();
    let given = hashed(tx_code.unwrap_or(""));
    let credential = holders
        .offers
        .update(code, now, |offer| {
            if offer.tx_code == given {
                (false, Ok(offer.credential))
            } else {
                offer.attempts_left -= 1;
                (offer.attempts_left > 0, Err(HolderError::WrongTxCode))
            }
        })
        .ok_or(HolderError::InvalidGrant)??;
    let access_token = secret();
    holders
        .access
        .insert(&access_token, AccessGrant { credential }, now)?;
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": holders.access.lifetime().as_secs(),
    }))
}

/// The nonce endpoint: a fresh, single-use `c_nonce` for a key proof.
///
/// # Errors
/// [`HolderError::Full`].
pub fn nonce(holders: &Holders) -> Result<Value, HolderError> {
    let nonce = secret();
    holders.nonces.insert(&nonce, (), Instant::now())?;
    Ok(json!({"c_nonce": nonce}))
}

/// The credential endpoint: with the access token and a key proof over a fresh nonce,
/// the SD-JWT VC of the offered credential bound to the proven key. The token is spent
/// only when the credential is answered, so a wallet whose proof was refused may retry
/// with a new nonce.
///
/// # Errors
/// [`HolderError::InvalidToken`], [`HolderError::InvalidRequest`],
/// [`HolderError::UnknownConfiguration`], [`HolderError::InvalidNonce`],
/// [`HolderError::InvalidProof`], [`HolderError::NotValid`],
/// [`HolderError::RequiresEd25519`].
pub fn credential(
    context: IssuerContext<'_>,
    access_token: &str,
    request: &Value,
) -> Result<Value, HolderError> {
    let now = Instant::now();
    let grant = context
        .holders
        .access
        .update(access_token, now, |grant| (true, *grant))
        .ok_or(HolderError::InvalidToken)?;
    let proof = request["proofs"]["jwt"]
        .get(0)
        .or_else(|| (request["proof"]["proof_type"] == "jwt").then(|| &request["proof"]["jwt"]))
        .and_then(Value::as_str)
        .ok_or_else(|| HolderError::InvalidRequest("a jwt key proof is required".into()))?;
    let (index, logged, status) = logged_own(context.logs, grant.credential)?;
    let type_name = CredentialView::of(&logged)
        .credential_type()
        .map(CredentialType::as_str)
        .unwrap_or_default();
    let asked = request["credential_configuration_id"]
        .as_str()
        .unwrap_or_default();
    if asked != type_name {
        return Err(HolderError::UnknownConfiguration(asked.to_owned()));
    }
    // The nonce is read from the unverified proof only to find and spend it; the proof
    // is then checked against exactly that nonce.
    let claimed = Jws::parse(proof)
        .map_err(HolderError::InvalidProof)?
        .string_claim("nonce")
        .map(str::to_owned)
        .ok_or(HolderError::InvalidNonce)?;
    context
        .holders
        .nonces
        .take(&claimed, now)
        .ok_or(HolderError::InvalidNonce)?;
    let holder = key_proof::holder_key(
        proof,
        key_proof::Expected {
            audience: context.public_url,
            nonce: &claimed,
            now: Utc::now().timestamp(),
            window: IAT_WINDOW_SECONDS,
        },
    )
    .map_err(HolderError::InvalidProof)?;
    if !status.is_valid() {
        return Err(HolderError::NotValid(status.label_en().to_owned()));
    }
    let vct = vct(context.public_url, type_name);
    let origin = context.logs.member.log_origin.clone();
    let sd_jwt = context
        .issuance
        .with_authority_jws_key(|did, sign| {
            let kid = did.verification_method();
            vc::issue(
                vc::Issuance {
                    credential: &logged,
                    vct: &vct,
                    log_origin: &origin,
                    log_index: index,
                    holder: &holder,
                    kid: &kid,
                    issued_at: Utc::now().timestamp(),
                    not_before: epoch_seconds(logged["validFrom"].as_str()),
                    expires: epoch_seconds(logged["validUntil"].as_str()),
                },
                salt,
                |input| sign(input.as_bytes()),
            )
        })
        .ok_or(HolderError::RequiresEd25519)?
        .map_err(|error| HolderError::Internal(error.into()))?;
    context.holders.access.take(access_token, now);
    Ok(json!({"credentials": [{"credential": sd_jwt}]}))
}

/// Own credential `id` as logged: its index, the credential and its status now.
fn logged_own(
    logs: &HeldLogs,
    id: CredentialId,
) -> Result<(u64, Value, CredentialStatus), HolderError> {
    let index = search::own_index(logs, id).map_err(|error| read_error(error, id))?;
    let bytes = logs
        .log
        .entry(index)
        .map_err(|error| HolderError::Internal(error.into()))?
        .ok_or_else(|| HolderError::CredentialNotFound(id.to_string()))?;
    let credential: Value =
        serde_json::from_slice(&bytes).map_err(|error| HolderError::Internal(error.into()))?;
    let status = logs
        .store
        .status(LogSpace::Own, id, logs.log.head().size)
        .map_err(|error| HolderError::Internal(error.into()))?
        .map_or(CredentialStatus::Valid, |(_, status)| status);
    Ok((index, credential, status))
}

fn read_error(error: ReadError, id: CredentialId) -> HolderError {
    match error {
        ReadError::NotFound(_) => HolderError::CredentialNotFound(id.to_string()),
        other => HolderError::Internal(other.into()),
    }
}
