//! Online backups of the running node (`POST /api/v1/admin/backup`): one at a time, only
//! into the directory the operator allowed with `serve --backup-dir`.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, TryLockError};

use super::{BackupError, BackupSource, Manifest, create};
use crate::issuers::Issuers;
use crate::store::Store;

/// Why an online backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupRequestError {
    /// Another backup is being written.
    #[error("a backup is being written already")]
    InProgress,
    /// The target is not allowed (no backup directory, outside it, not absolute).
    #[error("{0}")]
    Target(String),
    /// The backup failed; nothing that looks complete was left.
    #[error(transparent)]
    Backup(#[from] BackupError),
}

/// The node's online backups.
#[derive(Debug)]
pub struct BackupService {
    store: Arc<Store>,
    /// Whose gate pauses appends while the snapshot is taken.
    issuers: Arc<Issuers>,
    data_dir: PathBuf,
    log_origin: String,
    /// Where backups may be written; `None`: no online backups.
    backup_dir: Option<PathBuf>,
    /// Held while a backup is written.
    running: Mutex<()>,
}

impl BackupService {
    /// Backups of `store` and `data_dir`, into `backup_dir` when given.
    pub fn new(
        store: Arc<Store>,
        issuers: Arc<Issuers>,
        data_dir: &Path,
        log_origin: &str,
        backup_dir: Option<PathBuf>,
    ) -> BackupService {
        BackupService {
            store,
            issuers,
            data_dir: data_dir.to_path_buf(),
            log_origin: log_origin.to_owned(),
            backup_dir,
            running: Mutex::new(()),
        }
    }

    /// Writes a verified backup into `to` (blocking: call it off the async runtime). New
    /// entries wait while the snapshot is taken (a memtable flush).
    ///
    /// # Errors
    /// [`BackupRequestError`].
    pub fn back_up(&self, to: &Path) -> Result<Manifest, BackupRequestError> {
        let _running = match self.running.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => return Err(BackupRequestError::InProgress),
            // A panicked backup left its temporary directory at worst: the next may run.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        let target = self.allowed(to)?;
        let source = BackupSource {
            store: &self.store,
            data_dir: &self.data_dir,
            log_origin: &self.log_origin,
            gate: Some(&self.issuers.gate),
        };
        Ok(create(&source, &target)?)
    }

    /// `to` if it is an absolute path whose parent is the backup directory or under it.
    fn allowed(&self, to: &Path) -> Result<PathBuf, BackupRequestError> {
        let refuse = |reason: String| Err(BackupRequestError::Target(reason));
        let Some(root) = &self.backup_dir else {
            return refuse(
                "this node writes no online backups: start it with --backup-dir, or back up the stopped node with --data".into(),
            );
        };
        let (Some(parent), Some(Component::Normal(name))) =
            (to.parent(), to.components().next_back())
        else {
            return refuse(format!("{} is not a directory path", to.display()));
        };
        if !to.is_absolute() || to.components().any(|part| part == Component::ParentDir) {
            return refuse(format!(
                "{} is not an absolute path without ..",
                to.display()
            ));
        }
        let (Ok(parent), Ok(root)) = (parent.canonicalize(), root.canonicalize()) else {
            return refuse(format!(
                "{} is not inside an existing directory",
                to.display()
            ));
        };
        if !parent.starts_with(&root) {
            return refuse(format!(
                "{} is outside the node's backup directory {}",
                to.display(),
                root.display()
            ));
        }
        Ok(parent.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PersonalKeys;

    fn service(data: &Path, backups: Option<PathBuf>) -> BackupService {
        let store = Store::open(&data.join("db"), PersonalKeys::for_tests()).expect("store");
        let own = crate::issuers::LogToLoad {
            member: "dev".into(),
            authority: "did:key:z6MkgG2M8N3nqTXxHHwdKR2EckccJFdRJrdfmZ1RqpKPRmFT"
                .parse()
                .expect("did"),
            verified: u64::MAX,
            namespace: talent_core::credential::Namespace::legacy(),
            former_namespaces: Vec::new(),
        };
        let issuers = Issuers::load(&store, &own, &[]).expect("issuers");
        BackupService::new(
            Arc::new(store),
            Arc::new(issuers),
            data,
            "test/log",
            backups,
        )
    }

    #[test]
    fn one_backup_at_a_time_and_only_inside_the_backup_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let backups = dir.path().join("backups");
        std::fs::create_dir(&backups).expect("dir");
        let service = service(&dir.path().join("data"), Some(backups.clone()));
        {
            let _running = service.running.lock().expect("lock");
            assert!(matches!(
                service.back_up(&backups.join("one")),
                Err(BackupRequestError::InProgress)
            ));
        }
        for refused in [
            PathBuf::from("relative/one"),
            backups.join("../escape"),
            dir.path().join("beside"),
            backups.join("missing-parent/one"),
            PathBuf::from("/"),
        ] {
            assert!(
                matches!(
                    service.allowed(&refused),
                    Err(BackupRequestError::Target(_))
                ),
                "{}",
                refused.display()
            );
        }
        let inside = service.allowed(&backups.join("one")).expect("allowed");
        assert_eq!(inside, backups.canonicalize().expect("real").join("one"));
        let none = self::service(&dir.path().join("other"), None);
        assert!(matches!(
            none.allowed(&backups.join("one")),
            Err(BackupRequestError::Target(_))
        ));
    }
}
