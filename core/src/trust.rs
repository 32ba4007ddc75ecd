//! Trust anchors a verifier keeps: the federation's members, keys and witness quorum, as a
//! node serves them (`GET /api/v1/federation/trust`), checked against a pinned federation
//! configuration, with the newest checkpoint of every member's log the node held.
//!
//! ```json
//! {"type": "TalentFederationTrust", "version": 1,
//!  "federation": "[federation]\nid = \"chengdu-chongqing\"\n…",
//!  "checkpoints": {"cq-sc": "registry.cq-sc.example/log\n42\n…", …},
//!  "servedAt": "2026-11-26T03:00:00Z"}
//! ```
//!
//! The pinned configuration decides: a node that serves other members, keys or quorum is
//! refused, naming the first difference. The checkpoints are what the verifier has seen of
//! each log: each must be signed by its member's log key, and an update that shrinks a log
//! is refused as a rollback.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::federation::{ConfigError, Federation};
use talent_tlog::checkpoint;
use talent_tlog::cosignature;

/// `type` of a trust document.
pub const TRUST_TYPE: &str = "TalentFederationTrust";
/// The format version this code writes and reads.
pub const TRUST_VERSION: u32 = 1;

/// The trust anchors as served by a node and stored by a verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustAnchors {
    /// Always [`TRUST_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`TRUST_VERSION`].
    pub version: u32,
    /// The federation configuration (TOML, as [`Federation::to_toml`] writes it).
    pub federation: String,
    /// The newest checkpoint (signed note with cosignatures) of each member's log the
    /// serving node held, by member id.
    pub checkpoints: BTreeMap<String, String>,
    /// When the node served it (RFC 3339).
    pub served_at: String,
}

/// Why trust anchors were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Not a trust document of a known type and version.
    #[error("not a {TRUST_TYPE} of version {TRUST_VERSION} (type {kind:?}, version {version})")]
    Format {
        /// `type`.
        kind: String,
        /// `version`.
        version: u32,
    },
    /// The embedded configuration does not parse.
    #[error("the served federation configuration is invalid: {0}")]
    Config(ConfigError),
    /// The served configuration differs from the pinned one.
    #[error("{what} differs from the pinned configuration: pinned {pinned:?}, served {served:?}")]
    Mismatch {
        /// Which value (e.g. `member cd-hz: log_vkey`).
        what: String,
        /// The pinned value.
        pinned: String,
        /// The served value.
        served: String,
    },
    /// A checkpoint does not verify with its member's log key, or names an unknown member.
    #[error("checkpoint of {member}: {reason}")]
    Checkpoint {
        /// The member.
        member: String,
        /// What is wrong.
        reason: String,
    },
    /// A member whose checkpoint is stored is missing from the served anchors: accepting
    /// them would forget it and let a later update roll that log back unnoticed.
    #[error("the served anchors have no checkpoint of {0}, whose checkpoint is stored")]
    Omitted(String),
    /// A checkpoint of the stored size with another root: two views of one log (a fork).
    #[error("checkpoint of {member} at size {size} differs from the stored one: the log forked")]
    Fork {
        /// The member.
        member: String,
        /// The size both claim.
        size: u64,
    },
    /// A checkpoint is smaller than the one already stored: the log was rolled back, or the
    /// node serves a stale view.
    #[error(
        "checkpoint of {member} has size {served}, smaller than the stored {stored}: refusing a rollback"
    )]
    Rollback {
        /// The member.
        member: String,
        /// Size stored before.
        stored: u64,
        /// Size served now.
        served: u64,
    },
}

/// What a checked member log head is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedHead {
    /// Member id.
    pub member: String,
    /// Tree size.
    pub size: u64,
    /// Names of the federation's witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
}

impl TrustAnchors {
    /// The anchors a node serves.
    pub fn new(
        federation: &Federation,
        checkpoints: BTreeMap<String, String>,
        served_at: String,
    ) -> TrustAnchors {
        TrustAnchors {
            kind: TRUST_TYPE.to_owned(),
            version: TRUST_VERSION,
            federation: federation.to_toml(),
            checkpoints,
            served_at,
        }
    }

    /// The federation the anchors carry.
    ///
    /// # Errors
    /// [`TrustError::Format`], [`TrustError::Config`].
    pub fn federation(&self) -> Result<Federation, TrustError> {
        if self.kind != TRUST_TYPE || self.version != TRUST_VERSION {
            return Err(TrustError::Format {
                kind: self.kind.clone(),
                version: self.version,
            });
        }
        Federation::parse(&self.federation).map_err(TrustError::Config)
    }

    /// Checks the anchors against the `pinned` configuration and the anchors stored before
    /// (if any): same federation, members, keys and quorum; every checkpoint signed by its
    /// member's log key and no smaller than the stored one. Returns each member's head.
    ///
    /// # Errors
    /// Every [`TrustError`].
    pub fn check(
        &self,
        pinned: &Federation,
        stored: Option<&TrustAnchors>,
    ) -> Result<Vec<CheckedHead>, TrustError> {
        let served = self.federation()?;
        compare(pinned, &served)?;
        if let Some(stored) = stored
            && let Some(missing) = stored
                .checkpoints
                .keys()
                .find(|member| !self.checkpoints.contains_key(*member))
        {
            return Err(TrustError::Omitted(missing.clone()));
        }
        let mut heads = Vec::with_capacity(self.checkpoints.len());
        for (member_id, note) in &self.checkpoints {
            let (head, root) = open_head(pinned, member_id, note)?;
            if let Some(previous) = stored.and_then(|stored| stored.checkpoints.get(member_id)) {
                let (previous, previous_root) = open_head(pinned, member_id, previous)?;
                if head.size < previous.size {
                    return Err(TrustError::Rollback {
                        member: member_id.clone(),
                        stored: previous.size,
                        served: head.size,
                    });
                }
                if head.size == previous.size && root != previous_root {
                    return Err(TrustError::Fork {
                        member: member_id.clone(),
                        size: head.size,
                    });
                }
            }
            heads.push(head);
        }
        Ok(heads)
    }
}

fn open_head(
    pinned: &Federation,
    member_id: &str,
    note: &str,
) -> Result<(CheckedHead, talent_tlog::Hash), TrustError> {
    let failed = |reason: String| TrustError::Checkpoint {
        member: member_id.to_owned(),
        reason,
    };
    let member = pinned
        .member(member_id)
        .ok_or_else(|| failed("not a member of the pinned federation".into()))?;
    let opened = checkpoint::open_checkpoint_with_sm2(
        note.as_bytes(),
        &member.log_origin,
        &member.log_vkey,
        member.log_sm2_vkey.as_deref(),
    )
    .map_err(|error| failed(error.to_string()))?;
    let cosigners =
        cosignature::verify_cosignatures(note.as_bytes(), &pinned.cosigners_of(member_id))
            .map_err(|error| failed(format!("cosignatures: {error}")))?
            .into_iter()
            .map(|cosignature| cosignature.name)
            .collect();
    Ok((
        CheckedHead {
            member: member_id.to_owned(),
            size: opened.size(),
            cosigners,
        },
        *opened.root(),
    ))
}

/// The first difference between the pinned and the served configuration.
fn compare(pinned: &Federation, served: &Federation) -> Result<(), TrustError> {
    let differ = |what: String, pinned: &str, served: &str| {
        if pinned == served {
            Ok(())
        } else {
            Err(TrustError::Mismatch {
                what,
                pinned: pinned.to_owned(),
                served: served.to_owned(),
            })
        }
    };
    differ("federation id".into(), &pinned.id, &served.id)?;
    differ(
        "witness_quorum".into(),
        &pinned.witness_quorum.to_string(),
        &served.witness_quorum.to_string(),
    )?;
    let ids = |federation: &Federation| {
        federation
            .members()
            .iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    differ("the member list".into(), &ids(pinned), &ids(served))?;
    for (mine, theirs) in pinned.members().iter().zip(served.members()) {
        let field = |name: &str| format!("member {}: {name}", mine.id);
        differ(
            field("authority"),
            &mine.authority.to_string(),
            &theirs.authority.to_string(),
        )?;
        differ(field("log_origin"), &mine.log_origin, &theirs.log_origin)?;
        differ(field("log_vkey"), &mine.log_vkey, &theirs.log_vkey)?;
        differ(
            field("witness_vkey"),
            &mine.witness_vkey,
            &theirs.witness_vkey,
        )?;
        differ(field("class"), mine.class.as_str(), theirs.class.as_str())?;
        differ(field("endpoint"), &mine.endpoint, &theirs.endpoint)?;
        differ(field("name_zh"), &mine.name_zh, &theirs.name_zh)?;
        differ(field("name_en"), &mine.name_en, &theirs.name_en)?;
    }
    differ("name_zh".into(), &pinned.name_zh, &served.name_zh)?;
    differ("name_en".into(), &pinned.name_en, &served.name_en)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned() -> Federation {
        Federation::parse(include_str!(
            "../../federation-config/chengdu-chongqing/federation.toml"
        ))
        .expect("parses")
    }

    #[test]
    fn anchors_matching_the_pin_are_accepted() {
        let federation = pinned();
        let anchors =
            TrustAnchors::new(&federation, BTreeMap::new(), "2026-11-26T00:00:00Z".into());
        assert_eq!(anchors.check(&federation, None), Ok(vec![]));
        assert_eq!(anchors.federation(), Ok(federation));
    }

    #[test]
    fn a_changed_key_is_named() {
        let federation = pinned();
        let mut anchors =
            TrustAnchors::new(&federation, BTreeMap::new(), "2026-11-26T00:00:00Z".into());
        let second = &federation.members()[1];
        let other_key = cosignature::Cosigner::new(
            &second.witness_name,
            ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        )
        .expect("cosigner")
        .vkey();
        anchors.federation = anchors.federation.replace(&second.witness_vkey, &other_key);
        assert!(matches!(
            anchors.check(&federation, None),
            Err(TrustError::Mismatch { what, .. }) if what == format!("member {}: witness_vkey", second.id)
        ));
        let mut quorum = TrustAnchors::new(&federation, BTreeMap::new(), String::new());
        quorum.federation = quorum.federation.replace(
            &format!("witness_quorum = {}", federation.witness_quorum),
            "witness_quorum = 1",
        );
        assert!(matches!(
            quorum.check(&federation, None),
            Err(TrustError::Mismatch { what, .. }) if what == "witness_quorum"
        ));
    }

    #[test]
    fn an_unsigned_checkpoint_is_refused() {
        let federation = pinned();
        let member = federation.members()[0].id.to_string();
        let anchors = TrustAnchors::new(
            &federation,
            BTreeMap::from([(member.clone(), "not a note".to_owned())]),
            String::new(),
        );
        assert!(matches!(
            anchors.check(&federation, None),
            Err(TrustError::Checkpoint { member: m, .. }) if m == member
        ));
    }
}
