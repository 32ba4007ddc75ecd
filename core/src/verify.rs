//! The verification pipeline: one function that turns a presented credential into a
//! [`Verdict`] with every check named (DESIGN.md §7).
//!
//! The node API, the web console and the `talent-verify` CLI all call [`verify_credential`]
//! and render the same verdict. Checks run independently where they can, so a tampered
//! credential reports exactly which check failed rather than stopping at the first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::credential::{CredentialType, format_datetime, parse_datetime};
use crate::did::DidKey;
use crate::issuers::{IssuerRegistry, When, signing_time};
use crate::jcs;
use crate::proof::{self, ASSERTION_METHOD, VerifiedProof};
use crate::schema::{SchemaKind, SchemaSet};
use crate::tlog::checkpoint;
use crate::tlog::cosignature::{self, CosignerKey};
use crate::tlog::merkle::InclusionProof;

/// The checks a verdict can contain, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum CheckName {
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
    fn pass(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            skipped: false,
        }
    }

    fn fail(name: CheckName, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            skipped: false,
        }
    }

    fn skip(name: CheckName, detail: impl Into<String>) -> Check {
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
    fn of(document: &Value) -> CredentialSummary {
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let subject = &document["credentialSubject"];
        CredentialSummary {
            id: text(&document["id"]),
            credential_type: CredentialType::from_type_array(&document["type"]),
            issuer: text(&document["issuer"]),
            subject_name: text(&subject["name"]),
            region: text(&subject["region"]),
            valid_from: text(&document["validFrom"]),
            valid_until: text(&document["validUntil"]),
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

/// What the pipeline needs besides the document.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// The time to judge validity at.
    pub now: DateTime<Utc>,
    /// Compiled schemas.
    pub schemas: &'a SchemaSet,
    /// Whether and how to check log inclusion.
    pub log: LogContext<'a>,
    /// Whether and how to check the issuer's authority (accreditation, key history).
    pub issuers: IssuerContext<'a>,
    /// The credential's status as its log records it, when the verifier holds the log.
    pub status: Option<StatusFact>,
}

/// A credential's status from its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFact {
    /// The status.
    pub status: crate::status::CredentialStatus,
    /// The leaf index of the change that set it (`None`: no change logged, as issued).
    pub changed_at: Option<u64>,
    /// The log size this is true as of.
    pub as_of_size: u64,
    /// When that log size was the log's newest, if known (a mirror's or a bundle's).
    pub as_of: Option<DateTime<Utc>>,
    /// A status older than this many seconds fails the check.
    pub max_age_seconds: Option<i64>,
    /// Why the status could not be established (evidence that does not verify).
    pub problem: Option<String>,
}

/// What the verifier knows about who may issue into the credential's region.
#[derive(Debug, Clone)]
pub enum IssuerContext<'a> {
    /// Not asked for (a file verified offline without trust data).
    NotRequested,
    /// Asked for, but the region's issuer history is unknown; the reason is reported.
    Missing(String),
    /// The issuer history of the credential's region.
    Registry {
        /// The region's registry.
        registry: &'a IssuerRegistry,
        /// The credential's leaf index in that region's log, when known.
        position: Option<u64>,
    },
}

/// What the verifier knows about the credential's place in its issuer's log.
#[derive(Debug, Clone)]
pub enum LogContext<'a> {
    /// No log check was asked for (a credential file verified offline on its own).
    NotRequested,
    /// A log check was asked for but there is no evidence; the reason is reported.
    Missing(String),
    /// Evidence to check.
    Evidence(LogEvidence<'a>),
}

/// A checkpoint and inclusion proof for the credential, and the log key to trust.
#[derive(Debug, Clone, Copy)]
pub struct LogEvidence<'a> {
    /// The log's origin.
    pub origin: &'a str,
    /// The log's signed-note verifier key.
    pub log_vkey: &'a str,
    /// The signed checkpoint.
    pub checkpoint: &'a [u8],
    /// The credential's inclusion proof under that checkpoint.
    pub proof: &'a InclusionProof,
    /// Trusted witnesses (`cosignature/v1` keys) whose cosignatures count.
    pub cosigners: &'a [CosignerKey],
    /// How many of them must have cosigned the checkpoint (0: report only).
    pub quorum: usize,
    /// When the checkpoint was last confirmed as the log's newest (a mirror's copy).
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Verifies a presented credential.
pub fn verify_credential(document: &Value, options: &VerifyOptions<'_>) -> Verdict {
    let summary = CredentialSummary::of(document);
    let proof_result = proof::verify(document, ASSERTION_METHOD);
    let mut checks = vec![
        check_schema(document, &summary, options.schemas),
        check_proof(&proof_result),
        check_issuer(document, &proof_result),
        check_validity(document, options.now),
    ];
    match &options.issuers {
        IssuerContext::NotRequested => {}
        IssuerContext::Missing(reason) => checks.push(Check::fail(CheckName::Authority, reason)),
        IssuerContext::Registry { registry, position } => {
            checks.push(check_authority(
                document,
                &proof_result,
                registry,
                *position,
            ));
        }
    }
    if let Some(fact) = &options.status {
        checks.push(check_status(fact, options.now));
    }
    let mut log = None;
    match &options.log {
        LogContext::NotRequested => {}
        LogContext::Missing(reason) => checks.push(Check::fail(CheckName::Inclusion, reason)),
        LogContext::Evidence(evidence) => {
            let (check, status) = check_inclusion(document, evidence, options.now);
            checks.push(check);
            log = status;
        }
    }
    Verdict {
        verified: checks.iter().all(|check| check.ok),
        credential: summary,
        checks,
        checked_at: format_datetime(options.now),
        log,
    }
}

fn check_schema(document: &Value, summary: &CredentialSummary, schemas: &SchemaSet) -> Check {
    let Some(credential_type) = summary.credential_type else {
        return Check::fail(
            CheckName::Schema,
            "type does not name exactly one registry credential type",
        );
    };
    match schemas.validate(SchemaKind::Credential(credential_type), document) {
        Ok(()) => Check::pass(
            CheckName::Schema,
            format!("matches the {credential_type} schema"),
        ),
        Err(error) => Check::fail(CheckName::Schema, error.to_string()),
    }
}

fn check_proof(result: &Result<VerifiedProof, proof::ProofError>) -> Check {
    match result {
        Ok(verified) => Check::pass(
            CheckName::Proof,
            format!(
                "{} signature by {}",
                verified.cryptosuite.as_str(),
                verified.verification_method
            ),
        ),
        Err(error) => Check::fail(CheckName::Proof, error.to_string()),
    }
}

/// The issuer must be the did:key that controls the proof's verification method. Judged from
/// the method named in the proof even when the signature failed, so both failures show.
fn check_issuer(
    document: &Value,
    proof_result: &Result<VerifiedProof, proof::ProofError>,
) -> Check {
    let Some(issuer) = document.get("issuer").and_then(Value::as_str) else {
        return Check::fail(CheckName::Issuer, "issuer is missing or not a string");
    };
    let issuer_did: DidKey = match issuer.parse() {
        Ok(did) => did,
        Err(error) => {
            return Check::fail(CheckName::Issuer, format!("issuer {issuer:?}: {error}"));
        }
    };
    let controller = match proof_result {
        Ok(verified) => verified.controller.clone(),
        Err(_) => {
            let method = document["proof"]["verificationMethod"].as_str();
            match method.map(DidKey::from_verification_method) {
                Some(Ok(did)) => did,
                _ => {
                    return Check::skip(
                        CheckName::Issuer,
                        "the proof names no usable verification method",
                    );
                }
            }
        }
    };
    if controller == issuer_did {
        Check::pass(CheckName::Issuer, format!("signed by the issuer {issuer}"))
    } else {
        Check::fail(
            CheckName::Issuer,
            format!("issuer {issuer} is not the controller of the signing key {controller}"),
        )
    }
}

/// Whether the signer could issue the credential when it signed it (`proof.created`, or
/// `validFrom` for a proof without one), at its place in the log when known.
fn check_authority(
    document: &Value,
    proof_result: &Result<VerifiedProof, proof::ProofError>,
    registry: &IssuerRegistry,
    position: Option<u64>,
) -> Check {
    let Ok(verified) = proof_result else {
        return Check::skip(CheckName::Authority, "the proof did not verify");
    };
    let signed = signing_time(document).or_else(|| {
        document["validFrom"]
            .as_str()
            .and_then(crate::credential::parse_datetime)
    });
    let Some(signed) = signed else {
        return Check::fail(
            CheckName::Authority,
            "neither proof.created nor validFrom says when it was signed",
        );
    };
    match registry.authorise_credential(document, &verified.controller, When { position, signed }) {
        Ok(authorisation) => Check::pass(CheckName::Authority, authorisation.describe()),
        Err(error) => Check::fail(
            CheckName::Authority,
            format!("{} ({})", error, error.code()),
        ),
    }
}

fn check_status(fact: &StatusFact, now: DateTime<Utc>) -> Check {
    if let Some(problem) = &fact.problem {
        return Check::fail(CheckName::Status, format!("status unknown: {problem}"));
    }
    let status = fact.status;
    let mut detail = match fact.changed_at {
        Some(index) => format!(
            "{} {} ({}), set by entry {index}; as of log size {}",
            status.code(),
            status.label_zh(),
            status.label_en(),
            fact.as_of_size
        ),
        None => format!(
            "{} {} ({}): no status change logged as of log size {}",
            status.code(),
            status.label_zh(),
            status.label_en(),
            fact.as_of_size
        ),
    };
    let age = fact.as_of.map(|at| (now - at).num_seconds().max(0));
    if let (Some(at), Some(age)) = (fact.as_of, age) {
        detail.push_str(&format!(" ({}, {age} s ago)", format_datetime(at)));
    }
    if let (Some(age), Some(max)) = (age, fact.max_age_seconds)
        && age > max
    {
        return Check::fail(
            CheckName::Status,
            format!("{detail}: older than the {max} s allowed"),
        );
    }
    if status.is_valid() {
        Check::pass(CheckName::Status, detail)
    } else {
        Check::fail(CheckName::Status, detail)
    }
}

fn check_inclusion(
    document: &Value,
    evidence: &LogEvidence<'_>,
    now: DateTime<Utc>,
) -> (Check, Option<LogStatus>) {
    let checkpoint = match checkpoint::open_checkpoint(
        evidence.checkpoint,
        evidence.origin,
        evidence.log_vkey,
    ) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            return (
                Check::fail(CheckName::Inclusion, format!("checkpoint: {error}")),
                None,
            );
        }
    };
    let cosigners = match cosignature::verify_cosignatures(evidence.checkpoint, evidence.cosigners)
    {
        Ok(found) => found.into_iter().map(|found| found.name).collect(),
        Err(error) => {
            return (
                Check::fail(CheckName::Inclusion, format!("cosignatures: {error}")),
                None,
            );
        }
    };
    let status = LogStatus {
        origin: evidence.origin.to_owned(),
        tree_size: checkpoint.size(),
        cosigners,
        quorum: evidence.quorum,
        confirmed_at: evidence.confirmed_at.map(format_datetime),
        age_seconds: evidence
            .confirmed_at
            .map(|at| (now - at).num_seconds().max(0)),
    };
    let proof = evidence.proof;
    if proof.tree_size != checkpoint.size() {
        let detail = format!(
            "the proof is for tree size {} but the checkpoint is of size {}",
            proof.tree_size,
            checkpoint.size()
        );
        return (Check::fail(CheckName::Inclusion, detail), Some(status));
    }
    if let Err(error) = proof.verify(&jcs::canonicalize(document), checkpoint.root()) {
        let detail = format!(
            "not entry {} of {}: {error}",
            proof.leaf_index, evidence.origin
        );
        return (Check::fail(CheckName::Inclusion, detail), Some(status));
    }
    let mut detail = format!(
        "entry {} of {} (checkpoint size {}, signed by the log key",
        proof.leaf_index,
        evidence.origin,
        checkpoint.size()
    );
    if !evidence.cosigners.is_empty() {
        detail.push_str(&format!(
            "; cosigned by {} of {} required: {}",
            status.cosigners.len(),
            evidence.quorum,
            if status.cosigners.is_empty() {
                "none".to_owned()
            } else {
                status.cosigners.join(", ")
            }
        ));
    }
    if let Some(age) = status.age_seconds {
        detail.push_str(&format!("; mirrored copy confirmed {age} s ago"));
    }
    detail.push(')');
    if status.cosigners.len() < evidence.quorum {
        return (
            Check::fail(
                CheckName::Inclusion,
                format!("{detail}: fewer cosignatures than the quorum"),
            ),
            Some(status),
        );
    }
    (Check::pass(CheckName::Inclusion, detail), Some(status))
}

fn check_validity(document: &Value, now: DateTime<Utc>) -> Check {
    let read = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        match document.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => parse_datetime(text)
                .map(Some)
                .ok_or_else(|| format!("{name} {text:?} is not a date-time")),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    let (valid_from, valid_until) = match (read("validFrom"), read("validUntil")) {
        (Ok(from), Ok(until)) => (from, until),
        (Err(error), _) | (_, Err(error)) => return Check::fail(CheckName::Validity, error),
    };
    let Some(valid_from) = valid_from else {
        return Check::fail(CheckName::Validity, "validFrom is missing");
    };
    if now < valid_from {
        return Check::fail(
            CheckName::Validity,
            format!("not valid before {}", format_datetime(valid_from)),
        );
    }
    match valid_until {
        Some(until) if now >= until => Check::fail(
            CheckName::Validity,
            format!("expired at {}", format_datetime(until)),
        ),
        Some(until) => Check::pass(
            CheckName::Validity,
            format!(
                "valid from {} until {}",
                format_datetime(valid_from),
                format_datetime(until)
            ),
        ),
        None => Check::pass(
            CheckName::Validity,
            format!("valid from {}, no end date", format_datetime(valid_from)),
        ),
    }
}
