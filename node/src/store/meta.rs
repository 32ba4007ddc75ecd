//! The `meta` column family: named values of the member (its identity, the authority it
//! issues as, the checkpoints of its log, the personal-data key check, the public URLs it
//! served under).

use rocksdb::WriteBatch;

use super::families::CF_META;
use super::{Store, StoreError};

/// Meta key naming the authority DID the stored data was issued with.
pub const META_AUTHORITY_DID: &str = "authority_did";

/// Meta key naming the member id the data belongs to.
pub const META_MEMBER_ID: &str = "member_id";

/// Meta key of the latest signed checkpoint.
pub(super) const META_CHECKPOINT: &str = "checkpoint";

/// Meta key of the personal-data key check ([`super::PersonalKeys::key_check`]).
pub(super) const META_PERSONAL_KEY_CHECK: &str = "personal_key_check";

/// Meta key of the own log's newest checkpoint that carries the witness quorum, with its
/// cosignatures.
pub const META_WITNESSED_CHECKPOINT: &str = "witnessed_checkpoint";

/// Meta key of the public URLs the node has served under, one per line, newest first.
const META_PUBLIC_URLS: &str = "public_urls";

/// How many public URLs [`Store::remember_public_url`] keeps: a development node started on
/// a new port each time must not grow the list without bound.
pub const MAX_PUBLIC_URLS: usize = 64;

impl Store {
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

    /// Records `url` as the public URL the node serves under now, and returns every one it
    /// has served under: `url` first, then the others, newest first, at most
    /// [`MAX_PUBLIC_URLS`]. Its credentials name their context and schemas under one of
    /// them, so its own verification accepts all of them.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`] for a non-UTF-8 value.
    pub fn remember_public_url(&self, url: &str) -> Result<Vec<String>, StoreError> {
        let stored = self.meta(META_PUBLIC_URLS)?.unwrap_or_default();
        let urls: Vec<String> = std::iter::once(url)
            .chain(
                stored
                    .lines()
                    .filter(|line| *line != url && !line.is_empty()),
            )
            .take(MAX_PUBLIC_URLS)
            .map(str::to_owned)
            .collect();
        let text = urls.join("\n");
        if text != stored {
            self.set_meta(&[(META_PUBLIC_URLS, &text)])?;
        }
        Ok(urls)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PersonalKeys;

    #[test]
    fn public_urls_are_remembered_newest_first_and_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("store");
        assert_eq!(
            store.remember_public_url("http://a.example").expect("a"),
            ["http://a.example"]
        );
        assert_eq!(
            store.remember_public_url("http://b.example").expect("b"),
            ["http://b.example", "http://a.example"]
        );
        // Back to the first: it moves to the front, not in twice.
        assert_eq!(
            store
                .remember_public_url("http://a.example")
                .expect("a again"),
            ["http://a.example", "http://b.example"]
        );
        drop(store);
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("reopens");
        for port in 0..100 {
            store
                .remember_public_url(&format!("http://127.0.0.1:{port}"))
                .expect("port");
        }
        let urls = store.remember_public_url("http://c.example").expect("c");
        assert_eq!(urls.len(), MAX_PUBLIC_URLS);
        assert_eq!(urls[0], "http://c.example");
        assert_eq!(urls[1], "http://127.0.0.1:99");
    }
}
