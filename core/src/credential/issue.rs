//! How an issuance request becomes an unsigned credential: the request read once, the
//! resident ID number checked and masked, the issuing member's defaults filled in.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::identifiers::{
    CertificateNumber, CredentialId, IdentifierError, MaskedIdNumber, RegionId, ResidentIdNumber,
};
use talent_integrity::did::DidKey;

use super::namespace::Namespace;
use super::time::{format_datetime, parse_datetime};
use super::types::{CredentialType, VC_CONTEXT_V2, VERIFIABLE_CREDENTIAL};

/// Why an issuance request cannot become a credential (beyond its JSON Schema).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The request is not the shape the issue-request schema describes.
    #[error("request field `{0}` is missing or has the wrong type")]
    Malformed(&'static str),
    /// An identifier inside the request is invalid.
    #[error("{field}: {source}")]
    Identifier {
        /// The request field holding it.
        field: &'static str,
        /// What is wrong with it.
        source: IdentifierError,
    },
    /// A date-time is not RFC 3339.
    #[error("{0} is not an RFC 3339 date-time")]
    InvalidDateTime(&'static str),
    /// `validUntil` is not after `validFrom`.
    #[error("validUntil must be after validFrom")]
    EmptyValidityWindow,
    /// The subject names a region other than the issuing member's.
    #[error("credentialSubject.region {requested} is not the issuing member's region {member}")]
    RegionMismatch {
        /// Region in the request.
        requested: String,
        /// The issuing member.
        member: String,
    },
}

/// An issuance request after its schema was checked: `POST /api/v1/credentials`.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// The credential type to issue.
    pub credential_type: CredentialType,
    /// The subject as submitted (may hold a full `idNumber`, masked in [`prepare`]).
    pub subject: Map<String, Value>,
    /// Start of validity; the issuance time when absent.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// National e-licence number, if the certificate has one.
    pub certificate_number: Option<CertificateNumber>,
}

impl IssueRequest {
    /// Reads a request body that already passed the issue-request schema.
    ///
    /// # Errors
    /// [`CredentialError::Malformed`], [`CredentialError::InvalidDateTime`] or
    /// [`CredentialError::Identifier`] for a bad certificate number.
    pub fn from_json(body: &Value) -> Result<IssueRequest, CredentialError> {
        let credential_type = body
            .get("type")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .ok_or(CredentialError::Malformed("type"))?;
        let subject = body
            .get("credentialSubject")
            .and_then(Value::as_object)
            .cloned()
            .ok_or(CredentialError::Malformed("credentialSubject"))?;
        let date = |name: &'static str| -> Result<Option<DateTime<Utc>>, CredentialError> {
            match body.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => parse_datetime(text)
                    .map(Some)
                    .ok_or(CredentialError::InvalidDateTime(name)),
                Some(_) => Err(CredentialError::Malformed(name)),
            }
        };
        let certificate_number = match body.get("certificateNumber") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => {
                Some(text.parse().map_err(|source| CredentialError::Identifier {
                    field: "certificateNumber",
                    source,
                })?)
            }
            Some(_) => return Err(CredentialError::Malformed("certificateNumber")),
        };
        Ok(IssueRequest {
            credential_type,
            subject,
            valid_from: date("validFrom")?,
            valid_until: date("validUntil")?,
            certificate_number,
        })
    }

    /// The checks [`prepare`] makes that need no issuer: the identity number's check digit
    /// and a non-empty validity window (when both ends are given). Lets a bulk import
    /// refuse a bad row before anything is issued.
    ///
    /// # Errors
    /// [`CredentialError::Identifier`], [`CredentialError::EmptyValidityWindow`].
    pub fn check(&self) -> Result<(), CredentialError> {
        mask_id_number(&mut self.subject.clone())?;
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until <= from
        {
            return Err(CredentialError::EmptyValidityWindow);
        }
        Ok(())
    }
}

/// An unsigned credential ready for the issuer's proof, and the personal data that stays
/// on the issuing node.
#[derive(Debug, Clone)]
pub struct PreparedCredential {
    /// The credential id.
    pub id: CredentialId,
    /// The credential type.
    pub credential_type: CredentialType,
    /// The unsigned VC document.
    pub document: Value,
    /// The full resident ID number when the request carried one: for the local table only.
    pub resident_id: Option<ResidentIdNumber>,
}

/// Turns a request into an unsigned credential issued by `issuer` for `member`'s region,
/// naming its context and schema under `namespace` (the member node's public URL).
///
/// `id` and `now` are passed in so the result is deterministic.
///
/// # Errors
/// [`CredentialError::Identifier`] for a bad ID number, [`CredentialError::RegionMismatch`],
/// [`CredentialError::EmptyValidityWindow`].
pub fn prepare(
    request: IssueRequest,
    issuer: &DidKey,
    member: &RegionId,
    namespace: &Namespace,
    id: CredentialId,
    now: DateTime<Utc>,
) -> Result<PreparedCredential, CredentialError> {
    let mut subject = request.subject;
    let resident_id = mask_id_number(&mut subject)?;
    match subject.get("region").and_then(Value::as_str) {
        None => {
            subject.insert("region".into(), member.as_str().into());
        }
        Some(region) if region == member.as_str() => {}
        Some(region) => {
            return Err(CredentialError::RegionMismatch {
                requested: region.to_owned(),
                member: member.to_string(),
            });
        }
    }
    let valid_from = request.valid_from.unwrap_or(now);
    if request
        .valid_until
        .is_some_and(|valid_until| valid_until <= valid_from)
    {
        return Err(CredentialError::EmptyValidityWindow);
    }

    let mut document = json!({
        "@context": [VC_CONTEXT_V2, namespace.context_url()],
        "id": id.to_string(),
        "type": [VERIFIABLE_CREDENTIAL, request.credential_type.as_str()],
        "issuer": issuer.to_string(),
        "validFrom": format_datetime(valid_from),
        "credentialSchema": {
            "id": namespace.schema_url(request.credential_type),
            "type": "JsonSchema",
        },
        "credentialSubject": subject,
    });
    if let Some(valid_until) = request.valid_until {
        document["validUntil"] = format_datetime(valid_until).into();
    }
    if let Some(number) = request.certificate_number {
        document["certificateNumber"] = number.as_str().into();
    }
    Ok(PreparedCredential {
        id,
        credential_type: request.credential_type,
        document,
        resident_id,
    })
}

/// Replaces a full `idNumber` with `idNumberMasked`, checking whichever is present.
fn mask_id_number(
    subject: &mut Map<String, Value>,
) -> Result<Option<ResidentIdNumber>, CredentialError> {
    if let Some(full) = subject.remove("idNumber") {
        let full: ResidentIdNumber = full
            .as_str()
            .ok_or(CredentialError::Malformed("credentialSubject.idNumber"))?
            .parse()
            .map_err(|source| CredentialError::Identifier {
                field: "credentialSubject.idNumber",
                source,
            })?;
        subject.insert("idNumberMasked".into(), full.masked().as_str().into());
        return Ok(Some(full));
    }
    if let Some(masked) = subject.get("idNumberMasked") {
        masked
            .as_str()
            .ok_or(CredentialError::Malformed(
                "credentialSubject.idNumberMasked",
            ))?
            .parse::<MaskedIdNumber>()
            .map_err(|source| CredentialError::Identifier {
                field: "credentialSubject.idNumberMasked",
                source,
            })?;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn issuer() -> DidKey {
        DidKey::from_verifying_key(&SigningKey::from_bytes(&[3u8; 32]).verifying_key())
    }

    fn request(subject: Value) -> IssueRequest {
        IssueRequest::from_json(&json!({
            "type": "ProfessionalTitleCredential",
            "credentialSubject": subject,
        }))
        .expect("well-formed request")
    }

    fn now() -> DateTime<Utc> {
        parse_datetime("2026-11-26T03:00:00Z").expect("valid time")
    }

    fn id() -> CredentialId {
        CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("valid id")
    }

    #[test]
    fn masks_full_id_number_and_fills_region() {
        let prepared = prepare(
            request(json!({"name": "李四", "idNumber": "11010519491231002X"})),
            &issuer(),
            &"cq-sc".parse().expect("region"),
            &Namespace::at("https://cq-sc.example"),
            id(),
            now(),
        )
        .expect("prepares");
        let subject = &prepared.document["credentialSubject"];
        assert_eq!(subject["idNumberMasked"], "1101**********002X");
        assert_eq!(subject["region"], "cq-sc");
        assert!(subject.get("idNumber").is_none());
        assert!(!prepared.document.to_string().contains("19491231"));
        assert!(prepared.resident_id.is_some());
        assert_eq!(prepared.document["validFrom"], "2026-11-26T03:00:00Z");
        assert_eq!(
            prepared.document["@context"][1],
            "https://cq-sc.example/ns/v1"
        );
        assert_eq!(
            prepared.document["credentialSchema"]["id"],
            "https://cq-sc.example/schemas/credentials/ProfessionalTitleCredential.json"
        );
    }

    #[test]
    fn rejects_bad_checksum_and_foreign_region() {
        let bad = prepare(
            request(json!({"name": "李四", "idNumber": "110105194912310021"})),
            &issuer(),
            &"cq-sc".parse().expect("region"),
            &Namespace::at("https://cq-sc.example"),
            id(),
            now(),
        );
        assert!(matches!(
            bad,
            Err(CredentialError::Identifier {
                source: IdentifierError::ResidentIdChecksum,
                ..
            })
        ));
        let foreign = prepare(
            request(
                json!({"name": "李四", "idNumberMasked": "1101**********002X", "region": "cd-hz"}),
            ),
            &issuer(),
            &"cq-sc".parse().expect("region"),
            &Namespace::at("https://cq-sc.example"),
            id(),
            now(),
        );
        assert!(matches!(
            foreign,
            Err(CredentialError::RegionMismatch { .. })
        ));
    }

    #[test]
    fn rejects_empty_validity_window() {
        let mut req = request(json!({"name": "李四", "idNumberMasked": "1101**********002X"}));
        req.valid_from = Some(now());
        req.valid_until = Some(now());
        assert_eq!(
            prepare(
                req,
                &issuer(),
                &"cq-sc".parse().expect("region"),
                &Namespace::at("https://cq-sc.example"),
                id(),
                now()
            )
            .err(),
            Some(CredentialError::EmptyValidityWindow)
        );
    }

    #[test]
    fn type_names_round_trip() {
        for t in CredentialType::ALL {
            assert_eq!(t.as_str().parse::<CredentialType>(), Ok(t));
        }
        assert_eq!(
            CredentialType::from_type_array(&json!([
                "VerifiableCredential",
                "SkillLevelCredential"
            ])),
            Some(CredentialType::SkillLevelCredential)
        );
        assert_eq!(
            CredentialType::from_type_array(&json!(["VerifiableCredential", "AlumniCredential"])),
            None
        );
    }
}
