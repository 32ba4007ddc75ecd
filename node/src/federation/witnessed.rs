//! The newest checkpoint of a log that carries the federation's witness quorum.
//!
//! A log's newest checkpoint lacks the quorum from the moment it grows until enough
//! witnesses have cosigned it, and for as long as too many witnesses are down. Proving an
//! older entry under the newest witnessed checkpoint instead is an ordinary inclusion proof
//! at that tree size (C2SP tlog-proof: a proof may name any checkpoint that contains the
//! entry), so one issuance during an outage does not take the quorum from every credential
//! logged before it. Each log's witnessed checkpoint is kept durably: the own log's by the
//! collector (`store` meta), a mirror's in its `MirrorState`.

use std::sync::Arc;

use talent_core::federation::Member;
use talent_tlog::checkpoint;
use talent_tlog::cosignature::{self, CosignerKey};

/// A checkpoint with at least the witness quorum of verified cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// Its tree size.
    pub size: u64,
    /// The signed note with its cosignature lines.
    pub note: Arc<Vec<u8>>,
    /// How many trusted witnesses' cosignatures on it verified.
    pub cosigners: usize,
}

/// Why a stored witnessed checkpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WitnessedError {
    /// The log signature does not verify.
    #[error("the log signature does not verify: {0}")]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// A trusted witness's cosignature line is malformed or does not verify.
    #[error("a cosignature does not verify: {0}")]
    Cosignature(#[from] cosignature::CosignatureError),
    /// Fewer verified cosignatures than the quorum.
    #[error("{found} cosignatures, fewer than the quorum of {quorum}")]
    BelowQuorum {
        /// Cosignatures that verified.
        found: usize,
        /// The quorum.
        quorum: usize,
    },
}

impl Witnessed {
    /// Opens a stored witnessed checkpoint of `member`'s log (both of its signature lines
    /// when it has an SM2 log key), counting the cosignatures of `trusted` witnesses; it must
    /// meet `quorum`.
    ///
    /// # Errors
    /// [`WitnessedError`].
    pub fn open(
        note: &[u8],
        member: &Member,
        trusted: &[CosignerKey],
        quorum: usize,
    ) -> Result<Witnessed, WitnessedError> {
        let verified = checkpoint::open_checkpoint_with_sm2(
            note,
            &member.log_origin,
            &member.log_vkey,
            member.log_sm2_vkey.as_deref(),
        )?;
        let cosigners = cosignature::verify_cosignatures(note, trusted)?.len();
        if cosigners < quorum {
            return Err(WitnessedError::BelowQuorum {
                found: cosigners,
                quorum,
            });
        }
        Ok(Witnessed {
            size: verified.size(),
            note: Arc::new(note.to_vec()),
            cosigners,
        })
    }

    /// Whether the checkpoint's tree contains entry `index`.
    pub fn covers(&self, index: u64) -> bool {
        index < self.size
    }

    /// The witnessed checkpoint after the log's checkpoint of `size` entries, `note`, was
    /// seen with `cosigners` verified cosignatures: that one when it meets `quorum` and is
    /// larger than `current`, or as large with more cosignatures; `current` otherwise.
    /// Returns whether it changed.
    pub fn advance(
        current: &mut Option<Witnessed>,
        size: u64,
        note: &Arc<Vec<u8>>,
        cosigners: usize,
        quorum: usize,
    ) -> bool {
        if cosigners < quorum {
            return false;
        }
        let better = current.as_ref().is_none_or(|held| {
            size > held.size || (size == held.size && cosigners > held.cosigners)
        });
        if better {
            *current = Some(Witnessed {
                size,
                note: Arc::clone(note),
                cosigners,
            });
        }
        better
    }

    /// The note as stored (UTF-8 text).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.note).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(text: &str) -> Arc<Vec<u8>> {
        Arc::new(text.as_bytes().to_vec())
    }

    #[test]
    fn only_a_larger_or_better_cosigned_checkpoint_with_the_quorum_replaces_the_held_one() {
        let mut held = None;
        assert!(!Witnessed::advance(&mut held, 5, &note("a"), 2, 3));
        assert_eq!(held, None, "below the quorum");
        assert!(Witnessed::advance(&mut held, 5, &note("b"), 3, 3));
        assert!(!Witnessed::advance(&mut held, 9, &note("c"), 1, 3));
        assert_eq!(
            held.as_ref().map(|w| w.size),
            Some(5),
            "a newer checkpoint without the quorum leaves the witnessed one"
        );
        assert!(!Witnessed::advance(&mut held, 5, &note("d"), 3, 3));
        assert!(Witnessed::advance(&mut held, 5, &note("e"), 4, 3));
        assert!(!Witnessed::advance(&mut held, 4, &note("f"), 4, 3));
        assert!(Witnessed::advance(&mut held, 9, &note("g"), 3, 3));
        let held = held.expect("witnessed");
        assert_eq!((held.size, held.cosigners, held.text()), (9, 3, "g".into()));
        assert!(held.covers(8) && !held.covers(9));
    }
}
