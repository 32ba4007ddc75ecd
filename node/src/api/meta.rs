//! Who the node is and what it speaks: health, member identity, JSON Schemas and the
//! JSON-LD context.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use talent_core::schema;

use super::error::{ApiError, AppJson};
use crate::member::MemberIdentity;
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/member", get(member))
        .route("/schemas/{*path}", get(schema_document))
        .route("/ns/v1", get(context))
}

/// `GET /healthz`: the node is up and its store answers.
async fn health(State(state): State<AppState>) -> Result<AppJson<Value>, ApiError> {
    // A read proves the store is open and answering, not merely that the process runs.
    state.store.meta(crate::store::META_MEMBER_ID)?;
    Ok(AppJson(json!({"status": "ok", "member": state.member.id})))
}

/// `GET /api/v1/member`.
async fn member(State(state): State<AppState>) -> AppJson<MemberIdentity> {
    AppJson(state.member.as_ref().clone())
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
