//! `/api/v1/credentials`: issue (one or a batch), fetch, and prove inclusion.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::identifiers::CredentialId;

use super::error::{ApiError, AppJson};
use crate::issuance::{IssuedCredential, MAX_BATCH_CREDENTIALS};
use crate::state::AppState;

/// Body limit of a batch: up to 1,000 requests of a few KiB each.
const BATCH_BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/credentials", post(issue))
        .route(
            "/api/v1/credentials:batch",
            post(issue_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT_BYTES)),
        )
        .route("/api/v1/credentials/{id}", get(fetch))
        .route("/api/v1/credentials/{id}/proof", get(proof))
}

/// The JSON of an issued credential: the VC, and where it is in the log.
fn issued_json(state: &AppState, issued: &IssuedCredential) -> Value {
    json!({
        "id": issued.id,
        "credential": issued.credential,
        "log": {
            "origin": state.log.origin(),
            "index": issued.log.index,
            "checkpoint": String::from_utf8_lossy(&issued.log.checkpoint),
            "inclusionProof": issued.log.proof,
        },
    })
}

/// `POST /api/v1/credentials`: 201 with the signed credential, its log index, checkpoint
/// and inclusion proof, after its log batch is durable.
async fn issue(
    State(state): State<AppState>,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.issue(&body).await?;
    let location = format!("/api/v1/credentials/{}", issued.id.uuid());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        AppJson(issued_json(&state, &issued)),
    ))
}

/// `POST /api/v1/credentials:batch` with `{"credentials": [request, …]}`: all valid and
/// issued in one durable append, or none.
async fn issue_batch(
    State(state): State<AppState>,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(requests) = body.get("credentials").and_then(Value::as_array) else {
        return Err(ApiError::BatchSize(format!(
            "body must be {{\"credentials\": [1 to {MAX_BATCH_CREDENTIALS} issue requests]}}"
        )));
    };
    let issued = state.issuance.issue_batch(requests).await?;
    let results: Vec<Value> = issued
        .iter()
        .map(|item| issued_json(&state, item))
        .collect();
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "count": results.len(), "results": results })),
    ))
}

fn parse_id(id: String) -> Result<CredentialId, ApiError> {
    CredentialId::parse_lenient(&id).map_err(|_| ApiError::InvalidCredentialId(id))
}

/// The leaf index of a credential, or 404.
async fn locate(state: &AppState, id: CredentialId) -> Result<u64, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.credential_index(id))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))
}

/// `GET /api/v1/credentials/{id}`: the signed credential itself, ready to save and verify.
async fn fetch(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(id)?;
    let index = locate(&state, id).await?;
    let log = state.log.clone();
    let bytes = tokio::task::spawn_blocking(move || log.entry(index))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/vc+json")], bytes))
}

/// `GET /api/v1/credentials/{id}/proof`: the credential's log index, the current
/// checkpoint and the inclusion proof under it.
async fn proof(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<AppJson<Value>, ApiError> {
    let id = parse_id(id)?;
    let index = locate(&state, id).await?;
    let log = state.log.clone();
    let (head, proof) = tokio::task::spawn_blocking(move || log.inclusion_proof(index))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(|error| ApiError::Internal(error.into()))?;
    let checkpoint = match &state.federation {
        Some(federation) => federation.collector.with_cosignatures(&head.checkpoint),
        None => head.checkpoint.as_ref().clone(),
    };
    Ok(AppJson(json!({
        "id": id,
        "origin": state.log.origin(),
        "index": index,
        "checkpoint": String::from_utf8_lossy(&checkpoint),
        "inclusionProof": proof,
    })))
}
