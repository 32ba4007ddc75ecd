//! `/api/v1/credentials`: issue (one or a batch), submit what an issuer signed itself,
//! change a status, fetch, and prove inclusion. Writing and fetching need an operator token;
//! the inclusion proof (no personal data) does not.

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
use crate::tokens::{Operator, Role};
use talent_core::did::DidKey;

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
        .route("/api/v1/credentials:submit", post(submit))
        .route("/api/v1/credentials/{id}", get(fetch))
        .route("/api/v1/credentials/{id}/status", post(change_status))
        .route("/api/v1/credentials/{id}/proof", get(proof))
}

/// The JSON of an issued credential: the VC, and where it is in the log.
fn issued_json(state: &AppState, issued: &IssuedCredential) -> Value {
    json!({
        "id": issued.id,
        "credential": issued.credential,
        "authorisation": issued.authorisation,
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
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.issue(&operator, &body).await?;
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
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(requests) = body.get("credentials").and_then(Value::as_array) else {
        return Err(ApiError::BatchSize(format!(
            "body must be {{\"credentials\": [1 to {MAX_BATCH_CREDENTIALS} issue requests]}}"
        )));
    };
    let issued = state.issuance.issue_batch(&operator, requests).await?;
    let results: Vec<Value> = issued
        .iter()
        .map(|item| issued_json(&state, item))
        .collect();
    Ok((
        StatusCode::CREATED,
        AppJson(json!({ "count": results.len(), "results": results })),
    ))
}

/// `POST /api/v1/credentials:submit` with a credential or statement (status change, key
/// rotation) its issuer signed: 201 once logged, after the same checks as issuance plus the
/// proof, the signer's token and the accreditation scope.
async fn submit(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.submit(&operator, &body).await?;
    Ok((StatusCode::CREATED, AppJson(issued_json(&state, &issued))))
}

/// `POST /api/v1/credentials/{id}/status` with `{"status", "reason", "effective"?,
/// "successor"?}`: the authority signs and logs the change.
async fn change_status(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(id)?;
    let issued = state.issuance.change_status(&operator, id, &body).await?;
    Ok((StatusCode::CREATED, AppJson(issued_json(&state, &issued))))
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
/// It carries personal data: admins and auditors read any credential, an issuer token only
/// its own issuer's.
async fn fetch(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(id)?;
    let index = locate(&state, id).await?;
    let log = state.log.clone();
    let bytes = tokio::task::spawn_blocking(move || log.entry(index))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))?;
    if operator.role == Role::Issuer {
        let issuer = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|object| object["issuer"].as_str()?.parse::<DidKey>().ok());
        let own = state.issuers.own();
        let mine = match (&operator.issuer, &issuer) {
            (Some(bound), Some(issuer)) => own.same_issuer(bound, issuer),
            _ => false,
        };
        if !mine {
            // Not the caller's credential: answer as if it did not exist.
            return Err(ApiError::CredentialNotFound(id.to_string()));
        }
    }
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
