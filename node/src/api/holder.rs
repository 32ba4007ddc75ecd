//! The holder's API: `POST /api/v1/holder/queries` — the query log of one own credential,
//! opened with its holder access code (in the body, never in a URL).

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use talent_core::identifiers::CredentialId;

use super::error::{ApiError, AppJson};
use crate::services::query_log::{self, QueryRecord};
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/holder/queries", post(queries))
}

/// The body of `POST /api/v1/holder/queries`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueriesRequest {
    credential_id: String,
    access_code: String,
}

/// Its answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueriesAnswer {
    credential_id: String,
    queries: Vec<QueryRecord>,
}

/// `POST /api/v1/holder/queries` with `{"credentialId", "accessCode"}`: 200 with the
/// credential's query log, newest first; 403 `holder_code_mismatch` for a code that is not
/// the credential's (or a credential this member did not issue).
async fn queries(
    State(state): State<AppState>,
    AppJson(body): AppJson<serde_json::Value>,
) -> Result<AppJson<QueriesAnswer>, ApiError> {
    let request: QueriesRequest =
        serde_json::from_value(body).map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    let id = CredentialId::parse_lenient(&request.credential_id)
        .map_err(|_| ApiError::InvalidCredentialId(request.credential_id.clone()))?;
    let store = std::sync::Arc::clone(&state.store);
    let code = request.access_code;
    let queries = tokio::task::spawn_blocking(move || query_log::for_holder(&store, id, &code))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??;
    Ok(AppJson(QueriesAnswer {
        credential_id: id.to_string(),
        queries,
    }))
}
