//! What an operator's monitoring reads: `GET /healthz` (healthy or not, and why) and
//! `GET /metrics` (Prometheus text format, for an admin or auditor token).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::error::{ApiError, AppJson};
use crate::health::Observed;
use crate::metrics::Snapshot;
use crate::state::AppState;
use crate::tokens::{Operator, Role};

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
}

/// `GET /healthz`: 200 with no problems, else 503 naming each ([`crate::health`]). Anyone
/// sees the problems' codes (and a halted peer's id, which the federation status shows
/// anyway); with an admin or auditor token, also their details (free and threshold bytes,
/// the unreadable key file).
async fn health(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let detailed = reader(&state, &headers).is_ok();
    let problems = match state.health.fresh() {
        Some(problems) => problems,
        None => {
            // A round reads files and the store: off the server thread.
            let checking = state.clone();
            tokio::task::spawn_blocking(move || checking.health.problems(|| observe(&checking)))
                .await
                .map_err(|error| ApiError::Internal(error.into()))?
        }
    };
    let shown: Vec<Value> = problems
        .iter()
        .map(|problem| {
            if detailed {
                json!(problem)
            } else {
                problem.public()
            }
        })
        .collect();
    let (status, word) = if problems.is_empty() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    };
    let body = json!({"status": word, "member": state.member.id, "problems": shown});
    Ok((status, AppJson(body)).into_response())
}

/// What the health checks need of the node's state (blocking: a store read).
fn observe(state: &AppState) -> Observed {
    Observed {
        halted_peers: state
            .federation
            .as_ref()
            .map(|federation| federation.halted_peers())
            .unwrap_or_default(),
        sequencer_running: state.issuance.sequencer_running(),
        // A read proves the store is open and answering, not merely that the process runs.
        store_readable: state.store.meta(crate::store::META_MEMBER_ID).is_ok(),
        log_held: state.log.held(),
    }
}

/// The operator when the request carries an admin or auditor token.
fn reader(state: &AppState, headers: &HeaderMap) -> Result<Operator, ApiError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let operator = state
        .tokens
        .authenticate(authorization)
        .map_err(ApiError::Token)?;
    if operator.role == Role::Issuer {
        return Err(ApiError::Access(crate::issuance::AccessError::Role {
            role: operator.role,
            action: "read the node's metrics (admin or auditor)",
        }));
    }
    Ok(operator)
}

/// `GET /metrics` (admin or auditor token): every metric of [`crate::metrics`] in the
/// Prometheus text format. Operational, not public: Prometheus sends the token
/// (`authorization: {credentials_file: …}`, docs/operations.md).
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    reader(&state, &headers)?;
    let reading = state.clone();
    // The peers' evidence is read from the store.
    let text = tokio::task::spawn_blocking(move || {
        let snapshot = Snapshot {
            log_entries: reading.log.head().size,
            log_witnessed_entries: reading
                .federation
                .as_ref()
                .and_then(|federation| federation.collector.witnessed())
                .map(|witnessed| witnessed.size),
            peers: reading
                .federation
                .as_ref()
                .map(|federation| federation.peer_samples())
                .unwrap_or_default(),
        };
        reading.metrics.render(&snapshot)
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))?
    .map_err(|error| ApiError::Internal(error.into()))?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}
