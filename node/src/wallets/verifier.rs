//! OpenID4VP 1.0 at the node, for an employer: a presentation request (a DCQL query for
//! an SD-JWT VC and the subject claims the employer needs, and a purpose) signed by the
//! member's authority and passed by reference (`openid4vp://?client_id=…&request_uri=…`);
//! the wallet's `direct_post` answer verified ([`respond`]): the holder's key binding to
//! this request's nonce, the disclosures, then the logged credential the id names, whose
//! claims must equal the disclosed ones and which the node's verification pipeline checks
//! in full (proof, inclusion, status) and, when asked, recognises in a region. The
//! employer reads the result with a token only it holds ([`result`]), and it holds the
//! disclosed claims only.

use std::time::Instant;

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use talent_core::credential::{CredentialType, CredentialView};
use talent_integrity::did::DidKey;
use talent_sdjwt::jws::{self, ALG_EDDSA};
use talent_sdjwt::{SdJwtError, key_binding, vc};

use super::pending::hashed;
use super::{HolderError, Holders, IAT_WINDOW_SECONDS, query_value, secret, vct};
use crate::issuance::IssuanceService;
use crate::services::query_log::{Channel, Inquiry};
use crate::services::verification::{self, Batcher, Sources};

/// The DCQL credential query id of the one credential asked for.
pub const QUERY_ID: &str = "talent";
/// Most subject claims one request may ask for.
pub const MAX_CLAIMS: usize = 16;
/// Most characters of a request's purpose.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// What an employer asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// Why, shown to the talent by the wallet.
    pub purpose: String,
    /// The subject claims to be disclosed (e.g. `category`, `tier`).
    pub claims: Vec<String>,
    /// A region to answer recognition in.
    #[serde(default)]
    pub region: Option<String>,
    /// The credential type asked for; any talent type when absent.
    #[serde(default, rename = "type")]
    pub credential_type: Option<String>,
    /// Who asks, as the employer names itself: recorded with the purpose in the holder's
    /// query log.
    #[serde(default)]
    pub verifier: Option<String>,
}

/// An open request.
#[derive(Debug)]
pub struct PresentationRequest {
    request_object: String,
    nonce: String,
    client_id: String,
    claims: Vec<String>,
    region: Option<String>,
    purpose: String,
    inquiry: Inquiry,
    result_key: [u8; 32],
}

/// A request's result as the employer reads it.
#[derive(Debug, Clone)]
pub enum RequestResult {
    /// No answer yet.
    Pending,
    /// The wallet answered: the verified, disclosed result or the refusal.
    Answered(Value),
}

/// A request made: what the employer's page shows and keeps.
#[derive(Debug)]
pub struct MadeRequest {
    /// `openid4vp://?client_id=…&request_uri=…`, for the QR code.
    pub uri: String,
    /// The employer's token to read the result; never shown to the wallet.
    pub result_token: String,
    /// Seconds the request stays open.
    pub expires_in: u64,
}

/// The parts of the node a verifier uses.
#[derive(Debug, Clone)]
pub struct VerifierContext<'a> {
    /// Open requests and results.
    pub holders: &'a Holders,
    /// Signs request objects as the authority.
    pub issuance: &'a IssuanceService,
    /// Verifies the logged credential.
    pub batcher: &'a Batcher,
    /// What it verifies against.
    pub sources: Sources,
    /// The node's public URL.
    pub public_url: &'a str,
}

/// Makes a presentation request from `ask`.
///
/// # Errors
/// [`HolderError::InvalidRequest`] for a bad ask, [`HolderError::RequiresEd25519`],
/// [`HolderError::Full`].
pub fn create_request(context: &VerifierContext<'_>, ask: Ask) -> Result<MadeRequest, HolderError> {
    check_ask(&ask)?;
    let inquiry = Inquiry::new(ask.verifier.as_deref(), Some(&ask.purpose), Channel::Wallet)
        .map_err(|error| HolderError::InvalidRequest(error.to_string()))?;
    let types: Vec<String> = match &ask.credential_type {
        Some(name) => {
            let parsed: CredentialType = name
                .parse()
                .ok()
                .filter(|t: &CredentialType| t.is_talent())
                .ok_or_else(|| {
                    HolderError::InvalidRequest(format!("{name:?} is not a talent credential type"))
                })?;
            vec![parsed.as_str().to_owned()]
        }
        None => CredentialType::ALL
            .into_iter()
            .filter(|t| t.is_talent())
            .map(|t| t.as_str().to_owned())
            .collect(),
    };
    let (id, state, nonce, result_token) = (secret(), secret(), secret(), secret());
    let response_uri = format!("{}/oid4vp/response", context.public_url);
    let now = Utc::now().timestamp();
    let signed = context.issuance.with_authority_jws_key(|did, sign| {
        let client_id = format!("decentralized_identifier:{did}");
        let payload = json!({
            "iss": did.to_string(),
            "aud": "https://self-issued.me/v2",
            "client_id": client_id,
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": response_uri,
            "nonce": nonce,
            "state": state,
            "iat": now,
            "exp": now + context.holders.requests.lifetime().as_secs() as i64,
            "dcql_query": {
                "credentials": [{
                    "id": QUERY_ID,
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": types.iter().map(|t| vct(context.public_url, t)).collect::<Vec<_>>()},
                    "claims": ask.claims.iter().map(|c| json!({"path": ["credentialSubject", c]})).collect::<Vec<_>>(),
                }],
                "credential_sets": [{"options": [[QUERY_ID]], "purpose": ask.purpose}],
            },
            "client_metadata": {
                "vp_formats_supported": {
                    "dc+sd-jwt": {"sd-jwt_alg_values": [ALG_EDDSA], "kb-jwt_alg_values": [ALG_EDDSA]}
                }
            },
        });
        let mut header = Map::new();
        header.insert("typ".to_owned(), json!("oauth-authz-req+jwt"));
        header.insert("kid".to_owned(), json!(did.verification_method()));
        let input = jws::signing_input(&header, &payload);
        (client_id, jws::assemble(&input, &sign(input.as_bytes())))
    });
    let (client_id, request_object) = signed.ok_or(HolderError::RequiresEd25519)?;
    let instant = Instant::now();
    let holders = context.holders;
    holders
        .results
        .insert(&result_token, RequestResult::Pending, instant)?;
    holders.states.insert(&state, id.clone(), instant)?;
    holders.requests.insert(
        &id,
        PresentationRequest {
            request_object,
            nonce,
            client_id: client_id.clone(),
            claims: ask.claims,
            region: ask.region,
            purpose: ask.purpose,
            inquiry,
            result_key: hashed(&result_token),
        },
        instant,
    )?;
    let request_uri = format!("{}/oid4vp/requests/{id}", context.public_url);
    Ok(MadeRequest {
        uri: format!(
            "openid4vp://?client_id={}&request_uri={}",
            query_value(&client_id),
            query_value(&request_uri)
        ),
        result_token,
        expires_in: holders.requests.lifetime().as_secs(),
    })
}

fn check_ask(ask: &Ask) -> Result<(), HolderError> {
    let bad = |why: &str| Err(HolderError::InvalidRequest(why.to_owned()));
    if ask.purpose.trim().is_empty() || ask.purpose.chars().count() > MAX_PURPOSE_CHARS {
        return bad("purpose must be 1 to 200 characters");
    }
    if ask.claims.is_empty() || ask.claims.len() > MAX_CLAIMS {
        return bad("claims must name 1 to 16 subject claims");
    }
    let name_ok = |c: &String| {
        !c.is_empty() && c.len() <= 40 && c.chars().all(|ch| ch.is_ascii_alphanumeric())
    };
    if !ask.claims.iter().all(name_ok) {
        return bad("a claim name is not a subject member name");
    }
    Ok(())
}

/// The signed request object of open request `id` (the wallet fetches it by reference).
///
/// # Errors
/// [`HolderError::UnknownRequest`].
pub fn request_object(holders: &Holders, id: &str) -> Result<String, HolderError> {
    holders
        .requests
        .update(id, Instant::now(), |request| {
            (true, request.request_object.clone())
        })
        .ok_or(HolderError::UnknownRequest)
}

/// The wallet's `direct_post` response: the request of `state` is answered once, whatever
/// the outcome, and the employer's result records it.
///
/// # Errors
/// [`HolderError::UnknownRequest`] for an unknown, answered or expired `state`; the
/// refusal of the presentation otherwise (also recorded as the result).
pub async fn respond(
    context: VerifierContext<'_>,
    vp_token: &str,
    state: &str,
) -> Result<(), HolderError> {
    let now = Instant::now();
    let id = context
        .holders
        .states
        .take(state, now)
        .ok_or(HolderError::UnknownRequest)?;
    let request = context
        .holders
        .requests
        .take(&id, now)
        .ok_or(HolderError::UnknownRequest)?;
    let outcome = verify_response(&context, &request, vp_token).await;
    let recorded = match &outcome {
        Ok(result) => result.clone(),
        Err(error) => json!({
            "status": "answered",
            "verified": false,
            "purpose": request.purpose,
            "error": {"code": error.code(), "message": error.to_string()},
        }),
    };
    context
        .holders
        .results
        .update_hashed(request.result_key, now, |result| {
            *result = RequestResult::Answered(recorded);
            (true, ())
        });
    outcome.map(|_| ())
}

async fn verify_response(
    context: &VerifierContext<'_>,
    request: &PresentationRequest,
    vp_token: &str,
) -> Result<Value, HolderError> {
    let token: Value = serde_json::from_str(vp_token)
        .map_err(|_| HolderError::InvalidRequest("vp_token is not a JSON object".into()))?;
    let presentation = match &token[QUERY_ID] {
        Value::Array(items) if items.len() == 1 => items[0].as_str(),
        Value::String(text) => Some(text.as_str()),
        _ => None,
    }
    .ok_or_else(|| {
        HolderError::InvalidRequest(format!(
            "vp_token must hold one presentation for {QUERY_ID:?}"
        ))
    })?;
    let disclosed = vc::verify_presentation(
        presentation,
        issuer_key,
        vc::Expected {
            key_binding: key_binding::Expected {
                audience: &request.client_id,
                nonce: &request.nonce,
                now: Utc::now().timestamp(),
                window: IAT_WINDOW_SECONDS,
            },
        },
    )
    .map_err(HolderError::Presentation)?;
    if let Some(missing) = request
        .claims
        .iter()
        .find(|c| !disclosed.subject.contains_key(*c))
    {
        return Err(HolderError::MissingRequestedClaim(missing.clone()));
    }
    let logged = logged_match(&context.sources, &disclosed)?;
    let answer = verification::answer(
        context.batcher,
        context.sources.clone(),
        logged,
        false,
        request.region.clone(),
        &request.inquiry,
    )
    .await
    .map_err(|error| match error {
        verification::VerificationError::UnknownRegion(region) => {
            HolderError::InvalidRequest(format!("this node holds no log of region {region:?}"))
        }
        other => HolderError::Internal(other.into()),
    })?;
    let verdict = &answer.verdict;
    let summary = &verdict.credential;
    // A wallet that discloses more than asked is checked on all of it, but the employer
    // keeps only what it asked for.
    let asked: Map<String, Value> = disclosed
        .subject
        .iter()
        .filter(|(name, _)| request.claims.contains(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Ok(json!({
        "status": "answered",
        "verified": verdict.verified,
        "purpose": request.purpose,
        "disclosed": asked,
        "credential": {
            "id": summary.id,
            "type": summary.credential_type,
            "issuer": summary.issuer,
            "region": summary.region,
            "validFrom": summary.valid_from,
            "validUntil": summary.valid_until,
        },
        "checks": verdict.checks.iter().map(|c| json!({"name": c.name, "ok": c.ok})).collect::<Vec<_>>(),
        "recognition": answer.recognition.as_ref().map(|r| json!({
            "region": r.region,
            "recognized": r.recognised,
            "outcome": r.outcome,
            "equivalent": r.equivalent,
            "equivalentEn": r.equivalent_en,
            "agreementName": r.agreement_name,
            "rule": r.rule,
        })),
    }))
}

/// The Ed25519 key of a did:key issuer, with `kid` (when given) one of its methods.
fn issuer_key(iss: &str, kid: Option<&str>) -> Result<ed25519_dalek::VerifyingKey, SdJwtError> {
    let did: DidKey = iss.parse().map_err(|_| SdJwtError::MissingClaim("iss"))?;
    if kid.is_some_and(|kid| kid != did.verification_method()) {
        return Err(SdJwtError::BadSignature("issuer"));
    }
    did.ed25519().copied().ok_or(SdJwtError::UnsupportedKey)
}

/// The logged credential the presentation names, whose claims equal the disclosed ones.
fn logged_match(sources: &Sources, disclosed: &vc::Disclosed) -> Result<Value, HolderError> {
    let id = talent_core::identifiers::CredentialId::parse_lenient(&disclosed.credential_id)
        .map_err(|_| HolderError::NotLogged)?;
    let entries = sources
        .logs
        .entries_with_id(id)
        .map_err(|error| HolderError::Internal(error.into()))?;
    if entries.is_empty() {
        return Err(HolderError::NotLogged);
    }
    let mut difference = String::new();
    for (_, bytes) in entries {
        let logged: Value =
            serde_json::from_slice(&bytes).map_err(|error| HolderError::Internal(error.into()))?;
        match differs(&logged, disclosed) {
            None => return Ok(logged),
            Some(what) => difference = what,
        }
    }
    Err(HolderError::ClaimsDiffer(difference))
}

/// What of the disclosed credential differs from `logged`, if anything.
fn differs(logged: &Value, disclosed: &vc::Disclosed) -> Option<String> {
    let view = CredentialView::of(logged);
    let type_name = view
        .credential_type()
        .map(CredentialType::as_str)
        .unwrap_or("?");
    if !disclosed.vct.ends_with(&format!("/vct/{type_name}")) {
        return Some("vct".to_owned());
    }
    if logged["issuer"].as_str() != Some(disclosed.issuer.as_str()) {
        return Some("iss".to_owned());
    }
    let subject = &logged["credentialSubject"];
    if subject["region"].as_str() != disclosed.region.as_deref() {
        return Some("region".to_owned());
    }
    if logged.get("credentialStatus") != disclosed.credential_status.as_ref() {
        return Some("credentialStatus".to_owned());
    }
    disclosed
        .subject
        .iter()
        .find(|(name, value)| subject.get(name.as_str()) != Some(*value))
        .map(|(name, _)| name.clone())
}

/// The result of the request whose result token is `token`.
///
/// # Errors
/// [`HolderError::UnknownRequest`].
pub fn result(holders: &Holders, token: &str) -> Result<Value, HolderError> {
    let result = holders
        .results
        .update(token, Instant::now(), |result| (true, result.clone()))
        .ok_or(HolderError::UnknownRequest)?;
    Ok(match result {
        RequestResult::Pending => json!({"status": "pending"}),
        RequestResult::Answered(value) => value,
    })
}
