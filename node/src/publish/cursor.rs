//! The durable "published up to" cursor: the log size whose full hash tiles are all in the
//! bucket, for one destination. A restart resumes from it instead of uploading everything
//! again; a new destination (another endpoint, bucket or prefix) starts from zero.

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Meta key of the cursor.
const META_PUBLISH_CURSOR: &str = "publish_cursor";

/// What the cursor records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    /// The destination the cursor is for (`endpoint/bucket/prefix`).
    destination: String,
    /// Every full hash tile of the tree of this many leaves is in the destination.
    size: u64,
}

/// The cursor of one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    destination: String,
}

impl Cursor {
    /// The cursor of `destination` (any string naming endpoint, bucket and prefix).
    pub fn new(destination: impl Into<String>) -> Cursor {
        Cursor {
            destination: destination.into(),
        }
    }

    /// The size published up to: 0 when nothing was, or when what was went elsewhere.
    ///
    /// # Errors
    /// The store failing, or a stored cursor that does not parse.
    pub fn load(&self, store: &Store) -> Result<u64, StoreError> {
        let Some(text) = store.meta(META_PUBLISH_CURSOR)? else {
            return Ok(0);
        };
        let stored: Stored = serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            key: format!("meta/{META_PUBLISH_CURSOR}"),
            reason: error.to_string(),
        })?;
        Ok(if stored.destination == self.destination {
            stored.size
        } else {
            0
        })
    }

    /// Records (synced) that every full tile of the tree of `size` leaves is published.
    ///
    /// # Errors
    /// The store failing.
    pub fn save(&self, store: &Store, size: u64) -> Result<(), StoreError> {
        let stored = Stored {
            destination: self.destination.clone(),
            size,
        };
        // Invariant: a struct of a string and a number always serialises.
        let text = serde_json::to_string(&stored).unwrap_or_default();
        store.set_meta(&[(META_PUBLISH_CURSOR, &text)])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::PersonalKeys;

    fn open(dir: &std::path::Path) -> Arc<Store> {
        Arc::new(Store::open(dir, PersonalKeys::for_tests()).expect("store opens"))
    }

    #[test]
    fn the_cursor_survives_a_restart_and_belongs_to_its_destination() {
        let dir = tempfile::tempdir().expect("temp dir");
        let here = Cursor::new("http://127.0.0.1:9/registry/cq-sc");
        {
            let store = open(dir.path());
            assert_eq!(here.load(&store).expect("loads"), 0);
            here.save(&store, 512).expect("saves");
            assert_eq!(here.load(&store).expect("loads"), 512);
        }
        let store = open(dir.path());
        assert_eq!(here.load(&store).expect("loads"), 512, "after a restart");
        let elsewhere = Cursor::new("http://127.0.0.1:9/registry/other");
        assert_eq!(
            elsewhere.load(&store).expect("loads"),
            0,
            "another prefix starts from nothing"
        );
        elsewhere.save(&store, 256).expect("saves");
        assert_eq!(here.load(&store).expect("loads"), 0, "replaced");
    }

    #[test]
    fn a_damaged_cursor_is_an_error_not_a_silent_zero() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        store
            .set_meta(&[(META_PUBLISH_CURSOR, "not json")])
            .expect("writes");
        assert!(matches!(
            Cursor::new("x").load(&store),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
