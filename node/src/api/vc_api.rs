//! The W3C VC-API (`w3c/vcalm`): `POST /credentials/issue`, `/credentials/verify`,
//! `/presentations/verify` and `/credentials/status`, thin callers of
//! [`crate::services::vc_api`]. Issuing and status changes take an operator token, as the
//! registry's own API does; verifying is open to anyone.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::error::{ApiError, AppJson};
use crate::services::vc_api;
use crate::state::AppState;
use crate::tokens::Operator;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/credentials/issue", post(issue))
        .route("/credentials/verify", post(verify_credential))
        .route("/presentations/verify", post(verify_presentation))
        .route("/credentials/status", post(update_status))
        .route("/credentials/status-lists/open/0", get(open_status_list))
}

/// `POST /credentials/issue` with `{"credential": {…}, "options"?: {…}}`: 201 with
/// `{"verifiableCredential": …}`; 422 when refused.
async fn issue(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let credential = vc_api::issue(&state, &operator, &body).await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({"verifiableCredential": credential})),
    )
        .into_response())
}

/// `POST /credentials/verify` with `{"verifiableCredential": {…}, "options"?: {"checks"?:
/// […]}}`: 200 when verified, 400 with the same result when not.
async fn verify_credential(
    State(state): State<AppState>,
    AppJson(mut body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let result = vc_api::verify_credential(&state, &mut body).await?;
    Ok(answer(result))
}

/// `POST /presentations/verify` with `{"verifiablePresentation": {…}, "options"?:
/// {"challenge"?, "domain"?, "checks"?}}`: as `/credentials/verify`.
async fn verify_presentation(
    State(state): State<AppState>,
    AppJson(mut body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let result = vc_api::verify_presentation(&state, &mut body).await?;
    Ok(answer(result))
}

fn answer(result: vc_api::VerificationResult) -> Response {
    let status = if result.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, AppJson(result)).into_response()
}

/// `POST /credentials/status`: 200 once the change is durable.
async fn update_status(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<AppJson<Value>, ApiError> {
    Ok(AppJson(
        vc_api::update_status(&state, &operator, &body).await?,
    ))
}

/// `GET /credentials/status-lists/open/0`: the open issuer's signed revocation list.
async fn open_status_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let open = state
        .open_issuer
        .clone()
        .ok_or_else(|| ApiError::StatusListNotFound("open/0".into()))?;
    let list = tokio::task::spawn_blocking(move || open.list_credential())
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(vc_api::VcApiError::from)?;
    Ok(AppJson(list).into_response())
}
