//! The `queries` column family: the holder-visible query log. Each verification of an own
//! credential at this node leaves one record (who asked, why, when, the outcome), sealed
//! under the personal-data key and bound to its credential and key. A credential shows its
//! newest [`MAX_QUERIES_PER_CREDENTIAL`] records; older ones are deleted on about one write
//! in [`TRIM_ONE_IN`], chosen at random, so a verification rarely pays for the scan.

use rand::RngCore;
use rocksdb::{Direction, IteratorMode, WriteBatch};
use talent_core::identifiers::CredentialId;

use super::families::CF_QUERIES;
use super::{Store, StoreError};

/// Records one credential shows; older ones are dropped as new ones arrive.
pub const MAX_QUERIES_PER_CREDENTIAL: usize = 200;

/// One write in this many (at random: a client cannot steer it) deletes the records beyond
/// [`MAX_QUERIES_PER_CREDENTIAL`]. Scanning a credential's records on every write cost a
/// verification of an own credential more than its signature check (docs/benchmarks.md).
pub const TRIM_ONE_IN: u8 = 16;

/// Key: credential UUID (16) ‖ time in nanoseconds since the epoch (u64 BE) ‖ 4 random
/// bytes (two records in the same nanosecond stay apart).
const KEY_BYTES: usize = 16 + 8 + 4;

impl Store {
    /// Adds a record to credential `id`'s query log; on about one call in [`TRIM_ONE_IN`]
    /// also drops its records beyond the bound.
    /// Written without waiting for the disk: a crash may lose the last records, never
    /// corrupt the log.
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn record_query(
        &self,
        id: CredentialId,
        at_nanos: u64,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let cf = self.cf(CF_QUERIES)?;
        let mut key = [0u8; KEY_BYTES];
        key[..16].copy_from_slice(&id.uuid().into_bytes());
        key[16..24].copy_from_slice(&at_nanos.to_be_bytes());
        // The thread's CSPRNG, not a system call per record.
        rand::thread_rng().fill_bytes(&mut key[24..]);
        let sealed = self.personal.seal_query(id, &key, record);
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, key, sealed);
        if key[24] % TRIM_ONE_IN != 0 {
            self.db.write(batch)?;
            return Ok(());
        }
        // The newest first: everything after the bound, minus the one being added, goes.
        let prefix = id.uuid().into_bytes();
        let mut end = prefix.to_vec();
        end.extend_from_slice(&[0xff; KEY_BYTES - 16]);
        let keys = self
            .db
            .iterator_cf(cf, IteratorMode::From(&end, Direction::Reverse))
            .map_while(|item| match item {
                Ok((key, _)) if key.starts_with(&prefix) => Some(Ok(key)),
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            })
            .skip(MAX_QUERIES_PER_CREDENTIAL - 1);
        for old in keys {
            batch.delete_cf(cf, old?);
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// The holder access code of own credential `id` ([`super::PersonalKeys::holder_code`]).
    pub fn holder_code(&self, id: CredentialId) -> String {
        self.personal.holder_code(id)
    }

    /// Whether `code` is own credential `id`'s holder access code.
    pub fn matches_holder_code(&self, id: CredentialId, code: &str) -> bool {
        self.personal.matches_holder_code(id, code)
    }

    /// Credential `id`'s query records, newest first, opened.
    ///
    /// # Errors
    /// [`StoreError::Engine`]; [`StoreError::Corrupt`] for a record that does not open.
    pub fn queries(&self, id: CredentialId) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let cf = self.cf(CF_QUERIES)?;
        let prefix = id.uuid().into_bytes();
        let mut end = prefix.to_vec();
        end.extend_from_slice(&[0xff; KEY_BYTES - 16]);
        let mut records = Vec::new();
        for item in self
            .db
            .iterator_cf(cf, IteratorMode::From(&end, Direction::Reverse))
            .take(MAX_QUERIES_PER_CREDENTIAL)
        {
            let (key, value) = item?;
            if !key.starts_with(&prefix) || key.len() != KEY_BYTES {
                break;
            }
            let record =
                self.personal
                    .open_query(id, &key, &value)
                    .map_err(|_| StoreError::Corrupt {
                        key: format!("queries/{}", super::hex(&key)),
                        reason: "a query record does not open under the personal-data key".into(),
                    })?;
            let mut at = [0u8; 8];
            at.copy_from_slice(&key[16..24]);
            records.push((u64::from_be_bytes(at), record));
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PersonalKeys;

    #[test]
    fn records_are_kept_per_credential_newest_first_bounded_and_sealed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("store");
        let (one, other) = (
            CredentialId::from_uuid(uuid::Uuid::now_v7()),
            CredentialId::from_uuid(uuid::Uuid::now_v7()),
        );
        for at in 0..(MAX_QUERIES_PER_CREDENTIAL as u64 + 5) {
            store
                .record_query(one, 1_000 + at, format!("purpose {at}").as_bytes())
                .expect("records");
        }
        store.record_query(other, 5, b"other").expect("records");
        let records = store.queries(one).expect("reads");
        assert_eq!(records.len(), MAX_QUERIES_PER_CREDENTIAL);
        let newest = MAX_QUERIES_PER_CREDENTIAL as u64 + 4;
        assert_eq!(
            records[0],
            (1_000 + newest, format!("purpose {newest}").into_bytes())
        );
        assert_eq!(records.last().expect("oldest kept").0, 1_005);
        assert_eq!(
            store.queries(other).expect("reads"),
            [(5, b"other".to_vec())]
        );
        // Storage stays bounded though trimming is occasional: 200 writes in a row without
        // a trim has a chance of (15/16)^200, about 2.5e-6.
        for at in 0..2_000u64 {
            store
                .record_query(one, 10_000 + at, b"again")
                .expect("records");
        }
        let prefix = one.uuid().into_bytes();
        let cf = store.cf(CF_QUERIES).expect("cf");
        let stored = store
            .db
            .iterator_cf(cf, IteratorMode::Start)
            .filter(|item| item.as_ref().is_ok_and(|(key, _)| key.starts_with(&prefix)))
            .count();
        assert!(
            stored < 2 * MAX_QUERIES_PER_CREDENTIAL,
            "{stored} records stored"
        );
        assert_eq!(
            store.queries(one).expect("reads").len(),
            MAX_QUERIES_PER_CREDENTIAL
        );
        drop(store);
        // Nothing of a purpose is on disk in plaintext.
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).expect("readable");
            assert!(
                !bytes.windows(9).any(|window| window == b"purpose 1"),
                "{} holds a purpose in plaintext",
                entry.display()
            );
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
}
