//! A verdict and its parts: each named check with its outcome, what the credential claims
//! to be, and the checkpoint the inclusion check relied on.

use serde::{Deserialize, Serialize};

use crate::credential::{CredentialType, CredentialView};

/// The checks a verdict can contain, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CheckName {
    /// The document follows the W3C VC Data Model's rules (the general verifier's first
    /// check; registry credentials are held to their JSON Schema instead).
    DataModel,
    /// The document matches its type's JSON Schema.
    Schema,
    /// The `eddsa-jcs-2022` proof verifies.
    Proof,
    /// `issuer` is a did:key and is the controller of the proof's verification method.
    Issuer,
    /// The current time is inside `validFrom`..`validUntil`.
    Validity,
    /// The issuer was allowed to issue it when it signed: the member's authority (with a key
    /// valid then) or a delegated issuer inside an accreditation's scope and window.
    Authority,
    /// The credential is an entry of its issuer's log, under a checkpoint signed by the log
    /// key.
    Inclusion,
    /// No logged status change took it out of 01 (valid).
    Status,
}

impl CheckName {
    /// Machine name, as in the JSON verdict.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::DataModel => "dataModel",
            CheckName::Schema => "schema",
            CheckName::Proof => "proof",
            CheckName::Issuer => "issuer",
            CheckName::Validity => "validity",
            CheckName::Authority => "authority",
            CheckName::Inclusion => "inclusion",
            CheckName::Status => "status",
        }
    }

    /// Chinese label for reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            CheckName::DataModel => "数据模型",
            CheckName::Schema => "数据格式",
            CheckName::Proof => "数字签名",
            CheckName::Issuer => "签发机构",
            CheckName::Validity => "有效期",
            CheckName::Authority => "签发授权",
            CheckName::Inclusion => "透明日志",
            CheckName::Status => "状态",
        }
    }

    /// English label for reports.
    pub fn label_en(self) -> &'static str {
        match self {
            CheckName::DataModel => "Data model",
            CheckName::Schema => "Schema",
            CheckName::Proof => "Signature",
            CheckName::Issuer => "Issuer",
            CheckName::Validity => "Validity period",
            CheckName::Authority => "Issuing authority",
            CheckName::Inclusion => "Log inclusion",
            CheckName::Status => "Status",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which check.
    pub name: CheckName,
    /// Whether it passed. A skipped check is not ok.
    pub ok: bool,
    /// Why it passed or failed, in English, naming values where useful.
    pub detail: String,
    /// True when an earlier failure made the check impossible to run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

impl Check {
    /// A check that passed.
    pub fn pass(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            skipped: false,
        }
    }

    /// A check that failed.
    pub fn fail(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            skipped: false,
        }
    }

    /// A check an earlier failure made impossible to run (not ok).
    pub fn skip(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            skipped: true,
        }
    }
}

/// What the verdict is about, read from the document (not trusted unless `verified`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSummary {
    /// `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The registry type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<CredentialType>,
    /// `issuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `credentialSubject.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name: Option<String>,
    /// `credentialSubject.region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `validFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// `validUntil`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

impl CredentialSummary {
    pub(super) fn of(credential: &CredentialView<'_>) -> CredentialSummary {
        let text = |value: Option<&str>| value.map(str::to_owned);
        CredentialSummary {
            id: text(credential.id_text()),
            credential_type: credential.credential_type(),
            issuer: text(credential.issuer()),
            subject_name: text(credential.subject_text("name")),
            region: text(credential.region()),
            valid_from: text(credential.valid_from_value().as_str()),
            valid_until: text(credential.valid_until_value().as_str()),
        }
    }
}

/// The answer to "is this credential valid?", with every check named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// True when every check passed.
    pub verified: bool,
    /// What the credential claims to be.
    pub credential: CredentialSummary,
    /// Each check, in pipeline order.
    pub checks: Vec<Check>,
    /// The time the verdict was reached at.
    pub checked_at: String,
    /// The log checkpoint the inclusion check relied on, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogStatus>,
}

/// The checkpoint a verdict relied on: whose, how large, who cosigned it, how fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStatus {
    /// The log's origin.
    pub origin: String,
    /// Tree size of the checkpoint.
    pub tree_size: u64,
    /// Names of the trusted witnesses whose cosignatures on it verified.
    pub cosigners: Vec<String>,
    /// Cosignatures required (0: none required).
    pub quorum: usize,
    /// When the holder of the checkpoint last saw it as the log's newest (RFC 3339), for a
    /// mirrored checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<String>,
    /// Seconds between `confirmedAt` and the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

impl Verdict {
    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|check| !check.ok)
    }

    /// The check of the given name.
    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|check| check.name == name)
    }
}
