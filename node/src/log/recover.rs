//! Appending entries recovered from a peer's mirror to the own log (see the `recovery`
//! module): only when they reproduce, on top of the current tree, the root of a checkpoint
//! signed by this log's own key, so the log grows back into the tree it had signed and never
//! forks.

use std::sync::Arc;

use talent_tlog::Hash;
use talent_tlog::merkle;

use super::Log;
use super::sequencer::PendingEntry;

/// Why recovered entries were not appended. Nothing of them is in the log then.
#[derive(Debug, thiserror::Error)]
pub enum RecoverAppendError {
    /// The log moved since the entries were fetched.
    #[error("the log has {actual} entries, not the {expected} the recovered ones follow")]
    Moved {
        /// The size the entries follow.
        expected: u64,
        /// The log's size now.
        actual: u64,
    },
    /// The entries do not reproduce the signed tree: a peer served other entries than
    /// the ones this log signed.
    #[error(
        "the entries do not reproduce the signed tree of {size} entries: they hash to {found}, the checkpoint says {expected}"
    )]
    RootMismatch {
        /// The signed size.
        size: u64,
        /// The signed root.
        expected: String,
        /// The root the entries give.
        found: String,
    },
    /// Building the tree, signing or writing failed.
    #[error("appending the recovered entries failed: {0}")]
    Failed(String),
}

impl Log {
    /// Appends `entries` after the current head as one durable batch (with everything
    /// they index, like a sequencer batch) if they make the tree of `size` entries with
    /// `root` — a tree this log signed before, as a peer holds it. Runs under the append
    /// lock, so no sequencer batch interleaves.
    ///
    /// # Errors
    /// [`RecoverAppendError`]; nothing is written then.
    pub fn append_recovered(
        &self,
        entries: &[PendingEntry],
        size: u64,
        root: Hash,
    ) -> Result<(), RecoverAppendError> {
        let _appending = self
            .appending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let head = self.head();
        let failed = |error: &dyn std::fmt::Display| RecoverAppendError::Failed(error.to_string());
        if head.size + entries.len() as u64 != size {
            return Err(RecoverAppendError::Moved {
                expected: size - entries.len().min(size as usize) as u64,
                actual: head.size,
            });
        }
        let tree = Log::extended(&head, entries).map_err(RecoverAppendError::Failed)?;
        let found = tree.root().map_err(|error| failed(&error))?;
        if found != root {
            return Err(RecoverAppendError::RootMismatch {
                size,
                expected: merkle::format_hash(&root),
                found: merkle::format_hash(&found),
            });
        }
        let checkpoint = Arc::new(
            self.sign_checkpoint(size, root)
                .map_err(|error| failed(&error))?,
        );
        self.write_extension(&head, entries, &tree, root, checkpoint)
            .map_err(RecoverAppendError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use talent_tlog::merkle::TreeExtension;

    use super::*;
    use crate::store::{EntryEffects, PersonalKeys, Store};
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "recover.test.example/log";

    fn pending(bytes: &[u8]) -> PendingEntry {
        PendingEntry {
            entry: bytes.to_vec(),
            credential_id: None,
            resident_id: None,
            status_slot: None,
            effects: EntryEffects::default(),
        }
    }

    fn log_in(dir: &std::path::Path) -> Log {
        let store = Arc::new(Store::open(dir, PersonalKeys::for_tests()).expect("store"));
        Log::open(store, ORIGIN, SigningKey::from_bytes(&[7; 32])).expect("log")
    }

    /// Entries that do not reproduce the signed root are refused and nothing is written;
    /// the entries the log signed are appended, and the log reopens at the signed tree.
    #[test]
    fn only_entries_reproducing_the_signed_root_are_appended() {
        let entries: Vec<&[u8]> = vec![b"{\"e\":0}", b"{\"e\":1}", b"{\"e\":2}"];
        // The tree the log signed before its restore (as a peer holds it).
        let mut signed = TreeExtension::new(0, &Default::default()).expect("tree");
        for entry in &entries {
            signed.push(entry).expect("push");
        }
        let root = signed.root().expect("root");

        let dir = tempfile::tempdir().expect("temp dir");
        let log = log_in(dir.path());
        log.append_recovered(&[pending(entries[0])], 1, {
            let mut one = TreeExtension::new(0, &Default::default()).expect("tree");
            one.push(entries[0]).expect("push");
            one.root().expect("root")
        })
        .expect("the restored prefix");
        let before = log.head();

        // A hostile peer: one entry changed.
        let forged = [pending(entries[1]), pending(b"{\"e\":\"forged\"}")];
        let refused = log.append_recovered(&forged, 3, root);
        assert!(
            matches!(
                refused,
                Err(RecoverAppendError::RootMismatch { size: 3, .. })
            ),
            "{refused:?}"
        );
        // Too few entries for the signed size.
        assert!(matches!(
            log.append_recovered(&[pending(entries[1])], 3, root),
            Err(RecoverAppendError::Moved { .. })
        ));
        assert_eq!(log.head().size, before.size, "nothing appended");
        assert_eq!(log.head().root, before.root);
        assert_eq!(log.entry(1).expect("reads"), None, "nothing written");

        log.append_recovered(&[pending(entries[1]), pending(entries[2])], 3, root)
            .expect("the signed entries");
        assert_eq!(log.head().size, 3);
        assert_eq!(log.head().root, root);
        drop(log);
        let reopened = log_in(dir.path());
        assert_eq!(reopened.head().size, 3, "durable");
        assert_eq!(reopened.head().root, root);
        assert_eq!(
            reopened.entry(2).expect("reads").as_deref(),
            Some(entries[2])
        );
    }
}
