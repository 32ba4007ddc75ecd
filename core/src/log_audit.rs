//! Auditing a whole log: fetch its checkpoint and every entry bundle and hash tile, rebuild
//! the tree, and prove the checkpoint's root, the served tiles, every entry, and — given the
//! state saved by an earlier audit — that the log only grew (no rollback, no fork).
//!
//! Fetching is the caller's: [`audit`] takes a function from a log path (`checkpoint`,
//! `tile/0/000.p/5`, …) to bytes, so this stays free of I/O and the node's sync can reuse it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::issuers::{IssuerRegistry, StatusTargets};
use crate::log_entry;
use talent_tlog::bundle::{self, BundleError};
use talent_tlog::checkpoint::{self, CheckpointError};
use talent_tlog::merkle::{self, MemoryTree, ProofError};
use talent_tlog::tile::{TilePath, tiles_for_size};

/// What an earlier audit established, saved between runs (`--state FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditState {
    /// Log origin.
    pub origin: String,
    /// The log verifier key the state was established with.
    pub log_vkey: String,
    /// Tree size.
    pub size: u64,
    /// Root hash, base64.
    pub root: String,
    /// The signed checkpoint, as evidence.
    pub checkpoint: String,
}

/// The outcome of a successful audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReport {
    /// The new state to save.
    pub state: AuditState,
    /// Entries checked.
    pub entries: u64,
    /// Hash tiles and entry bundles fetched and checked.
    pub tiles: usize,
    /// Size of the previous state, if one was given.
    pub previous_size: Option<u64>,
}

/// Why an audit failed. [`AuditError::Fetch`] means the log could not be read; every other
/// variant means the log served something it must not have.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A resource could not be fetched.
    #[error("fetching {path}: {reason}")]
    Fetch {
        /// Log path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The checkpoint does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// An entry bundle is malformed.
    #[error("{tile}: {error}")]
    Bundle {
        /// The bundle's path.
        tile: String,
        /// What is wrong.
        error: BundleError,
    },
    /// An entry is not a canonical, correctly signed object of the log's issuer.
    #[error("entry {index}: {reason}")]
    BadEntry {
        /// Leaf index.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// A hash tile does not match the entries.
    #[error("{tile} does not match the hashes of the entries")]
    TileMismatch {
        /// The tile's path.
        tile: String,
    },
    /// The entries do not hash to the checkpoint's root.
    #[error("the entries hash to {computed}, not the checkpoint's root {claimed}")]
    RootMismatch {
        /// Root computed from the entries.
        computed: String,
        /// Root the checkpoint claims.
        claimed: String,
    },
    /// The log is smaller than when last audited.
    #[error("rollback: the log was {old} entries and now claims {new}")]
    Rollback {
        /// Size saved.
        old: u64,
        /// Size served now.
        new: u64,
    },
    /// The first `size` entries no longer hash to the saved root: history was rewritten.
    #[error("fork: the first {size} entries now hash to {computed}, but were {saved}")]
    Fork {
        /// Size saved.
        size: u64,
        /// Root saved.
        saved: String,
        /// Root computed now.
        computed: String,
    },
    /// Two entries record the same credential id.
    #[error("entries {first} and {second} both record {id}")]
    DuplicateEntry {
        /// The repeated id.
        id: String,
        /// Earlier leaf index.
        first: u64,
        /// Later leaf index.
        second: u64,
    },
    /// The saved state is for another log or key.
    #[error("the saved state is for {0}")]
    StateMismatch(String),
    /// Proof arithmetic failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Audits the log `origin` whose checkpoints `log_vkey` signs (and `log_sm2_vkey` too, when
/// the member has an SM2 checkpoint key), reading it through `fetch`.
/// Every entry must be admitted, in order, by the member's issuer history `issuers` (an
/// empty registry rooted at the member's authority; it holds the whole history after).
///
/// # Errors
/// Any [`AuditError`].
pub fn audit<F>(
    origin: &str,
    log_vkey: &str,
    log_sm2_vkey: Option<&str>,
    issuers: &mut IssuerRegistry,
    previous: Option<&AuditState>,
    mut fetch: F,
) -> Result<AuditReport, AuditError>
where
    F: FnMut(&str) -> Result<Vec<u8>, String>,
{
    if let Some(state) = previous.filter(|s| s.origin != origin || s.log_vkey != log_vkey) {
        return Err(AuditError::StateMismatch(format!(
            "{} with key {}",
            state.origin, state.log_vkey
        )));
    }
    let mut get = |path: &str| {
        fetch(path).map_err(|reason| AuditError::Fetch {
            path: path.to_owned(),
            reason,
        })
    };
    let note = get("checkpoint")?;
    let checkpoint = checkpoint::open_checkpoint_with_sm2(&note, origin, log_vkey, log_sm2_vkey)?;
    let size = checkpoint.size();
    if let Some(state) = previous.filter(|state| size < state.size) {
        return Err(AuditError::Rollback {
            old: state.size,
            new: size,
        });
    }

    let mut tree = MemoryTree::new();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut credentials = StatusTargets::new();
    let tiles = tiles_for_size(size);
    for tile in tiles
        .iter()
        .filter(|t| matches!(t, TilePath::Entries { .. }))
    {
        let path = tile.to_string();
        let bytes = get(&path)?;
        let entries = bundle::decode(&bytes, usize::from(tile.width())).map_err(|error| {
            AuditError::Bundle {
                tile: path.clone(),
                error,
            }
        })?;
        for (offset, bytes) in entries.into_iter().enumerate() {
            let index = tile.entry_range().start + offset as u64;
            let id = check_entry(index, bytes, issuers, &mut credentials)?;
            if let Some(first) = seen.insert(id.clone(), index) {
                return Err(AuditError::DuplicateEntry {
                    id,
                    first,
                    second: index,
                });
            }
            tree.push_entry(bytes);
        }
    }
    for tile in tiles
        .iter()
        .filter(|t| matches!(t, TilePath::Hashes { .. }))
    {
        let path = tile.to_string();
        let served = get(&path)?;
        let expected = tile
            .read_hashes(&tree)
            .map_err(|error| AuditError::Proof(error.into()))?;
        if served != expected {
            return Err(AuditError::TileMismatch { tile: path });
        }
    }
    let root = tree.root();
    if &root != checkpoint.root() {
        return Err(AuditError::RootMismatch {
            computed: merkle::format_hash(&root),
            claimed: merkle::format_hash(checkpoint.root()),
        });
    }
    if let Some(state) = previous {
        let computed = tree.root_at(state.size)?;
        if merkle::format_hash(&computed) != state.root {
            return Err(AuditError::Fork {
                size: state.size,
                saved: state.root.clone(),
                computed: merkle::format_hash(&computed),
            });
        }
    }
    Ok(AuditReport {
        state: AuditState {
            origin: origin.to_owned(),
            log_vkey: log_vkey.to_owned(),
            size,
            root: merkle::format_hash(&root),
            checkpoint: String::from_utf8_lossy(&note).into_owned(),
        },
        entries: size,
        tiles: tiles.len(),
        previous_size: previous.map(|state| state.size),
    })
}

/// Checks one entry (canonical, signed by its issuer, admitted by the issuer history at
/// its index) and returns the id of the object it records.
fn check_entry(
    index: u64,
    bytes: &[u8],
    issuers: &mut IssuerRegistry,
    credentials: &mut StatusTargets,
) -> Result<String, AuditError> {
    let bad = |reason: String| AuditError::BadEntry { index, reason };
    let verified = log_entry::verify_entry(bytes).map_err(|error| bad(error.to_string()))?;
    let admitted = issuers
        .admit(&verified.entry.object, &verified.signer, index, &mut |id| {
            credentials.get(id)
        })
        .map_err(|error| bad(format!("not admitted: {error}")))?;
    credentials.record(verified.issued(), &admitted, |_| None);
    Ok(verified.id.to_string())
}
