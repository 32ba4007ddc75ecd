//! The checks of a verdict, each judged on its own so that a tampered credential reports
//! exactly which check failed.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::credential::{CredentialView, check_namespace, format_datetime, parse_datetime};
use crate::issuers::{IssuerRegistry, When};
use crate::schema::{SchemaKind, SchemaSet};
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, VerifiedProof};

use super::memo::CheckpointMemo;
use super::options::{LogEvidence, StatusFact};
use super::report::{Check, CheckName, CredentialSummary, LogStatus};

pub(super) fn check_schema(
    document: &Value,
    summary: &CredentialSummary,
    schemas: &SchemaSet,
) -> Check {
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

pub(super) fn check_proof(result: &Result<VerifiedProof, proof::ProofError>) -> Check {
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
pub(super) fn check_issuer(
    credential: &CredentialView<'_>,
    proof_result: &Result<VerifiedProof, proof::ProofError>,
) -> Check {
    let Some(issuer) = credential.issuer() else {
        return Check::fail(CheckName::Issuer, "issuer is missing or not a string");
    };
    // The usual case without decoding the issuer's key a second time: a did:key equals the
    // controller exactly when it is the same `did:key:<multikey>` text (parsing it would give
    // the same multikey and the same key).
    if let Ok(verified) = proof_result
        && issuer
            .strip_prefix(talent_integrity::did::DID_KEY_PREFIX)
            .is_some_and(|multikey| multikey == verified.controller.multikey())
    {
        return Check::pass(CheckName::Issuer, format!("signed by the issuer {issuer}"));
    }
    let issuer_did: DidKey = match issuer.parse() {
        Ok(did) => did,
        Err(error) => {
            return Check::fail(CheckName::Issuer, format!("issuer {issuer:?}: {error}"));
        }
    };
    let controller = match proof_result {
        Ok(verified) => verified.controller.clone(),
        Err(_) => {
            let method = credential.document()["proof"]["verificationMethod"].as_str();
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
/// `validFrom` for a proof without one), at its place in the log when known, and whether
/// the credential names the context and schema where its member's credentials do.
pub(super) fn check_authority(
    credential: &CredentialView<'_>,
    proof_result: &Result<VerifiedProof, proof::ProofError>,
    registry: &IssuerRegistry,
    position: Option<u64>,
) -> Check {
    let Ok(verified) = proof_result else {
        return Check::skip(CheckName::Authority, "the proof did not verify");
    };
    let signed = credential.signed().or_else(|| credential.valid_from());
    let Some(signed) = signed else {
        return Check::fail(
            CheckName::Authority,
            "neither proof.created nor validFrom says when it was signed",
        );
    };
    let when = When {
        position,
        signed,
        admitted: None,
    };
    match registry.authorise_view(credential, &verified.controller, when) {
        Ok(authorisation) => {
            match check_namespace(credential, registry.member(), registry.namespaces()) {
                Ok(()) => Check::pass(CheckName::Authority, authorisation.describe()),
                Err(foreign) => Check::fail(
                    CheckName::Authority,
                    format!("{foreign} (foreign_namespace)"),
                ),
            }
        }
        Err(error) => Check::fail(
            CheckName::Authority,
            format!("{} ({})", error, error.code()),
        ),
    }
}

pub(super) fn check_status(fact: &StatusFact, now: DateTime<Utc>) -> Check {
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

pub(super) fn check_inclusion(
    canonical: &[u8],
    evidence: &LogEvidence<'_>,
    now: DateTime<Utc>,
    memo: &mut CheckpointMemo,
) -> (Check, Option<LogStatus>) {
    let log = &evidence.log;
    let checkpoint = match memo.open(evidence.checkpoint, log.origin, log.vkey, log.sm2_vkey) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            return (
                Check::fail(CheckName::Inclusion, format!("checkpoint: {error}")),
                None,
            );
        }
    };
    let cosigners = match memo.cosigners(evidence.checkpoint, evidence.cosigners) {
        Ok(found) => found,
        Err(error) => {
            return (
                Check::fail(CheckName::Inclusion, format!("cosignatures: {error}")),
                None,
            );
        }
    };
    let status = LogStatus {
        origin: evidence.log.origin.to_owned(),
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
    if let Err(error) = proof.verify(canonical, checkpoint.root()) {
        let detail = format!(
            "not entry {} of {}: {error}",
            proof.leaf_index, evidence.log.origin
        );
        return (Check::fail(CheckName::Inclusion, detail), Some(status));
    }
    let mut detail = format!(
        "entry {} of {} (checkpoint size {}, signed by the log key",
        proof.leaf_index,
        evidence.log.origin,
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
                format!(
                    "{detail}: not yet witnessed by a quorum ({} of the {} cosignatures required)",
                    status.cosigners.len(),
                    evidence.quorum
                ),
            ),
            Some(status),
        );
    }
    (Check::pass(CheckName::Inclusion, detail), Some(status))
}

pub(super) fn check_validity(document: &Value, now: DateTime<Utc>) -> Check {
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
