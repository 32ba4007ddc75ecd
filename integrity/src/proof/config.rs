//! The proof configuration, which every cryptosuite handles alike: making one for a new
//! proof, checking a proof's members, cutting a proof out of canonical text, and putting
//! a proof's canonical bytes into the document's.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Cryptosuite, PROOF_TYPE, ProofError, ProofOptions, SuiteSignature, VerifiedProof};
use crate::did::KeyCache;
use crate::jcs::MemberSpan;
use crate::multibase;

/// The proof configuration of a new `suite` proof of `document` by `verification_method`:
/// the proof without its `proofValue`.
pub(super) fn proof_config(
    document: &Map<String, Value>,
    suite: Cryptosuite,
    verification_method: &str,
    options: &ProofOptions,
) -> Value {
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), suite.as_str().into());
    config.insert("created".into(), options.created.clone().into());
    config.insert("verificationMethod".into(), verification_method.into());
    config.insert("proofPurpose".into(), options.proof_purpose.into());
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Value::Object(config)
}

/// `JCS(document with proof)`, from `document_bytes` = `JCS(document)` (whose members are
/// `spans`, of which `before` sort before `proof`) and `proof_bytes` = `JCS(proof)`: the
/// proof member goes after every member whose name sorts before it (RFC 8785 order).
pub(super) fn insert_proof_member(
    document_bytes: &[u8],
    spans: &[MemberSpan],
    before: usize,
    proof_bytes: &[u8],
) -> Vec<u8> {
    let mut canonical = Vec::with_capacity(document_bytes.len() + proof_bytes.len() + 10);
    let at = match before {
        0 => 1,
        count => spans[count - 1].value.end,
    };
    canonical.extend_from_slice(&document_bytes[..at]);
    if before > 0 {
        canonical.push(b',');
    }
    canonical.extend_from_slice(b"\"proof\":");
    canonical.extend_from_slice(proof_bytes);
    if before == 0 && !spans.is_empty() {
        canonical.push(b',');
    }
    canonical.extend_from_slice(&document_bytes[at..]);
    canonical
}

/// The proof members [`check_members`] reads: `None` for one that is missing or not a
/// string (`created` keeps a non-string, written as JSON, for its error).
pub(super) struct ProofMembers<'a> {
    pub(super) proof_type: Option<&'a str>,
    pub(super) cryptosuite: Option<&'a str>,
    pub(super) purpose: Option<&'a str>,
    pub(super) created: Option<Result<&'a str, String>>,
    pub(super) verification_method: Option<&'a str>,
    pub(super) proof_value: Option<&'a str>,
}

impl<'a> ProofMembers<'a> {
    /// The members of the parsed `proof` object.
    pub(super) fn of(proof: &'a Map<String, Value>) -> ProofMembers<'a> {
        let text = |name: &'static str| proof.get(name).and_then(Value::as_str);
        ProofMembers {
            proof_type: text("type"),
            cryptosuite: text("cryptosuite"),
            purpose: text("proofPurpose"),
            created: proof.get("created").map(|created| match created {
                Value::String(created) => Ok(created.as_str()),
                other => Err(other.to_string()),
            }),
            verification_method: text("verificationMethod"),
            proof_value: text("proofValue"),
        }
    }
}

/// A JSON object's members.
type Object = Map<String, Value>;

/// A secured document as an object, and its `proof`, which must be a single object.
///
/// # Errors
/// [`ProofError::NotAnObject`], [`ProofError::MissingProof`].
pub(super) fn document_and_proof(secured: &Value) -> Result<(&Object, &Object), ProofError> {
    let document = secured.as_object().ok_or(ProofError::NotAnObject)?;
    let proof = document
        .get("proof")
        .and_then(Value::as_object)
        .ok_or(ProofError::MissingProof)?;
    Ok((document, proof))
}

/// The checks of a proof's own members, in the order their errors are reported: type,
/// cryptosuite, purpose, created, verification method, the method's key kind against the
/// cryptosuite, proof value. Every way of preparing a proof ([`super::prepare_with`],
/// [`super::prepare_canonical`], and `eddsa-rdfc-2022`'s) makes them here.
/// `suite_named` tells which `cryptosuite` values the caller accepts
/// ([`Cryptosuite::from_name`] for the JCS suites).
pub(super) fn check_members(
    members: &ProofMembers<'_>,
    expected_purpose: &'static str,
    keys: &mut KeyCache,
    suite_named: fn(&str) -> Option<Cryptosuite>,
) -> Result<(VerifiedProof, SuiteSignature), ProofError> {
    let proof_type = members
        .proof_type
        .ok_or(ProofError::MissingProperty("type"))?;
    if proof_type != PROOF_TYPE {
        return Err(ProofError::WrongProofType(proof_type.to_owned()));
    }
    let suite_name = members
        .cryptosuite
        .ok_or(ProofError::MissingProperty("cryptosuite"))?;
    let cryptosuite = suite_named(suite_name)
        .ok_or_else(|| ProofError::UnsupportedCryptosuite(suite_name.to_owned()))?;
    let purpose = members
        .purpose
        .ok_or(ProofError::MissingProperty("proofPurpose"))?;
    if purpose != expected_purpose {
        return Err(ProofError::WrongProofPurpose {
            found: purpose.to_owned(),
            expected: expected_purpose,
        });
    }
    let created = match &members.created {
        None => None,
        Some(Ok(created)) if chrono::DateTime::parse_from_rfc3339(created).is_ok() => {
            Some((*created).to_owned())
        }
        Some(Ok(created)) => {
            return Err(ProofError::InvalidCreated(
                Value::from(*created).to_string(),
            ));
        }
        Some(Err(other)) => return Err(ProofError::InvalidCreated(other.clone())),
    };
    let verification_method = members
        .verification_method
        .ok_or(ProofError::MissingProperty("verificationMethod"))?;
    let controller = keys.controller(verification_method)?;
    if controller.kind() != cryptosuite.key_kind() {
        return Err(ProofError::KeySuiteMismatch {
            cryptosuite,
            key: controller.kind(),
        });
    }
    let proof_value = members
        .proof_value
        .ok_or(ProofError::MissingProperty("proofValue"))?;
    let signature_bytes =
        multibase::decode_signature(proof_value).map_err(|error| match error {
            Ok(length) => ProofError::ProofValueLength(length),
            Err(error) => ProofError::ProofValueEncoding(error),
        })?;
    let signature = SuiteSignature::from_bytes(cryptosuite, &signature_bytes)?;
    Ok((
        VerifiedProof {
            controller,
            verification_method: verification_method.to_owned(),
            created,
            cryptosuite,
        },
        signature,
    ))
}

/// A proof's members borrowed from canonical bytes (see [`super::prepare_canonical`]). A
/// member that is not a string without escapes fails to parse, which sends the object to
/// [`super::prepare_with`]. `@context` and `created` are optional, and a `null` one is not a
/// missing one ([`super::prepare_with`] refuses both), so they are kept as written.
#[derive(serde::Deserialize)]
pub(super) struct BorrowedProof<'a> {
    #[serde(rename = "@context", default, borrow, deserialize_with = "present")]
    pub(super) context: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    pub(super) created: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(super) cryptosuite: Option<&'a str>,
    #[serde(rename = "proofPurpose", borrow)]
    pub(super) purpose: Option<&'a str>,
    #[serde(rename = "proofValue", borrow)]
    pub(super) proof_value: Option<&'a str>,
    #[serde(rename = "type", borrow)]
    pub(super) proof_type: Option<&'a str>,
    #[serde(rename = "verificationMethod", borrow)]
    pub(super) verification_method: Option<&'a str>,
}

/// An optional member that is present, whatever its value (`null` included, which serde
/// would otherwise read as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// The canonical object text `object` without its member `"name":value`, as the text
/// before and after it, where `value` is the member's value (borrowed from `object`, so its
/// place is known) and `quoted` is 1 when `value` is the inside of a string. `None` when
/// `value` is not where such a member's value would be.
pub(super) fn cut_member<'t>(
    object: &'t str,
    name: &str,
    value: &str,
    quoted: usize,
) -> Option<[&'t [u8]; 2]> {
    let bytes = object.as_bytes();
    let value_at = (value.as_ptr() as usize).checked_sub(object.as_ptr() as usize)?;
    let value_end = value_at.checked_add(value.len() + quoted)?;
    let name_at = value_at.checked_sub(name.len() + 3 + quoted)?;
    // `"name":` then the value (with its opening quote for a string).
    let head = bytes.get(name_at..value_at)?;
    if head.first() != Some(&b'"')
        || head.get(1..=name.len()) != Some(name.as_bytes())
        || head.get(name.len() + 1..name.len() + 3) != Some(b"\":".as_slice())
        || (quoted == 1 && head.last() != Some(&b'"'))
        || (quoted == 1 && bytes.get(value_end - 1) != Some(&b'"'))
    {
        return None;
    }
    // Members are separated by commas: take the one before the member, or else the one
    // after it.
    let (cut_from, cut_to) = match (bytes.get(name_at.checked_sub(1)?), bytes.get(value_end)) {
        (Some(b','), _) => (name_at - 1, value_end),
        (Some(b'{'), Some(b',')) => (name_at, value_end + 1),
        (Some(b'{'), Some(b'}')) => (name_at, value_end),
        _ => return None,
    };
    Some([&bytes[..cut_from], bytes.get(cut_to..)?])
}

/// Whether every value of the proof's `@context` starts the document's `@context`, in order.
pub(super) fn context_is_prefix(proof_context: &Value, document_context: Option<&Value>) -> bool {
    let as_list = |value: &Value| match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let Some(document_context) = document_context else {
        return false;
    };
    let proof_items = as_list(proof_context);
    let document_items = as_list(document_context);
    proof_items.len() <= document_items.len()
        && proof_items.iter().zip(&document_items).all(|(a, b)| a == b)
}
