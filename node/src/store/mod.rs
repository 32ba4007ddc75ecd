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

pub mod personal;

use std::ops::Range;
use std::path::Path;

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions,
};
use serde::{Deserialize, Serialize};
use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use talent_core::status::CredentialStatus;
use talent_core::status_list::StatusSlot;
use talent_tlog::Hash;
use thiserror::Error;

pub use personal::PersonalKeys;
use personal::{INDEX_TAG_BYTES, Stored};

const CF_ENTRIES: &str = "entries";
const CF_HASHES: &str = "hashes";
const CF_CREDENTIALS: &str = "credentials";
const CF_PERSONAL: &str = "personal";
/// Keyed hashes of full ID numbers → credentials: look-ups without decrypting.
const CF_PERSONAL_INDEX: &str = "personal_index";
const CF_META: &str = "meta";
const CF_MIRROR_ENTRIES: &str = "mirror_entries";
const CF_MIRROR_HASHES: &str = "mirror_hashes";
const CF_MIRROR_CREDENTIALS: &str = "mirror_credentials";
const CF_MIRROR_STATE: &str = "mirror_state";
const CF_WITNESS: &str = "witness";
const CF_EVIDENCE: &str = "evidence";
const CF_ISSUER_EVENTS: &str = "issuer_events";
const CF_STATUSES: &str = "statuses";
/// Status-list slots handed out: reserved for an issuer, or used by a credential.
const CF_STATUS_SLOTS: &str = "status_slots";
/// The current status of every own credential whose status changed, by status-list slot:
/// what the published status lists are made of.
const CF_STATUS_BITS: &str = "status_bits";
/// Recognition answers counted per (from region, to region, type, outcome): aggregates only.
const CF_RECOGNITION_FLOWS: &str = "recognition_flows";
const COLUMN_FAMILIES: [&str; 17] = [
    CF_ENTRIES,
    CF_HASHES,
    CF_CREDENTIALS,
    CF_PERSONAL,
    CF_PERSONAL_INDEX,
    CF_META,
    CF_MIRROR_ENTRIES,
    CF_MIRROR_HASHES,
    CF_MIRROR_CREDENTIALS,
    CF_MIRROR_STATE,
    CF_WITNESS,
    CF_EVIDENCE,
    CF_ISSUER_EVENTS,
    CF_STATUSES,
    CF_STATUS_SLOTS,
    CF_STATUS_BITS,
    CF_RECOGNITION_FLOWS,
];

/// Whose log a read or write is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSpace<'a> {
    /// This member's own log.
    Own,
    /// The mirror of a peer member's log (member id).
    Mirror(&'a str),
}

impl LogSpace<'_> {
    fn entries_cf(self) -> &'static str {
        match self {
            LogSpace::Own => CF_ENTRIES,
            LogSpace::Mirror(_) => CF_MIRROR_ENTRIES,
        }
    }

    fn hashes_cf(self) -> &'static str {
        match self {
            LogSpace::Own => CF_HASHES,
            LogSpace::Mirror(_) => CF_MIRROR_HASHES,
        }
    }

    /// The key of `index` in this space: the big-endian index, after `member 0x00` for a
    /// mirror (member ids never contain 0x00, so prefixes cannot overlap).
    fn key(self, index: u64) -> Vec<u8> {
        match self {
            LogSpace::Own => index.to_be_bytes().to_vec(),
            LogSpace::Mirror(member) => {
                let mut key = Vec::with_capacity(member.len() + 9);
                key.extend_from_slice(member.as_bytes());
                key.push(0);
                key.extend_from_slice(&index.to_be_bytes());
                key
            }
        }
    }

    /// The prefix of this space's keys in the families shared by all spaces.
    fn prefix(self) -> Vec<u8> {
        match self {
            LogSpace::Own => vec![0],
            LogSpace::Mirror(member) => {
                let mut prefix = member.as_bytes().to_vec();
                prefix.push(0);
                prefix
            }
        }
    }

    fn status_key(self, id: CredentialId, index: u64) -> Vec<u8> {
        let mut key = self.prefix();
        key.extend_from_slice(&id.uuid().into_bytes());
        key.extend_from_slice(&index.to_be_bytes());
        key
    }

    fn describe(self, what: &str, index: u64) -> String {
        match self {
            LogSpace::Own => format!("{what}/{index}"),
            LogSpace::Mirror(member) => format!("mirror {member} {what}/{index}"),
        }
    }
}

/// Meta key naming the authority DID the stored data was issued with.
pub const META_AUTHORITY_DID: &str = "authority_did";
/// Meta key naming the member id the data belongs to.
pub const META_MEMBER_ID: &str = "member_id";
/// Meta key of the latest signed checkpoint.
const META_CHECKPOINT: &str = "checkpoint";
/// Meta key of the personal-data key check ([`PersonalKeys::key_check`]).
const META_PERSONAL_KEY_CHECK: &str = "personal_key_check";
/// Meta key of the own log's newest checkpoint that carries the witness quorum, with its
/// cosignatures.
pub const META_WITNESSED_CHECKPOINT: &str = "witnessed_checkpoint";

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
}

/// What an admitted entry changes beside the log itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryEffects {
    /// It changed the issuer history: kept apart to rebuild the registry on start.
    pub issuer_event: bool,
    /// The status a status change sets: (credential, status).
    pub status: Option<(CredentialId, CredentialStatus)>,
    /// The status-list slot of that credential, when this member publishes its status
    /// (own credentials only).
    pub status_slot: Option<StatusSlot>,
}

/// Where one credential id is indexed here ([`Store::credential_locations`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialLocations {
    /// Its leaf index in the own log.
    pub own: Option<u64>,
    /// (member, leaf index) the mirror index records, unchecked.
    pub mirrors: Vec<(String, u64)>,
}

/// Who holds a status-list slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotHolder {
    /// Reserved for a credential this issuer (a DID) will sign and submit.
    Reserved(String),
    /// Used by this logged credential.
    Used(CredentialId),
}

/// One entry of an append.
#[derive(Debug)]
pub struct AppendedEntry<'a> {
    /// Entry bytes.
    pub entry: &'a [u8],
    /// The credential the entry is, indexed by id.
    pub credential_id: Option<CredentialId>,
    /// Local-only personal data of the credential.
    pub resident_id: Option<&'a ResidentIdNumber>,
    /// The status-list slot the credential uses.
    pub status_slot: Option<StatusSlot>,
    /// What it changes.
    pub effects: EntryEffects,
}

/// One verified entry of a peer's log.
#[derive(Debug, Clone)]
pub struct MirrorRecord {
    /// Entry bytes.
    pub entry: Vec<u8>,
    /// The credential id it carries, if any.
    pub credential_id: Option<CredentialId>,
    /// What it changes.
    pub effects: EntryEffects,
}

/// Everything one log batch writes.
#[derive(Debug)]
pub struct AppendBatch<'a> {
    /// Leaf index of the first entry.
    pub first_index: u64,
    /// The entries, in order.
    pub entries: Vec<AppendedEntry<'a>>,
    /// New stored hashes (stored-hash index, hash).
    pub hashes: &'a [(u64, Hash)],
    /// The signed checkpoint of the tree after the batch.
    pub checkpoint: &'a [u8],
}

/// What this member holds of a peer's log: the prefix it has verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorState {
    /// Number of verified entries.
    pub size: u64,
    /// The peer's signed checkpoint of that size, with the cosignatures it carried.
    pub checkpoint: String,
    /// Unix seconds when this node last saw that checkpoint as the peer's newest.
    pub confirmed_at: i64,
    /// The peer's newest checkpoint this node holds with the federation's witness quorum
    /// of cosignatures (its size at most `size`): what inclusion is proven under when the
    /// newest lacks the quorum. Absent until one was seen (and in states written before
    /// it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<String>,
}

/// Verified entries of a peer's log, to write into its mirror.
#[derive(Debug)]
pub struct MirrorAppend<'a> {
    /// The peer's member id.
    pub member: &'a str,
    /// Leaf index of the first entry.
    pub first_index: u64,
    /// The entries in order.
    pub entries: &'a [MirrorRecord],
    /// The stored hashes they add.
    pub hashes: &'a [(u64, Hash)],
    /// Whether the write goes through the WAL. A catch-up of many steps writes without it
    /// (the WAL would copy every entry once more) and calls [`Store::flush_mirrors`] before
    /// the state moves over the entries.
    pub logged: bool,
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
/// Bytes a scan of entries reads ahead: an entry bundle (256 entries) is a few hundred KiB.
const SCAN_READAHEAD: usize = 512 << 10;

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
    /// plaintext value that is not an ID number.
    pub fn open(path: &Path, personal: PersonalKeys) -> Result<Store, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Detect corruption on open rather than serving bad data later. A torn last WAL
        // record can only be a batch that was never acknowledged (every acknowledged batch
        // was synced whole), so it is dropped; corruption anywhere else refuses to open.
        options.set_paranoid_checks(true);
        options.set_wal_recovery_mode(rocksdb::DBRecoveryMode::TolerateCorruptedTailRecords);
        // Memory stays bounded however large the log grows (issue 3: RSS < 300 MB at a
        // million entries): all memtables together and one block cache shared by every
        // column family, instead of RocksDB's per-family defaults (64 MiB memtables each).
        options.set_db_write_buffer_size(MEMTABLE_BUDGET);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let descriptors = COLUMN_FAMILIES.iter().map(|name| {
            let mut family = Options::default();
            family.set_write_buffer_size(MEMTABLE_BUDGET / 4);
            let mut table = BlockBasedOptions::default();
            table.set_block_cache(&cache);
            // Index and filter blocks count against the cache instead of growing beside it.
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            family.set_block_based_table_factory(&table);
            ColumnFamilyDescriptor::new(*name, family)
        });
        let db = DB::open_cf_descriptors(&options, path, descriptors)?;
        let store = Store {
            db,
            counters: std::sync::Mutex::new(()),
            hash_cache: HashCache::new(HASH_CACHE_ENTRIES),
            personal,
        };
        store.check_personal_keys()?;
        store.seal_plaintext_personal_data()?;
        Ok(store)
    }

    /// Refuses keys that did not seal this store's personal data; records them in a store
    /// that has no record yet (a new store, or one from before encryption).
    fn check_personal_keys(&self) -> Result<(), StoreError> {
        let cf_meta = self.cf(CF_META)?;
        match self.db.get_cf(cf_meta, META_PERSONAL_KEY_CHECK)? {
            Some(check) if self.personal.matches_key_check(&check) => Ok(()),
            Some(_) => Err(StoreError::PersonalKeysMismatch),
            None => {
                // A store without a check holds no sealed value: anything sealed is written
                // after the check (this function runs before any write).
                let mut batch = WriteBatch::default();
                batch.put_cf(cf_meta, META_PERSONAL_KEY_CHECK, self.personal.key_check());
                self.db.write_opt(batch, &Self::synced())?;
                Ok(())
            }
        }
    }

    /// Seals and indexes every `personal` value still in plaintext, then flushes every
    /// column family (so no live WAL file holds the plaintext) and rewrites the `personal`
    /// family's files (so no live table file does); RocksDB deletes the files they replace.
    fn seal_plaintext_personal_data(&self) -> Result<(), StoreError> {
        /// Values sealed per synced write.
        const CHUNK: usize = 1024;
        let cf_personal = self.cf(CF_PERSONAL)?;
        let cf_index = self.cf(CF_PERSONAL_INDEX)?;
        let mut batch = WriteBatch::default();
        let mut in_batch = 0;
        let mut sealed = 0usize;
        for item in self
            .db
            .iterator_cf(cf_personal, rocksdb::IteratorMode::Start)
        {
            let (key, value) = item?;
            let Stored::Plaintext(text) = PersonalKeys::classify(&value) else {
                continue;
            };
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("personal/{}", hex(&key)),
                reason: reason.into(),
            };
            let uuid = uuid::Uuid::from_slice(&key).map_err(|_| corrupt("key is not a UUID"))?;
            let id = CredentialId::from_uuid(uuid);
            let resident: ResidentIdNumber = text
                .parse()
                .map_err(|_| corrupt("plaintext value is not a resident ID number"))?;
            batch.put_cf(cf_personal, &key, self.personal.seal(id, &resident));
            batch.put_cf(cf_index, self.index_key(&resident, id), []);
            in_batch += 1;
            if in_batch == CHUNK {
                self.db
                    .write_opt(std::mem::take(&mut batch), &Self::synced())?;
                sealed += in_batch;
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            self.db.write_opt(batch, &Self::synced())?;
            sealed += in_batch;
        }
        if sealed == 0 {
            return Ok(());
        }
        let families = COLUMN_FAMILIES
            .iter()
            .map(|name| self.cf(name))
            .collect::<Result<Vec<_>, _>>()?;
        let mut flush = rocksdb::FlushOptions::default();
        flush.set_wait(true);
        self.db.flush_cfs_opt(&families, &flush)?;
        self.db.flush_wal(true)?;
        let mut compaction = rocksdb::CompactOptions::default();
        compaction.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
        compaction.set_exclusive_manual_compaction(true);
        self.db
            .compact_range_cf_opt(cf_personal, None::<&[u8]>, None::<&[u8]>, &compaction);
        tracing::info!(
            sealed,
            "sealed the full ID numbers an older version stored in plaintext"
        );
        Ok(())
    }

    /// The `personal_index` key of `resident` held by credential `id`.
    fn index_key(&self, resident: &ResidentIdNumber, id: CredentialId) -> Vec<u8> {
        let mut key = Vec::with_capacity(INDEX_TAG_BYTES + 16);
        key.extend_from_slice(&self.personal.index_tag(resident));
        key.extend_from_slice(&id.uuid().into_bytes());
        key
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

    /// Appends a batch of this member's log durably, all or none.
    ///
    /// # Errors
    /// [`StoreError::Engine`] when the write fails; then nothing of the batch is stored.
    pub fn append(&self, append: &AppendBatch<'_>) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf_credentials = self.cf(CF_CREDENTIALS)?;
        let cf_personal = self.cf(CF_PERSONAL)?;
        let cf_index = self.cf(CF_PERSONAL_INDEX)?;
        let cf_slots = self.cf(CF_STATUS_SLOTS)?;
        self.put_log(
            &mut batch,
            LogSpace::Own,
            append.first_index,
            append.entries.iter().map(|entry| entry.entry),
            append.hashes,
        )?;
        for (offset, entry) in append.entries.iter().enumerate() {
            let index = append.first_index + offset as u64;
            if let Some(id) = entry.credential_id {
                let key = id.uuid().into_bytes();
                batch.put_cf(cf_credentials, key, index.to_be_bytes());
                if let Some(resident_id) = entry.resident_id {
                    batch.put_cf(cf_personal, key, self.personal.seal(id, resident_id));
                    batch.put_cf(cf_index, self.index_key(resident_id, id), []);
                }
                if let Some(slot) = entry.status_slot {
                    batch.put_cf(
                        cf_slots,
                        slot.to_key(),
                        slot_holder_bytes(&SlotHolder::Used(id)),
                    );
                }
            }
            self.put_effects(&mut batch, LogSpace::Own, index, entry.entry, entry.effects)?;
        }
        batch.put_cf(self.cf(CF_META)?, META_CHECKPOINT, append.checkpoint);
        // Crash before this returns: the WAL holds all of the batch or none of it.
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    fn put_effects(
        &self,
        batch: &mut WriteBatch,
        space: LogSpace<'_>,
        index: u64,
        entry: &[u8],
        effects: EntryEffects,
    ) -> Result<(), StoreError> {
        if effects.issuer_event {
            let mut key = space.prefix();
            key.extend_from_slice(&index.to_be_bytes());
            batch.put_cf(self.cf(CF_ISSUER_EVENTS)?, key, entry);
        }
        if let Some((id, status)) = effects.status {
            batch.put_cf(
                self.cf(CF_STATUSES)?,
                space.status_key(id, index),
                status.code(),
            );
            if let (LogSpace::Own, Some(slot)) = (space, effects.status_slot) {
                batch.put_cf(self.cf(CF_STATUS_BITS)?, slot.to_key(), status.code());
            }
        }
        Ok(())
    }

    /// Adds one recognition answer to the flow counts (not synced: a count lost in a crash
    /// is not worth a disk flush per question).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn count_recognition(
        &self,
        from: &str,
        to: &str,
        credential_type: &str,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let key = format!("{from}\u{1f}{to}\u{1f}{credential_type}\u{1f}{outcome}");
        let cf = self.cf(CF_RECOGNITION_FLOWS)?;
        let _guard = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = match self.db.get_cf(cf, &key)? {
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                StoreError::Corrupt {
                    key: format!("recognition_flows/{key}"),
                    reason: "not 8 bytes".into(),
                }
            })?),
            None => 0,
        };
        self.db.put_cf(cf, &key, (count + 1).to_be_bytes())?;
        Ok(())
    }

    /// Every recognition flow count: ((from, to, type, outcome), count).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn recognition_flows(&self) -> Result<Vec<([String; 4], u64)>, StoreError> {
        let mut flows = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_RECOGNITION_FLOWS)?, rocksdb::IteratorMode::Start)
        {
            let (key, value) = item?;
            let corrupt = || StoreError::Corrupt {
                key: format!("recognition_flows/{}", String::from_utf8_lossy(&key)),
                reason: "not from/to/type/outcome -> count".into(),
            };
            let text = std::str::from_utf8(&key).map_err(|_| corrupt())?;
            let parts: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
            let parts: [String; 4] = parts.try_into().map_err(|_| corrupt())?;
            let count = u64::from_be_bytes(value.as_ref().try_into().map_err(|_| corrupt())?);
            flows.push((parts, count));
        }
        Ok(flows)
    }

    /// Reserves a status-list slot for a credential `issuer` will sign and submit, durably.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn reserve_status_slot(&self, slot: StatusSlot, issuer: &str) -> Result<(), StoreError> {
        self.db.put_cf_opt(
            self.cf(CF_STATUS_SLOTS)?,
            slot.to_key(),
            slot_holder_bytes(&SlotHolder::Reserved(issuer.to_owned())),
            &Self::synced(),
        )?;
        Ok(())
    }

    /// Who holds a status-list slot, if anyone.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status_slot_holder(&self, slot: StatusSlot) -> Result<Option<SlotHolder>, StoreError> {
        let Some(bytes) = self.db.get_cf(self.cf(CF_STATUS_SLOTS)?, slot.to_key())? else {
            return Ok(None);
        };
        let corrupt = || StoreError::Corrupt {
            key: format!("status_slots/{}/{}", slot.list, slot.index),
            reason: "not r:<issuer> or c:<credential id>".into(),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| corrupt())?;
        match text.split_at_checked(2) {
            Some(("r:", issuer)) => Ok(Some(SlotHolder::Reserved(issuer.to_owned()))),
            Some(("c:", id)) => id
                .parse()
                .map(|id| Some(SlotHolder::Used(id)))
                .map_err(|_| corrupt()),
            _ => Err(corrupt()),
        }
    }

    /// The issuer of every status-list slot reserved and not yet used, one item per slot
    /// (a scan of every slot handed out: the reservation bound loads it once).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn reserved_status_slots(&self) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_STATUS_SLOTS)?, rocksdb::IteratorMode::Start)
        {
            let (_, value) = item?;
            if let Some(issuer) = value.strip_prefix(b"r:") {
                found.push(String::from_utf8_lossy(issuer).into_owned());
            }
        }
        Ok(found)
    }

    /// The current status of every own credential in status list `list` whose status
    /// changed: (index, status), in index order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status_bits(&self, list: u32) -> Result<Vec<(u32, CredentialStatus)>, StoreError> {
        let prefix = list.to_be_bytes();
        let mut found = Vec::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_STATUS_BITS)?, prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let corrupt = || StoreError::Corrupt {
                key: format!("status_bits/{list}"),
                reason: "not slot -> status code".into(),
            };
            let slot = StatusSlot::from_key(&key).ok_or_else(corrupt)?;
            let status = std::str::from_utf8(&value)
                .ok()
                .and_then(|code| code.parse().ok())
                .ok_or_else(corrupt)?;
            found.push((slot.index, status));
        }
        Ok(found)
    }

    /// The entries of a log that changed its issuer history, below leaf `below` (a mirror's
    /// verified size: entries above it are not verified yet), in log order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn issuer_events(
        &self,
        space: LogSpace<'_>,
        below: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let prefix = space.prefix();
        let mut found = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(self.cf(CF_ISSUER_EVENTS)?, &prefix)
        {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let index: [u8; 8] =
                key[prefix.len()..]
                    .try_into()
                    .map_err(|_| StoreError::Corrupt {
                        key: space.describe("issuer_events", 0),
                        reason: "key is not prefix + 8 bytes".into(),
                    })?;
            let index = u64::from_be_bytes(index);
            if index < below {
                found.push((index, value.to_vec()));
            }
        }
        Ok(found)
    }

    /// The leaf indexes of a credential's logged status changes below leaf `below`, in order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status_changes(
        &self,
        space: LogSpace<'_>,
        id: CredentialId,
        below: u64,
    ) -> Result<Vec<u64>, StoreError> {
        Ok(self
            .status_records(space, id, below)?
            .into_iter()
            .map(|(index, _)| index)
            .collect())
    }

    /// A credential's latest logged status below leaf `below`: (leaf index of the change,
    /// status); `None` when no change is logged (the credential is as issued).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn status(
        &self,
        space: LogSpace<'_>,
        id: CredentialId,
        below: u64,
    ) -> Result<Option<(u64, CredentialStatus)>, StoreError> {
        Ok(self.status_records(space, id, below)?.pop())
    }

    /// Every status a credential's logged changes set below leaf `below`, in log order.
    fn status_records(
        &self,
        space: LogSpace<'_>,
        id: CredentialId,
        below: u64,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreError> {
        let mut prefix = space.prefix();
        prefix.extend_from_slice(&id.uuid().into_bytes());
        let mut found = Vec::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_STATUSES)?, &prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("statuses/{id}"),
                reason: reason.into(),
            };
            let index: [u8; 8] = key[prefix.len()..]
                .try_into()
                .map_err(|_| corrupt("key is not prefix + 8 bytes"))?;
            let index = u64::from_be_bytes(index);
            let status = std::str::from_utf8(&value)
                .ok()
                .and_then(|code| code.parse().ok())
                .ok_or_else(|| corrupt("not a status code"))?;
            if index < below {
                found.push((index, status));
            }
        }
        Ok(found)
    }

    /// Puts entries from `first_index` on and stored hashes of a log into `batch`.
    fn put_log<'e>(
        &self,
        batch: &mut WriteBatch,
        space: LogSpace<'_>,
        first_index: u64,
        entries: impl Iterator<Item = &'e [u8]>,
        hashes: &[(u64, Hash)],
    ) -> Result<(), StoreError> {
        let cf_entries = self.cf(space.entries_cf())?;
        let cf_hashes = self.cf(space.hashes_cf())?;
        for (offset, entry) in entries.enumerate() {
            batch.put_cf(cf_entries, space.key(first_index + offset as u64), entry);
        }
        for (index, hash) in hashes {
            batch.put_cf(cf_hashes, space.key(*index), hash.0);
        }
        Ok(())
    }

    /// Writes verified entries of a peer's log into its mirror, with their stored hashes
    /// and credential index, above the mirror's verified size: a step of a catch-up whose
    /// root is not checked yet. Nothing reads them until [`Store::set_mirror_state`] moves
    /// the verified size over them. That synced write also makes logged steps durable;
    /// unlogged ones ([`MirrorAppend::logged`]) need [`Store::flush_mirrors`] first.
    ///
    /// # Errors
    /// [`StoreError::Engine`]; nothing of the batch is stored then.
    pub fn append_mirror(&self, append: &MirrorAppend<'_>) -> Result<(), StoreError> {
        let space = LogSpace::Mirror(append.member);
        // Sized up front: a step is about a megabyte, and growing the batch by doubling
        // copied it again and again.
        let entry_bytes: usize = append.entries.iter().map(|record| record.entry.len()).sum();
        let mut batch = WriteBatch::with_capacity_bytes(
            entry_bytes + append.entries.len() * 256 + append.hashes.len() * 64,
        );
        self.put_log(
            &mut batch,
            space,
            append.first_index,
            append.entries.iter().map(|record| record.entry.as_slice()),
            append.hashes,
        )?;
        let cf_credentials = self.cf(CF_MIRROR_CREDENTIALS)?;
        for (offset, record) in append.entries.iter().enumerate() {
            let index = append.first_index + offset as u64;
            if let Some(id) = record.credential_id {
                let mut key = id.uuid().into_bytes().to_vec();
                key.extend_from_slice(append.member.as_bytes());
                batch.put_cf(cf_credentials, key, index.to_be_bytes());
            }
            self.put_effects(&mut batch, space, index, &record.entry, record.effects)?;
        }
        let mut options = WriteOptions::default();
        options.disable_wal(!append.logged);
        self.db.write_opt(batch, &options)?;
        Ok(())
    }

    /// Writes every mirror write held in memory to disk, waiting until it is there: what
    /// makes unlogged [`Store::append_mirror`] steps durable.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::MissingColumnFamily`].
    pub fn flush_mirrors(&self) -> Result<(), StoreError> {
        let families = [
            CF_MIRROR_ENTRIES,
            CF_MIRROR_HASHES,
            CF_MIRROR_CREDENTIALS,
            CF_ISSUER_EVENTS,
            CF_STATUSES,
        ]
        .into_iter()
        .map(|name| self.cf(name))
        .collect::<Result<Vec<_>, _>>()?;
        self.db
            .flush_cfs_opt(&families, &rocksdb::FlushOptions::default())?;
        Ok(())
    }

    /// Durably sets the verified state of `member`'s mirror. The WAL is sequential, so this
    /// also makes every earlier unsynced mirror write durable.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_mirror_state(&self, member: &str, state: &MirrorState) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        self.put_mirror_state(&mut batch, member, state)?;
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    fn put_mirror_state(
        &self,
        batch: &mut WriteBatch,
        member: &str,
        state: &MirrorState,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_vec(state).map_err(|error| StoreError::Corrupt {
            key: format!("mirror_state/{member}"),
            reason: error.to_string(),
        })?;
        batch.put_cf(self.cf(CF_MIRROR_STATE)?, member, value);
        Ok(())
    }

    /// The verified state of the mirror of `member`'s log.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn mirror_state(&self, member: &str) -> Result<Option<MirrorState>, StoreError> {
        match self.db.get_cf(self.cf(CF_MIRROR_STATE)?, member)? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|error| StoreError::Corrupt {
                        key: format!("mirror_state/{member}"),
                        reason: error.to_string(),
                    })
            }
        }
    }

    /// Every (member, leaf index) whose mirrored log holds an entry with credential id `id`
    /// (normally one; a member copying another's id shows up as a second).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn mirror_credential(&self, id: CredentialId) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = id.uuid().into_bytes();
        let mut found = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(self.cf(CF_MIRROR_CREDENTIALS)?, prefix)
        {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("mirror_credentials/{id}"),
                reason: reason.into(),
            };
            let member = std::str::from_utf8(&key[prefix.len()..])
                .map_err(|_| corrupt("member id is not UTF-8"))?;
            let index: [u8; 8] = value
                .as_ref()
                .try_into()
                .map_err(|_| corrupt("index is not 8 bytes"))?;
            found.push((member.to_owned(), u64::from_be_bytes(index)));
        }
        Ok(found)
    }

    /// Every (member, leaf index) of a mirrored entry that carries credential id `id`,
    /// below `bound(member)` (a mirror's verified size: entries above it are not verified
    /// yet), each read again to check it carries the id (an interrupted catch-up may have
    /// left an index pointing at an entry that a retry replaced).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn mirror_holders(
        &self,
        id: CredentialId,
        bound: impl Fn(&str) -> u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        self.confirm_mirror_holders(id, self.mirror_credential(id)?, bound)
    }

    /// Of `candidates` ((member, leaf index) the mirror index records for `id`), those
    /// below `bound(member)` whose entry really carries `id` (see
    /// [`Store::mirror_holders`]).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn confirm_mirror_holders(
        &self,
        id: CredentialId,
        candidates: Vec<(String, u64)>,
        bound: impl Fn(&str) -> u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut found = Vec::new();
        for (member, index) in candidates {
            if index >= bound(&member) {
                continue;
            }
            let Some(bytes) = self.entry(LogSpace::Mirror(&member), index)? else {
                continue;
            };
            if entry_credential_id(&bytes) == Some(id) {
                found.push((member, index));
            }
        }
        Ok(found)
    }

    /// Where each of `ids` is indexed here, read in one pass (a catch-up step asks for a
    /// thousand at once): its leaf index in the own log, and the (member, leaf index) pairs
    /// the mirror index records for it, unchecked (see [`Store::confirm_mirror_holders`]).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credential_locations(
        &self,
        ids: &[CredentialId],
    ) -> Result<Vec<CredentialLocations>, StoreError> {
        let keys: Vec<[u8; 16]> = ids.iter().map(|id| id.uuid().into_bytes()).collect();
        let mut found: Vec<CredentialLocations> = Vec::with_capacity(ids.len());
        let own = self
            .db
            .batched_multi_get_cf(self.cf(CF_CREDENTIALS)?, &keys, false);
        for (id, value) in ids.iter().zip(own) {
            let own = match value? {
                None => None,
                Some(bytes) => Some(u64::from_be_bytes(bytes.as_ref().try_into().map_err(
                    |_| StoreError::Corrupt {
                        key: format!("credentials/{id}"),
                        reason: "index is not 8 bytes".into(),
                    },
                )?)),
            };
            found.push(CredentialLocations {
                own,
                mirrors: Vec::new(),
            });
        }
        // One iterator for all: ids of a step are near each other (UUIDv7 sort by time).
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|position| keys[*position]);
        let mut iterator = self.db.raw_iterator_cf(self.cf(CF_MIRROR_CREDENTIALS)?);
        for position in order {
            let prefix = &keys[position];
            iterator.seek(prefix);
            while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
                if !key.starts_with(prefix) {
                    break;
                }
                let corrupt = |reason: &str| StoreError::Corrupt {
                    key: format!("mirror_credentials/{}", ids[position]),
                    reason: reason.into(),
                };
                let member = std::str::from_utf8(&key[prefix.len()..])
                    .map_err(|_| corrupt("member id is not UTF-8"))?;
                let index: [u8; 8] = value
                    .try_into()
                    .map_err(|_| corrupt("index is not 8 bytes"))?;
                found[position]
                    .mirrors
                    .push((member.to_owned(), u64::from_be_bytes(index)));
                iterator.next();
            }
            iterator.status()?;
        }
        Ok(found)
    }

    /// The record of the checkpoint this member last cosigned for log `origin`.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn witness_record(&self, origin: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_WITNESS)?, origin)?)
    }

    /// Durably replaces the witness record of `origin` (before the cosignature is sent).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_witness_record(&self, origin: &str, record: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_WITNESS)?, origin, record);
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// Durably stores a piece of evidence against `member` (JSON), after any already held.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn add_evidence(&self, member: &str, evidence: &[u8]) -> Result<(), StoreError> {
        let held = self.evidence(member)?.len() as u64;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_EVIDENCE)?,
            LogSpace::Mirror(member).key(held),
            evidence,
        );
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// The evidence held against `member`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn evidence(&self, member: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut prefix = member.as_bytes().to_vec();
        prefix.push(0);
        let mut found = Vec::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_EVIDENCE)?, &prefix) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            found.push(value.to_vec());
        }
        Ok(found)
    }

    /// The entry at leaf `index` of a log.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn entry(&self, space: LogSpace<'_>, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get_cf(self.cf(space.entries_cf())?, space.key(index))?)
    }

    /// Whether the entry at leaf `index` of a log is exactly `bytes` (read in place, not
    /// copied): how a verifier tells the entry that is a presented credential from another
    /// entry carrying the same id.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn entry_is(
        &self,
        space: LogSpace<'_>,
        index: u64,
        bytes: &[u8],
    ) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(space.entries_cf())?, space.key(index))?
            .is_some_and(|stored| stored.as_ref() == bytes))
    }

    /// The entries of a range of leaf indexes of a log, all of which must exist.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] when one is missing.
    pub fn entries(
        &self,
        space: LogSpace<'_>,
        range: Range<u64>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let cf = self.cf(space.entries_cf())?;
        let mut entries = Vec::with_capacity((range.end - range.start) as usize);
        // A scan reads each block once: caching it would only evict blocks that lookups
        // use, and reading ahead saves a read per block.
        let mut options = rocksdb::ReadOptions::default();
        options.fill_cache(false);
        options.set_readahead_size(SCAN_READAHEAD);
        let iterator = self.db.iterator_cf_opt(
            cf,
            options,
            rocksdb::IteratorMode::From(&space.key(range.start), rocksdb::Direction::Forward),
        );
        for (expected, item) in range.clone().zip(iterator) {
            let (key, value) = item?;
            if key.as_ref() != space.key(expected).as_slice() {
                return Err(StoreError::Corrupt {
                    key: space.describe("entries", expected),
                    reason: "missing".into(),
                });
            }
            entries.push(value.into_vec());
        }
        if entries.len() as u64 != range.end - range.start {
            return Err(StoreError::Corrupt {
                key: space.describe("entries", range.start + entries.len() as u64),
                reason: "missing".into(),
            });
        }
        Ok(entries)
    }

    /// Stored hashes of a log by stored-hash index (`None` where absent).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a value that is not 32 bytes.
    pub fn hashes(
        &self,
        space: LogSpace<'_>,
        indexes: &[u64],
    ) -> Result<Vec<Option<Hash>>, StoreError> {
        let name = space.hashes_cf();
        let cf = self.cf(name)?;
        let mut found: Vec<Option<Hash>> = Vec::with_capacity(indexes.len());
        // (position in `found`, index, key) of each hash not in the cache.
        let mut missing: Vec<(usize, u64, Vec<u8>)> = Vec::new();
        for (position, index) in indexes.iter().enumerate() {
            let key = (name, space.key(*index));
            let cached = self.hash_cache.get(&key);
            if cached.is_none() {
                missing.push((position, *index, key.1));
            }
            found.push(cached);
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let read = self
            .db
            .batched_multi_get_cf(cf, missing.iter().map(|(_, _, key)| key), false);
        for ((position, index, key), result) in missing.into_iter().zip(read) {
            let Some(bytes) = result? else {
                continue;
            };
            let array: [u8; 32] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                key: space.describe("hashes", index),
                reason: format!("{} bytes", bytes.len()),
            })?;
            self.hash_cache.insert((name, key), Hash(array));
            if let Some(slot) = found.get_mut(position) {
                *slot = Some(Hash(array));
            }
        }
        Ok(found)
    }

    /// The leaf index of a credential's entry, if stored.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credential_index(&self, id: CredentialId) -> Result<Option<u64>, StoreError> {
        match self
            .db
            .get_pinned_cf(self.cf(CF_CREDENTIALS)?, id.uuid().into_bytes())?
        {
            None => Ok(None),
            Some(bytes) => {
                let array: [u8; 8] =
                    bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                        key: format!("credentials/{id}"),
                        reason: "index is not 8 bytes".into(),
                    })?;
                Ok(Some(u64::from_be_bytes(array)))
            }
        }
    }

    /// Whether the local table holds a full ID number for the credential.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn has_personal_record(&self, id: CredentialId) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_PERSONAL)?, id.uuid().into_bytes())?
            .is_some())
    }

    /// The full resident ID number the local table holds for the credential (never logged,
    /// never sent to peers; the console uses it to find a person's credentials). It is
    /// decrypted here; to find who holds a number, [`Store::credentials_with_resident_id`]
    /// and [`Store::holds_resident_id`] need no decryption.
    ///
    /// # Errors
    /// [`StoreError::Engine`]; [`StoreError::Corrupt`] for a value that does not open
    /// under the personal-data key for this credential (altered, or moved from another).
    pub fn resident_id(&self, id: CredentialId) -> Result<Option<String>, StoreError> {
        let Some(value) = self
            .db
            .get_pinned_cf(self.cf(CF_PERSONAL)?, id.uuid().into_bytes())?
        else {
            return Ok(None);
        };
        self.personal
            .open(id, &value)
            .map(Some)
            .map_err(|error| StoreError::Corrupt {
                key: format!("personal/{id}"),
                reason: error.to_string(),
            })
    }

    /// The credentials whose local table entry holds `resident`'s full ID number, found by
    /// its keyed hash (nothing is decrypted), in credential-id order.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credentials_with_resident_id(
        &self,
        resident: &ResidentIdNumber,
    ) -> Result<Vec<CredentialId>, StoreError> {
        let prefix = self.personal.index_tag(resident);
        let mut found = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(self.cf(CF_PERSONAL_INDEX)?, prefix)
        {
            let (key, _) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let uuid =
                uuid::Uuid::from_slice(&key[prefix.len()..]).map_err(|_| StoreError::Corrupt {
                    key: "personal_index".into(),
                    reason: "key is not tag + UUID".into(),
                })?;
            found.push(CredentialId::from_uuid(uuid));
        }
        Ok(found)
    }

    /// Whether the local table holds `resident`'s full ID number for credential `id`, by
    /// its keyed hash (nothing is decrypted).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn holds_resident_id(
        &self,
        id: CredentialId,
        resident: &ResidentIdNumber,
    ) -> Result<bool, StoreError> {
        Ok(self
            .db
            .get_pinned_cf(self.cf(CF_PERSONAL_INDEX)?, self.index_key(resident, id))?
            .is_some())
    }

    /// The latest signed checkpoint.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_META)?, META_CHECKPOINT)?)
    }

    /// Stores the checkpoint of the empty log (the first start); later checkpoints are
    /// written by [`Store::append`].
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_checkpoint(&self, note: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META)?, META_CHECKPOINT, note);
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }

    /// A meta value.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a non-UTF-8 value.
    pub fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.db.get_cf(self.cf(CF_META)?, name)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt {
                    key: format!("meta/{name}"),
                    reason: "not UTF-8".into(),
                }),
        }
    }

    /// Sets meta values durably, all or none.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn set_meta(&self, values: &[(&str, &str)]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let cf = self.cf(CF_META)?;
        for (name, value) in values {
            batch.put_cf(cf, name, value);
        }
        self.db.write_opt(batch, &Self::synced())?;
        Ok(())
    }
}

/// Lowercase hex of `bytes`, for naming a record in an error.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The credential id an entry carries (`id` of its JSON), if any.
fn entry_credential_id(bytes: &[u8]) -> Option<CredentialId> {
    #[derive(Deserialize)]
    struct WithId<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<WithId<'_>>(bytes)
        .ok()?
        .id?
        .parse()
        .ok()
}

fn slot_holder_bytes(holder: &SlotHolder) -> Vec<u8> {
    match holder {
        SlotHolder::Reserved(issuer) => format!("r:{issuer}").into_bytes(),
        SlotHolder::Used(id) => format!("c:{id}").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_hashes_stay_in_their_log_and_a_missing_hash_is_found_once_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
        let own = |first_index: u64, hashes: &[(u64, Hash)]| {
            store
                .append(&AppendBatch {
                    first_index,
                    entries: vec![],
                    hashes,
                    checkpoint: b"note",
                })
                .expect("writes");
        };
        own(0, &[(0, Hash([1; 32]))]);
        for _ in 0..2 {
            // The second read comes from the cache.
            assert_eq!(
                store.hashes(LogSpace::Own, &[0, 1]).expect("reads"),
                vec![Some(Hash([1; 32])), None]
            );
        }
        let mirror = LogSpace::Mirror("cd-hz");
        assert_eq!(store.hashes(mirror, &[0]).expect("reads"), vec![None]);
        own(1, &[(1, Hash([2; 32]))]);
        store
            .append_mirror(&MirrorAppend {
                member: "cd-hz",
                first_index: 0,
                entries: &[],
                hashes: &[(0, Hash([3; 32]))],
                logged: true,
            })
            .expect("writes");
        assert_eq!(
            store.hashes(LogSpace::Own, &[1, 0]).expect("reads"),
            vec![Some(Hash([2; 32])), Some(Hash([1; 32]))]
        );
        assert_eq!(
            store.hashes(mirror, &[0]).expect("reads"),
            vec![Some(Hash([3; 32]))]
        );
    }

    #[test]
    fn appended_batches_survive_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let id = CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
            store
                .append(&AppendBatch {
                    first_index: 0,
                    entries: vec![
                        AppendedEntry {
                            entry: b"{\"a\":1}",
                            credential_id: Some(id),
                            resident_id: Some(&resident),
                            status_slot: Some(StatusSlot { list: 0, index: 7 }),
                            effects: EntryEffects {
                                issuer_event: true,
                                status: Some((id, CredentialStatus::Suspended)),
                                status_slot: Some(StatusSlot { list: 0, index: 7 }),
                            },
                        },
                        AppendedEntry {
                            entry: b"{\"b\":2}",
                            credential_id: None,
                            resident_id: None,
                            status_slot: None,
                            effects: EntryEffects::default(),
                        },
                    ],
                    hashes: &[(0, Hash([1; 32]))],
                    checkpoint: b"note",
                })
                .expect("writes");
        }
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("reopens");
        assert_eq!(store.credential_index(id).expect("reads"), Some(0));
        assert_eq!(
            store.entries(LogSpace::Own, 0..2).expect("reads"),
            vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]
        );
        assert!(
            store.entries(LogSpace::Own, 0..3).is_err(),
            "a missing entry is an error"
        );
        assert_eq!(
            store.hashes(LogSpace::Own, &[0, 1]).expect("reads"),
            vec![Some(Hash([1; 32])), None]
        );
        assert!(store.has_personal_record(id).expect("reads"));
        assert_eq!(
            store.resident_id(id).expect("opens").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(
            store
                .credentials_with_resident_id(&resident)
                .expect("finds"),
            vec![id]
        );
        assert_eq!(
            store.issuer_events(LogSpace::Own, 2).expect("reads"),
            vec![(0, b"{\"a\":1}".to_vec())]
        );
        assert_eq!(
            store.issuer_events(LogSpace::Own, 0).expect("reads"),
            vec![]
        );
        assert_eq!(
            store.status(LogSpace::Own, id, 2).expect("reads"),
            Some((0, CredentialStatus::Suspended))
        );
        assert_eq!(store.status(LogSpace::Own, id, 0).expect("reads"), None);
        assert_eq!(
            store
                .status(LogSpace::Mirror("cd-hz"), id, 2)
                .expect("reads"),
            None
        );
        assert_eq!(store.checkpoint().expect("reads"), Some(b"note".to_vec()));
        let slot = StatusSlot { list: 0, index: 7 };
        assert_eq!(
            store.status_slot_holder(slot).expect("reads"),
            Some(SlotHolder::Used(id))
        );
        assert_eq!(
            store.status_bits(0).expect("reads"),
            vec![(7, CredentialStatus::Suspended)]
        );
        assert_eq!(store.status_bits(1).expect("reads"), vec![]);
        let other = StatusSlot { list: 1, index: 3 };
        store
            .reserve_status_slot(other, "did:key:z6Mk")
            .expect("writes");
        assert_eq!(
            store.status_slot_holder(other).expect("reads"),
            Some(SlotHolder::Reserved("did:key:z6Mk".into()))
        );
    }

    /// Every file under `dir` whose bytes contain `needle`.
    fn files_containing(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("lists") {
                    pending.push(entry.expect("entry").path());
                }
            } else if std::fs::read(&path)
                .expect("reads")
                .windows(needle.len())
                .any(|window| window == needle)
            {
                found.push(path);
            }
        }
        found
    }

    #[test]
    fn plaintext_of_an_older_version_is_sealed_and_indexed_at_open_and_no_file_keeps_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let in_table =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let in_wal =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e").expect("id");
        let first: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        let second: ResidentIdNumber = "510107199003071236".parse().expect("valid id");
        {
            // The layout the version before encryption wrote: the ID number as the value,
            // one in a table file, one only in the WAL.
            let mut options = Options::default();
            options.create_if_missing(true);
            options.create_missing_column_families(true);
            let families = COLUMN_FAMILIES
                .iter()
                .filter(|name| **name != CF_PERSONAL_INDEX);
            let legacy = DB::open_cf(&options, dir.path(), families).expect("opens");
            let personal = legacy.cf_handle(CF_PERSONAL).expect("family");
            legacy
                .put_cf(
                    personal,
                    in_table.uuid().into_bytes(),
                    first.expose_for_local_storage(),
                )
                .expect("writes");
            legacy.flush_cf(personal).expect("flushes");
            legacy
                .put_cf(
                    personal,
                    in_wal.uuid().into_bytes(),
                    second.expose_for_local_storage(),
                )
                .expect("writes");
        }
        for resident in [&first, &second] {
            let bytes = resident.expose_for_local_storage().as_bytes();
            assert!(
                !files_containing(dir.path(), bytes).is_empty(),
                "the legacy store holds {resident:?} in plaintext"
            );
        }
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("migrates");
            for resident in [&first, &second] {
                let bytes = resident.expose_for_local_storage().as_bytes();
                assert_eq!(
                    files_containing(dir.path(), bytes),
                    Vec::<std::path::PathBuf>::new(),
                    "plaintext left after the migration"
                );
            }
            assert_eq!(
                store.resident_id(in_table).expect("opens").as_deref(),
                Some(first.expose_for_local_storage())
            );
            assert_eq!(
                store.credentials_with_resident_id(&second).expect("finds"),
                vec![in_wal]
            );
            assert!(store.holds_resident_id(in_table, &first).expect("reads"));
            assert!(!store.holds_resident_id(in_wal, &first).expect("reads"));
        }
        // Reopened: nothing left to migrate, the same keys still open the values.
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("reopens");
        assert_eq!(
            store.resident_id(in_wal).expect("opens").as_deref(),
            Some(second.expose_for_local_storage())
        );
    }

    #[test]
    fn other_keys_are_refused_and_a_value_moved_to_another_credential_does_not_open() {
        let dir = tempfile::tempdir().expect("temp dir");
        let owner =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let other =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e").expect("id");
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        {
            let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
            store
                .append(&AppendBatch {
                    first_index: 0,
                    entries: vec![AppendedEntry {
                        entry: b"{}",
                        credential_id: Some(owner),
                        resident_id: Some(&resident),
                        status_slot: None,
                        effects: EntryEffects::default(),
                    }],
                    hashes: &[],
                    checkpoint: b"note",
                })
                .expect("writes");
            let cf = store.cf(CF_PERSONAL).expect("family");
            let sealed = store
                .db
                .get_cf(cf, owner.uuid().into_bytes())
                .expect("reads")
                .expect("stored");
            store
                .db
                .put_cf(cf, other.uuid().into_bytes(), sealed)
                .expect("writes");
            assert!(matches!(
                store.resident_id(other),
                Err(StoreError::Corrupt { .. })
            ));
            assert!(store.has_personal_record(other).expect("reads"));
            assert!(!store.holds_resident_id(other, &resident).expect("reads"));
        }
        let (encryption, index) = PersonalKeys::generate();
        assert!(matches!(
            Store::open(dir.path(), PersonalKeys::new(&encryption, &index)),
            Err(StoreError::PersonalKeysMismatch)
        ));
    }

    #[test]
    fn mirror_holders_are_bounded_by_the_verified_size_and_carry_the_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
        let id = CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let other =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e").expect("id");
        let record = |id: CredentialId| MirrorRecord {
            entry: format!("{{\"id\":\"{id}\"}}").into_bytes(),
            credential_id: Some(id),
            effects: EntryEffects::default(),
        };
        let append = |member: &str, first_index: u64, entries: &[MirrorRecord]| {
            store
                .append_mirror(&MirrorAppend {
                    member,
                    first_index,
                    entries,
                    hashes: &[],
                    logged: true,
                })
                .expect("writes");
        };
        append("bj-zgc", 0, &[record(other), record(id)]);
        append("cq-sc", 0, &[record(id)]);
        // An interrupted catch-up wrote `id` at cd-hz's entry 0; its retry wrote another.
        append("cd-hz", 0, &[record(id)]);
        append("cd-hz", 0, &[record(other)]);
        let all = |_: &str| u64::MAX;
        assert_eq!(
            store.mirror_holders(id, all).expect("reads"),
            vec![("bj-zgc".to_owned(), 1), ("cq-sc".to_owned(), 0)]
        );
        let verified = |member: &str| u64::from(member == "cq-sc");
        assert_eq!(
            store.mirror_holders(id, verified).expect("reads"),
            vec![("cq-sc".to_owned(), 0)],
            "bj-zgc's entry 1 is beyond its verified size"
        );
        assert!(
            store
                .entry_is(LogSpace::Mirror("cq-sc"), 0, &record(id).entry)
                .expect("reads")
        );
        assert!(
            !store
                .entry_is(LogSpace::Mirror("cq-sc"), 0, &record(other).entry)
                .expect("reads")
        );
        assert!(
            !store
                .entry_is(LogSpace::Mirror("cq-sc"), 1, b"{}")
                .expect("reads")
        );
        let unknown =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6f").expect("id");
        let locations = store
            .credential_locations(&[unknown, id, other])
            .expect("reads");
        assert_eq!(locations[0], CredentialLocations::default());
        assert_eq!(
            locations[1].mirrors,
            store.mirror_credential(id).expect("reads")
        );
        assert_eq!(
            locations[2].mirrors,
            vec![("bj-zgc".to_owned(), 0), ("cd-hz".to_owned(), 0)]
        );
    }

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
