//! Mirrors of the peers' logs: for each peer, the prefix of its log this member has
//! verified (entries, stored hashes, the peer's signed checkpoint of that size), and the
//! in-memory head that extends it.
//!
//! A mirror only ever moves forward to a checkpoint whose root it recomputed from entries it
//! verified itself (see the `sync` module). Entries written beyond the verified size by an
//! interrupted catch-up are never read: every read is bounded by the verified head.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use talent_core::federation::{Federation, Member};
use talent_tlog::Hash;
use talent_tlog::checkpoint::{self, CheckpointError};
use talent_tlog::cosignature::CosignerKey;
use talent_tlog::merkle::{self, InclusionProof, ProofError};

use super::witnessed::{Witnessed, WitnessedError};
use crate::log::{LogOpenError, StoreHashReader, load_head};
use crate::store::{LogSpace, MirrorState, Store};

/// The verified head of one peer's mirrored log.
#[derive(Debug, Clone)]
pub struct MirrorHead {
    /// Verified entries.
    pub size: u64,
    /// Root of those entries.
    pub root: Hash,
    /// The peer's checkpoint of that size, with the cosignatures it carried.
    pub checkpoint: Arc<Vec<u8>>,
    /// Unix seconds when this node last saw that checkpoint as the peer's newest.
    pub confirmed_at: i64,
    /// Frontier hashes of the verified tree: all that extending it needs.
    pub frontier: HashMap<u64, Hash>,
    /// The peer's newest checkpoint held with the witness quorum (at most `size`).
    pub witnessed: Option<Witnessed>,
}

impl MirrorHead {
    fn empty() -> MirrorHead {
        MirrorHead {
            size: 0,
            root: merkle::empty_root(),
            checkpoint: Arc::new(Vec::new()),
            confirmed_at: 0,
            frontier: HashMap::new(),
            witnessed: None,
        }
    }

    /// Takes the head's checkpoint as the witnessed one when it has `cosigners` verified
    /// cosignatures, meets `quorum` and is newer or better cosigned than the one held.
    pub fn witness(&mut self, cosigners: usize, quorum: usize) {
        Witnessed::advance(
            &mut self.witnessed,
            self.size,
            &self.checkpoint,
            cosigners,
            quorum,
        );
    }

    /// The durable state of this head.
    pub fn state(&self) -> MirrorState {
        MirrorState {
            size: self.size,
            checkpoint: String::from_utf8_lossy(&self.checkpoint).into_owned(),
            confirmed_at: self.confirmed_at,
            witnessed: self.witnessed.as_ref().map(Witnessed::text),
        }
    }
}

/// Where a mirrored credential is: enough to verify its inclusion from the mirror.
#[derive(Debug, Clone)]
pub struct MirroredEvidence {
    /// The peer whose log holds it.
    pub member: Member,
    /// The mirrored checkpoint (with cosignatures).
    pub checkpoint: Arc<Vec<u8>>,
    /// Inclusion proof under it.
    pub proof: InclusionProof,
    /// Unix seconds when the mirror was last confirmed as the peer's newest.
    pub confirmed_at: i64,
    /// The verified size of the mirror: the status is as of this size, whichever
    /// checkpoint the proof is under.
    pub head_size: u64,
}

/// Why a stored mirror cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MirrorOpenError {
    /// The stored checkpoint does not verify with the member's configured log key.
    #[error("the mirror of {member}: stored checkpoint does not verify: {error}")]
    Checkpoint {
        /// Member id.
        member: String,
        /// Why.
        error: CheckpointError,
    },
    /// The stored witnessed checkpoint does not verify.
    #[error("the mirror of {member}: stored witnessed checkpoint: {error}")]
    Witnessed {
        /// Member id.
        member: String,
        /// Why.
        error: WitnessedError,
    },
    /// Stored hashes do not reproduce the checkpoint.
    #[error("the mirror of {member} is damaged: {error}")]
    Damaged {
        /// Member id.
        member: String,
        /// Why.
        error: LogOpenError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A mirrored checkpoint and inclusion proofs under it.
pub type ProofsUnder = (Arc<Vec<u8>>, Vec<InclusionProof>);

/// The mirrors of every peer.
#[derive(Debug)]
pub struct Mirrors {
    store: Arc<Store>,
    /// This member's id.
    me: String,
    heads: RwLock<HashMap<String, MirrorHead>>,
}

impl Mirrors {
    /// Loads every peer's mirror, checking each against its stored checkpoint.
    ///
    /// # Errors
    /// [`MirrorOpenError`] for a mirror that does not verify.
    pub fn open(
        store: Arc<Store>,
        federation: &Federation,
        me: &str,
    ) -> Result<Mirrors, MirrorOpenError> {
        let mut heads = HashMap::new();
        for member in federation.members() {
            let id = member.id.as_str();
            if id == me {
                continue;
            }
            let head = match store.mirror_state(id)? {
                None => MirrorHead::empty(),
                Some(state) => load_mirror(
                    &store,
                    member,
                    &state,
                    &federation.cosigners_of(id),
                    federation.witness_quorum,
                )?,
            };
            heads.insert(id.to_owned(), head);
        }
        Ok(Mirrors {
            store,
            me: me.to_owned(),
            heads: RwLock::new(heads),
        })
    }

    /// The verified head of `member`'s mirror.
    pub fn head(&self, member: &str) -> Option<MirrorHead> {
        self.heads
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(member)
            .cloned()
    }

    /// Replaces the head of `member`'s mirror (after its state is durable).
    pub fn set_head(&self, member: &str, head: MirrorHead) {
        self.heads
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(member.to_owned(), head);
    }

    /// Root of the first `size` entries of `member`'s verified mirror (`None` beyond it).
    ///
    /// # Errors
    /// The store failing (a damaged mirror).
    pub fn root_at(&self, member: &str, size: u64) -> Result<Option<Hash>, ProofError> {
        let Some(head) = self.head(member) else {
            return Ok(None);
        };
        if size > head.size {
            return Ok(None);
        }
        if size == head.size {
            return Ok(Some(head.root));
        }
        let reader = StoreHashReader {
            store: &self.store,
            space: LogSpace::Mirror(member),
            overlay: &head.frontier,
        };
        merkle::root_from(size, &reader).map(Some)
    }

    /// The mirrored checkpoint of `member` and the inclusion proofs of `indexes` under it
    /// (each below the verified size), or `None` for an unknown member.
    ///
    /// # Errors
    /// The store failing or an index beyond the verified size.
    pub fn proofs(&self, member: &str, indexes: &[u64]) -> Result<Option<ProofsUnder>, ProofError> {
        let Some(head) = self.head(member) else {
            return Ok(None);
        };
        let reader = StoreHashReader {
            store: &self.store,
            space: LogSpace::Mirror(member),
            overlay: &head.frontier,
        };
        let proofs = indexes
            .iter()
            .map(|&index| {
                merkle::inclusion_proof_from(index, head.size, &reader)
                    .map(|hashes| InclusionProof::new(index, head.size, &hashes))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((head.checkpoint, proofs)))
    }

    /// Entries `range` of `member`'s verified mirror, for that member's own recovery
    /// after a restore (`GET /api/v1/federation/mirrors/{member}/entries`); `None` for a
    /// member this node does not mirror or a range that is not all below the verified size
    /// (entries a catch-up wrote above it are not verified and never served).
    ///
    /// # Errors
    /// The store failing.
    pub fn entries(
        &self,
        member: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Option<Vec<Vec<u8>>>, crate::store::StoreError> {
        match self.verified_size(member) {
            Some(size) if range.end <= size => self
                .store
                .entries(LogSpace::Mirror(member), range)
                .map(Some),
            _ => Ok(None),
        }
    }

    /// This member and the verified size of every mirror: what a catch-up compares a
    /// peer's credential ids with.
    pub fn held_logs(&self) -> MirrorSizes {
        let heads = self
            .heads
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        MirrorSizes {
            me: self.me.clone(),
            verified: heads
                .iter()
                .map(|(member, head)| (member.clone(), head.size))
                .collect(),
        }
    }

    /// The verified size of `member`'s mirror (`None` for a member this node does not
    /// mirror), without copying its head.
    pub fn verified_size(&self, member: &str) -> Option<u64> {
        self.heads
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(member)
            .map(|head| head.size)
    }

    /// Evidence for entry `index` of `member`'s mirrored log: its inclusion proof under the
    /// mirrored checkpoint (`None` beyond the verified size). With `witnessed`, under the
    /// newest checkpoint held with the witness quorum when that one contains the entry
    /// (the newest may lack the quorum); otherwise, and without, under the newest. The
    /// caller has picked the entry by its bytes, never by the id it carries.
    ///
    /// # Errors
    /// The store failing or a proof that cannot be built (damaged mirror).
    pub fn evidence(
        &self,
        member: &Member,
        index: u64,
        witnessed: bool,
    ) -> Result<Option<MirroredEvidence>, ProofError> {
        let Some(head) = self.head(member.id.as_str()) else {
            return Ok(None);
        };
        if index >= head.size {
            return Ok(None);
        }
        let (size, checkpoint) = match &head.witnessed {
            Some(held) if witnessed && held.covers(index) => (held.size, Arc::clone(&held.note)),
            _ => (head.size, Arc::clone(&head.checkpoint)),
        };
        let reader = StoreHashReader {
            store: &self.store,
            space: LogSpace::Mirror(member.id.as_str()),
            overlay: &head.frontier,
        };
        let hashes = merkle::inclusion_proof_from(index, size, &reader)?;
        Ok(Some(MirroredEvidence {
            member: member.clone(),
            checkpoint,
            proof: InclusionProof::new(index, size, &hashes),
            confirmed_at: head.confirmed_at,
            head_size: head.size,
        }))
    }
}

fn load_mirror(
    store: &Store,
    member: &Member,
    state: &MirrorState,
    trusted: &[CosignerKey],
    quorum: usize,
) -> Result<MirrorHead, MirrorOpenError> {
    let id = member.id.as_str();
    let verified = checkpoint::open_checkpoint_with_sm2(
        state.checkpoint.as_bytes(),
        &member.log_origin,
        &member.log_vkey,
        member.log_sm2_vkey.as_deref(),
    )
    .map_err(|error| MirrorOpenError::Checkpoint {
        member: id.to_owned(),
        error,
    })?;
    let head = load_head(store, LogSpace::Mirror(id), &verified).map_err(|error| {
        MirrorOpenError::Damaged {
            member: id.to_owned(),
            error,
        }
    })?;
    let witnessed = state
        .witnessed
        .as_deref()
        .map(|note| Witnessed::open(note.as_bytes(), member, trusted, quorum))
        .transpose()
        .map_err(|error| MirrorOpenError::Witnessed {
            member: id.to_owned(),
            error,
        })?
        .filter(|witnessed| witnessed.size <= head.size);
    Ok(MirrorHead {
        size: head.size,
        root: head.root,
        checkpoint: head.checkpoint,
        confirmed_at: state.confirmed_at,
        frontier: head.frontier,
        witnessed,
    })
}

/// This member and the verified size of every mirror: what a catch-up knows about the other
/// logs this node holds, to tell when a peer's entry carries an id one of them already holds.
#[derive(Debug, Clone, Default)]
pub struct MirrorSizes {
    /// This member's id (its own log).
    pub me: String,
    /// Verified size of every mirror.
    pub verified: HashMap<String, u64>,
}
