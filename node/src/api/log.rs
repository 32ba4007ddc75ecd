//! The C2SP `tlog-tiles` read API: `/log/checkpoint`, `/log/tile/<L>/<N>[.p/<W>]` and
//! `/log/tile/entries/<N>[.p/<W>]`, and `/log/proof/consistency` for outside auditors.
//!
//! Checkpoints, hash tiles and consistency proofs are public: a leaf hash commits to a
//! signed entry without revealing it (docs/federation-protocol.md §12.6). Entry bundles
//! carry personal data and are for members and operators only.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;
use talent_tlog::merkle;
use talent_tlog::tile::TilePath;

use super::error::{ApiError, AppJson};
use super::federation::require_member;
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
        .route("/log/proof/consistency", get(consistency))
}

/// `GET /log/checkpoint`: the latest signed checkpoint (a signed note, text/plain) with the
/// cosignatures federation members have given it so far. While the log is held (a restored
/// member not yet confirmed or caught up, see `crate::rollback`) it answers 503 `log_held`:
/// its checkpoint may be older than one it signed before, which peers would rightly take for
/// a rollback.
async fn checkpoint(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if let Some(reason) = state.log.held() {
        return Err(ApiError::LogHeld(reason));
    }
    let note = state.held_logs().own_checkpoint(&state.log.head());
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        note,
    ))
}

/// `GET /log/tile/…`: a hash tile (public) or an entry bundle. Full tiles never change
/// and may be cached forever; partial ones are superseded as the log grows. Entries carry
/// personal data, so in a federation only members (signed requests) and operators may read
/// them, checked before the path is parsed.
async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let bundle = path.starts_with("entries/");
    if bundle {
        require_reader_of_entries(&state, &uri, &headers)?;
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
    let cache = match (tile.is_full(), bundle) {
        (false, _) => "no-store",
        (true, true) => "private, max-age=31536000, immutable",
        (true, false) => "public, max-age=31536000, immutable",
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        data,
    ))
}

/// Members sign their reads of entry bundles; operators (admin, auditor) may read with
/// their token.
fn require_reader_of_entries(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        let operator = state
            .tokens
            .authenticate(authorization.to_str().ok())
            .map_err(ApiError::Token)?;
        if operator.role == crate::tokens::Role::Issuer {
            return Err(ApiError::Access(crate::issuance::AccessError::Role {
                role: operator.role,
                action: "read the log's entry bundles (admin or auditor)",
            }));
        }
    } else {
        require_member(state, "GET", uri, headers, &[])?;
    }
    Ok(())
}

/// The query of `GET /log/proof/consistency`.
#[derive(Debug, Deserialize)]
struct ConsistencyRange {
    from: u64,
    to: u64,
}

/// `GET /log/proof/consistency?from=M&to=N`: the RFC 6962 consistency proof between the
/// log's trees of M and N entries, for auditors holding two checkpoints.
async fn consistency(
    State(state): State<AppState>,
    range: Result<Query<ConsistencyRange>, QueryRejection>,
) -> Result<AppJson<serde_json::Value>, ApiError> {
    let Query(ConsistencyRange { from, to }) =
        range.map_err(|rejection| ApiError::InvalidProofRange(rejection.body_text()))?;
    if from == 0 || from > to {
        return Err(ApiError::InvalidProofRange(format!(
            "from must be at least 1 and at most to (from={from}, to={to})"
        )));
    }
    let size = state.log.head().size;
    if to > size {
        return Err(ApiError::SizeNotInLog {
            size: to,
            current: size,
        });
    }
    let log = state.log.clone();
    let proof = tokio::task::spawn_blocking(move || log.consistency_proof(from, to))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(|error| ApiError::Internal(error.into()))?;
    let proof: Vec<String> = proof.iter().map(merkle::format_hash).collect();
    Ok(AppJson(
        serde_json::json!({"from": from, "to": to, "proof": proof}),
    ))
}
