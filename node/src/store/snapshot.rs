//! Point-in-time copies of the store and read-only opens of them, for backups: a RocksDB
//! checkpoint is a consistent snapshot taken while the node keeps writing (its table files
//! hard-linked when on the same file system, copied otherwise, plus the live WAL).

use std::path::Path;

use rocksdb::DB;
use rocksdb::checkpoint::Checkpoint;

use super::{HASH_CACHE_ENTRIES, HashCache, PersonalKeys, Store, StoreError};

impl Store {
    /// Writes a RocksDB checkpoint of the store into `path`, which must not exist yet.
    ///
    /// # Errors
    /// [`StoreError::Engine`]: `path` exists, or the copy failed.
    pub fn checkpoint_into(&self, path: &Path) -> Result<(), StoreError> {
        let checkpoint = Checkpoint::new(&self.db)?;
        // The crate flushes the memtables first (log size for flush 0), so the copy needs
        // no WAL replay to be complete.
        checkpoint.create_checkpoint(path)?;
        Ok(())
    }

    /// Opens the store in `path` read only (a backup's checkpoint): nothing is written,
    /// no lock is taken, no migration runs. The personal-data key check, when the store
    /// has one, must match `personal`.
    ///
    /// # Errors
    /// [`StoreError::Engine`] when RocksDB cannot open it;
    /// [`StoreError::PersonalKeysMismatch`].
    pub fn open_read_only(path: &Path, personal: PersonalKeys) -> Result<Store, StoreError> {
        let db = DB::open_cf_descriptors_read_only(
            &Self::options(),
            path,
            Self::descriptors(path),
            false,
        )?;
        let store = Store {
            db,
            counters: std::sync::Mutex::new(()),
            hash_cache: HashCache::new(HASH_CACHE_ENTRIES),
            personal,
        };
        store.verify_personal_keys()?;
        Ok(store)
    }
}
