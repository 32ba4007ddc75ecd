//! Federation endpoints: the C2SP `tlog-witness` `POST /log/add-checkpoint` (this member
//! cosigning a peer's checkpoint), `GET /api/v1/federation/status`, and [`require_member`],
//! the check that members-only reads (entry bundles) carry a member's signature.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::BTreeMap;

use talent_core::request_auth::{self, RequestAuthError};
use talent_core::trust::TrustAnchors;
use talent_tlog::witness::{self, WitnessError};

use super::error::{ApiError, AppJson};
use crate::federation::WitnessRequestError;
use crate::federation::client::MAX_MIRRORED_ENTRIES;
use crate::federation::witness::AddCheckpointError;
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/log/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(witness::MAX_REQUEST_SIZE)),
        )
        .route("/api/v1/federation/status", get(status))
        .route("/api/v1/federation/trust", get(trust))
        .route(
            "/api/v1/federation/mirrors/{member}/entries",
            get(mirrored_entries),
        )
}

/// The query of `GET /api/v1/federation/mirrors/{member}/entries`.
#[derive(Debug, serde::Deserialize)]
struct EntryRange {
    start: u64,
    count: u64,
}

/// `GET /api/v1/federation/mirrors/{member}/entries?start=N&count=M`: entries
/// `[N, N+M)` of `member`'s log as this node mirrored and verified them, as an entry bundle
/// (C2SP `tlog-tiles`), at most [`MAX_MIRRORED_ENTRIES`] at once. What a member restored
/// from an older backup catches up from (`crate::recovery`). Entries carry personal data:
/// the request must be signed by `member` itself; every other member reads that log from
/// its own node, so nobody else needs another member's entries from here.
async fn mirrored_entries(
    State(state): State<AppState>,
    Path(member): Path<String>,
    range: Result<Query<EntryRange>, QueryRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(federation) = state.federation.clone() else {
        return Err(ApiError::NotFederated);
    };
    let reader = require_member(&state, "GET", &uri, &headers, &[])?.unwrap_or_default();
    if reader != member {
        return Err(ApiError::NotTheLogMember {
            log: member,
            reader,
        });
    }
    let Query(EntryRange { start, count }) =
        range.map_err(|rejection| ApiError::InvalidEntryRange(rejection.body_text()))?;
    if count == 0 || count > MAX_MIRRORED_ENTRIES {
        return Err(ApiError::InvalidEntryRange(format!(
            "count must be 1 to {MAX_MIRRORED_ENTRIES} (count={count})"
        )));
    }
    let end = start.checked_add(count).ok_or_else(|| {
        ApiError::InvalidEntryRange(format!("start + count overflows (start={start})"))
    })?;
    let bundle = tokio::task::spawn_blocking(move || {
        let entries = federation.mirrors.entries(&member, start..end)?.ok_or_else(|| {
            ApiError::EntriesNotMirrored(format!(
                "entries {start}..{end} of {member}'s log are not in this node's verified mirror"
            ))
        })?;
        let mut bundle = Vec::with_capacity(entries.iter().map(|entry| entry.len() + 2).sum());
        for entry in &entries {
            talent_tlog::bundle::push_entry(&mut bundle, entry)
                .map_err(|error| ApiError::Internal(error.into()))?;
        }
        Ok::<_, ApiError>(bundle)
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bundle,
    )
        .into_response())
}

/// Checks that a request is signed by a federation member (any member: every member
/// mirrors every log). A development node has no members and serves everyone.
///
/// # Errors
/// [`ApiError::AuthenticationRequired`] (401) without signature headers,
/// [`ApiError::Forbidden`] (403) for a signature that does not verify, is stale, or names an
/// unknown member.
pub fn require_member(
    state: &AppState,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<String>, ApiError> {
    let Some(federation) = &state.federation else {
        return Ok(None);
    };
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let signature = request_auth::parse_headers(
        header(request_auth::HEADER_MEMBER),
        header(request_auth::HEADER_TIMESTAMP),
        header(request_auth::HEADER_SIGNATURE),
    )
    .map_err(ApiError::Forbidden)?
    .ok_or(ApiError::AuthenticationRequired(
        RequestAuthError::MissingHeader(request_auth::HEADER_SIGNATURE),
    ))?;
    let member = federation.config.member(&signature.member).ok_or_else(|| {
        ApiError::Forbidden(RequestAuthError::UnknownMember(signature.member.clone()))
    })?;
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    request_auth::verify_request(&signature, &member.witness_key, method, &path, body, now)
        .map_err(ApiError::Forbidden)?;
    Ok(Some(signature.member))
}

/// `POST /log/add-checkpoint` (C2SP `tlog-witness`): cosign a peer's checkpoint. Answers
/// are the spec's: 200 with cosignature lines, 400/403/404/409/422 as plain text (409 for
/// a size mismatch with `text/x.tlog.size`). A checkpoint that conflicts with one already
/// cosigned is kept as evidence against the log.
async fn add_checkpoint(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(federation) = state.federation.clone() else {
        return ApiError::NotFederated.into_response();
    };
    let plain = |status: StatusCode, text: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response()
    };
    match federation.witness_request(body.to_vec()).await {
        Ok(cosignature) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            cosignature,
        )
            .into_response(),
        Err(WitnessRequestError::Witness(AddCheckpointError::Witness(error))) => {
            witness_error_response(&error)
        }
        Err(WitnessRequestError::Witness(AddCheckpointError::Store(error))) => {
            ApiError::from(error).into_response()
        }
        Err(error @ WitnessRequestError::Halted(_)) => {
            plain(StatusCode::FORBIDDEN, error.to_string())
        }
        Err(error @ WitnessRequestError::NotVerified(_)) => {
            plain(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
        Err(WitnessRequestError::Internal(error)) => {
            ApiError::Internal(error.into()).into_response()
        }
    }
}

fn witness_error_response(error: &WitnessError) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let WitnessError::SizeMismatch { latest } = error {
        return (
            status,
            [(header::CONTENT_TYPE, witness::SIZE_CONTENT_TYPE)],
            witness::size_conflict_body(*latest),
        )
            .into_response();
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{error}\n"),
    )
        .into_response()
}

/// `GET /api/v1/federation/status`: this member's log and cosigners, each peer's mirror
/// (size, checkpoint, age, cosigners, state) and the evidence held against any of them.
async fn status(State(state): State<AppState>) -> Result<AppJson<Value>, ApiError> {
    let Some(federation) = state.federation.clone() else {
        return Err(ApiError::NotFederated);
    };
    let log = state.log.clone();
    let value = tokio::task::spawn_blocking(move || federation.status(&log))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??;
    Ok(AppJson(value))
}

/// `GET /api/v1/federation/trust`: the federation's trust anchors (members, keys, quorum)
/// with the newest checkpoint this node holds of every member's log, for
/// `talent-verify trust update`, which checks them against its pinned configuration.
async fn trust(State(state): State<AppState>) -> Result<AppJson<TrustAnchors>, ApiError> {
    let Some(federation) = state.federation.clone() else {
        return Err(ApiError::NotFederated);
    };
    let head = state.log.head();
    let store = state.store.clone();
    let anchors = tokio::task::spawn_blocking(move || {
        let mut checkpoints = BTreeMap::new();
        checkpoints.insert(
            federation.me.id.to_string(),
            String::from_utf8_lossy(&federation.collector.with_cosignatures(&head.checkpoint))
                .into_owned(),
        );
        for peer in federation.config.peers_of(&federation.me.id) {
            if let Some(mirror) = store.mirror_state(peer.id.as_str())? {
                checkpoints.insert(peer.id.to_string(), mirror.checkpoint);
            }
        }
        Ok::<_, ApiError>(TrustAnchors::new(
            &federation.config,
            checkpoints,
            talent_core::credential::format_datetime(chrono::Utc::now()),
        ))
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))??;
    Ok(AppJson(anchors))
}
