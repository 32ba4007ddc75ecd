//! The offline proof bundle of an own credential (`talent_core::proof_bundle`): the
//! credential with its inclusion proof, the checkpoint with its cosignatures, the issuer
//! history, the credential's status changes and its signed status lists, all under one
//! checkpoint, so an employer verifies it offline against the pinned federation.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use talent_core::identifiers::CredentialId;
use talent_core::proof_bundle::{BUNDLE_TYPE, BUNDLE_VERSION, ProofBundle};
use talent_core::status::CredentialStatus;
use talent_core::status_list::{StatusEntry, StatusListCredential, StatusPurpose};
use talent_tlog::merkle::ProofError;

use super::HeldLogs;
use super::issuer_history::{self, HistoryError};
use super::read_access::may_read;
use crate::federation::witness::ProofCheckpoint;
use crate::issuance::{IssuanceService, IssueError};
use crate::issuers::Issuers;
use crate::store::{LogSpace, StoreError};
use crate::tokens::Operator;

/// How often a bundle is built before a status change being published is reported.
const ATTEMPTS: u32 = 3;
/// How long to wait between attempts for a status change's lists to be re-signed.
const RETRY_AFTER: Duration = Duration::from_millis(20);

/// Why a bundle cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// No own credential has this id, or the operator may not read it (answered alike, so
    /// an issuer token learns nothing of other issuers' credentials).
    #[error("no credential {0} on this node")]
    NotFound(CredentialId),
    /// A status change of the credential is logged but its status lists still disagree.
    #[error("a status change is being published; ask again in a moment")]
    StatusPublishing,
    /// An issuer history could not be built.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An inclusion proof could not be built.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    /// A status list credential could not be signed.
    #[error(transparent)]
    StatusList(#[from] IssueError),
    /// The logged credential is not JSON.
    #[error("the logged credential is not JSON: {0}")]
    Entry(#[from] serde_json::Error),
    /// The index names a status change entry the log does not hold.
    #[error("status entry {0} missing")]
    StatusEntryMissing(u64),
    /// The blocking task building the bundle failed.
    #[error("bundle task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What a bundle is built from: the logs, the issuer registries (for the read rule) and the
/// issuance service (whose authority signs the status lists).
#[derive(Debug, Clone)]
pub struct BundleSources {
    /// The own log and the mirrors.
    pub logs: HeldLogs,
    /// Issuer registries of the own log and every mirror.
    pub issuers: Arc<Issuers>,
    /// Signs the status lists a bundle carries.
    pub issuance: Arc<IssuanceService>,
}

/// The proof bundle of own credential `id` for `operator`, with the issuer histories of
/// `regions` for offline recognition there (off the async runtime). Under one checkpoint:
/// one with the witness quorum whenever the node holds one that contains the credential
/// (see [`checkpoint_for_bundle`]).
///
/// # Errors
/// [`BundleError::NotFound`] (also for another issuer's credential and an issuer token),
/// [`BundleError::StatusPublishing`] while a status change is being published.
pub async fn bundle_for(
    sources: BundleSources,
    operator: Operator,
    id: CredentialId,
    regions: Vec<String>,
) -> Result<ProofBundle, BundleError> {
    tokio::task::spawn_blocking(move || build(&sources, &operator, id, &regions)).await?
}

fn build(
    sources: &BundleSources,
    operator: &Operator,
    id: CredentialId,
    regions: &[String],
) -> Result<ProofBundle, BundleError> {
    let logs = &sources.logs;
    let index = logs
        .store
        .credential_index(id)?
        .ok_or(BundleError::NotFound(id))?;
    let bytes = logs.log.entry(index)?.ok_or(BundleError::NotFound(id))?;
    if !may_read(&sources.issuers, operator, &bytes) {
        return Err(BundleError::NotFound(id));
    }
    let credential: Value = serde_json::from_slice(&bytes)?;
    let status_lists = sources.issuance.status_lists();
    // A status change landing between reading the lists and the log would make the two
    // disagree (and the bundle fail); build again then. The retry waits rather than
    // watching the head: the lists are re-signed lazily (on `touch`), and a short pause
    // bounds the wait without a new signal between the log and the status lists.
    let mut attempts = 0;
    loop {
        let under = checkpoint_for_bundle(logs, id, index)?;
        let mut bundle = bundle_at(sources, id, index, credential.clone(), &under)?;
        attempts += 1;
        if !lists_agree(logs, &bundle)? {
            if attempts == ATTEMPTS {
                return Err(BundleError::StatusPublishing);
            }
            // The change is durable but its lists not yet re-signed: make them again.
            if let Ok(Some(slot)) = status_lists.slot_of_logged(&credential) {
                status_lists.touch(slot.list);
            }
            std::thread::sleep(RETRY_AFTER);
            continue;
        }
        for region in regions
            .iter()
            .filter(|r| **r != bundle.issuer_history.member)
        {
            bundle
                .region_histories
                .push(issuer_history::of_member(logs, region)?);
        }
        return Ok(bundle);
    }
}

/// Whether a bundle's status lists give the status its logged changes give.
fn lists_agree(logs: &HeldLogs, bundle: &ProofBundle) -> Result<bool, StoreError> {
    let Some(id) = bundle.credential["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
    else {
        return Ok(true);
    };
    let size = bundle.inclusion_proof.tree_size;
    let status = logs
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
    logs: &HeldLogs,
    id: CredentialId,
    index: u64,
) -> Result<ProofCheckpoint, StoreError> {
    let head = logs.log.head();
    let under = logs.own_checkpoint_for(&head, index);
    if under.size == head.size {
        return Ok(under);
    }
    let changed_since = logs
        .store
        .status_changes(LogSpace::Own, id, head.size)?
        .into_iter()
        .any(|change| change >= under.size);
    if changed_since {
        return Ok(ProofCheckpoint {
            size: head.size,
            note: logs.own_checkpoint(&head),
            witnessed: false,
        });
    }
    Ok(under)
}

/// The bundle of own credential `id` at leaf `index`, under the own checkpoint `under`.
fn bundle_at(
    sources: &BundleSources,
    id: CredentialId,
    index: u64,
    credential: Value,
    under: &ProofCheckpoint,
) -> Result<ProofBundle, BundleError> {
    let (logs, issuance) = (&sources.logs, &sources.issuance);
    let status_lists = match issuance.status_lists().slot_of_logged(&credential) {
        Ok(Some(slot)) => StatusPurpose::ALL
            .iter()
            .filter_map(|purpose| {
                issuance
                    .status_list_credential(*purpose, slot.list)
                    .transpose()
            })
            .map(|list| list.map(|list| Value::clone(&list)))
            .collect::<Result<Vec<_>, _>>()?,
        // Logged before status lists existed: the log's changes alone tell the status.
        Ok(None) | Err(_) => Vec::new(),
    };
    let size = under.size;
    let inclusion_proof = logs.log.inclusion_proof_at(index, size)?;
    let issuer_history = issuer_history::own_under(logs, size, &under.note)?;
    let changes = logs
        .store
        .status_changes(LogSpace::Own, id, size)?
        .into_iter()
        .map(|change| {
            let entry = logs
                .log
                .entry(change)?
                .ok_or(BundleError::StatusEntryMissing(change))?;
            Ok((change, entry))
        })
        .collect::<Result<Vec<_>, BundleError>>()?;
    let proofs = changes
        .iter()
        .map(|(change, _)| logs.log.inclusion_proof_at(*change, size))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProofBundle {
        kind: BUNDLE_TYPE.to_owned(),
        version: BUNDLE_VERSION,
        credential,
        inclusion_proof,
        issuer_history,
        status_changes: issuer_history::entries(changes, proofs)?,
        status_lists,
        region_histories: Vec::new(),
        as_of: talent_core::credential::format_datetime(chrono::Utc::now()),
    })
}
