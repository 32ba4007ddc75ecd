//! `GET /api/v1/members/{id}/issuer-history`: a member's issuer history (accreditations,
//! their status changes, key rotations) with inclusion proofs under one checkpoint, for
//! verifiers that do not mirror the log (`talent_core::history`). Public: it names issuers
//! and scopes, never talents.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::Value;
use talent_core::history::{HistoryEntry, IssuerHistory};

use super::error::{ApiError, AppJson};
use crate::federation::witness::ProofCheckpoint;
use crate::log::LogHead;
use crate::state::AppState;
use crate::store::LogSpace;
use talent_tlog::merkle::InclusionProof;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/members/{id}/issuer-history", get(history))
}

async fn history(
    State(state): State<AppState>,
    Path(member): Path<String>,
) -> Result<AppJson<IssuerHistory>, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || build(&state, &member))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map(AppJson)
}

/// The issuer history of `member` (this node's own log or a mirrored one) under the
/// checkpoint the node holds.
pub fn build(state: &AppState, member: &str) -> Result<IssuerHistory, ApiError> {
    let internal = |error: talent_tlog::merkle::ProofError| ApiError::Internal(error.into());
    if member == state.member.id.as_str() {
        return own_history_at(state, &state.log.head());
    }
    let (checkpoint, events, proofs) = {
        let federation = state
            .federation
            .as_ref()
            .ok_or_else(|| ApiError::MemberNotFound(member.to_owned()))?;
        let size = federation
            .mirrors
            .head(member)
            .ok_or_else(|| ApiError::MemberNotFound(member.to_owned()))?
            .size;
        let events = state.store.issuer_events(LogSpace::Mirror(member), size)?;
        let indexes: Vec<u64> = events.iter().map(|(index, _)| *index).collect();
        let (checkpoint, proofs) = federation
            .mirrors
            .proofs(member, &indexes)
            .map_err(internal)?
            .ok_or_else(|| ApiError::MemberNotFound(member.to_owned()))?;
        (checkpoint.as_ref().clone(), events, proofs)
    };
    history_from(member, &checkpoint, events, proofs)
}

/// The own log's issuer history under `head` (with the cosignatures collected for it).
pub fn own_history_at(state: &AppState, head: &LogHead) -> Result<IssuerHistory, ApiError> {
    own_history_under(state, head.size, &own_checkpoint(state, head))
}

/// The own log's issuer history under the own checkpoint `note` of `size` entries.
pub fn own_history_under(
    state: &AppState,
    size: u64,
    note: &[u8],
) -> Result<IssuerHistory, ApiError> {
    let events = state.store.issuer_events(LogSpace::Own, size)?;
    let proofs = events
        .iter()
        .map(|(index, _)| state.log.inclusion_proof_at(*index, size))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::Internal(error.into()))?;
    history_from(state.member.id.as_str(), note, events, proofs)
}

/// The own checkpoint of `head` with the cosignatures collected for it.
pub fn own_checkpoint(state: &AppState, head: &LogHead) -> Vec<u8> {
    match &state.federation {
        Some(federation) => federation.collector.with_cosignatures(&head.checkpoint),
        None => head.checkpoint.as_ref().clone(),
    }
}

/// The own checkpoint to prove entry `index` under: with the witness quorum when one the
/// node holds contains the entry (the current one, or the newest witnessed one while the
/// current one lacks the quorum), else the current one (`witnessed` false). A development
/// member has no witnesses: always its current checkpoint.
pub fn own_checkpoint_for(state: &AppState, head: &LogHead, index: u64) -> ProofCheckpoint {
    match &state.federation {
        Some(federation) => federation.collector.checkpoint_for(head, index),
        None => ProofCheckpoint {
            size: head.size,
            note: head.checkpoint.as_ref().clone(),
            witnessed: false,
        },
    }
}

/// Signed entries with their proofs, as history entries.
pub fn history_entries(
    events: Vec<(u64, Vec<u8>)>,
    proofs: Vec<InclusionProof>,
) -> Result<Vec<HistoryEntry>, ApiError> {
    events
        .into_iter()
        .zip(proofs)
        .map(|((index, bytes), inclusion_proof)| {
            let entry: Value =
                serde_json::from_slice(&bytes).map_err(|error| ApiError::Internal(error.into()))?;
            Ok(HistoryEntry {
                index,
                entry,
                inclusion_proof,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()
}

fn history_from(
    member: &str,
    checkpoint: &[u8],
    events: Vec<(u64, Vec<u8>)>,
    proofs: Vec<InclusionProof>,
) -> Result<IssuerHistory, ApiError> {
    Ok(IssuerHistory {
        member: member.to_owned(),
        checkpoint: String::from_utf8_lossy(checkpoint).into_owned(),
        entries: history_entries(events, proofs)?,
    })
}
