//! A member of the federation: a region with its own node, log and keys, and the kind of
//! body it is.

use std::fmt;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::identifiers::RegionId;
use talent_integrity::did::DidKey;
use talent_integrity::proof::Cryptosuite;

/// One member of the federation: a region with its own node, log and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member id, also the region credentials belong to (`cq-sc`).
    pub id: RegionId,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// What kind of body the member is.
    pub class: MemberClass,
    /// Base URL of the member's node: `http(s)://host[:port]`, no path, no trailing slash.
    /// Its credentials name the registry's context and schemas under it.
    pub endpoint: String,
    /// Endpoints the member's node had before (`former_endpoints`, optional): credentials
    /// issued then name their context and schemas under one of them, and still verify.
    pub former_endpoints: Vec<String>,
    /// The suite the member's authority signs with (`cryptosuite`, default
    /// `eddsa-jcs-2022`); [`Member::authority`] is a key of its kind.
    pub cryptosuite: Cryptosuite,
    /// The authority DID that roots the member's credentials and accreditations.
    pub authority: DidKey,
    /// Origin of the member's log, which is also the key name of its log key.
    pub log_origin: String,
    /// The log's signed-note verifier key, as written in the configuration.
    pub log_vkey: String,
    /// The log's public key, decoded from [`Member::log_vkey`].
    pub log_key: VerifyingKey,
    /// The log's optional SM2 signed-note verifier key (`log_sm2_vkey`, key name
    /// [`Member::log_origin`]): when present, the member's checkpoints carry a second
    /// signature line by it, and whoever opens them requires that line.
    pub log_sm2_vkey: Option<String>,
    /// Key name of the member's witness key.
    pub witness_name: String,
    /// The witness's `cosignature/v1` verifier key, as written in the configuration.
    pub witness_vkey: String,
    /// The witness's public key, decoded from [`Member::witness_vkey`].
    pub witness_key: VerifyingKey,
}

/// What kind of body a member is; in the configuration, the kebab-case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberClass {
    /// `science-city`: a science city such as the Western (Chongqing) Science City.
    ScienceCity,
    /// `high-tech-zone`: a high-tech industrial development zone such as Chengdu's.
    HighTechZone,
    /// `provincial-hr-authority`: a provincial-level human resources and social security
    /// department, which confers professional titles and skill levels.
    ProvincialHrAuthority,
    /// `district`: a district or county talent office.
    District,
    /// `enclave-park`: a talent enclave (人才飞地) park whose people count as local talent.
    EnclavePark,
}

impl MemberClass {
    /// Every class, in the order of the documentation.
    pub const ALL: [MemberClass; 5] = [
        MemberClass::ScienceCity,
        MemberClass::HighTechZone,
        MemberClass::ProvincialHrAuthority,
        MemberClass::District,
        MemberClass::EnclavePark,
    ];

    /// The name used in the configuration and in JSON (`science-city`).
    pub fn as_str(self) -> &'static str {
        match self {
            MemberClass::ScienceCity => "science-city",
            MemberClass::HighTechZone => "high-tech-zone",
            MemberClass::ProvincialHrAuthority => "provincial-hr-authority",
            MemberClass::District => "district",
            MemberClass::EnclavePark => "enclave-park",
        }
    }

    /// Label in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            MemberClass::ScienceCity => "科学城",
            MemberClass::HighTechZone => "高新区",
            MemberClass::ProvincialHrAuthority => "省级人力资源和社会保障部门",
            MemberClass::District => "区县",
            MemberClass::EnclavePark => "人才飞地",
        }
    }

    /// Label in English.
    pub fn label_en(self) -> &'static str {
        match self {
            MemberClass::ScienceCity => "Science city",
            MemberClass::HighTechZone => "High-tech zone",
            MemberClass::ProvincialHrAuthority => "Provincial HR authority",
            MemberClass::District => "District",
            MemberClass::EnclavePark => "Talent enclave park",
        }
    }
}

impl fmt::Display for MemberClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_match_serde() {
        for class in MemberClass::ALL {
            let json = serde_json::to_string(&class).expect("serialises");
            assert_eq!(json, format!("\"{}\"", class.as_str()));
        }
    }
}
