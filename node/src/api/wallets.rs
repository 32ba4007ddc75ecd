//! Holders with wallets over HTTP (docs/holders.md): the OpenID4VCI issuer (metadata,
//! token, nonce and credential endpoints, and the office's offer), the `vct` type
//! metadata, and the OpenID4VP verifier (the employer's request and result, the request
//! object by reference, the wallet's `direct_post` response). The protocol endpoints
//! answer OAuth-style errors (`error`, `error_description`) with the registry's `code`.

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use talent_core::credential::CredentialType;
use talent_core::identifiers::CredentialId;

use super::error::{ApiError, AppJson};
use crate::state::AppState;
use crate::tokens::Operator;
use crate::wallets::issuer::{self, IssuerContext};
use crate::wallets::verifier::{self, Ask, VerifierContext};
use crate::wallets::{HolderError, vct};

/// The holders' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-credential-issuer",
            get(issuer_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(authorization_server_metadata),
        )
        .route("/oid4vci/token", post(token))
        .route("/oid4vci/nonce", post(nonce))
        .route("/oid4vci/credential", post(credential))
        .route("/vct/{type}", get(type_metadata))
        .route("/api/v1/credentials/{id}/offer", post(create_offer))
        .route("/api/v1/presentation-requests", post(create_request))
        .route("/api/v1/presentation-requests:result", post(request_result))
        .route("/oid4vp/requests/{id}", get(request_object))
        .route("/oid4vp/response", post(response))
}

impl IntoResponse for HolderError {
    fn into_response(self) -> Response {
        if let HolderError::Internal(cause) = &self {
            tracing::error!(error = %cause, "holders: internal error");
        }
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({
            "error": self.oauth_error(),
            "error_description": self.to_string(),
            "code": self.code(),
        });
        (status, no_store(), Json(body)).into_response()
    }
}

/// Answers carrying secrets are never cached (RFC 6749 §5.1).
fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

async fn issuer_metadata(State(state): State<AppState>) -> Json<Value> {
    Json(issuer::issuer_metadata(&state.public_url))
}

async fn authorization_server_metadata(State(state): State<AppState>) -> Json<Value> {
    Json(issuer::authorization_server_metadata(&state.public_url))
}

/// The token request (`application/x-www-form-urlencoded`, RFC 6749 §4.1.3).
#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: String,
    #[serde(rename = "pre-authorized_code")]
    pre_authorized_code: Option<String>,
    tx_code: Option<String>,
}

async fn token(
    State(state): State<AppState>,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Result<Response, HolderError> {
    let Form(request) = form.map_err(|error| HolderError::InvalidRequest(error.body_text()))?;
    let code = request
        .pre_authorized_code
        .ok_or_else(|| HolderError::InvalidRequest("pre-authorized_code is required".into()))?;
    let answer = issuer::token(
        &state.wallets,
        &request.grant_type,
        &code,
        request.tx_code.as_deref(),
    )?;
    Ok((no_store(), Json(answer)).into_response())
}

async fn nonce(State(state): State<AppState>) -> Result<Response, HolderError> {
    Ok((no_store(), Json(issuer::nonce(&state.wallets)?)).into_response())
}

async fn credential(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HolderError> {
    let access_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(HolderError::InvalidToken)?
        .to_owned();
    let request: Value = serde_json::from_slice(&body)
        .map_err(|_| HolderError::InvalidRequest("the body is not JSON".into()))?;
    let logs = state.held_logs();
    let context = IssuerContext {
        holders: &state.wallets,
        issuance: &state.issuance,
        logs: &logs,
        issuers: &state.issuers,
        public_url: &state.public_url,
    };
    let answer = issuer::credential(context, &access_token, &request)?;
    Ok((no_store(), Json(answer)).into_response())
}

/// SD-JWT VC type metadata of a talent type: its name, nothing more.
async fn type_metadata(
    State(state): State<AppState>,
    Path(type_name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let credential_type = type_name
        .parse::<CredentialType>()
        .ok()
        .filter(|t| t.is_talent())
        .ok_or_else(|| ApiError::RouteNotFound(format!("/vct/{type_name}")))?;
    Ok(Json(json!({
        "vct": vct(&state.public_url, credential_type.as_str()),
        "name": credential_type.as_str(),
        "display": [{"locale": "zh-CN", "name": credential_type.label_zh()},
                    {"locale": "en", "name": credential_type.as_str()}],
    })))
}

/// `POST /api/v1/credentials/{id}/offer`: an office's credential offer for one own
/// talent credential (tokens that may issue and read it).
async fn create_offer(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    let id = CredentialId::parse_lenient(&id)
        .map_err(|_| ApiError::InvalidCredentialId(id).into_response())?;
    state
        .issuance
        .check_may_issue(&operator)
        .map_err(|error| ApiError::from(error).into_response())?;
    let logs = state.held_logs();
    let context = IssuerContext {
        holders: &state.wallets,
        issuance: &state.issuance,
        logs: &logs,
        issuers: &state.issuers,
        public_url: &state.public_url,
    };
    let offer =
        issuer::create_offer(context, &operator, id).map_err(IntoResponse::into_response)?;
    let body = json!({
        "offerUri": offer.uri,
        "credentialOffer": offer.offer,
        "txCode": offer.tx_code,
        "expiresIn": offer.expires_in,
    });
    Ok((StatusCode::CREATED, no_store(), Json(body)).into_response())
}

fn verifier_context(state: &AppState) -> VerifierContext<'_> {
    VerifierContext {
        holders: &state.wallets,
        issuance: &state.issuance,
        batcher: &state.verifier,
        sources: state.verification_sources(),
        public_url: &state.public_url,
    }
}

/// `POST /api/v1/presentation-requests`: an employer's request (public, like
/// verification; bounded, see docs/holders.md).
async fn create_request(
    State(state): State<AppState>,
    AppJson(ask): AppJson<Ask>,
) -> Result<Response, HolderError> {
    let made = verifier::create_request(&verifier_context(&state), ask)?;
    let body = json!({
        "requestUri": made.uri,
        "resultToken": made.result_token,
        "expiresIn": made.expires_in,
    });
    Ok((StatusCode::CREATED, no_store(), Json(body)).into_response())
}

/// The employer's result read (`{"resultToken": …}`), in a body so the token stays out
/// of URLs and logs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResultQuery {
    result_token: String,
}

async fn request_result(
    State(state): State<AppState>,
    AppJson(query): AppJson<ResultQuery>,
) -> Result<Response, HolderError> {
    let result = verifier::result(&state.wallets, &query.result_token)?;
    Ok((no_store(), Json(result)).into_response())
}

async fn request_object(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, HolderError> {
    let object = verifier::request_object(&state.wallets, &id)?;
    Ok((
        [(header::CONTENT_TYPE, "application/oauth-authz-req+jwt")],
        object,
    )
        .into_response())
}

/// The wallet's `direct_post` (OpenID4VP §8.2): `vp_token` and `state`, form-encoded.
#[derive(Debug, Deserialize)]
struct WalletResponse {
    vp_token: Option<String>,
    state: Option<String>,
}

async fn response(
    State(state): State<AppState>,
    form: Result<Form<WalletResponse>, axum::extract::rejection::FormRejection>,
) -> Result<Response, HolderError> {
    let Form(answer) = form.map_err(|error| HolderError::InvalidRequest(error.body_text()))?;
    let (Some(vp_token), Some(request_state)) = (answer.vp_token, answer.state) else {
        return Err(HolderError::InvalidRequest(
            "vp_token and state are required".into(),
        ));
    };
    verifier::respond(verifier_context(&state), &vp_token, &request_state).await?;
    Ok((no_store(), Json(json!({}))).into_response())
}
