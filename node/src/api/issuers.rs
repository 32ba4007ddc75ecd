//! `GET /api/v1/members/{id}/issuer-history`: a member's issuer history (accreditations,
//! their status changes, key rotations) with inclusion proofs under one checkpoint, for
//! verifiers that do not mirror the log (`talent_core::history`, built by
//! [`crate::services::issuer_history`]). Public: it names issuers and scopes, never talents.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use talent_core::history::IssuerHistory;

use super::error::{ApiError, AppJson};
use crate::services::issuer_history;
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/members/{id}/issuer-history", get(history))
}

async fn history(
    State(state): State<AppState>,
    Path(member): Path<String>,
) -> Result<AppJson<IssuerHistory>, ApiError> {
    let logs = state.held_logs();
    tokio::task::spawn_blocking(move || issuer_history::of_member(&logs, &member))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map(AppJson)
        .map_err(ApiError::from)
}
