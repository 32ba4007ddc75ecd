//! The file work of backups and restores: copies that keep secrets 0600 and reach the
//! disk, listings, and the temporary siblings that are renamed into place when complete.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

use super::BackupError;
use crate::file_error::FileError;

/// Creates the directory `path` (and missing parents) for this user only.
pub(super) fn create_private_dir(path: &Path) -> Result<(), BackupError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(FileError::of("creating", path))?;
    Ok(())
}

/// Creates the new file `path`, private to this user (mode 0600).
fn create_private(path: &Path) -> Result<fs::File, BackupError> {
    Ok(fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(FileError::of("creating", path))?)
}

/// Writes `bytes` to the new file `path` (mode 0600) and syncs it.
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut file = create_private(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(FileError::of("writing", path))?;
    Ok(())
}

/// Copies the file `from` to the new file `to` (mode 0600) and syncs it.
pub(super) fn copy_file(from: &Path, to: &Path) -> Result<(), BackupError> {
    let mut source = fs::File::open(from).map_err(FileError::of("reading", from))?;
    let mut target = create_private(to)?;
    std::io::copy(&mut source, &mut target).map_err(FileError::of("copying into", to))?;
    target.flush().map_err(FileError::of("writing", to))?;
    target.sync_all().map_err(FileError::of("syncing", to))?;
    Ok(())
}

/// Copies every regular file under `from` into `to` (created), keeping the layout;
/// symbolic links and files named `*.tmp` (a write in progress) are left out.
pub(super) fn copy_tree(from: &Path, to: &Path) -> Result<(), BackupError> {
    create_private_dir(to)?;
    for entry in fs::read_dir(from).map_err(FileError::of("listing", from))? {
        let entry = entry.map_err(FileError::of("listing", from))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(FileError::of("reading the type of", &path))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&path, &target)?;
        } else if kind.is_file() && path.extension().is_none_or(|extension| extension != "tmp") {
            copy_file(&path, &target)?;
        }
    }
    sync_dir(to)
}

/// Every regular file under `root`, as sorted `/`-separated relative paths.
pub(super) fn list_files(root: &Path) -> Result<Vec<String>, BackupError> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        for entry in fs::read_dir(&dir).map_err(FileError::of("listing", &dir))? {
            let entry = entry.map_err(FileError::of("listing", &dir))?;
            let name = relative.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(FileError::of("reading the type of", &entry.path()))?;
            if kind.is_dir() {
                pending.push(name);
            } else {
                found.push(name.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `root` and every directory under it.
pub(super) fn list_dirs(root: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut found = vec![root.to_path_buf()];
    let mut next = 0;
    while next < found.len() {
        let dir = found[next].clone();
        next += 1;
        for entry in fs::read_dir(&dir).map_err(FileError::of("listing", &dir))? {
            let entry = entry.map_err(FileError::of("listing", &dir))?;
            if entry
                .file_type()
                .map_err(FileError::of("reading the type of", &entry.path()))?
                .is_dir()
            {
                found.push(entry.path());
            }
        }
    }
    Ok(found)
}

/// Whether `path` exists and is not an empty directory.
pub(super) fn occupied(path: &Path) -> Result<bool, BackupError> {
    match fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(FileError::of("reading", path)(error).into()),
        Ok(metadata) if metadata.is_dir() => Ok(fs::read_dir(path)
            .map_err(FileError::of("listing", path))?
            .next()
            .is_some()),
        Ok(_) => Ok(true),
    }
}

/// A new name beside `target` for the directory being written before it is complete:
/// `.<name>.<tag>-<random>`, hidden and never mistaken for the finished one.
pub(super) fn temporary_sibling(target: &Path, tag: &str) -> Result<PathBuf, BackupError> {
    let parent = parent_of(target)?;
    let name = target
        .file_name()
        .map_or_else(|| "data".into(), |name| name.to_string_lossy().into_owned());
    let mut random = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let suffix: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(parent.join(format!(".{name}.{tag}-{suffix}")))
}

/// The existing parent directory of `target` (`.` for a bare name).
pub(super) fn parent_of(target: &Path) -> Result<PathBuf, BackupError> {
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(BackupError::NoParent(parent));
    }
    Ok(parent)
}

/// Renames the complete `from` to `to` (absent or an empty directory) and makes the rename
/// durable.
pub(super) fn rename_into_place(from: &Path, to: &Path) -> Result<(), BackupError> {
    fs::rename(from, to).map_err(FileError::of("renaming into", to))?;
    sync_dir(&parent_of(to)?)
}

/// Makes the entries of `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(FileError::of("syncing", dir))?;
    Ok(())
}
