//! `/api/v1/credentials`: issue and fetch credentials.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::identifiers::CredentialId;

use super::error::{ApiError, AppJson};
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/credentials", post(issue))
        .route("/api/v1/credentials/{id}", get(fetch))
}

/// `POST /api/v1/credentials`: 201 with the signed credential, after it is durably stored.
async fn issue(
    State(state): State<AppState>,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.issue(&body).await?;
    let location = format!("/api/v1/credentials/{}", issued.id.uuid());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        AppJson(json!({
            "id": issued.id,
            "credential": issued.credential,
        })),
    ))
}

/// `GET /api/v1/credentials/{id}`: the signed credential itself, ready to save and verify.
async fn fetch(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = CredentialId::parse_lenient(&id).map_err(|_| ApiError::InvalidCredentialId(id))?;
    let store = state.store.clone();
    let bytes = tokio::task::spawn_blocking(move || store.credential(id))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/vc+json")], bytes))
}
