//! The C2SP `tlog-tiles` read API: `/log/checkpoint`, `/log/tile/<L>/<N>[.p/<W>]` and
//! `/log/tile/entries/<N>[.p/<W>]`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use talent_core::tlog::tile::TilePath;

use super::error::ApiError;
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
}

/// `GET /log/checkpoint`: the latest signed checkpoint (a signed note, text/plain).
async fn checkpoint(State(state): State<AppState>) -> impl IntoResponse {
    let head = state.log.head();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        head.checkpoint.as_ref().clone(),
    )
}

/// `GET /log/tile/…`: a hash tile or entry bundle. Full tiles never change and may be
/// cached forever; partial ones are superseded as the log grows.
async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
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
        "public, max-age=31536000, immutable"
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
