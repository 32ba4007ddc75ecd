//! `/api/v1/credentials`: issue (one or a batch), submit what an issuer signed itself,
//! change a status, fetch, and prove inclusion. Writing and fetching need an operator token;
//! the inclusion proof (no personal data) does not.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::identifiers::CredentialId;
use talent_core::proof_bundle::ProofBundle;
use talent_tlog::merkle::InclusionProof;

use super::error::{ApiError, AppJson};
use crate::issuance::{IssuedCredential, MAX_BATCH_CREDENTIALS};
use crate::services::{bundles, search};
use crate::state::AppState;
use crate::tokens::Operator;

/// Body limit of a batch: up to 1,000 requests of a few KiB each.
const BATCH_BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/credentials", post(issue))
        .route(
            "/api/v1/credentials:batch",
            post(issue_batch).layer(DefaultBodyLimit::max(BATCH_BODY_LIMIT_BYTES)),
        )
        .route("/api/v1/credentials:submit", post(submit))
        .route("/api/v1/credentials/{id}", get(fetch))
        .route("/api/v1/credentials/{id}/status", post(change_status))
        .route("/api/v1/credentials/{id}/proof", get(proof))
        .route("/api/v1/credentials/{id}/bundle", get(bundle))
}

/// The JSON of an issued credential, `{"authorisation", "credential", "holderAccessCode"?,
/// "id", "log": {"checkpoint", "inclusionProof", "index", "origin"}}`, appended to `out`.
/// The credential is written as its log entry's bytes (JCS, so JSON already): serialised
/// once, at signing. A credential (not a status change) carries the code that opens its
/// query log, for the office to hand to the talent.
fn write_issued_json(
    state: &AppState,
    issued: &IssuedCredential,
    holder_code: bool,
    out: &mut Vec<u8>,
) {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct LogPosition<'a> {
        checkpoint: std::borrow::Cow<'a, str>,
        inclusion_proof: &'a InclusionProof,
        index: u64,
        origin: &'a str,
    }
    out.extend_from_slice(b"{\"authorisation\":");
    append_json(out, &issued.authorisation);
    out.extend_from_slice(b",\"credential\":");
    out.extend_from_slice(&issued.entry);
    if holder_code {
        out.extend_from_slice(b",\"holderAccessCode\":");
        append_json(out, &state.store.holder_code(issued.id));
    }
    out.extend_from_slice(b",\"id\":");
    append_json(out, &issued.id);
    out.extend_from_slice(b",\"log\":");
    append_json(
        out,
        &LogPosition {
            checkpoint: String::from_utf8_lossy(&issued.log.checkpoint),
            inclusion_proof: &issued.log.proof,
            index: issued.log.index,
            origin: state.log.origin(),
        },
    );
    out.push(b'}');
}

/// Appends the JSON of `value` to `out`.
fn append_json(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    // Writing to a Vec fails only for a value serde_json cannot represent (a map with
    // non-string keys), which none written here is.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A `201 Created` JSON answer of the bytes `body`.
fn created_json(body: Vec<u8>) -> Response {
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// `POST /api/v1/credentials`: 201 with the signed credential, its log index, checkpoint
/// and inclusion proof, after its log batch is durable.
async fn issue(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let issued = state.issuance.issue(&operator, &body).await?;
    let location = format!("/api/v1/credentials/{}", issued.id.uuid());
    let mut out = Vec::with_capacity(issued.entry.len() + 1024);
    write_issued_json(&state, &issued, true, &mut out);
    let mut response = created_json(out);
    if let Ok(location) = header::HeaderValue::try_from(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `POST /api/v1/credentials:batch` with `{"credentials": [request, …]}`: all valid and
/// issued in one durable append, or none.
async fn issue_batch(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let Some(requests) = body.get("credentials").and_then(Value::as_array) else {
        return Err(ApiError::BatchSize(format!(
            "body must be {{\"credentials\": [1 to {MAX_BATCH_CREDENTIALS} issue requests]}}"
        )));
    };
    let issued = state.issuance.issue_batch(&operator, requests).await?;
    // Writing (and freeing) up to a thousand credentials' answers takes milliseconds: done
    // on a blocking thread, so the server thread goes on serving its other connections.
    // hyper then writes the bytes.
    tokio::task::spawn_blocking(move || {
        drop(body);
        let size: usize = issued.iter().map(|item| item.entry.len() + 1024).sum();
        let mut out = Vec::with_capacity(size + 64);
        out.extend_from_slice(format!("{{\"count\":{},\"results\":[", issued.len()).as_bytes());
        for (position, item) in issued.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            write_issued_json(&state, item, true, &mut out);
        }
        out.extend_from_slice(b"]}");
        created_json(out)
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))
}

/// `POST /api/v1/credentials:submit` with a credential or statement (status change, key
/// rotation) its issuer signed: 201 once logged, after the same checks as issuance plus the
/// proof, the signer's token and the accreditation scope.
async fn submit(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let issued = state.issuance.submit(&operator, &body).await?;
    let mut out = Vec::with_capacity(issued.entry.len() + 1024);
    // A submitted statement (status change, rotation) has no holder.
    let credential =
        talent_core::credential::CredentialType::from_type_array(&issued.credential["type"])
            .is_some();
    write_issued_json(&state, &issued, credential, &mut out);
    Ok(created_json(out))
}

/// `POST /api/v1/credentials/{id}/status` with `{"status", "reason", "effective"?,
/// "successor"?}`: the authority signs and logs the change.
async fn change_status(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    AppJson(body): AppJson<Value>,
) -> Result<Response, ApiError> {
    let id = parse_id(id)?;
    let issued = state.issuance.change_status(&operator, id, &body).await?;
    let mut out = Vec::with_capacity(issued.entry.len() + 1024);
    write_issued_json(&state, &issued, false, &mut out);
    Ok(created_json(out))
}

fn parse_id(id: String) -> Result<CredentialId, ApiError> {
    CredentialId::parse_lenient(&id).map_err(|_| ApiError::InvalidCredentialId(id))
}

/// The leaf index of own credential `id`, or 404.
async fn locate(state: &AppState, id: CredentialId) -> Result<u64, ApiError> {
    let logs = state.held_logs();
    tokio::task::spawn_blocking(move || search::own_index(&logs, id))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(ApiError::from)
}

/// `GET /api/v1/credentials/{id}/bundle`: the credential with everything an employer needs
/// to verify it offline against the pinned federation (`talent_core::proof_bundle`, built
/// by [`crate::services::bundles`]): its inclusion proof, the checkpoint with its
/// cosignatures, the issuer history and the credential's status changes, all under one
/// checkpoint, one with the witness quorum whenever the node holds one that contains the
/// credential. Token as for fetching.
async fn bundle(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<BundleQuery>,
) -> Result<AppJson<ProofBundle>, ApiError> {
    let id = parse_id(id)?;
    let regions: Vec<String> = query
        .as_region
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|region| !region.is_empty())
        .map(str::to_owned)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if regions.len() > 16 {
        return Err(ApiError::InvalidSubmission {
            code: "too_many_regions",
            message: "asRegion names at most 16 regions".into(),
        });
    }
    bundles::bundle_for(state.bundle_sources(), operator, id, regions)
        .await
        .map(AppJson)
        .map_err(ApiError::from)
}

/// `?asRegion=ID[,ID…]`: also carry those regions' issuer histories (their recognition
/// agreements), so the holder's employer can ask offline whether it is recognised there.
#[derive(Debug, serde::Deserialize)]
struct BundleQuery {
    #[serde(rename = "asRegion")]
    as_region: Option<String>,
}

/// `GET /api/v1/credentials/{id}`: the signed credential itself, ready to save and verify.
/// It carries personal data: admins and auditors read any credential, an issuer token only
/// its own issuer's (another issuer's is answered as not found).
async fn fetch(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(id)?;
    let (logs, issuers) = (state.held_logs(), Arc::clone(&state.issuers));
    let (_, bytes) =
        tokio::task::spawn_blocking(move || search::read_own(&logs, &issuers, &operator, id))
            .await
            .map_err(|error| ApiError::Internal(error.into()))??;
    Ok(([(header::CONTENT_TYPE, "application/vc+json")], bytes))
}

/// `GET /api/v1/credentials/{id}/proof`: the credential's log index, the current
/// checkpoint and the inclusion proof under it.
async fn proof(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<AppJson<Value>, ApiError> {
    let id = parse_id(id)?;
    let index = locate(&state, id).await?;
    let log = state.log.clone();
    let (head, proof) = tokio::task::spawn_blocking(move || log.inclusion_proof(index))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(|error| ApiError::Internal(error.into()))?;
    let checkpoint = state.held_logs().own_checkpoint(&head);
    Ok(AppJson(json!({
        "id": id,
        "origin": state.log.origin(),
        "index": index,
        "checkpoint": String::from_utf8_lossy(&checkpoint),
        "inclusionProof": proof,
    })))
}
