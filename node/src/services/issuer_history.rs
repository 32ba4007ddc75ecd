//! A member's issuer history (accreditations, their status changes, key rotations) with
//! inclusion proofs under one checkpoint (`talent_core::history`): what verifiers that do
//! not mirror the log check issuers against, and what proof bundles carry.

use serde_json::Value;
use talent_core::history::{HistoryEntry, IssuerHistory};
use talent_tlog::merkle::{InclusionProof, ProofError};

use super::HeldLogs;
use crate::log::LogHead;
use crate::store::{LogSpace, StoreError};

/// Why an issuer history cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// This node holds no log of the member.
    #[error("no member {0:?} in this node's federation")]
    MemberNotFound(String),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An inclusion proof could not be built.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    /// A logged entry is not JSON.
    #[error("a logged entry is not JSON: {0}")]
    Entry(#[from] serde_json::Error),
}

/// The issuer history of `member` (this node's own log or a mirrored one) under the
/// checkpoint the node holds.
///
/// # Errors
/// [`HistoryError::MemberNotFound`] for a member whose log this node does not hold.
pub fn of_member(logs: &HeldLogs, member: &str) -> Result<IssuerHistory, HistoryError> {
    if member == logs.member.id.as_str() {
        return own_at(logs, &logs.log.head());
    }
    let not_found = || HistoryError::MemberNotFound(member.to_owned());
    let federation = logs.federation.as_ref().ok_or_else(not_found)?;
    let size = federation.mirrors.head(member).ok_or_else(not_found)?.size;
    let events = logs.store.issuer_events(LogSpace::Mirror(member), size)?;
    let indexes: Vec<u64> = events.iter().map(|(index, _)| *index).collect();
    let (checkpoint, proofs) = federation
        .mirrors
        .proofs(member, &indexes)?
        .ok_or_else(not_found)?;
    history_from(member, checkpoint.as_slice(), events, proofs)
}

/// The own log's issuer history under `head` (with the cosignatures collected for it).
///
/// # Errors
/// [`HistoryError`] reading the log.
pub fn own_at(logs: &HeldLogs, head: &LogHead) -> Result<IssuerHistory, HistoryError> {
    own_under(logs, head.size, &logs.own_checkpoint(head))
}

/// The own log's issuer history under the own checkpoint `note` of `size` entries.
///
/// # Errors
/// [`HistoryError`] reading the log.
pub fn own_under(logs: &HeldLogs, size: u64, note: &[u8]) -> Result<IssuerHistory, HistoryError> {
    let events = logs.store.issuer_events(LogSpace::Own, size)?;
    let proofs = events
        .iter()
        .map(|(index, _)| logs.log.inclusion_proof_at(*index, size))
        .collect::<Result<Vec<_>, _>>()?;
    history_from(logs.member.id.as_str(), note, events, proofs)
}

/// Signed entries with their proofs, as history entries.
///
/// # Errors
/// [`HistoryError::Entry`] for an entry that is not JSON.
pub fn entries(
    events: Vec<(u64, Vec<u8>)>,
    proofs: Vec<InclusionProof>,
) -> Result<Vec<HistoryEntry>, HistoryError> {
    events
        .into_iter()
        .zip(proofs)
        .map(|((index, bytes), inclusion_proof)| {
            let entry: Value = serde_json::from_slice(&bytes)?;
            Ok(HistoryEntry {
                index,
                entry,
                inclusion_proof,
            })
        })
        .collect()
}

fn history_from(
    member: &str,
    checkpoint: &[u8],
    events: Vec<(u64, Vec<u8>)>,
    proofs: Vec<InclusionProof>,
) -> Result<IssuerHistory, HistoryError> {
    Ok(IssuerHistory {
        member: member.to_owned(),
        checkpoint: String::from_utf8_lossy(checkpoint).into_owned(),
        entries: entries(events, proofs)?,
    })
}
