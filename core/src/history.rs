//! A member's issuer history as a node hands it to a verifier that does not mirror the log
//! (the `talent-verify` CLI): the entries that shaped the history (accreditations, their
//! status changes, key rotations), each with an inclusion proof under one signed checkpoint.
//!
//! [`IssuerHistory::verify`] checks the checkpoint against the member's pinned log key, every
//! proof, every entry's signature, and replays the entries through
//! [`IssuerRegistry::admit`] — the same rules every mirror applies — so the registry it
//! returns answers exactly as a node's would.
//!
//! Inclusion proofs show that each entry is in the log; they cannot show that none was left
//! out. A verifier relying on a history trusts the node that served it not to omit a
//! withdrawal; nodes themselves never rely on one (they mirror every entry).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::credential::Namespace;
use crate::issuers::{AdmitError, IssuerRegistry, StatusTargets};
use crate::log_entry::{self, EntryVerifyError};
use talent_integrity::did::DidKey;
use talent_integrity::jcs;
use talent_tlog::checkpoint::{self, CheckpointError};
use talent_tlog::merkle::InclusionProof;

/// A member's issuer history with its evidence (`GET /api/v1/members/{id}/issuer-history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerHistory {
    /// The member whose log it is.
    pub member: String,
    /// The signed checkpoint every proof is under.
    pub checkpoint: String,
    /// The history's entries, in log order.
    pub entries: Vec<HistoryEntry>,
}

/// One entry of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoryEntry {
    /// Its leaf index.
    pub index: u64,
    /// The signed object.
    pub entry: Value,
    /// Its inclusion proof under the checkpoint.
    pub inclusion_proof: InclusionProof,
}

/// Why a history is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The history is for another member.
    #[error("the history is of member {found:?}, not {expected:?}")]
    WrongMember {
        /// Asked for.
        expected: String,
        /// Served.
        found: String,
    },
    /// The checkpoint does not verify with the member's log key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Entries out of order or beyond the checkpoint.
    #[error("entry {index} is out of order or beyond the checkpoint")]
    Order {
        /// The entry's index.
        index: u64,
    },
    /// An inclusion proof fails.
    #[error("entry {index} is not in the log: {detail}")]
    NotIncluded {
        /// The entry's index.
        index: u64,
        /// Why.
        detail: String,
    },
    /// An entry is not a valid signed object.
    #[error("entry {index}: {error}")]
    Entry {
        /// The entry's index.
        index: u64,
        /// Why.
        error: EntryVerifyError,
    },
    /// The member's rules refuse an entry (it could not have been admitted by the log).
    #[error("entry {index} is not admitted: {error}")]
    NotAdmitted {
        /// The entry's index.
        index: u64,
        /// Why.
        error: AdmitError,
    },
    /// An entry that does not change the issuer history.
    #[error("entry {index} is not an issuer-history entry")]
    NotAnEvent {
        /// The entry's index.
        index: u64,
    },
}

/// What a member's issuer history is verified against: the trust anchors of its log.
#[derive(Debug, Clone)]
pub struct LogAnchors<'a> {
    /// The member.
    pub member: &'a str,
    /// Its log's checkpoint origin.
    pub origin: &'a str,
    /// The log's signed-note verifier key.
    pub log_vkey: &'a str,
    /// The verifier key of the checkpoints' SM2 line, required when the log has one.
    pub sm2_vkey: Option<&'a str>,
    /// The authority's first key.
    pub authority: &'a DidKey,
    /// Where the member's credentials name the context and schemas.
    pub namespace: Namespace,
    /// Where they did before (a moved node's former endpoints).
    pub former_namespaces: Vec<Namespace>,
}

impl IssuerHistory {
    /// Verifies the history of a federation member against its configured log origin, log
    /// key, first authority key and endpoint: [`IssuerHistory::verify`] with those.
    ///
    /// # Errors
    /// [`HistoryError`] for the first problem.
    pub fn verify_member(
        &self,
        member: &crate::federation::Member,
    ) -> Result<(IssuerRegistry, u64), HistoryError> {
        self.verify(&LogAnchors {
            member: member.id.as_str(),
            origin: &member.log_origin,
            log_vkey: &member.log_vkey,
            sm2_vkey: member.log_sm2_vkey.as_deref(),
            authority: &member.authority,
            namespace: Namespace::at(&member.endpoint),
            former_namespaces: Namespace::each_at(&member.former_endpoints),
        })
    }

    /// Verifies the history of `anchors.member` against its log's and authority's keys and
    /// returns its registry and the checkpoint's size.
    ///
    /// # Errors
    /// [`HistoryError`] for the first problem.
    pub fn verify(&self, anchors: &LogAnchors<'_>) -> Result<(IssuerRegistry, u64), HistoryError> {
        let LogAnchors {
            member,
            origin,
            log_vkey,
            sm2_vkey,
            authority,
            ..
        } = *anchors;
        if self.member != member {
            return Err(HistoryError::WrongMember {
                expected: member.to_owned(),
                found: self.member.clone(),
            });
        }
        let checkpoint = checkpoint::open_checkpoint_with_sm2(
            self.checkpoint.as_bytes(),
            origin,
            log_vkey,
            sm2_vkey,
        )?;
        let size = checkpoint.size();
        let mut registry =
            IssuerRegistry::new(member, authority.clone(), anchors.namespace.clone())
                .with_former_namespaces(anchors.former_namespaces.iter().cloned());
        let mut accreditations = StatusTargets::new();
        let mut next = 0u64;
        for item in &self.entries {
            let index = item.index;
            if index < next || index >= size || item.inclusion_proof.leaf_index != index {
                return Err(HistoryError::Order { index });
            }
            next = index + 1;
            let bytes = jcs::canonicalize(&item.entry);
            if item.inclusion_proof.tree_size != size {
                return Err(HistoryError::NotIncluded {
                    index,
                    detail: format!(
                        "proof for size {}, checkpoint of size {size}",
                        item.inclusion_proof.tree_size
                    ),
                });
            }
            item.inclusion_proof
                .verify(&bytes, checkpoint.root())
                .map_err(|error| HistoryError::NotIncluded {
                    index,
                    detail: error.to_string(),
                })?;
            let verified = log_entry::verify_entry(&bytes)
                .map_err(|error| HistoryError::Entry { index, error })?;
            let admitted = registry
                .admit(&verified.entry.object, &verified.signer, index, &mut |id| {
                    accreditations.get(id)
                })
                .map_err(|error| HistoryError::NotAdmitted { index, error })?;
            if !admitted.issuer_event {
                return Err(HistoryError::NotAnEvent { index });
            }
            accreditations.record(verified.issued(), &admitted, |_| None);
        }
        Ok((registry, size))
    }
}
