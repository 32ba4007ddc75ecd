//! Who the node is and what it speaks: health, member identity, JSON Schemas and the
//! JSON-LD context.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::schema;

use super::error::{ApiError, AppJson};
use crate::state::AppState;
use crate::tokens::Operator;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/member", get(member))
        .route(
            "/api/v1/member/authority-key:rotate",
            post(rotate_authority_key),
        )
        .route("/schemas/{*path}", get(schema_document))
        .route("/ns/v1", get(context))
}

/// `GET /healthz`: the node is up and its store answers.
async fn health(State(state): State<AppState>) -> Result<AppJson<Value>, ApiError> {
    // A read proves the store is open and answering, not merely that the process runs.
    state.store.meta(crate::store::META_MEMBER_ID)?;
    Ok(AppJson(json!({"status": "ok", "member": state.member.id})))
}

/// `GET /api/v1/member`: the identity (the authority DID is its first key) and the key
/// the authority signs with now.
async fn member(State(state): State<AppState>) -> AppJson<Value> {
    let mut identity = json!(state.member.as_ref());
    identity["authorityKey"] = json!(state.issuance.authority_did().to_string());
    AppJson(identity)
}

/// `POST /api/v1/member/authority-key:rotate` (admin): a new authority key, logged as an
/// `IssuerKeyRotation` signed by the old one.
async fn rotate_authority_key(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.rotate_authority(&operator).await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({
            "authorityKey": state.issuance.authority_did().to_string(),
            "rotation": issued.credential,
            "log": {"index": issued.log.index},
        })),
    ))
}

/// `GET /schemas/<path>`: the JSON Schemas the node validates with.
async fn schema_document(Path(path): Path<String>) -> Result<impl IntoResponse, ApiError> {
    schema::documents()
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, text)| ([(header::CONTENT_TYPE, "application/schema+json")], *text))
        .ok_or(ApiError::RouteNotFound(format!("/schemas/{path}")))
}

/// `GET /ns/v1`: the project's JSON-LD context.
async fn context() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/ld+json")],
        schema::CONTEXT_V1,
    )
}
