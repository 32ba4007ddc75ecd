//! The C2SP `tlog-tiles` read API: `/log/checkpoint`, `/log/tile/<L>/<N>[.p/<W>]` and
//! `/log/tile/entries/<N>[.p/<W>]`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use talent_tlog::tile::TilePath;

use super::error::ApiError;
use super::federation::require_member;
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
}

/// `GET /log/checkpoint`: the latest signed checkpoint (a signed note, text/plain) with the
/// cosignatures federation members have given it so far.
async fn checkpoint(State(state): State<AppState>) -> impl IntoResponse {
    let head = state.log.head();
    let note = match &state.federation {
        Some(federation) => federation.collector.with_cosignatures(&head.checkpoint),
        None => head.checkpoint.as_ref().clone(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        note,
    )
}

/// `GET /log/tile/…`: a hash tile or entry bundle. Full tiles never change and may be
/// cached forever; partial ones are superseded as the log grows. Entries carry personal
/// data, so in a federation only members may read them (signed requests).
async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    // Members sign their reads; operators (admin, auditor) may read with their token.
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let operator = state
            .tokens
            .authenticate(authorization.to_str().ok())
            .map_err(ApiError::Token)?;
        if operator.role == crate::tokens::Role::Issuer {
            return Err(ApiError::Access(crate::issuance::AccessError::Role {
                role: operator.role,
                action: "read the log's tiles (admin or auditor)",
            }));
        }
    } else {
        require_member(&state, "GET", &uri, &headers, &[])?;
    }
    let full_path = format!("tile/{path}");
    let tile: TilePath = full_path
        .parse()
        .map_err(|_| ApiError::TileNotFound(full_path.clone()))?;
    let log = state.log.clone();
    let data = tokio::task::spawn_blocking(move || log.tile(tile))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or(ApiError::TileNotFound(full_path))?;
    let cache = if tile.is_full() {
        "private, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        data,
    ))
}
