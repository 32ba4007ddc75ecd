//! Checking a backup: every file is the one the manifest lists, and the snapshot's log is
//! whole — its checkpoint signed by the member's log key (from the backup's own
//! `keys/log.key`), its stored hashes reproducing that checkpoint's root, and the root
//! recomputed from every stored entry equal to it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use talent_tlog::Hash;
use talent_tlog::checkpoint;
use talent_tlog::merkle::{self, TreeExtension};

use super::manifest::{self, MANIFEST_FILE, Manifest};
use super::{BackupError, files};
use crate::log::{LogOpenError, check_entries_end, load_head};
use crate::store::{FORMAT_VERSION, LogSpace, META_MEMBER_ID, Store};

/// Entries read per step of the recomputation: memory stays bounded for any log size.
const ENTRIES_PER_STEP: u64 = 4096;

/// The own log of a store snapshot, verified.
#[derive(Debug, Clone)]
pub(super) struct Snapshot {
    /// Entries.
    pub(super) size: u64,
    /// Root, recomputed from the entries.
    pub(super) root: Hash,
    /// The signed checkpoint stored.
    pub(super) checkpoint: Vec<u8>,
    /// The store's format version.
    pub(super) format_version: u32,
    /// The member id stored.
    pub(super) member: String,
}

/// Verifies the backup in `dir` and returns its manifest: nothing of it is changed.
///
/// # Errors
/// [`BackupError::Manifest`], [`BackupError::Digest`], [`BackupError::Unlisted`] when the
/// files are not the ones listed; [`BackupError::FormatTooNew`]; [`BackupError::Log`] or
/// [`BackupError::Mismatch`] when the snapshot's log does not verify or is not the one the
/// manifest names; [`BackupError::Keys`], [`BackupError::Store`].
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let manifest = Manifest::read(dir)?;
    if manifest.format_version > FORMAT_VERSION {
        return Err(BackupError::FormatTooNew {
            found: manifest.format_version,
            supported: FORMAT_VERSION,
        });
    }
    check_files(dir, &manifest)?;
    let snapshot = check_snapshot(dir, &manifest.log_origin)?;
    let checkpoint = String::from_utf8_lossy(&snapshot.checkpoint);
    let disagreements = [
        ("member", snapshot.member != manifest.member),
        ("log size", snapshot.size != manifest.log.size),
        (
            "log root",
            merkle::format_hash(&snapshot.root) != manifest.log.root,
        ),
        ("checkpoint", checkpoint != manifest.log.checkpoint),
        (
            "format version",
            snapshot.format_version != manifest.format_version,
        ),
    ];
    if let Some((what, _)) = disagreements.iter().find(|(_, differs)| *differs) {
        return Err(BackupError::Mismatch(format!(
            "the {what} in the store differs"
        )));
    }
    Ok(manifest)
}

/// Every file listed is there with its size and SHA-256, and nothing else is.
fn check_files(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let listed: BTreeMap<&str, &manifest::ManifestFile> = manifest
        .files
        .iter()
        .map(|file| (file.path.as_str(), file))
        .collect();
    for present in files::list_files(dir)? {
        if present != MANIFEST_FILE && !listed.contains_key(present.as_str()) {
            return Err(BackupError::Unlisted(dir.join(present)));
        }
    }
    for file in &manifest.files {
        let path = dir.join(manifest::relative(&file.path).unwrap_or_default());
        // A symbolic link would let a backup name any file of the machine.
        if !std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_file()) {
            return Err(BackupError::Digest {
                path,
                reason: "missing, or not a regular file".into(),
            });
        }
        let (bytes, sha256) = manifest::digest(&path)?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(BackupError::Digest {
                path,
                reason: format!(
                    "{bytes} bytes with SHA-256 {sha256}, listed as {} bytes with {}",
                    file.bytes, file.sha256
                ),
            });
        }
    }
    Ok(())
}

/// Opens the store snapshot in `<dir>/db` read only and verifies its own log against the
/// log key in `<dir>/keys`.
pub(super) fn check_snapshot(dir: &Path, origin: &str) -> Result<Snapshot, BackupError> {
    let personal = crate::keys::load_personal(dir)?;
    let log_key = crate::keys::load_log_key(dir)?;
    let store = Store::open_read_only(&dir.join("db"), personal)?;
    let note = store
        .checkpoint()?
        .ok_or_else(|| BackupError::Mismatch("the store has no checkpoint".into()))?;
    let vkey = checkpoint::verifier_key(origin, &log_key.verifying_key());
    let verified = checkpoint::open_checkpoint(&note, origin, &vkey).map_err(LogOpenError::from)?;
    let head = load_head(&store, LogSpace::Own, &verified)?;
    check_entries_end(&store, LogSpace::Own, head.size)?;
    let root = root_of_entries(&store, head.size)?;
    if root != head.root {
        return Err(LogOpenError::Corrupt(format!(
            "the entries give root {} but the checkpoint of size {} says {}",
            merkle::format_hash(&root),
            head.size,
            merkle::format_hash(&head.root)
        ))
        .into());
    }
    Ok(Snapshot {
        size: head.size,
        root,
        checkpoint: note,
        format_version: store.format_version()?.unwrap_or(FORMAT_VERSION),
        member: store.meta(META_MEMBER_ID)?.unwrap_or_default(),
    })
}

/// The root of the own log's first `size` entries, hashed anew from the entries.
fn root_of_entries(store: &Store, size: u64) -> Result<Hash, BackupError> {
    let corrupt = |error: merkle::ProofError| LogOpenError::Corrupt(error.to_string());
    let mut frontier = HashMap::new();
    let mut done = 0;
    while done < size {
        let end = (done + ENTRIES_PER_STEP).min(size);
        let entries = store.entries(LogSpace::Own, done..end)?;
        if entries.len() as u64 != end - done {
            return Err(
                LogOpenError::Corrupt(format!("entries {done}..{end} are not all stored")).into(),
            );
        }
        let mut tree = TreeExtension::new(done, &frontier).map_err(corrupt)?;
        for entry in &entries {
            tree.push(entry).map_err(corrupt)?;
        }
        frontier = tree.frontier().map_err(corrupt)?;
        done = end;
    }
    Ok(TreeExtension::new(size, &frontier)
        .and_then(|tree| tree.root())
        .map_err(corrupt)?)
}
