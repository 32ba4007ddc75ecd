//! The store's on-disk format version and the migrations between versions.
//!
//! The version is the `format_version` value of the `meta` column family, so it travels
//! with the store (and with every RocksDB checkpoint of it, hence with every backup). A
//! store without it was written by a release before versions were recorded: version 1.
//!
//! [`Store::open`](super::Store::open) brings an older store to [`FORMAT_VERSION`] by running
//! the [`MIGRATIONS`] from its version on, in order. Each step is one synced `WriteBatch`
//! that carries its changes and the new version together, so a crash leaves the store at
//! the version before or after the step, never between. A store of a newer version than
//! this binary knows is refused before anything is written
//! ([`StoreError::FormatTooNew`]).

use rocksdb::WriteBatch;

use super::families::CF_META;
use super::meta::META_CHECKPOINT;
use super::{Store, StoreError};

/// Meta key of the store's format version (decimal text).
pub const META_FORMAT_VERSION: &str = "format_version";

/// The format version this binary writes.
pub const FORMAT_VERSION: u32 = 2;

/// The version of a store that records none: the release before versions were recorded.
const UNRECORDED_VERSION: u32 = 1;

/// One migration step: from version `from` to `from + 1`.
pub(super) struct Migration {
    /// The version the step starts from.
    pub(super) from: u32,
    /// What the step does, for the log.
    pub(super) describe: &'static str,
    /// Puts the step's changes into the batch that also records `from + 1`.
    pub(super) apply: fn(&Store, &mut WriteBatch) -> Result<(), StoreError>,
}

/// Every step, in order; `MIGRATIONS[i].from == i + 1`.
pub(super) const MIGRATIONS: &[Migration] = &[Migration {
    from: 1,
    describe: "record the store's format version",
    // Version 2 changed no record: it is the first that says which format it is.
    apply: |_, _| Ok(()),
}];

/// What [`Store::migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatMigration {
    /// The version found (1 for a store that recorded none).
    pub found: u32,
    /// The version now ([`FORMAT_VERSION`]).
    pub now: u32,
}

impl Store {
    /// The store's format version: the recorded one, 1 for a store with data that records
    /// none, `None` for an empty store.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a version that is not a number.
    pub fn format_version(&self) -> Result<Option<u32>, StoreError> {
        if let Some(text) = self.meta(META_FORMAT_VERSION)? {
            return text.parse().map(Some).map_err(|_| StoreError::Corrupt {
                key: format!("meta/{META_FORMAT_VERSION}"),
                reason: format!("{text:?} is not a version number"),
            });
        }
        let cf = self.cf(CF_META)?;
        let mut any = self.db.iterator_cf(cf, rocksdb::IteratorMode::Start);
        let has_data =
            any.next().transpose()?.is_some() || self.db.get_cf(cf, META_CHECKPOINT)?.is_some();
        Ok(has_data.then_some(UNRECORDED_VERSION))
    }

    /// Brings the store to [`FORMAT_VERSION`]: an empty store is marked current, an older
    /// one migrated step by step (each step logged and atomic).
    ///
    /// # Errors
    /// [`StoreError::FormatTooNew`] for a store of a later version (nothing written);
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub(super) fn migrate(&self) -> Result<FormatMigration, StoreError> {
        let found = self.format_version()?;
        let Some(found) = found else {
            self.set_meta(&[(META_FORMAT_VERSION, &FORMAT_VERSION.to_string())])?;
            return Ok(FormatMigration {
                found: FORMAT_VERSION,
                now: FORMAT_VERSION,
            });
        };
        if found > FORMAT_VERSION {
            return Err(StoreError::FormatTooNew {
                found,
                supported: FORMAT_VERSION,
            });
        }
        let cf = self.cf(CF_META)?;
        for step in MIGRATIONS.iter().filter(|step| step.from >= found) {
            let to = step.from + 1;
            tracing::info!(
                from = step.from,
                to,
                step = step.describe,
                "migrating the store"
            );
            let mut batch = WriteBatch::default();
            (step.apply)(self, &mut batch)?;
            batch.put_cf(cf, META_FORMAT_VERSION, to.to_string());
            self.db.write_opt(batch, &Self::synced())?;
        }
        Ok(FormatMigration {
            found,
            now: FORMAT_VERSION,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::PersonalKeys;
    use super::*;

    #[test]
    fn the_steps_lead_from_version_one_to_the_current_one() {
        for (position, step) in MIGRATIONS.iter().enumerate() {
            assert_eq!(step.from, position as u32 + UNRECORDED_VERSION);
        }
        assert_eq!(
            MIGRATIONS.last().map(|step| step.from + 1),
            Some(FORMAT_VERSION)
        );
    }

    #[test]
    fn a_new_store_is_current_and_an_unversioned_one_is_migrated() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
            assert_eq!(store.format_version().expect("reads"), Some(FORMAT_VERSION));
            // What a release before versions left: data, no version.
            store.set_checkpoint(b"a checkpoint").expect("writes");
            store
                .db
                .delete_cf(store.cf(CF_META).expect("cf"), META_FORMAT_VERSION)
                .expect("deletes");
            assert_eq!(store.format_version().expect("reads"), Some(1));
        }
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("migrates");
        assert_eq!(store.format_version().expect("reads"), Some(FORMAT_VERSION));
    }

    #[test]
    fn a_newer_store_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().expect("temp dir");
        let newer = (FORMAT_VERSION + 1).to_string();
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
            store
                .set_meta(&[(META_FORMAT_VERSION, &newer)])
                .expect("writes");
        }
        let error = Store::open(dir.path(), PersonalKeys::for_tests()).expect_err("refused");
        assert!(
            matches!(error, StoreError::FormatTooNew { found, supported }
                if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
            "{error}"
        );
        assert!(error.to_string().contains("newer"), "{error}");
        let reopened = Store::open_read_only(dir.path(), PersonalKeys::for_tests());
        let version = reopened.map(|store| store.meta(META_FORMAT_VERSION));
        assert!(matches!(version, Ok(Ok(Some(text))) if text == newer));
    }
}
