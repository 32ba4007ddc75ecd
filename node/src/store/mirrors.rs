//! Mirrors of peers' logs: writing the entries sync verified, and the verified state (size
//! and checkpoints) that says how much of each mirror may be read.

use rocksdb::{WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};
use talent_core::identifiers::CredentialId;
use talent_tlog::Hash;

use super::effects::EntryEffects;
use super::families::{
    CF_ISSUER_EVENTS, CF_MIRROR_CREDENTIALS, CF_MIRROR_ENTRIES, CF_MIRROR_HASHES, CF_MIRROR_STATE,
    CF_STATUSES,
};
use super::space::LogSpace;
use super::{Store, StoreError};

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

impl Store {
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
}
