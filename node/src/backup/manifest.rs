//! `manifest.json`, the description a backup carries of itself: whose log at which signed
//! checkpoint, the store's format version, and every file with its size and SHA-256.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;
use crate::file_error::FileError;

/// The manifest's file name at the top of a backup.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest's `type`.
pub const MANIFEST_TYPE: &str = "talent-registry-backup";

/// Largest manifest read: a backup lists at most a few thousand files.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The store's on-disk format version in the backup.
    pub format_version: u32,
    /// The member whose data it is.
    pub member: String,
    /// Its log's origin (the checkpoint key name).
    pub log_origin: String,
    /// When the snapshot was taken (RFC 3339).
    pub created: String,
    /// The own log at the snapshot.
    pub log: ManifestLog,
    /// Every file of the backup but the manifest, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// The own log in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestLog {
    /// Entries.
    pub size: u64,
    /// Root hash (base64, as in checkpoints).
    pub root: String,
    /// The signed checkpoint note stored at the snapshot.
    pub checkpoint: String,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestFile {
    /// Relative path, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// Reads and parses `<dir>/manifest.json`.
    ///
    /// # Errors
    /// [`BackupError::Io`], [`BackupError::Manifest`] for a missing, oversized or invalid
    /// manifest or one listing a path outside the backup.
    pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST_FILE);
        let invalid = |reason: String| BackupError::Manifest {
            path: path.clone(),
            reason,
        };
        let file = std::fs::File::open(&path).map_err(|error| invalid(error.to_string()))?;
        let mut text = Vec::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(FileError::of("reading", &path))?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(invalid(format!("larger than {MAX_MANIFEST_BYTES} bytes")));
        }
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|error| invalid(error.to_string()))?;
        if manifest.kind != MANIFEST_TYPE {
            return Err(invalid(format!(
                "type {:?} is not {MANIFEST_TYPE}",
                manifest.kind
            )));
        }
        for file in &manifest.files {
            relative(&file.path).ok_or_else(|| {
                invalid(format!(
                    "{:?} is not a relative path inside the backup",
                    file.path
                ))
            })?;
        }
        Ok(manifest)
    }
}

/// `path` as a relative path of plain components, or `None` (absolute, `..`, empty).
pub(super) fn relative(path: &str) -> Option<PathBuf> {
    let candidate = Path::new(path);
    let plain = !path.is_empty()
        && candidate
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    plain.then(|| candidate.to_path_buf())
}

/// Size and SHA-256 (hex) of the file at `path`, read in blocks.
///
/// # Errors
/// [`BackupError::Io`].
pub(super) fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = std::fs::File::open(path).map_err(FileError::of("reading", path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(FileError::of("reading", path))?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        hasher.update(&buffer[..read]);
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok((bytes, hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_files_of_a_backup() {
        assert!(relative("db/000007.sst").is_some());
        assert!(relative("keys/log.key").is_some());
        for bad in ["", "/etc/passwd", "../outside", "db/../../x", "./db"] {
            assert!(relative(bad).is_none(), "{bad}");
        }
    }
}
