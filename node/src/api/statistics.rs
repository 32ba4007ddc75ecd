//! `/api/v1/statistics`: aggregate counts only, never personal data; counts below
//! [`SUPPRESS_BELOW`] are shown as "fewer than 5" so that no small group can be singled out.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use super::error::{ApiError, AppJson};
use crate::state::AppState;

/// Counts below this are suppressed.
pub const SUPPRESS_BELOW: u64 = 5;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/statistics/recognition-flows",
        get(recognition_flows),
    )
}

/// `GET /api/v1/statistics/recognition-flows`: how often this node answered a recognition
/// question, per (from region, to region, credential type, outcome).
async fn recognition_flows(State(state): State<AppState>) -> Result<AppJson<Value>, ApiError> {
    let store = state.store.clone();
    let flows = tokio::task::spawn_blocking(move || store.recognition_flows())
        .await
        .map_err(|error| ApiError::Internal(error.into()))??;
    let flows: Vec<Value> = flows
        .into_iter()
        .map(|([from, to, credential_type, outcome], count)| {
            let suppressed = count < SUPPRESS_BELOW;
            json!({
                "from": from,
                "to": to,
                "type": credential_type,
                "outcome": outcome,
                "count": if suppressed { Value::Null } else { json!(count) },
                "suppressed": suppressed,
            })
        })
        .collect();
    Ok(AppJson(json!({
        "suppressBelow": SUPPRESS_BELOW,
        "flows": flows,
    })))
}
