//! The node's durable state in RocksDB.
//!
//! Column families and key encodings live here and nowhere else:
//!
//! | column family | key | value |
//! |---|---|---|
//! | `entries` | leaf index (u64, big-endian) | entry bytes (JCS of a signed object) |
//! | `hashes` | stored-hash index (u64, big-endian, see `tlog_tiles::stored_hash_index`) | 32-byte hash |
//! | `credentials` | credential UUID (16 bytes; UUIDv7 sorts by time) | leaf index of its entry |
//! | `personal` | credential UUID | full resident ID number, sealed ([`personal`]; never synced, never logged) |
//! | `personal_index` | HMAC-SHA256 of a full ID number (32 bytes), credential UUID | empty: who holds that number |
//! | `meta` | UTF-8 name | value: member identity, the signed checkpoint |
//! | `mirror_entries` | member id, 0x00, leaf index (u64 BE) | a peer's entry, verified by sync |
//! | `mirror_hashes` | member id, 0x00, stored-hash index (u64 BE) | a peer's stored hash |
//! | `mirror_credentials` | credential UUID, member id | leaf index in that member's log |
//! | `mirror_state` | member id | JSON [`MirrorState`]: verified size and checkpoint |
//! | `witness` | log origin | JSON record of the checkpoint this member last cosigned |
//! | `evidence` | member id, 0x00, sequence (u64 BE) | JSON evidence of misbehaviour |
//! | `issuer_events` | space prefix, leaf index (u64 BE) | entry that changed the issuer history |
//! | `statuses` | space prefix, credential UUID, leaf index (u64 BE) | status code set by that entry |
//! | `queries` | credential UUID, time (ns, u64 BE), 4 random bytes | a verification of an own credential at this node, sealed ([`personal`]) |
//!
//! The space prefix is 0x00 for the own log and `member id, 0x00` for a mirror (member ids
//! never start with or contain 0x00).
//!
//! A [`LogSpace`] names whose log a read or write is about: this member's own, or the
//! mirror of a peer's. Both have the same layout, only the column family and key prefix
//! differ.
//!
//! A log append is one `WriteBatch` with a synced WAL ([`Store::append`]): a write that
//! returned `Ok` survives a crash or power loss, and a crash mid-write leaves none of the
//! batch visible.
//!
//! Full ID numbers never reach a file in plaintext: `personal` values are sealed with the
//! member's personal-data key ([`PersonalKeys`]), and a store written before that is
//! migrated by [`Store::open`], which also rewrites the files that held the plaintext.
//!
//! Each concern is a module with its own `impl Store` block over the families it owns:
//! `families` (the names), `format` (the on-disk format version and its migrations),
//! `snapshot` (read-only opens and RocksDB checkpoints, for backups), `space` (the keys of a log space), `log` (entries, stored
//! hashes, the own log's append), `effects` (issuer events and statuses), `slots`
//! (status-list slots), `credentials` (where a credential id is logged), `mirrors` (peers'
//! logs and how much of each is verified), `resident_ids` with [`personal`] (full ID
//! numbers), `meta`, `witness` (cosigned checkpoints, evidence against peers), `flows`
//! (recognition counts) and `queries` (the holder-visible query log). This file opens the database and holds what they share.

mod credentials;
mod effects;
mod families;
mod flows;
pub mod format;
mod log;
mod meta;
mod mirrors;
pub mod personal;
mod queries;
mod resident_ids;
mod slots;
mod snapshot;
mod space;
mod witness;

use std::path::Path;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Options, WriteOptions};
use talent_tlog::Hash;
use thiserror::Error;

pub use credentials::CredentialLocations;
pub use effects::EntryEffects;
use families::COLUMN_FAMILIES;
pub use format::{FORMAT_VERSION, META_FORMAT_VERSION};
pub use log::{AppendBatch, AppendedEntry};
pub use meta::{META_AUTHORITY_DID, META_MEMBER_ID, META_WITNESSED_CHECKPOINT};
pub use mirrors::{MirrorAppend, MirrorRecord, MirrorState};
pub use personal::PersonalKeys;
pub use queries::MAX_QUERIES_PER_CREDENTIAL;
pub use slots::SlotHolder;
pub use space::LogSpace;

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// RocksDB refused to open the directory or failed an operation.
    #[error("RocksDB: {0}")]
    Engine(#[from] rocksdb::Error),
    /// A column family that `open` creates is missing: the store is not usable.
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
    /// Stored bytes are not what this version wrote.
    #[error("stored record {key} is corrupt: {reason}")]
    Corrupt {
        /// Which record.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The personal data was sealed under other keys than the ones given: the key files
    /// were lost, replaced or mixed up with another member's.
    #[error(
        "the personal data in this store was sealed under other personal-data keys than the ones loaded; restore this member's keys/personal-*.key"
    )]
    PersonalKeysMismatch,
    /// The store was written by a newer release, in a format this binary does not know.
    #[error(
        "the store is in on-disk format version {found}, newer than this binary's {supported}: run the release that wrote it (or a later one)"
    )]
    FormatTooNew {
        /// The store's version.
        found: u32,
        /// The newest version this binary reads and writes.
        supported: u32,
    },
}

/// The node's RocksDB store.
#[derive(Debug)]
pub struct Store {
    db: DB,
    /// Serialises the read-modify-write of counters.
    counters: std::sync::Mutex<()>,
    /// Stored hashes read before, by column family and key. A stored hash never changes
    /// once written (logs only grow, and nothing deletes them), and every inclusion proof
    /// of a log reads the same upper-level hashes: a RocksDB read was a tenth of a
    /// `POST /api/v1/verify`. Only hashes found are kept; a missing one may be written later.
    /// (A failed catch-up can leave hashes above a mirror's verified size that a retry
    /// writes again, but every reader asks only for hashes under a verified size.)
    hash_cache: HashCache,
    /// Seal and index the `personal` column family.
    personal: PersonalKeys,
}

/// See [`Store`]'s `hash_cache`.
type HashCache = quick_cache::sync::Cache<(&'static str, Vec<u8>), Hash>;

/// Stored hashes [`Store`] keeps in memory (about 80 bytes each): every hash of a log of
/// 32,768 entries, or the upper 16 levels of a larger one, which every proof shares.
const HASH_CACHE_ENTRIES: usize = 65_536;

/// Bytes all column families' memtables may hold together before RocksDB flushes.
const MEMTABLE_BUDGET: usize = 64 << 20;

/// Bytes of the block cache that every column family shares.
const BLOCK_CACHE_BYTES: usize = 32 << 20;

impl Store {
    /// Opens (creating if needed) the store in `path`, whose personal data `personal`
    /// seals. Full ID numbers a version before encryption stored in plaintext are sealed
    /// and indexed now, and the files that held them rewritten ([`Store::open`] returns
    /// only when none is left).
    ///
    /// # Errors
    /// [`StoreError::Engine`] when RocksDB cannot open the directory (locked by another
    /// process, corrupt, permission denied); [`StoreError::PersonalKeysMismatch`] when the
    /// store's personal data was sealed under other keys; [`StoreError::Corrupt`] for a
    /// plaintext value that is not an ID number; [`StoreError::FormatTooNew`] for a store
    /// of a newer release. An older format is migrated first ([`format`]).
    pub fn open(path: &Path, personal: PersonalKeys) -> Result<Store, StoreError> {
        let mut options = Self::options();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = DB::open_cf_descriptors(&options, path, Self::descriptors(path))?;
        let store = Store {
            db,
            counters: std::sync::Mutex::new(()),
            hash_cache: HashCache::new(HASH_CACHE_ENTRIES),
            personal,
        };
        // First, before anything is written: a newer format is refused untouched.
        let format = store.migrate()?;
        if format.found != format.now {
            tracing::info!(from = format.found, to = format.now, "store migrated");
        }
        store.check_personal_keys()?;
        store.seal_plaintext_personal_data()?;
        Ok(store)
    }

    /// The database options every open uses.
    fn options() -> Options {
        let mut options = Options::default();
        // Detect corruption on open rather than serving bad data later. A torn last WAL
        // record can only be a batch that was never acknowledged (every acknowledged batch
        // was synced whole), so it is dropped; corruption anywhere else refuses to open.
        options.set_paranoid_checks(true);
        options.set_wal_recovery_mode(rocksdb::DBRecoveryMode::TolerateCorruptedTailRecords);
        // Memory stays bounded however large the log grows (issue 3: RSS < 300 MB at a
        // million entries): all memtables together and one block cache shared by every
        // column family, instead of RocksDB's per-family defaults (64 MiB memtables each).
        options.set_db_write_buffer_size(MEMTABLE_BUDGET);
        options
    }

    /// The column families to open in `path`: this version's, and any other the directory
    /// holds (a newer release's), so that its format version can be read and refused.
    fn descriptors(path: &Path) -> Vec<ColumnFamilyDescriptor> {
        let mut names: Vec<String> = COLUMN_FAMILIES
            .iter()
            .map(|name| (*name).to_owned())
            .collect();
        if let Ok(existing) = DB::list_cf(&Options::default(), path) {
            for name in existing {
                if name != rocksdb::DEFAULT_COLUMN_FAMILY_NAME && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        names
            .into_iter()
            .map(|name| {
                let mut family = Options::default();
                family.set_write_buffer_size(MEMTABLE_BUDGET / 4);
                let mut table = BlockBasedOptions::default();
                table.set_block_cache(&cache);
                // Index and filter blocks count against the cache instead of growing beside it.
                table.set_cache_index_and_filter_blocks(true);
                table.set_pin_l0_filter_and_index_blocks_in_cache(true);
                family.set_block_based_table_factory(&table);
                ColumnFamilyDescriptor::new(name, family)
            })
            .collect()
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::MissingColumnFamily(name))
    }

    fn synced() -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        options
    }
}

/// Lowercase hex of `bytes`, for naming a record in an error.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_of_same_directory_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _first = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
        assert!(matches!(
            Store::open(dir.path(), PersonalKeys::for_tests()),
            Err(StoreError::Engine(_))
        ));
    }
}
