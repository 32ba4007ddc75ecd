//! Restoring a data directory from a backup: verify first, keep what was there, mark the
//! result as restored.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use super::{BackupError, files, verify};
use crate::file_error::FileError;

/// The file a restore leaves in the data directory: the node checks with its peers before
/// it appends to a restored log (the rollback check at start), and removes the marker once none holds
/// more of it.
pub const RESTORED_MARKER: &str = "RESTORED";

/// The content of [`RESTORED_MARKER`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    /// The backup restored.
    pub from: String,
    /// When the backup was taken.
    pub backup_created: String,
    /// When it was restored.
    pub restored: String,
    /// The own log's size in the backup.
    pub log_size: u64,
    /// Its root.
    pub log_root: String,
}

impl Restored {
    /// The marker in `data_dir`, if the directory was restored and has not been confirmed
    /// by the peers since. An unreadable marker still counts as one.
    pub fn read(data_dir: &Path) -> Option<Result<Restored, String>> {
        let path = data_dir.join(RESTORED_MARKER);
        let text = fs::read(&path).ok()?;
        Some(serde_json::from_slice(&text).map_err(|error| error.to_string()))
    }
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Where the data directory that was there went (`--force`).
    pub moved_aside: Option<PathBuf>,
}

/// Restores the backup `from` into the data directory `data` (which its node must not be
/// running on). The backup is verified first; `data`, when it holds anything, is refused
/// unless `force`, and then renamed to `<data>.before-restore-<time>`, never deleted.
///
/// # Errors
/// Any [`super::verify`] failure (nothing touched); [`BackupError::DataNotEmpty`];
/// [`BackupError::InUse`] while a node runs on `data`;
/// a file operation failing (the old directory is then where it was, or moved aside).
pub fn restore(from: &Path, data: &Path, force: bool) -> Result<RestoreOutcome, BackupError> {
    let manifest = verify(from)?;
    let occupied = files::occupied(data)?;
    if occupied && !force {
        return Err(BackupError::DataNotEmpty(data.to_path_buf()));
    }
    refuse_if_running(data)?;
    let temporary = files::temporary_sibling(data, "restoring")?;
    let copied = copy_backup(from, &temporary, &manifest);
    if let Err(error) = copied {
        let _ = fs::remove_dir_all(&temporary);
        return Err(error);
    }
    let moved_aside = if occupied {
        let aside = aside_name(data)?;
        fs::rename(data, &aside).map_err(FileError::of("moving aside", data))?;
        Some(aside)
    } else {
        None
    };
    files::rename_into_place(&temporary, data)?;
    Ok(RestoreOutcome {
        manifest,
        moved_aside,
    })
}

/// Copies the files the manifest lists (verified) into the new directory `to`, checks
/// the copies' digests and writes the marker.
fn copy_backup(from: &Path, to: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    files::create_private_dir(to)?;
    for file in &manifest.files {
        let relative = super::manifest::relative(&file.path).unwrap_or_default();
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            files::create_private_dir(parent)?;
        }
        files::copy_file(&from.join(&relative), &target)?;
        let (bytes, sha256) = super::manifest::digest(&target)?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(BackupError::Digest {
                path: target,
                reason: "the copy differs from the verified backup".into(),
            });
        }
    }
    let marker = Restored {
        from: from
            .canonicalize()
            .unwrap_or_else(|_| from.to_path_buf())
            .display()
            .to_string(),
        backup_created: manifest.created.clone(),
        restored: talent_core::credential::format_datetime(chrono::Utc::now()),
        log_size: manifest.log.size,
        log_root: manifest.log.root.clone(),
    };
    let text = serde_json::to_vec_pretty(&marker).unwrap_or_default();
    files::write_new(&to.join(RESTORED_MARKER), &text)?;
    for dir in files::list_dirs(to)? {
        files::sync_dir(&dir)?;
    }
    Ok(())
}

/// Refuses a data directory whose store a running node holds: RocksDB's POSIX lock on
/// `db/LOCK`, tried here (and released) the way RocksDB takes it.
fn refuse_if_running(data: &Path) -> Result<(), BackupError> {
    let lock = data.join("db").join("LOCK");
    let file = match fs::OpenOptions::new().read(true).write(true).open(&lock) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(FileError::of("opening", &lock)(error).into()),
    };
    rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| BackupError::InUse(data.to_path_buf()))?;
    rustix::fs::fcntl_lock(&file, rustix::fs::FlockOperation::NonBlockingUnlock)
        .map_err(|error| FileError::of("unlocking", &lock)(error.into()))?;
    Ok(())
}

/// `<data>.before-restore-<UTC time>`, with a counter if that exists.
fn aside_name(data: &Path) -> Result<PathBuf, BackupError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let base = format!("{}.before-restore-{stamp}", data.display());
    let mut candidate = PathBuf::from(&base);
    let mut counter = 1;
    while fs::symlink_metadata(&candidate).is_ok() {
        counter += 1;
        candidate = PathBuf::from(format!("{base}-{counter}"));
    }
    Ok(candidate)
}
