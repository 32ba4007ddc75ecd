//! `/api/v1/credentials`: issue (one or a batch), submit what an issuer signed itself,
//! change a status, fetch, and prove inclusion. Writing and fetching need an operator token;
//! the inclusion proof (no personal data) does not.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::identifiers::CredentialId;

use super::error::{ApiError, AppJson};
use crate::federation::witness::ProofCheckpoint;
use crate::issuance::{IssuedCredential, MAX_BATCH_CREDENTIALS};
use crate::state::AppState;
use crate::tokens::{Operator, Role};
use talent_core::proof_bundle::{BUNDLE_TYPE, BUNDLE_VERSION, ProofBundle};
use talent_core::status::CredentialStatus;
use talent_core::status_list::{StatusEntry, StatusListCredential, StatusPurpose};
use talent_integrity::did::DidKey;

use crate::store::LogSpace;

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

/// The JSON of an issued credential: the VC, and where it is in the log.
fn issued_json(state: &AppState, issued: &IssuedCredential) -> Value {
    json!({
        "id": issued.id,
        "credential": issued.credential,
        "authorisation": issued.authorisation,
        "log": {
            "origin": state.log.origin(),
            "index": issued.log.index,
            "checkpoint": String::from_utf8_lossy(&issued.log.checkpoint),
            "inclusionProof": issued.log.proof,
        },
    })
}

/// `POST /api/v1/credentials`: 201 with the signed credential, its log index, checkpoint
/// and inclusion proof, after its log batch is durable.
async fn issue(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.issue(&operator, &body).await?;
    let location = format!("/api/v1/credentials/{}", issued.id.uuid());
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        AppJson(issued_json(&state, &issued)),
    ))
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
    // Building and serialising (and freeing) up to a thousand credentials takes several
    // milliseconds: done on a blocking thread, so the server thread goes on serving its
    // other connections. hyper then writes the bytes.
    tokio::task::spawn_blocking(move || {
        drop(body);
        let results: Vec<Value> = issued
            .iter()
            .map(|item| issued_json(&state, item))
            .collect();
        let body = json!({ "count": results.len(), "results": results });
        (StatusCode::CREATED, AppJson(body)).into_response()
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
) -> Result<impl IntoResponse, ApiError> {
    let issued = state.issuance.submit(&operator, &body).await?;
    Ok((StatusCode::CREATED, AppJson(issued_json(&state, &issued))))
}

/// `POST /api/v1/credentials/{id}/status` with `{"status", "reason", "effective"?,
/// "successor"?}`: the authority signs and logs the change.
async fn change_status(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(id)?;
    let issued = state.issuance.change_status(&operator, id, &body).await?;
    Ok((StatusCode::CREATED, AppJson(issued_json(&state, &issued))))
}

fn parse_id(id: String) -> Result<CredentialId, ApiError> {
    CredentialId::parse_lenient(&id).map_err(|_| ApiError::InvalidCredentialId(id))
}

/// The leaf index of a credential, or 404.
async fn locate(state: &AppState, id: CredentialId) -> Result<u64, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.credential_index(id))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))
}

/// `GET /api/v1/credentials/{id}`: the signed credential itself, ready to save and verify.
/// Refuses an issuer token reading a credential of another issuer (as not found).
pub fn may_read(
    state: &AppState,
    operator: &Operator,
    id: CredentialId,
    bytes: &[u8],
) -> Result<(), ApiError> {
    if operator.role != Role::Issuer {
        return Ok(());
    }
    let issuer = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|object| object["issuer"].as_str().map(str::to_owned));
    if may_read_issued_by(state, operator, issuer.as_deref()) {
        Ok(())
    } else {
        // Not the caller's credential: answer as if it did not exist.
        Err(ApiError::CredentialNotFound(id.to_string()))
    }
}

/// Whether `operator` may read a credential whose `issuer` is `issuer`: admins and
/// auditors any, an issuer token only those of its own issuer (any key of it). The API and
/// the console's search, pages and downloads all ask this.
pub fn may_read_issued_by(state: &AppState, operator: &Operator, issuer: Option<&str>) -> bool {
    if operator.role != Role::Issuer {
        return true;
    }
    let issuer = issuer.and_then(|issuer| issuer.parse::<DidKey>().ok());
    match (&operator.issuer, &issuer) {
        (Some(bound), Some(issuer)) => state.issuers.own().same_issuer(bound, issuer),
        _ => false,
    }
}

/// `GET /api/v1/credentials/{id}/bundle`: the credential with everything an employer needs
/// to verify it offline against the pinned federation (`talent_core::proof_bundle`): its
/// inclusion proof, the checkpoint with its cosignatures, the issuer history and the
/// credential's status changes, all under one checkpoint: one with the witness quorum
/// whenever the node holds one that contains the credential (see
/// `checkpoint_for_bundle`). Token as for fetching.
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
    bundle_for(&state, operator, id, regions).await.map(AppJson)
}

/// The proof bundle of credential `id` for `operator`, with the issuer histories of
/// `regions` (deduplicated, at most 16) for offline recognition there.
///
/// # Errors
/// [`ApiError::CredentialNotFound`] (also for another issuer's credential and an issuer
/// token), [`ApiError::Unavailable`] while a status change is being published.
pub async fn bundle_for(
    state: &AppState,
    operator: Operator,
    id: CredentialId,
    regions: Vec<String>,
) -> Result<ProofBundle, ApiError> {
    let index = locate(state, id).await?;
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let bytes = state
            .log
            .entry(index)?
            .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))?;
        may_read(&state, &operator, id, &bytes)?;
        let credential: Value =
            serde_json::from_slice(&bytes).map_err(|error| ApiError::Internal(error.into()))?;
        // A status change landing between reading the lists and the log would make the two
        // disagree (and the bundle fail); build again then.
        let mut attempts = 0;
        loop {
            let under = checkpoint_for_bundle(&state, id, index)?;
            let mut bundle = bundle_at(&state, id, index, credential.clone(), &under)?;
            attempts += 1;
            let agree = lists_agree(&state, &bundle)?;
            if !agree {
                if attempts == 3 {
                    return Err(ApiError::Unavailable(
                        "a status change is being published; ask again in a moment".into(),
                    ));
                }
                // The change is durable but its lists not yet re-signed: make them again.
                if let Ok(Some(slot)) = state.issuance.status_lists().slot_of_logged(&credential) {
                    state.issuance.status_lists().touch(slot.list);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            for region in regions
                .iter()
                .filter(|r| **r != bundle.issuer_history.member)
            {
                bundle
                    .region_histories
                    .push(super::issuers::build(&state, region)?);
            }
            return Ok(bundle);
        }
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))?
}

/// `?asRegion=ID[,ID…]`: also carry those regions' issuer histories (their recognition
/// agreements), so the holder's employer can ask offline whether it is recognised there.
#[derive(Debug, serde::Deserialize)]
struct BundleQuery {
    #[serde(rename = "asRegion")]
    as_region: Option<String>,
}

/// Whether a bundle's status lists give the status its logged changes give.
fn lists_agree(state: &AppState, bundle: &ProofBundle) -> Result<bool, ApiError> {
    let Some(id) = bundle.credential["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
    else {
        return Ok(true);
    };
    let size = bundle.inclusion_proof.tree_size;
    let status = state
        .store
        .status(LogSpace::Own, id, size)?
        .map_or(CredentialStatus::Valid, |(_, status)| status);
    let Ok(entries) = StatusEntry::all_of(&bundle.credential) else {
        return Ok(true);
    };
    Ok(entries.iter().all(|entry| {
        bundle
            .status_lists
            .iter()
            .filter_map(|list| StatusListCredential::from_json(list).ok())
            .find(|list| list.id == entry.list_credential)
            .and_then(|list| list.list.get(entry.index).ok())
            .is_some_and(|set| set == entry.purpose.is_set_for(status))
    }))
}

/// The own checkpoint a bundle of credential `id` (leaf `index`) is built under: one with
/// the witness quorum whenever the node holds one that contains the entry (the newest
/// checkpoint may lack it while witnesses are down), so the bundle verifies offline with
/// the quorum. The current checkpoint when the entry is newer than every witnessed one,
/// or when the credential's status changed after the witnessed one: a bundle must carry
/// the status as the log now has it (that change is not yet witnessed).
fn checkpoint_for_bundle(
    state: &AppState,
    id: CredentialId,
    index: u64,
) -> Result<ProofCheckpoint, ApiError> {
    let head = state.log.head();
    let under = super::issuers::own_checkpoint_for(state, &head, index);
    if under.size == head.size {
        return Ok(under);
    }
    let changed_since = state
        .store
        .status_changes(LogSpace::Own, id, head.size)?
        .into_iter()
        .any(|change| change >= under.size);
    if changed_since {
        return Ok(ProofCheckpoint {
            size: head.size,
            note: super::issuers::own_checkpoint(state, &head),
            witnessed: false,
        });
    }
    Ok(under)
}

/// The bundle of own credential `id` at leaf `index`, under the own checkpoint `under`.
fn bundle_at(
    state: &AppState,
    id: CredentialId,
    index: u64,
    credential: Value,
    under: &ProofCheckpoint,
) -> Result<ProofBundle, ApiError> {
    let status_lists = match state.issuance.status_lists().slot_of_logged(&credential) {
        Ok(Some(slot)) => StatusPurpose::ALL
            .iter()
            .filter_map(|purpose| {
                state
                    .issuance
                    .status_list_credential(*purpose, slot.list)
                    .transpose()
            })
            .map(|list| list.map(|list| Value::clone(&list)))
            .collect::<Result<Vec<_>, _>>()?,
        // Logged before status lists existed: the log's changes alone tell the status.
        Ok(None) | Err(_) => Vec::new(),
    };
    let size = under.size;
    let internal = |error: talent_tlog::merkle::ProofError| ApiError::Internal(error.into());
    let inclusion_proof = state
        .log
        .inclusion_proof_at(index, size)
        .map_err(internal)?;
    let issuer_history = super::issuers::own_history_under(state, size, &under.note)?;
    let changes = state
        .store
        .status_changes(LogSpace::Own, id, size)?
        .into_iter()
        .map(|change| {
            let entry = state.log.entry(change)?.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("status entry {change} missing"))
            })?;
            Ok((change, entry))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let proofs = changes
        .iter()
        .map(|(change, _)| state.log.inclusion_proof_at(*change, size))
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    Ok(ProofBundle {
        kind: BUNDLE_TYPE.to_owned(),
        version: BUNDLE_VERSION,
        credential,
        inclusion_proof,
        issuer_history,
        status_changes: super::issuers::history_entries(changes, proofs)?,
        status_lists,
        region_histories: Vec::new(),
        as_of: talent_core::credential::format_datetime(chrono::Utc::now()),
    })
}

/// It carries personal data: admins and auditors read any credential, an issuer token only
/// its own issuer's.
async fn fetch(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(id)?;
    let index = locate(&state, id).await?;
    let log = state.log.clone();
    let bytes = tokio::task::spawn_blocking(move || log.entry(index))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??
        .ok_or_else(|| ApiError::CredentialNotFound(id.to_string()))?;
    may_read(&state, &operator, id, &bytes)?;
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
    let checkpoint = match &state.federation {
        Some(federation) => federation.collector.with_cosignatures(&head.checkpoint),
        None => head.checkpoint.as_ref().clone(),
    };
    Ok(AppJson(json!({
        "id": id,
        "origin": state.log.origin(),
        "index": index,
        "checkpoint": String::from_utf8_lossy(&checkpoint),
        "inclusionProof": proof,
    })))
}
