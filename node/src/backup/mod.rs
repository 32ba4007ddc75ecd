//! Backups of a member's data directory and their restore (docs/operations.md, "Backup and
//! restore").
//!
//! A backup is a directory: `db/` (a RocksDB checkpoint of the store, a point-in-time
//! snapshot taken while the node runs), `keys/`, `tokens.json` and `audit/` as they were
//! when it was taken, and [`MANIFEST_FILE`] naming the member, the store's format version,
//! the own log's size, root and signed checkpoint at the snapshot, and every file with its
//! SHA-256. [`create`] writes it into a temporary sibling of the target, verifies it
//! ([`verify`]: digests, the checkpoint signed by the member's log key, the root recomputed
//! from every stored entry) and only then renames it into place, so a failed backup never
//! leaves a directory that looks complete. [`restore`] verifies a backup before it touches
//! the data directory, never deletes an existing one (it is moved aside), and leaves the
//! [`RESTORED_MARKER`] that makes the node check with its peers before it appends again
//! (the rollback check at start).
//!
//! Modules: `manifest` (the manifest and file digests), `files` (copying and listing),
//! `create`, `verify`, `restore`, `service` (online backups of the running node).

mod create;
mod files;
mod manifest;
mod restore;
mod service;
mod verify;

use std::path::PathBuf;

pub use create::{BackupSource, create};
pub use manifest::{MANIFEST_FILE, MANIFEST_TYPE, Manifest, ManifestFile, ManifestLog};
pub use restore::{RESTORED_MARKER, RestoreOutcome, Restored, restore};
pub use service::{BackupRequestError, BackupService};
pub use verify::verify;

use crate::file_error::FileError;
use crate::keys::KeyError;
use crate::log::LogOpenError;
use crate::store::StoreError;

/// Why a backup was not written, not verified or not restored. Nothing was left that
/// looks like a finished backup or a restored data directory.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup's target exists and is not an empty directory.
    #[error("{} exists and is not an empty directory: a backup is written into a new one", .0.display())]
    TargetNotEmpty(PathBuf),
    /// The target's parent directory does not exist.
    #[error("the directory {} to write the backup in does not exist", .0.display())]
    NoParent(PathBuf),
    /// The restore's data directory holds something, and `--force` was not given.
    #[error(
        "the data directory {} is not empty: stop its node and pass --force to move it aside (it is kept, never deleted)",
        .0.display()
    )]
    DataNotEmpty(PathBuf),
    /// A node is running on the data directory (it holds the store's lock).
    #[error("a node is running on {}: stop it before restoring", .0.display())]
    InUse(PathBuf),
    /// A file operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// The manifest is missing or invalid.
    #[error("backup manifest {}: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file's content is not what the manifest says.
    #[error("{} does not match the manifest: {reason}", path.display())]
    Digest {
        /// The file.
        path: PathBuf,
        /// Size or SHA-256 differ, or it is missing.
        reason: String,
    },
    /// A file in the backup the manifest does not list.
    #[error("{} is in the backup but not in its manifest", .0.display())]
    Unlisted(PathBuf),
    /// The backup's store is of a newer format than this binary reads.
    #[error(
        "the backup's store is in format version {found}, newer than this binary's {supported}"
    )]
    FormatTooNew {
        /// The backup's version.
        found: u32,
        /// This binary's.
        supported: u32,
    },
    /// The store (live or in the backup) failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A key in the backup cannot be loaded.
    #[error("keys: {0}")]
    Keys(#[from] KeyError),
    /// The log in the snapshot does not verify: its checkpoint is not signed by the
    /// member's log key, or its entries and hashes do not reproduce it.
    #[error("the backup's log does not verify: {0}")]
    Log(#[from] LogOpenError),
    /// The snapshot's log is not what the manifest says.
    #[error("the backup's log does not match its manifest: {0}")]
    Mismatch(String),
}
