//! Auditing a member's log from outside, with only what is public: the checkpoints of it
//! that the member's node and its peers hold, and its hash tiles. No entry is read, so no
//! personal data; what it proves is that every view is one append-only log
//! (docs/federation-protocol.md §8.5).
//!
//! The member's own checkpoint is the reference. Every other view — a peer's mirrored
//! checkpoint, the auditor's saved state — must be a prefix of it: larger is a rollback,
//! as large with another root a split view, smaller with a root the tiles disprove a fork.
//! Fetching is the caller's, as in [`crate::log_audit`].

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

use crate::federation::Member;
use crate::log_audit::AuditState;
use talent_tlog::Hash;
use talent_tlog::checkpoint::{self, CheckpointError};
use talent_tlog::cosignature::{self, CosignatureError, CosignerKey};
use talent_tlog::merkle;
use talent_tlog::served_tiles::{TileProofError, TiledTree};

/// Where the auditor's saved state is named as a view.
pub const SAVED_STATE: &str = "the previous audit";

/// A signed checkpoint of the member's log as one source serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// Who served it (a node's URL and what it is there).
    pub source: String,
    /// The signed note with its cosignatures.
    pub note: Vec<u8>,
}

/// A view whose signatures verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedView {
    /// Who served it.
    pub source: String,
    /// Tree size.
    pub size: u64,
    /// Root hash, base64.
    pub root: String,
    /// The member's peers whose cosignatures on it verified (witness names).
    pub cosigners: Vec<String>,
}

/// What a public audit established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAuditReport {
    /// The member.
    pub member: String,
    /// The new state to save: the member's own checkpoint.
    pub state: AuditState,
    /// Every view checked, the member's own first.
    pub views: Vec<CheckedView>,
    /// Consistency proofs verified (one per distinct smaller size).
    pub proofs: usize,
    /// Hash tiles fetched.
    pub tiles: usize,
    /// Size of the previous state, if one was given.
    pub previous_size: Option<u64>,
}

/// Why a public audit failed. [`PublicAuditError::Fetch`] means something could not be read;
/// every other variant means a source served something the log must not have signed, or
/// that is not the signed log's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PublicAuditError {
    /// A hash tile could not be fetched.
    #[error("fetching {path}: {reason}")]
    Fetch {
        /// Tile path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A view's log signature does not verify for the member.
    #[error("{view}: the checkpoint does not verify: {error}")]
    BadSignature {
        /// Who served it.
        view: String,
        /// Why.
        error: CheckpointError,
    },
    /// A view carries a cosignature line of a trusted witness that does not verify.
    #[error("{view}: a witness cosignature does not verify: {error}")]
    BadCosignature {
        /// Who served it.
        view: String,
        /// Why.
        error: CosignatureError,
    },
    /// The member's node serves a smaller log than a signed checkpoint of it shows.
    #[error("rollback: {view} holds a checkpoint of {size} entries, the log now serves {current}")]
    Rollback {
        /// The view that is larger.
        view: String,
        /// Its size.
        size: u64,
        /// The size the member's node serves.
        current: u64,
    },
    /// Two signed checkpoints of the same size with different roots.
    #[error("split view at size {size}: {view} holds root {root}, the log serves {current}")]
    SplitView {
        /// The other view.
        view: String,
        /// The size.
        size: u64,
        /// Its root.
        root: String,
        /// The root the member's node serves.
        current: String,
    },
    /// A smaller signed checkpoint that is not a prefix of the served log.
    #[error(
        "fork: {view} holds root {root} at size {size}; the log's first {size} entries hash to {computed}"
    )]
    Fork {
        /// The smaller view.
        view: String,
        /// Its size.
        size: u64,
        /// Its root.
        root: String,
        /// The root of the log's prefix of that size, from its tiles.
        computed: String,
    },
    /// The hash tiles are not the tree of the member's checkpoint.
    #[error("the hash tiles: {0}")]
    Tiles(TileProofError),
    /// The saved state is for another log or key, or unreadable.
    #[error("the saved state is not this log's: {0}")]
    StateMismatch(String),
}

impl PublicAuditError {
    /// Whether the audit could not read what it needs (rather than finding a fault).
    pub fn is_unreadable(&self) -> bool {
        matches!(self, PublicAuditError::Fetch { .. })
    }
}

/// The views of a member's log to audit.
#[derive(Debug, Clone)]
pub struct Views<'a> {
    /// The checkpoint the member's node serves now (fetch it after the others).
    pub own: View,
    /// The checkpoints other nodes hold of the log.
    pub held: Vec<View>,
    /// The state the auditor saved last time, if any.
    pub previous: Option<&'a AuditState>,
}

/// Audits `member`'s log: every view's signatures (the SM2 line too when the member has an
/// SM2 log key; cosignatures of `witnesses`, the member's peers), then every view against
/// the member's own checkpoint, proving the smaller ones prefixes from the hash tiles
/// `fetch` reads (`tile/0/001.p/5` → bytes).
///
/// # Errors
/// Any [`PublicAuditError`].
pub fn audit<F>(
    member: &Member,
    witnesses: &[CosignerKey],
    views: &Views<'_>,
    fetch: F,
) -> Result<PublicAuditReport, PublicAuditError>
where
    F: FnMut(&str) -> Result<Vec<u8>, String>,
{
    if let Some(state) = views
        .previous
        .filter(|s| s.origin != member.log_origin || s.log_vkey != member.log_vkey)
    {
        return Err(PublicAuditError::StateMismatch(format!(
            "{} with key {}",
            state.origin, state.log_vkey
        )));
    }
    let (own, own_root) = check_view(member, witnesses, &views.own)?;
    let mut checked = vec![own.clone()];
    let mut others: Vec<(String, u64, Hash)> = Vec::new();
    for view in &views.held {
        let (view, root) = check_view(member, witnesses, view)?;
        others.push((view.source.clone(), view.size, root));
        checked.push(view);
    }
    if let Some(state) = views.previous {
        let root = merkle::parse_hash(&state.root)
            .map_err(|error| PublicAuditError::StateMismatch(format!("root: {error}")))?;
        others.push((SAVED_STATE.to_owned(), state.size, root));
    }

    let tree = TiledTree::new(own.size, own_root, fetch);
    // The log's prefix roots by size, each proven once.
    let mut prefixes: BTreeMap<u64, Hash> = BTreeMap::new();
    for (source, size, root) in others {
        if size > own.size {
            return Err(PublicAuditError::Rollback {
                view: source,
                size,
                current: own.size,
            });
        }
        if size == own.size && root != own_root {
            return Err(PublicAuditError::SplitView {
                view: source,
                size,
                root: merkle::format_hash(&root),
                current: own.root.clone(),
            });
        }
        if size == 0 || size == own.size {
            continue;
        }
        let computed = match prefixes.get(&size) {
            Some(computed) => *computed,
            None => {
                let prefix = tree.prefix(size).map_err(tile_error)?;
                prefixes.insert(size, prefix.root);
                prefix.root
            }
        };
        if computed != root {
            return Err(PublicAuditError::Fork {
                view: source,
                size,
                root: merkle::format_hash(&root),
                computed: merkle::format_hash(&computed),
            });
        }
    }
    Ok(PublicAuditReport {
        member: member.id.to_string(),
        state: AuditState {
            origin: member.log_origin.clone(),
            log_vkey: member.log_vkey.clone(),
            size: own.size,
            root: own.root,
            checkpoint: String::from_utf8_lossy(&views.own.note).into_owned(),
        },
        views: checked,
        proofs: prefixes.len(),
        tiles: tree.tiles_fetched(),
        previous_size: views.previous.map(|state| state.size),
    })
}

/// Opens a view for `member` and counts its trusted cosignatures.
fn check_view(
    member: &Member,
    witnesses: &[CosignerKey],
    view: &View,
) -> Result<(CheckedView, Hash), PublicAuditError> {
    let opened = checkpoint::open_checkpoint_with_sm2(
        &view.note,
        &member.log_origin,
        &member.log_vkey,
        member.log_sm2_vkey.as_deref(),
    )
    .map_err(|error| PublicAuditError::BadSignature {
        view: view.source.clone(),
        error,
    })?;
    let cosigners = cosignature::verify_cosignatures(&view.note, witnesses)
        .map_err(|error| PublicAuditError::BadCosignature {
            view: view.source.clone(),
            error,
        })?
        .into_iter()
        .map(|cosignature| cosignature.name)
        .collect();
    let root = *opened.root();
    Ok((
        CheckedView {
            source: view.source.clone(),
            size: opened.size(),
            root: merkle::format_hash(&root),
            cosigners,
        },
        root,
    ))
}

fn tile_error(error: TileProofError) -> PublicAuditError {
    match error {
        TileProofError::Fetch { path, reason } => PublicAuditError::Fetch { path, reason },
        other => PublicAuditError::Tiles(other),
    }
}

#[cfg(test)]
mod tests;
