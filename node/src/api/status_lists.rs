//! `/api/v1/status-lists`: the member's W3C Bitstring Status List credentials, public so
//! that any standard VC verifier can check a credential's status, and slot reservation for
//! issuers that sign their credentials themselves.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::status_list::{LIST_TTL_MS, StatusPurpose};
use talent_integrity::did::DidKey;

use super::error::{ApiError, AppJson};
use crate::state::AppState;
use crate::tokens::Operator;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/status-lists/{purpose}/{list}", get(list))
        .route("/api/v1/status-lists:allocate", post(allocate))
}

/// `GET /api/v1/status-lists/{revocation|suspension}/{n}`: the signed
/// `BitstringStatusListCredential`, re-signed when a status in it changes; cacheable for
/// its `ttl`.
async fn list(
    State(state): State<AppState>,
    Path((purpose, list)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::StatusListNotFound(format!("{purpose}/{list}"));
    let purpose_value = StatusPurpose::parse(&purpose).map_err(|_| not_found())?;
    let number = list
        .parse::<u32>()
        .ok()
        .filter(|n| n.to_string() == list)
        .ok_or_else(not_found)?;
    let issuance = state.issuance.clone();
    let credential =
        tokio::task::spawn_blocking(move || issuance.status_list_credential(purpose_value, number))
            .await
            .map_err(|error| ApiError::Internal(error.into()))??
            .ok_or_else(not_found)?;
    Ok((
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={}", LIST_TTL_MS / 1000),
        )],
        AppJson(Value::clone(&credential)),
    ))
}

/// `POST /api/v1/status-lists:allocate` with `{}` (issuer token) or `{"issuer": DID}`
/// (admin): reserves a slot for a credential the issuer will sign and submit, and answers
/// 201 with the `credentialStatus` to put into it.
async fn allocate(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let issuer = match body.get("issuer") {
        None | Some(Value::Null) => None,
        Some(Value::String(did)) => {
            Some(
                did.parse::<DidKey>()
                    .map_err(|error| ApiError::InvalidSubmission {
                        code: "issuer_invalid",
                        message: format!("issuer {did:?} is not a did:key: {error}"),
                    })?,
            )
        }
        Some(_) => {
            return Err(ApiError::InvalidSubmission {
                code: "issuer_invalid",
                message: "issuer must be a did:key string".into(),
            });
        }
    };
    let issuance = state.issuance.clone();
    let entries =
        tokio::task::spawn_blocking(move || issuance.reserve_status_slot(&operator, issuer))
            .await
            .map_err(|error| ApiError::Internal(error.into()))??;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "credentialStatus": entries })),
    ))
}
