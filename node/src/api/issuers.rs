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
use crate::state::AppState;
use crate::store::LogSpace;

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

fn build(state: &AppState, member: &str) -> Result<IssuerHistory, ApiError> {
    let internal = |error: talent_core::tlog::merkle::ProofError| ApiError::Internal(error.into());
    let (checkpoint, events, proofs) = if member == state.member.id.as_str() {
        let head = state.log.head();
        let events = state.store.issuer_events(LogSpace::Own, head.size)?;
        let proofs = events
            .iter()
            .map(|(index, _)| state.log.inclusion_proof_at(*index, head.size))
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let checkpoint = match &state.federation {
            Some(federation) => federation.collector.with_cosignatures(&head.checkpoint),
            None => head.checkpoint.as_ref().clone(),
        };
        (checkpoint, events, proofs)
    } else {
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
    let entries = events
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
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(IssuerHistory {
        member: member.to_owned(),
        checkpoint: String::from_utf8_lossy(&checkpoint).into_owned(),
        entries,
    })
}
