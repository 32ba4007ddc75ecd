//! A recognition agreement as logged by a region's authority: its rules (what each matches
//! and concludes), its validity and the document it rests on.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::credential::{CredentialType, CredentialView, parse_datetime};
use crate::federation::MemberClass;
use crate::identifiers::CredentialId;

/// Why a `RecognitionAgreementCredential` cannot be read as an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AgreementError {
    /// Not a `RecognitionAgreementCredential`.
    #[error("not a RecognitionAgreementCredential")]
    WrongType,
    /// A field is missing or malformed.
    #[error("agreement is malformed: {0}")]
    Malformed(String),
}

/// What a matching rule concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Recognised as the equivalent, with the grants and conditions listed.
    Recognised,
    /// Recognised only once a local office confirms it.
    ConfirmationRequired,
    /// Explicitly not recognised.
    NotRecognised,
}

impl Outcome {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recognised => "recognised",
            Outcome::ConfirmationRequired => "confirmation-required",
            Outcome::NotRecognised => "not-recognised",
        }
    }

    /// Label in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            Outcome::Recognised => "互认",
            Outcome::ConfirmationRequired => "需本地确认",
            Outcome::NotRecognised => "不予互认",
        }
    }
}

/// What a rule matches. Absent lists do not restrict; present lists must contain the
/// credential's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleMatch {
    /// Credential types (required, at least one).
    pub types: Vec<CredentialType>,
    /// Issuing members (the credential's region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// Classes of the issuing member (e.g. `provincial-hr-authority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_classes: Option<Vec<MemberClass>>,
    /// Levels: title/skill/qualification `level`, service card `cardClass`, 金凤凰 `tier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// 金凤凰 categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Title series (工程, 卫生, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<String>>,
    /// Professional qualifications (一级注册建造师, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifications: Option<Vec<String>>,
    /// Conferred on or after this date (the subject's `conferredOn`, else `validFrom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conferred_from: Option<NaiveDate>,
    /// Conferred before this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conferred_before: Option<NaiveDate>,
}

/// The equivalent in the applying region. `{field}` in the labels is replaced by that field
/// of the credential's subject (e.g. `{titleName}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Equivalent {
    /// In Chinese, e.g. `{titleName}（{level}）`.
    pub label_zh: String,
    /// In English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
}

/// One rule of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Unique within the agreement.
    pub id: String,
    /// What the rule is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What it matches.
    #[serde(rename = "match")]
    pub matches: RuleMatch,
    /// What follows (default `recognised`).
    #[serde(default = "recognised")]
    pub outcome: Outcome,
    /// The equivalent in the applying region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<Equivalent>,
    /// What recognition grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    /// Conditions that remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// Higher wins among matching rules (default 0).
    #[serde(default)]
    pub precedence: i32,
}

fn recognised() -> Outcome {
    Outcome::Recognised
}

/// The document an agreement rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Basis {
    /// Title or number of the document.
    pub document: String,
    /// Its date.
    pub date: NaiveDate,
    /// Where to read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A recognition agreement as logged by a region's authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The agreement credential's id.
    pub id: CredentialId,
    /// Its name (e.g. 川渝职称互认（高级）).
    pub name: String,
    /// The region that applies it.
    pub region: String,
    /// Start.
    pub valid_from: DateTime<Utc>,
    /// End, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// Agreements of the same region it replaces from its start.
    pub supersedes: Vec<CredentialId>,
    /// Example data, not a confirmed policy: the real mapping was not confirmed from a
    /// published source, so it is shown as such and kept replaceable.
    pub illustrative: bool,
    /// The document it rests on.
    pub basis: Basis,
    /// Its rules.
    pub rules: Vec<Rule>,
}

impl Agreement {
    /// Reads a `RecognitionAgreementCredential` (schema-valid).
    ///
    /// # Errors
    /// [`AgreementError`].
    pub fn from_credential(document: &Value) -> Result<Agreement, AgreementError> {
        let credential = CredentialView::of(document);
        if credential.credential_type() != Some(CredentialType::RecognitionAgreementCredential) {
            return Err(AgreementError::WrongType);
        }
        let malformed = |what: &str| AgreementError::Malformed(what.to_owned());
        let subject = credential.subject();
        let time = |value: &Value, what: &str| {
            value
                .as_str()
                .and_then(parse_datetime)
                .ok_or_else(|| malformed(what))
        };
        let rules: Vec<Rule> = serde_json::from_value(subject["rules"].clone())
            .map_err(|error| AgreementError::Malformed(format!("rules: {error}")))?;
        if rules.is_empty() {
            return Err(malformed("rules (none)"));
        }
        for (position, rule) in rules.iter().enumerate() {
            if rule.matches.types.is_empty() {
                return Err(AgreementError::Malformed(format!(
                    "rule {}: match.types is empty",
                    rule.id
                )));
            }
            if rules[..position].iter().any(|other| other.id == rule.id) {
                return Err(AgreementError::Malformed(format!(
                    "rule id {} twice",
                    rule.id
                )));
            }
        }
        let supersedes = match subject.get("supersedes") {
            None => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|id| id.as_str().and_then(|id| id.parse().ok()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("credentialSubject.supersedes"))?,
            Some(_) => return Err(malformed("credentialSubject.supersedes")),
        };
        Ok(Agreement {
            id: document["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| malformed("id"))?,
            name: subject["name"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| malformed("credentialSubject.name"))?,
            region: subject["region"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| malformed("credentialSubject.region"))?,
            valid_from: time(&document["validFrom"], "validFrom")?,
            valid_until: match document.get("validUntil") {
                None => None,
                Some(value) => Some(time(value, "validUntil")?),
            },
            supersedes,
            illustrative: subject["illustrative"].as_bool().unwrap_or(false),
            basis: serde_json::from_value(subject["basis"].clone())
                .map_err(|error| AgreementError::Malformed(format!("basis: {error}")))?,
            rules,
        })
    }
}
