//! Where the node finds the evidence for a presented credential: which logs hold its id,
//! which of their entries is exactly the presented credential, and the inclusion proof,
//! checkpoint, cosigners and status that log gives.

use chrono::{DateTime, Utc};
use serde_json::Value;
use talent_core::credential::CredentialView;
use talent_core::identifiers::CredentialId;
use talent_core::status::CredentialStatus;
use talent_core::verify::{LogContext, LogEvidence, LogIdentity, StatusFact};
use talent_tlog::cosignature::CosignerKey;
use talent_tlog::merkle::InclusionProof;

use super::VerificationError;
use crate::services::HeldLogs;
use crate::store::LogSpace;

/// The log evidence this node holds for a presented credential: an inclusion proof under
/// its own checkpoint when it issued it, or under its mirror of the issuing member's log.
pub(super) enum Evidence {
    Found(Box<FoundEvidence>),
    Missing(String),
}

impl Evidence {
    /// What the verification pipeline is told about the credential's log.
    pub(super) fn context(&self) -> LogContext<'_> {
        match self {
            Evidence::Found(found) => {
                let log = LogIdentity {
                    member: &found.member,
                    origin: &found.origin,
                    vkey: &found.log_vkey,
                    sm2_vkey: found.log_sm2_vkey.as_deref(),
                };
                LogContext::Evidence(
                    LogEvidence::new(log, &found.checkpoint, &found.proof)
                        .witnessed(&found.cosigners, found.quorum)
                        .confirmed_at(found.confirmed_at),
                )
            }
            Evidence::Missing(reason) => LogContext::Missing(reason.clone()),
        }
    }
}

/// What the node found, owned, to lend to a [`LogEvidence`].
pub(super) struct FoundEvidence {
    /// The member whose log this is.
    member: String,
    origin: String,
    log_vkey: String,
    /// The log's SM2 verifier key, when its checkpoints carry that line.
    log_sm2_vkey: Option<String>,
    checkpoint: Vec<u8>,
    proof: InclusionProof,
    cosigners: Vec<CosignerKey>,
    quorum: usize,
    confirmed_at: Option<DateTime<Utc>>,
}

fn credential_id(credential: &Value) -> Option<CredentialId> {
    credential["id"]
        .as_str()
        .and_then(|id| id.parse::<CredentialId>().ok())
}

/// Where the node found the credential: whose log, at which leaf, with what evidence.
pub(super) struct Located {
    /// The member whose issuer registry judges the credential: the log that holds its
    /// bytes, or (when none does, and the verdict fails inclusion) its claimed region.
    pub(super) member: String,
    /// The log that holds exactly the presented credential, if any.
    pub(super) log_member: Option<String>,
    /// The leaf index of that entry.
    pub(super) position: Option<u64>,
    /// The inclusion evidence, or why there is none.
    pub(super) evidence: Evidence,
    /// The credential's status in that log.
    pub(super) status: Option<StatusFact>,
}

/// The logs this node holds with an entry carrying the presented credential's id. An id
/// alone proves nothing (another member's log may carry a different credential under the
/// same id); [`Holders::matching`] picks the entry whose bytes are the credential's.
pub(super) struct Holders {
    id: CredentialId,
    /// Leaf index in the own log.
    own: Option<u64>,
    /// (member, leaf index) in verified mirrors. Read only when needed: when the own log
    /// holds the id, its entry is nearly always the presented credential.
    mirrors: Option<Vec<(String, u64)>>,
}

/// The log entry that is exactly the presented credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Match {
    /// The own log's entry at this index.
    Own(u64),
    /// This member's mirrored entry at this index.
    Mirror(String, u64),
}

impl Holders {
    /// The logs holding the credential's id (`None` for a credential without a valid id).
    pub(super) fn of(
        logs: &HeldLogs,
        credential: &Value,
    ) -> Result<Option<Holders>, VerificationError> {
        let Some(id) = credential_id(credential) else {
            return Ok(None);
        };
        let own = logs.store.credential_index(id)?;
        let mirrors = match own {
            Some(_) => None,
            None => Some(verified_mirror_holders(logs, id)?),
        };
        Ok(Some(Holders { id, own, mirrors }))
    }

    /// Whether any log holds the id: then the inclusion check will need the leaf text.
    pub(super) fn any(&self) -> bool {
        self.own.is_some() || self.mirrors.as_ref().is_some_and(|found| !found.is_empty())
    }

    /// The entry whose bytes are `canonical` (the presented credential's canonical text,
    /// which is what its log entry holds), considering every log that holds the id.
    pub(super) fn matching(
        &mut self,
        logs: &HeldLogs,
        canonical: Option<&[u8]>,
    ) -> Result<Option<Match>, VerificationError> {
        let Some(canonical) = canonical else {
            return Ok(None);
        };
        if let Some(index) = self.own
            && logs.store.entry_is(LogSpace::Own, index, canonical)?
        {
            return Ok(Some(Match::Own(index)));
        }
        if self.mirrors.is_none() {
            self.mirrors = Some(verified_mirror_holders(logs, self.id)?);
        }
        for (member, index) in self.mirrors.iter().flatten() {
            if logs
                .store
                .entry_is(LogSpace::Mirror(member), *index, canonical)?
            {
                return Ok(Some(Match::Mirror(member.clone(), *index)));
            }
        }
        Ok(None)
    }

    /// Every log holding the id, for an answer that says so.
    fn describe(&self, logs: &HeldLogs) -> String {
        let mut found: Vec<String> = Vec::new();
        if let Some(index) = self.own {
            found.push(format!("{} entry {index}", logs.log.origin()));
        }
        for (member, index) in self.mirrors.iter().flatten() {
            found.push(format!("{member}'s log entry {index}"));
        }
        found.join(", ")
    }
}

/// (member, leaf index) of every verified mirror entry carrying credential id `id`.
fn verified_mirror_holders(
    logs: &HeldLogs,
    id: CredentialId,
) -> Result<Vec<(String, u64)>, VerificationError> {
    let Some(federation) = &logs.federation else {
        return Ok(Vec::new());
    };
    Ok(logs
        .store
        .mirror_credential(id)?
        .into_iter()
        .filter(|(member, index)| {
            federation
                .mirrors
                .verified_size(member)
                .is_some_and(|size| *index < size)
        })
        .collect())
}

/// The evidence for a presented credential: an inclusion proof of the log entry that is
/// exactly this credential (`found`), under the own checkpoint or a mirrored one. The
/// issuer registry and the status come from that log, never from the credential's claimed
/// region.
pub(super) fn locate(
    logs: &HeldLogs,
    credential: &Value,
    require_quorum: bool,
    holders: Option<&Holders>,
    found: Option<Match>,
) -> Result<Located, VerificationError> {
    // Only a credential no log holds is judged by its claimed region (and fails inclusion).
    let region = CredentialView::of(credential)
        .region()
        .unwrap_or_default()
        .to_owned();
    let missing = |reason: String| Located {
        member: region.clone(),
        log_member: None,
        position: None,
        evidence: Evidence::Missing(reason),
        status: None,
    };
    let Some(holders) = holders else {
        return Ok(missing("the credential has no valid id".into()));
    };
    let id = holders.id;
    let quorum = |federation: &crate::federation::FederationNode| {
        if require_quorum {
            federation.config.witness_quorum
        } else {
            0
        }
    };
    match found {
        Some(Match::Own(index)) => {
            // The index is written with the entry, the head moves just after: an entry
            // this fresh is not in a signed tree yet (no proof), which is not a failure of
            // the node.
            if index >= logs.log.head().size {
                return Ok(missing(format!(
                    "{id} is being logged at {} entry {index}: not yet in a signed checkpoint; ask again",
                    logs.log.origin()
                )));
            }
            let (head, mut proof) = logs
                .log
                .inclusion_proof(index)
                .map_err(VerificationError::Proof)?;
            let (checkpoint, cosigners, quorum) = match &logs.federation {
                // With the quorum required, under the newest witnessed checkpoint when
                // the current one lacks it (an issuance during an outage).
                Some(federation) if require_quorum => {
                    let under = federation.collector.checkpoint_for(&head, index);
                    if under.size != head.size {
                        proof = logs
                            .log
                            .inclusion_proof_at(index, under.size)
                            .map_err(VerificationError::Proof)?;
                    }
                    (
                        under.note,
                        federation.cosigners_for(logs.member.id.as_str()),
                        quorum(federation),
                    )
                }
                Some(federation) => (
                    federation.collector.with_cosignatures(&head.checkpoint),
                    federation.cosigners_for(logs.member.id.as_str()),
                    quorum(federation),
                ),
                None => (head.checkpoint.as_ref().clone(), Vec::new(), 0),
            };
            let mut status = status_fact(logs, LogSpace::Own, id, head.size)?;
            // The own log's head is current by definition: its status is as of now.
            let now = Utc::now();
            status.as_of = Some(now);
            let member = logs.member.id.as_str().to_owned();
            Ok(Located {
                member: member.clone(),
                log_member: Some(member),
                position: Some(index),
                status: Some(status),
                evidence: Evidence::Found(Box::new(FoundEvidence {
                    member: logs.member.id.as_str().to_owned(),
                    origin: logs.member.log_origin.clone(),
                    log_vkey: logs.member.log_vkey.clone(),
                    log_sm2_vkey: logs.log.sm2_verifier_key().map(str::to_owned),
                    checkpoint,
                    proof,
                    cosigners,
                    quorum,
                    confirmed_at: Some(now),
                })),
            })
        }
        Some(Match::Mirror(holder, index)) => {
            let federation = logs.federation.as_ref().ok_or_else(|| {
                VerificationError::Inconsistent("a mirror matched on a node without mirrors".into())
            })?;
            let member = federation.config.member(&holder).ok_or_else(|| {
                VerificationError::Inconsistent(format!("mirror of {holder}, not a member"))
            })?;
            let found = federation
                .mirrors
                .evidence(member, index, require_quorum)
                .map_err(VerificationError::Proof)?
                .ok_or_else(|| {
                    VerificationError::Inconsistent(format!(
                        "{holder} entry {index} is not verified"
                    ))
                })?;
            // The status as of everything mirrored, whichever checkpoint proves inclusion.
            let mut status = status_fact(logs, LogSpace::Mirror(&holder), id, found.head_size)?;
            status.as_of = DateTime::from_timestamp(found.confirmed_at, 0);
            Ok(Located {
                member: holder.clone(),
                log_member: Some(holder),
                position: Some(found.proof.leaf_index),
                status: Some(status),
                evidence: Evidence::Found(Box::new(FoundEvidence {
                    member: member.id.as_str().to_owned(),
                    origin: member.log_origin.clone(),
                    log_vkey: member.log_vkey.clone(),
                    log_sm2_vkey: member.log_sm2_vkey.clone(),
                    checkpoint: found.checkpoint.as_ref().clone(),
                    proof: found.proof,
                    cosigners: federation.cosigners_for(member.id.as_str()),
                    quorum: quorum(federation),
                    confirmed_at: DateTime::from_timestamp(found.confirmed_at, 0),
                })),
            })
        }
        None if holders.any() => Ok(missing(format!(
            "{id} is held by {}, but none of these entries is this credential: what was presented is not what was logged",
            holders.describe(logs)
        ))),
        None => {
            let Some(federation) = &logs.federation else {
                return Ok(missing(format!(
                    "{id} is not in {}, and this node mirrors no other logs",
                    logs.log.origin()
                )));
            };
            Ok(missing(match federation.config.member(&region) {
                Some(member) => {
                    let mirrored = federation
                        .mirrors
                        .verified_size(member.id.as_str())
                        .unwrap_or(0);
                    format!(
                        "{id} is not among the {mirrored} entries of {} ({}) mirrored here",
                        member.log_origin, member.name_zh
                    )
                }
                None => format!(
                    "{id} is in no log this node holds, and its region {region:?} is not a member of {}",
                    federation.config.id
                ),
            }))
        }
    }
}

/// The credential's status in a log as of `size` entries.
fn status_fact(
    logs: &HeldLogs,
    space: LogSpace<'_>,
    id: CredentialId,
    size: u64,
) -> Result<StatusFact, VerificationError> {
    let found = logs.store.status(space, id, size)?;
    Ok(StatusFact {
        status: found.map_or(CredentialStatus::Valid, |(_, status)| status),
        changed_at: found.map(|(index, _)| index),
        as_of_size: size,
        as_of: None,
        max_age_seconds: None,
        problem: None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use talent_integrity::did::DidKey;

    use super::*;
    use crate::log::Log;
    use crate::log::sequencer::{BatchConfig, PendingEntry, Sequencer};
    use crate::member::MemberIdentity;
    use crate::store::{EntryEffects, PersonalKeys, Store};

    const ID: &str = "urn:uuid:0b5cbd76-2f32-4d4a-9c4e-6f6f7a3a5a11";

    /// A development member's logs (no mirrors) in a fresh store.
    fn held_logs(dir: &std::path::Path) -> HeldLogs {
        let store = Arc::new(Store::open(dir, PersonalKeys::for_tests()).expect("store"));
        let key = SigningKey::from_bytes(&[7; 32]);
        let log = Arc::new(Log::open(Arc::clone(&store), "dev.test/log", key).expect("log"));
        let authority =
            DidKey::from_verifying_key(&SigningKey::from_bytes(&[8; 32]).verifying_key());
        let member = MemberIdentity::development(authority, log.verifier_key().to_owned());
        HeldLogs {
            store,
            log,
            member: Arc::new(member),
            federation: None,
        }
    }

    /// Logs `bytes` as credential `ID` and waits until the log's head covers it.
    async fn log_credential(logs: &HeldLogs, bytes: &[u8]) -> u64 {
        let sequencer = Sequencer::start(
            Arc::clone(&logs.log),
            BatchConfig::default(),
            &mut crate::worker::Workers::new(crate::worker::BackoffPolicy::NODE),
            crate::metrics::Metrics::new().expect("metrics").log,
        );
        let appended = sequencer
            .append(vec![PendingEntry {
                entry: bytes.to_vec(),
                credential_id: Some(ID.parse().expect("id")),
                resident_id: None,
                status_slot: None,
                effects: EntryEffects::default(),
            }])
            .await
            .expect("appends");
        appended[0].index
    }

    fn presented() -> Value {
        json!({"id": ID, "credentialSubject": {"region": "dev"}})
    }

    fn missing_reason(located: &Located) -> &str {
        match &located.evidence {
            Evidence::Missing(reason) => reason,
            Evidence::Found(_) => panic!("evidence found"),
        }
    }

    #[tokio::test]
    async fn the_own_entry_with_the_presented_bytes_is_the_evidence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = held_logs(dir.path());
        let index = log_credential(&logs, b"logged bytes").await;
        let mut holders = Holders::of(&logs, &presented())
            .expect("reads")
            .expect("valid id");
        assert!(holders.any(), "the own log holds the id");
        let found = holders
            .matching(&logs, Some(b"logged bytes"))
            .expect("reads");
        assert_eq!(found, Some(Match::Own(index)));
        let located = locate(&logs, &presented(), false, Some(&holders), found).expect("locates");
        assert!(matches!(located.evidence, Evidence::Found(_)));
        assert_eq!(located.position, Some(index));
        assert_eq!(located.log_member.as_deref(), Some("dev"));
        let status = located.status.expect("status");
        assert_eq!(status.status, CredentialStatus::Valid);
        assert_eq!(status.as_of_size, index + 1);
    }

    #[tokio::test]
    async fn an_id_held_with_other_bytes_is_no_evidence_and_says_where_it_is_held() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = held_logs(dir.path());
        log_credential(&logs, b"logged bytes").await;
        let mut holders = Holders::of(&logs, &presented())
            .expect("reads")
            .expect("valid id");
        let found = holders
            .matching(&logs, Some(b"altered bytes"))
            .expect("reads");
        assert_eq!(found, None, "an id alone proves nothing");
        let located = locate(&logs, &presented(), false, Some(&holders), found).expect("locates");
        assert!(located.log_member.is_none());
        assert_eq!(located.member, "dev", "judged by its claimed region");
        let reason = missing_reason(&located);
        assert!(
            reason.contains("dev.test/log entry 0") && reason.contains("not what was logged"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn an_entry_not_yet_under_the_head_is_not_yet_evidence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = held_logs(dir.path());
        let holders = Holders::of(&logs, &presented()).expect("reads");
        // The index is written with the entry and the head moves just after: a match at
        // the head's size is an entry being logged.
        let located = locate(
            &logs,
            &presented(),
            false,
            holders.as_ref(),
            Some(Match::Own(0)),
        )
        .expect("locates");
        assert!(missing_reason(&located).contains("not yet in a signed checkpoint"));
    }

    #[test]
    fn a_credential_no_log_holds_or_without_an_id_is_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = held_logs(dir.path());
        let holders = Holders::of(&logs, &presented())
            .expect("reads")
            .expect("valid id");
        assert!(!holders.any());
        let located = locate(&logs, &presented(), false, Some(&holders), None).expect("locates");
        assert!(missing_reason(&located).contains("this node mirrors no other logs"));

        let no_id = json!({"id": "not-an-id", "credentialSubject": {"region": "dev"}});
        assert!(Holders::of(&logs, &no_id).expect("reads").is_none());
        let located = locate(&logs, &no_id, false, None, None).expect("locates");
        assert_eq!(missing_reason(&located), "the credential has no valid id");
    }
}
