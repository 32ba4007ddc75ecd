//! Who this node is: its member id, names, and public keys, as `GET /api/v1/member` tells.

use serde::Serialize;
use talent_core::federation::Member;
use talent_core::identifiers::RegionId;
use talent_integrity::did::DidKey;

/// Log origin of the development member.
pub const DEV_LOG_ORIGIN: &str = "dev.talent-registry.example/log";

/// The public identity of this member.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberIdentity {
    /// Member (region) id.
    pub id: RegionId,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// The authority DID credentials are issued by.
    pub authority_did: DidKey,
    /// Origin line of this member's log checkpoints (and the log key's name).
    pub log_origin: String,
    /// signed-note verifier key of the log (`<origin>+<id>+<base64>`).
    pub log_vkey: String,
    /// The verifier key of the log's SM2 checkpoint line (a member whose configuration
    /// names `log_sm2_vkey`): its checkpoints carry both lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_sm2_vkey: Option<String>,
    /// `cosignature/v1` verifier key of the member's witness (federation members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness_vkey: Option<String>,
    /// The federation the member belongs to (none for the development member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation: Option<String>,
}

impl MemberIdentity {
    /// The identity of the single development member `registry-node serve` runs without a
    /// federation config.
    pub fn development(authority_did: DidKey, log_vkey: String) -> MemberIdentity {
        MemberIdentity {
            // Invariant: "dev" is a well-formed member id (tested below).
            id: RegionId::dev(),
            name_zh: "本地开发节点".into(),
            name_en: "Local development member".into(),
            authority_did,
            log_origin: DEV_LOG_ORIGIN.into(),
            log_vkey,
            log_sm2_vkey: None,
            witness_vkey: None,
            federation: None,
        }
    }

    /// The identity of `member` of federation `federation`, as its configuration says.
    pub fn from_config(member: &Member, federation: &str) -> MemberIdentity {
        MemberIdentity {
            id: member.id.clone(),
            name_zh: member.name_zh.clone(),
            name_en: member.name_en.clone(),
            authority_did: member.authority.clone(),
            log_origin: member.log_origin.clone(),
            log_vkey: member.log_vkey.clone(),
            log_sm2_vkey: member.log_sm2_vkey.clone(),
            witness_vkey: Some(member.witness_vkey.clone()),
            federation: Some(federation.to_owned()),
        }
    }
}

trait DevRegion {
    fn dev() -> RegionId;
}

impl DevRegion for RegionId {
    fn dev() -> RegionId {
        #[allow(clippy::expect_used)]
        "dev".parse().expect("\"dev\" is a valid member id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_member_id_is_valid() {
        assert_eq!(RegionId::dev().as_str(), "dev");
    }
}
