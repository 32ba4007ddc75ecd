//! Writing a backup of a member's data directory (online: the store stays open and keeps
//! appending; the RocksDB checkpoint is the point in time).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use talent_tlog::merkle;

use super::manifest::{self, MANIFEST_FILE, MANIFEST_TYPE, Manifest, ManifestFile, ManifestLog};
use super::{BackupError, files, verify};
use crate::audit::AUDIT_DIR;
use crate::file_error::FileError;
use crate::store::Store;
use crate::tokens::TOKENS_FILE;

/// What a backup is taken of.
#[derive(Debug, Clone, Copy)]
pub struct BackupSource<'a> {
    /// The open store.
    pub store: &'a Store,
    /// The data directory (its `keys/`, `tokens.json` and `audit/` are copied).
    pub data_dir: &'a Path,
    /// The member's log origin, under which its checkpoints are signed.
    pub log_origin: &'a str,
    /// The running node's registry gate ([`crate::issuers::Issuers::gate`]), held alone
    /// while the snapshot is taken and the keys and tokens copied: no append and no
    /// authority key rotation is half done in the backup. `None` for a stopped node.
    pub gate: Option<&'a tokio::sync::RwLock<()>>,
}

/// Writes a verified backup of `source` into `target` (absent or an empty directory)
/// and returns its manifest.
///
/// Everything is written into a hidden temporary sibling of `target`, verified there
/// ([`super::verify`]) and renamed to `target` only then; on failure the temporary
/// directory is removed.
///
/// # Errors
/// [`BackupError::TargetNotEmpty`], [`BackupError::NoParent`]; any failure of writing or
/// of the verification.
pub fn create(source: &BackupSource<'_>, target: &Path) -> Result<Manifest, BackupError> {
    if files::occupied(target)? {
        return Err(BackupError::TargetNotEmpty(target.to_path_buf()));
    }
    let temporary = files::temporary_sibling(target, "partial")?;
    let written = write(source, &temporary).and_then(|written| {
        let verified = verify(&temporary)?;
        if verified != written {
            return Err(BackupError::Mismatch(
                "the manifest read back differs from the one written".into(),
            ));
        }
        files::rename_into_place(&temporary, target)?;
        Ok(verified)
    });
    if written.is_err()
        && temporary.exists()
        && let Err(error) = fs::remove_dir_all(&temporary)
    {
        tracing::warn!(path = %temporary.display(), %error, "could not remove a failed backup");
    }
    written
}

/// Writes the snapshot, the files beside it and the manifest into the new directory `dir`.
fn write(source: &BackupSource<'_>, dir: &Path) -> Result<Manifest, BackupError> {
    files::create_private_dir(dir)?;
    let db = dir.join("db");
    // Called on a blocking thread (never on the runtime), so waiting here is allowed; the
    // pause lasts a memtable flush and the copy of a few small files.
    let paused = source.gate.map(tokio::sync::RwLock::blocking_write);
    source.store.checkpoint_into(&db)?;
    files::copy_tree(&source.data_dir.join("keys"), &dir.join("keys"))?;
    let tokens = source.data_dir.join(TOKENS_FILE);
    if tokens.is_file() {
        files::copy_file(&tokens, &dir.join(TOKENS_FILE))?;
    }
    drop(paused);
    // The checkpoint hard-links the store's table files when it can: a backup shares no
    // inode with the live store, so a change to either never reaches the other.
    break_hard_links(&db)?;
    let audit = source.data_dir.join(AUDIT_DIR);
    if audit.is_dir() {
        files::copy_tree(&audit, &dir.join(AUDIT_DIR))?;
    }
    let snapshot = super::verify::check_snapshot(dir, source.log_origin)?;
    let mut listed = Vec::new();
    for path in files::list_files(dir)? {
        let (bytes, sha256) = manifest::digest(&dir.join(&path))?;
        listed.push(ManifestFile {
            path,
            bytes,
            sha256,
        });
    }
    let manifest = Manifest {
        kind: MANIFEST_TYPE.to_owned(),
        format_version: snapshot.format_version,
        member: snapshot.member,
        log_origin: source.log_origin.to_owned(),
        created: talent_core::credential::format_datetime(chrono::Utc::now()),
        log: ManifestLog {
            size: snapshot.size,
            root: merkle::format_hash(&snapshot.root),
            checkpoint: String::from_utf8_lossy(&snapshot.checkpoint).into_owned(),
        },
        files: listed,
    };
    let path = dir.join(MANIFEST_FILE);
    let text = serde_json::to_vec_pretty(&manifest).map_err(|error| BackupError::Manifest {
        path: path.clone(),
        reason: error.to_string(),
    })?;
    files::write_new(&path, &text)?;
    files::sync_dir(dir)?;
    Ok(manifest)
}

/// Replaces every file in `dir` that has other hard links by a copy of its own.
fn break_hard_links(dir: &Path) -> Result<(), BackupError> {
    for entry in fs::read_dir(dir).map_err(FileError::of("listing", dir))? {
        let path = entry.map_err(FileError::of("listing", dir))?.path();
        let metadata = fs::symlink_metadata(&path).map_err(FileError::of("reading", &path))?;
        if metadata.is_file() && metadata.nlink() > 1 {
            let copy = path.with_extension("copy");
            files::copy_file(&path, &copy)?;
            fs::rename(&copy, &path).map_err(FileError::of("renaming into", &path))?;
        }
    }
    files::sync_dir(dir)
}
