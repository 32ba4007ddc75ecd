//! The proof bundle a holder hands to an employer: one JSON file with the credential and
//! everything needed to verify it offline against the pinned federation configuration —
//! its inclusion proof, the checkpoint with the cosignatures collected, the issuer history
//! of its region (the accreditation chain, with proofs) and the logged status changes of
//! the credential, all under that one checkpoint.
//!
//! ```json
//! {"type": "TalentCredentialBundle", "version": 1, "credential": {…},
//!  "inclusionProof": {"leafIndex": 7, "treeSize": 42, "hashes": […]},
//!  "issuerHistory": {"member": "cq-sc", "checkpoint": "…", "entries": […]},
//!  "statusChanges": [{"index": 40, "entry": {…}, "inclusionProof": {…}}],
//!  "statusLists": [{"type": ["VerifiableCredential", "BitstringStatusListCredential"], …}],
//!  "asOf": "2026-11-26T03:00:00Z"}
//! ```
//!
//! `statusLists` holds the signed W3C status list credentials the credential's
//! `credentialStatus` names, as the issuing member served them; they must agree with the
//! status the logged changes give.
//!
//! `asOf` is when the node that built the bundle held the checkpoint as the log's newest:
//! the status is "as of" then. A bundle proves every change it carries; it cannot prove
//! that none was left out, which is why the verdict reports the status's age and a verifier
//! can refuse an old one (`--max-age`) or ask a node for the current status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::credential::{VerifiedCredential, parse_datetime};
use crate::federation::Federation;
use crate::history::{HistoryEntry, IssuerHistory};
use crate::issuers::{IssuerRegistry, StatusTarget, When, signing_time};
use crate::log_entry;
use crate::recognition::Presented;
use crate::schema::SchemaSet;
use crate::statement::StatusChange;
use crate::status::CredentialStatus;
use crate::status_list::{StatusEntry, StatusListCredential};
use crate::verify::{
    IssuerContext, LogContext, LogEvidence, StatusFact, Verdict, Verification, VerifyOptions,
};
use talent_integrity::jcs;
use talent_integrity::proof::{self, ASSERTION_METHOD};
use talent_tlog::checkpoint;
use talent_tlog::merkle::InclusionProof;

/// `type` of a bundle.
pub const BUNDLE_TYPE: &str = "TalentCredentialBundle";
/// The bundle format version this code writes and reads.
pub const BUNDLE_VERSION: u32 = 1;

/// A credential with its offline evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProofBundle {
    /// Always [`BUNDLE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`BUNDLE_VERSION`].
    pub version: u32,
    /// The signed credential.
    pub credential: Value,
    /// Its inclusion proof under `issuerHistory.checkpoint`.
    pub inclusion_proof: InclusionProof,
    /// The region's issuer history under the same checkpoint (whose member is the log).
    pub issuer_history: IssuerHistory,
    /// The credential's logged status changes, in log order, under the same checkpoint.
    pub status_changes: Vec<HistoryEntry>,
    /// The signed status list credentials its `credentialStatus` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_lists: Vec<Value>,
    /// Issuer histories of other regions (with their recognition agreements), for asking
    /// offline whether the credential is recognised there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_histories: Vec<IssuerHistory>,
    /// When the checkpoint was the newest the building node held (RFC 3339).
    pub as_of: String,
}

/// Why a file cannot be checked as a bundle at all (bad input, not a failed check).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a bundle of a known type and version.
    #[error("not a {BUNDLE_TYPE} of version {BUNDLE_VERSION} (type {kind:?}, version {version})")]
    Format {
        /// `type`.
        kind: String,
        /// `version`.
        version: u32,
    },
    /// The bundle's member is not in the pinned federation.
    #[error("member {member:?} is not in the pinned federation {federation}")]
    UnknownMember {
        /// The member named.
        member: String,
        /// The federation.
        federation: String,
    },
    /// A field that must be a date-time or base64 hash is not.
    #[error("{0}")]
    Malformed(String),
}

/// Whether a JSON value looks like a bundle (its `type`).
pub fn is_bundle(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some(BUNDLE_TYPE)
}

/// How to verify a bundle.
#[derive(Debug, Clone, Copy)]
pub struct BundleOptions<'a> {
    /// The time to judge at.
    pub now: DateTime<Utc>,
    /// Compiled schemas.
    pub schemas: &'a SchemaSet,
    /// The pinned federation configuration.
    pub trust: &'a Federation,
    /// Require the federation's witness quorum on the checkpoint.
    pub require_quorum: bool,
    /// Refuse a status older than this many seconds.
    pub max_status_age: Option<i64>,
}

impl ProofBundle {
    /// Parses a bundle, checking what makes it checkable at all.
    ///
    /// # Errors
    /// [`BundleError`]: wrong shape (with the parser's message), type or version, a
    /// malformed `asOf` or hash.
    pub fn from_json(value: &Value) -> Result<ProofBundle, BundleError> {
        let bundle: ProofBundle = serde_json::from_value(value.clone())
            .map_err(|error| BundleError::Malformed(format!("not a valid bundle: {error}")))?;
        if bundle.kind != BUNDLE_TYPE || bundle.version != BUNDLE_VERSION {
            return Err(BundleError::Format {
                kind: bundle.kind,
                version: bundle.version,
            });
        }
        if parse_datetime(&bundle.as_of).is_none() {
            return Err(BundleError::Malformed(format!(
                "asOf {:?} is not an RFC 3339 date-time",
                bundle.as_of
            )));
        }
        let proofs = std::iter::once(&bundle.inclusion_proof)
            .chain(
                bundle
                    .issuer_history
                    .entries
                    .iter()
                    .map(|e| &e.inclusion_proof),
            )
            .chain(bundle.status_changes.iter().map(|e| &e.inclusion_proof))
            .chain(
                bundle
                    .region_histories
                    .iter()
                    .flat_map(|history| history.entries.iter().map(|e| &e.inclusion_proof)),
            );
        for proof in proofs {
            for hash in &proof.hashes {
                talent_tlog::merkle::parse_hash(hash).map_err(|_| {
                    BundleError::Malformed(format!(
                        "inclusion proof of entry {}: {hash:?} is not a base64 SHA-256 hash",
                        proof.leaf_index
                    ))
                })?;
            }
        }
        Ok(bundle)
    }

    /// Verifies the bundle offline: the credential's own checks, inclusion under the
    /// checkpoint signed by the member's pinned log key (with the cosignatures of the
    /// federation's witnesses, and the quorum if asked), the issuer's authority from the
    /// issuer history, and the status from the carried changes, with its age.
    ///
    /// # Errors
    /// [`BundleError::UnknownMember`]; every other problem is a failed check in the verdict.
    pub fn verify(&self, options: &BundleOptions<'_>) -> Result<Verdict, BundleError> {
        self.verification(options)
            .map(|verification| verification.verdict)
    }

    /// [`ProofBundle::verify`], with the verified credential when the verdict passed: what
    /// [`ProofBundle::recognise`] takes.
    ///
    /// # Errors
    /// As [`ProofBundle::verify`].
    pub fn verification(&self, options: &BundleOptions<'_>) -> Result<Verification, BundleError> {
        let member_id = &self.issuer_history.member;
        let member = options
            .trust
            .member(member_id)
            .ok_or_else(|| BundleError::UnknownMember {
                member: member_id.clone(),
                federation: options.trust.id.clone(),
            })?;
        let cosigners = options.trust.cosigners_of(member_id);
        let as_of = parse_datetime(&self.as_of);
        let history = self.issuer_history.verify_member(member);
        let issuers = match &history {
            Ok((registry, _)) => IssuerContext::Registry {
                registry,
                position: Some(self.inclusion_proof.leaf_index),
            },
            Err(error) => IssuerContext::Missing(format!("issuer history: {error}")),
        };
        let status = match &history {
            Ok((registry, size)) => Some(self.status_fact(registry, *size, as_of, member, options)),
            Err(_) => None,
        };
        let checkpoint = self.issuer_history.checkpoint.as_bytes();
        let quorum = if options.require_quorum {
            options.trust.witness_quorum
        } else {
            0
        };
        let log = LogContext::Evidence(
            LogEvidence::new(member.into(), checkpoint, &self.inclusion_proof)
                .witnessed(&cosigners, quorum)
                .confirmed_at(as_of),
        );
        Ok(crate::verify::verify(
            &self.credential,
            &VerifyOptions {
                now: options.now,
                schemas: options.schemas,
                log,
                issuers,
                status,
            },
        ))
    }

    /// Whether the credential is recognised in `region`, offline: from the region's issuer
    /// history in the bundle (its own history when `region` issued it), verified against the
    /// pinned federation, given the credential if it verified ([`ProofBundle::verification`]).
    /// A credential that did not is explained as issued by the member whose log the bundle
    /// carries it from.
    ///
    /// # Errors
    /// [`BundleError::UnknownMember`] for a region not in the federation,
    /// [`BundleError::Malformed`] when the bundle lacks that region's history or it does not
    /// verify.
    pub fn recognise(
        &self,
        region: &str,
        verified: Option<&VerifiedCredential>,
        trust: &Federation,
        now: DateTime<Utc>,
    ) -> Result<crate::recognition::Recognition, BundleError> {
        let member = trust
            .member(region)
            .ok_or_else(|| BundleError::UnknownMember {
                member: region.to_owned(),
                federation: trust.id.clone(),
            })?;
        let history = if self.issuer_history.member == region {
            &self.issuer_history
        } else {
            self.region_histories
                .iter()
                .find(|history| history.member == region)
                .ok_or_else(|| {
                    BundleError::Malformed(format!(
                        "the bundle carries no issuer history of {region}: fetch it with ?asRegion={region}"
                    ))
                })?
        };
        let (registry, _) = history.verify_member(member).map_err(|error| {
            BundleError::Malformed(format!("the issuer history of {region}: {error}"))
        })?;
        let presented = match verified {
            Some(credential) => Presented::Verified(credential),
            None => Presented::NotVerified {
                credential: &self.credential,
                issuing: &self.issuer_history.member,
            },
        };
        Ok(crate::recognition::recognise_in(
            &registry,
            presented,
            Some(trust),
            now,
        ))
    }

    /// The credential's status from the carried changes: each must be a status change of
    /// this credential, logged after it under the bundle's checkpoint, signed and allowed
    /// (issuer or authority, a possible transition). A change that fails makes the status
    /// unknown, which fails the check.
    fn status_fact(
        &self,
        registry: &IssuerRegistry,
        size: u64,
        as_of: Option<DateTime<Utc>>,
        member: &crate::federation::Member,
        options: &BundleOptions<'_>,
    ) -> StatusFact {
        let fact = |status, changed_at, problem: Option<String>| StatusFact {
            status,
            changed_at,
            as_of_size: size,
            as_of,
            max_age_seconds: options.max_status_age,
            problem,
        };
        let Ok(root) = checkpoint::open_checkpoint_with_sm2(
            self.issuer_history.checkpoint.as_bytes(),
            &member.log_origin,
            &member.log_vkey,
            member.log_sm2_vkey.as_deref(),
        )
        .map(|checkpoint| *checkpoint.root()) else {
            return fact(
                CredentialStatus::Valid,
                None,
                Some("the checkpoint does not verify".into()),
            );
        };
        let credential_id = self.credential["id"]
            .as_str()
            .and_then(|id| id.parse().ok());
        // The proof and issuer checks of the verdict bind `issuer` to the signing key; a
        // credential failing them fails the verdict whatever its status.
        let signer = self.credential["issuer"]
            .as_str()
            .and_then(|issuer| issuer.parse::<talent_integrity::did::DidKey>().ok());
        let (Some(credential_id), Some(signer)) = (credential_id, signer) else {
            return fact(
                CredentialStatus::Valid,
                None,
                Some("the credential's id or issuer is invalid".into()),
            );
        };
        let mut target = StatusTarget {
            issuer: signer,
            status: CredentialStatus::Valid,
            set_by: None,
        };
        let mut changed_at = None;
        for item in &self.status_changes {
            let index = item.index;
            let problem =
                |detail: String| Some(format!("status change at entry {index}: {detail}"));
            if index <= self.inclusion_proof.leaf_index
                || index >= size
                || item.inclusion_proof.leaf_index != index
                || item.inclusion_proof.tree_size != size
            {
                return fact(
                    target.status,
                    changed_at,
                    problem("out of order or beyond the checkpoint".into()),
                );
            }
            let bytes = jcs::canonicalize(&item.entry);
            if let Err(error) = item.inclusion_proof.verify(&bytes, &root) {
                return fact(
                    target.status,
                    changed_at,
                    problem(format!("not in the log: {error}")),
                );
            }
            let verified = match log_entry::verify_entry(&bytes) {
                Ok(verified) => verified,
                Err(error) => return fact(target.status, changed_at, problem(error.to_string())),
            };
            let change = match StatusChange::from_json(&verified.entry.object) {
                Ok(change) if change.credential_id == credential_id => change,
                Ok(_) => {
                    return fact(
                        target.status,
                        changed_at,
                        problem("about another credential".into()),
                    );
                }
                Err(error) => return fact(target.status, changed_at, problem(error.to_string())),
            };
            let Some(signed) = signing_time(&verified.entry.object) else {
                return fact(target.status, changed_at, problem("no signing time".into()));
            };
            let when = When {
                position: Some(index),
                signed,
                admitted: None,
            };
            if let Err(error) =
                registry.authorise_status_change(&change, &verified.signer, &target, when)
            {
                return fact(target.status, changed_at, problem(error.to_string()));
            }
            target.status = change.status;
            target.set_by = Some(verified.signer.clone());
            changed_at = Some(index);
        }
        let problem = self.check_status_lists(registry, target.status).err();
        fact(target.status, changed_at, problem)
    }

    /// Checks the W3C status lists against the status from the log: each entry of the
    /// credential's `credentialStatus` must have its list in the bundle, signed by the
    /// member's authority key of the time, of the entry's purpose, with the credential's bit
    /// set exactly when the logged status says so.
    fn check_status_lists(
        &self,
        registry: &IssuerRegistry,
        status: CredentialStatus,
    ) -> Result<(), String> {
        let entries = StatusEntry::all_of(&self.credential)
            .map_err(|error| format!("credentialStatus: {error}"))?;
        for entry in entries {
            let url = &entry.list_credential;
            let signed = self
                .status_lists
                .iter()
                .find(|list| list.get("id").and_then(Value::as_str) == Some(url.as_str()))
                .ok_or_else(|| format!("the status list {url} is not in the bundle"))?;
            let verified = proof::verify(signed, ASSERTION_METHOD)
                .map_err(|error| format!("status list {url}: proof: {error}"))?;
            let list = StatusListCredential::from_json(signed)
                .map_err(|error| format!("status list {url}: {error}"))?;
            let authority = registry.authority_key(list.valid_from);
            if list.issuer != verified.controller.to_string() || verified.controller != authority {
                return Err(format!(
                    "status list {url} is signed by {}, not by the authority's key {authority}",
                    verified.controller
                ));
            }
            if list.purpose != entry.purpose {
                return Err(format!(
                    "status list {url} has purpose {}, the entry {}",
                    list.purpose.as_str(),
                    entry.purpose.as_str()
                ));
            }
            let set = list
                .list
                .get(entry.index)
                .map_err(|error| format!("status list {url}: {error}"))?;
            if set != entry.purpose.is_set_for(status) {
                return Err(format!(
                    "the {} list {url} (made {}) has bit {} {}, but the log gives status {} {}",
                    entry.purpose.as_str(),
                    crate::credential::format_datetime(list.valid_from),
                    entry.index,
                    if set { "set" } else { "clear" },
                    status.code(),
                    status.label_zh()
                ));
            }
        }
        Ok(())
    }
}
