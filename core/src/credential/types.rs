//! The credential types of the registry and the names every credential carries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// First `@context` of every W3C VC 2.0 credential.
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The legacy URL of the project's JSON-LD context: what statements in the logs name, and
/// credentials issued before members named their own ([`super::Namespace`]).
pub const CONTEXT_V1_URL: &str = "https://talent-registry.example/ns/v1";
/// The `$id` prefix of the JSON Schemas of `schemas/`, under the legacy base: how they
/// name each other. A node serves them with its own URL as `$id`.
pub const SCHEMA_BASE_URL: &str = "https://talent-registry.example/schemas/";
/// The base `type` every credential carries before its own.
pub const VERIFIABLE_CREDENTIAL: &str = "VerifiableCredential";

/// The credential types of the registry: five talent types, then the two that administer
/// the federation (accreditations of delegated issuers, recognition agreements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CredentialType {
    /// 金凤凰人才认定: Science City talent status.
    GoldenPhoenixTalentCredential,
    /// 职称: professional title.
    ProfessionalTitleCredential,
    /// 职业技能等级: skill level.
    SkillLevelCredential,
    /// 职业资格: professional qualification.
    ProfessionalQualificationCredential,
    /// 英才服务卡: talent service card.
    TalentServiceCardCredential,
    /// 授权: accreditation of a delegated issuer.
    IssuerAccreditationCredential,
    /// 互认协议: recognition agreement.
    RecognitionAgreementCredential,
}

impl CredentialType {
    /// Every type: the five talent types, then accreditations and agreements.
    pub const ALL: [CredentialType; 7] = [
        CredentialType::GoldenPhoenixTalentCredential,
        CredentialType::ProfessionalTitleCredential,
        CredentialType::SkillLevelCredential,
        CredentialType::ProfessionalQualificationCredential,
        CredentialType::TalentServiceCardCredential,
        CredentialType::IssuerAccreditationCredential,
        CredentialType::RecognitionAgreementCredential,
    ];

    /// The `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::GoldenPhoenixTalentCredential => "GoldenPhoenixTalentCredential",
            CredentialType::ProfessionalTitleCredential => "ProfessionalTitleCredential",
            CredentialType::SkillLevelCredential => "SkillLevelCredential",
            CredentialType::ProfessionalQualificationCredential => {
                "ProfessionalQualificationCredential"
            }
            CredentialType::TalentServiceCardCredential => "TalentServiceCardCredential",
            CredentialType::IssuerAccreditationCredential => "IssuerAccreditationCredential",
            CredentialType::RecognitionAgreementCredential => "RecognitionAgreementCredential",
        }
    }

    /// The Chinese name used in reports and the console.
    pub fn label_zh(self) -> &'static str {
        match self {
            CredentialType::GoldenPhoenixTalentCredential => "金凤凰人才认定",
            CredentialType::ProfessionalTitleCredential => "职称",
            CredentialType::SkillLevelCredential => "职业技能等级",
            CredentialType::ProfessionalQualificationCredential => "职业资格",
            CredentialType::TalentServiceCardCredential => "英才服务卡",
            CredentialType::IssuerAccreditationCredential => "签发机构授权",
            CredentialType::RecognitionAgreementCredential => "互认协议",
        }
    }

    /// Whether the subject is a person (as opposed to an issuer or an agreement).
    pub fn is_talent(self) -> bool {
        !matches!(
            self,
            CredentialType::IssuerAccreditationCredential
                | CredentialType::RecognitionAgreementCredential
        )
    }

    /// The registry type named by a VC `type` array, if exactly one is present.
    pub fn from_type_array(types: &Value) -> Option<CredentialType> {
        CredentialType::from_type_names(types.as_array()?.iter().filter_map(Value::as_str))
    }

    /// [`CredentialType::from_type_array`] over the array's strings (its other values are
    /// ignored there too): the one registry type among them, if exactly one.
    pub fn from_type_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<CredentialType> {
        let mut found = names
            .into_iter()
            .filter_map(|name| name.parse::<CredentialType>().ok());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

impl fmt::Display for CredentialType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the registry's credential types.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown credential type {0:?}")]
pub struct UnknownCredentialType(pub String);

impl FromStr for CredentialType {
    type Err = UnknownCredentialType;

    fn from_str(value: &str) -> Result<CredentialType, UnknownCredentialType> {
        CredentialType::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| UnknownCredentialType(value.to_owned()))
    }
}
