//! The logs this node holds: its own and its verified mirrors of the other members', as the
//! read services see them (entries, inclusion proofs, the checkpoints proofs are given
//! under).

use std::sync::Arc;

use talent_core::identifiers::CredentialId;

use crate::federation::FederationNode;
use crate::federation::witness::ProofCheckpoint;
use crate::log::{Log, LogHead};
use crate::member::MemberIdentity;
use crate::store::{LogSpace, Store, StoreError};

/// Cloneable handles to the own log, the store that indexes it and the mirrors, and who
/// this node is.
#[derive(Debug, Clone)]
pub struct HeldLogs {
    /// The RocksDB store (entries of every log, their indexes, statuses).
    pub store: Arc<Store>,
    /// This member's transparency log.
    pub log: Arc<Log>,
    /// Who this node is.
    pub member: Arc<MemberIdentity>,
    /// Mirrors, witness and cosignatures; `None` for the development member.
    pub federation: Option<Arc<FederationNode>>,
}

impl HeldLogs {
    /// The own checkpoint of `head` with the cosignatures collected for it.
    pub fn own_checkpoint(&self, head: &LogHead) -> Vec<u8> {
        match &self.federation {
            Some(federation) => federation.collector.with_cosignatures(&head.checkpoint),
            None => head.checkpoint.as_ref().clone(),
        }
    }

    /// The own checkpoint to prove entry `index` under: with the witness quorum when one the
    /// node holds contains the entry (the current one, or the newest witnessed one while the
    /// current one lacks the quorum), else the current one (`witnessed` false). A development
    /// member has no witnesses: always its current checkpoint.
    pub fn own_checkpoint_for(&self, head: &LogHead, index: u64) -> ProofCheckpoint {
        match &self.federation {
            Some(federation) => federation.collector.checkpoint_for(head, index),
            None => ProofCheckpoint {
                size: head.size,
                note: head.checkpoint.as_ref().clone(),
                witnessed: false,
            },
        }
    }

    /// Every log this node holds with an entry carrying credential id `id`: (member, entry
    /// bytes), the own log first. Only what this node has verified: a catch-up writes entries
    /// before their root is checked.
    ///
    /// # Errors
    /// [`StoreError`] reading the indexes or entries.
    pub fn entries_with_id(&self, id: CredentialId) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut found = Vec::new();
        if let Some(index) = self.store.credential_index(id)?
            && let Some(bytes) = self.log.entry(index)?
        {
            found.push((self.member.id.as_str().to_owned(), bytes));
        }
        if let Some(federation) = &self.federation {
            let verified = |member: &str| federation.mirrors.verified_size(member).unwrap_or(0);
            for (member, index) in self.store.mirror_holders(id, verified)? {
                if let Some(bytes) = self.store.entry(LogSpace::Mirror(&member), index)? {
                    found.push((member, bytes));
                }
            }
        }
        Ok(found)
    }
}
