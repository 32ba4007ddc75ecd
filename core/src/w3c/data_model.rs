//! The W3C Verifiable Credentials Data Model 2.0 (and 1.1 where it differs) as JSON: the
//! structural rules a conforming issuer and verifier check on any credential or
//! presentation, whatever its types.
//!
//! These are the rules that can be checked on the JSON alone. Whether every term is defined
//! by the document's contexts is a JSON-LD question, answered where the contexts are
//! expanded (the `eddsa-rdfc-2022` cryptosuite), not here.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use talent_integrity::resource::{self, DigestError, HeldResources};
use thiserror::Error;

/// The base context of VC Data Model 2.0.
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The base context of VC Data Model 1.1.
pub const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";

/// Which version of the data model a document follows, from its first context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `https://www.w3.org/2018/credentials/v1`.
    V1_1,
    /// `https://www.w3.org/ns/credentials/v2`.
    V2_0,
}

/// A data-model rule a document breaks. The `path` names the property (`issuer.id`,
/// `credentialStatus[1].type`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DataModelError {
    /// The document is not a JSON object.
    #[error("the document is not a JSON object")]
    NotAnObject,
    /// A required property is missing.
    #[error("`{0}` is required")]
    Missing(String),
    /// `@context` does not begin with a base context of the data model.
    #[error("`@context` must begin with {CREDENTIALS_V2:?} (or {CREDENTIALS_V1:?})")]
    BaseContext,
    /// An item of `@context` after the first is neither a URL nor an object.
    #[error("`{0}` must be a URL or a context object")]
    ContextItem(String),
    /// `type` does not include the type the document must have.
    #[error("`type` must include {0:?}")]
    RequiredType(&'static str),
    /// A `type` value is not a string or a non-empty set of strings.
    #[error("`{0}` must be a term or a URL, or a non-empty set of them")]
    Type(String),
    /// A value that must be one URL is not.
    #[error("`{0}` must be a single URL")]
    NotUrl(String),
    /// A value that must be an object (or a set of objects) is not.
    #[error("`{0}` must be an object or a non-empty set of objects")]
    NotObjects(String),
    /// A credential subject carries no claim.
    #[error("`{0}` must carry at least one claim")]
    EmptySubject(String),
    /// A date-time is not an XML Schema `dateTimeStamp` (with its time zone).
    #[error("`{0}` must be an XML Schema dateTimeStamp, e.g. 2026-12-07T08:00:00Z")]
    DateTime(String),
    /// `validFrom` is after `validUntil`.
    #[error("`validFrom` is after `validUntil`")]
    ValidityOrder,
    /// A `name` or `description` is neither a string nor a language value.
    #[error("`{0}` must be a string or language value objects")]
    LanguageValue(String),
    /// A `relatedResource` breaks its rules (unique ids, a digest each).
    #[error("`{0}`: {1}")]
    RelatedResource(String, &'static str),
    /// A digest of a `relatedResource` whose bytes are held is not theirs, or not a digest.
    #[error("`{0}`: {1}")]
    RelatedDigest(String, DigestError),
    /// An enveloped credential or presentation breaks its rules.
    #[error("`{0}`: {1}")]
    Envelope(String, &'static str),
}

/// Checks a verifiable credential (with or without its proof) against the data model.
///
/// # Errors
/// The first rule broken.
pub fn check_credential(document: &Value) -> Result<Version, DataModelError> {
    let object = document.as_object().ok_or(DataModelError::NotAnObject)?;
    let version = check_context(object, "@context")?;
    check_common(object, "", "VerifiableCredential")?;
    match object.get("issuer") {
        None | Some(Value::Null) => return Err(DataModelError::Missing("issuer".into())),
        Some(issuer) => check_url_or_object_with_id(issuer, "issuer")?,
    }
    if let Some(issuer) = object.get("issuer").and_then(Value::as_object) {
        check_names(issuer, "issuer.")?;
    }
    let subjects = objects(object.get("credentialSubject"), "credentialSubject")?
        .ok_or_else(|| DataModelError::Missing("credentialSubject".into()))?;
    for (index, subject) in subjects.iter().enumerate() {
        let path = format!("credentialSubject[{index}]");
        if subject.is_empty() {
            return Err(DataModelError::EmptySubject(path));
        }
        if let Some(id) = subject.get("id") {
            check_url(id, &format!("{path}.id"))?;
        }
    }
    let valid_from = date_time(object, "validFrom")?;
    let valid_until = date_time(object, "validUntil")?;
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && from > until
    {
        return Err(DataModelError::ValidityOrder);
    }
    if version == Version::V1_1 {
        date_time(object, "issuanceDate")?;
        date_time(object, "expirationDate")?;
    }
    for name in [
        "credentialStatus",
        "termsOfUse",
        "evidence",
        "refreshService",
    ] {
        typed_objects(object, name, false)?;
    }
    typed_objects(object, "credentialSchema", true)?;
    check_related_resources(object)?;
    Ok(version)
}

/// Checks a verifiable presentation against the data model, and each credential it carries
/// (an enveloped one only as an envelope).
///
/// # Errors
/// The first rule broken.
pub fn check_presentation(document: &Value) -> Result<Version, DataModelError> {
    let object = document.as_object().ok_or(DataModelError::NotAnObject)?;
    let version = check_context(object, "@context")?;
    check_common(object, "", "VerifiablePresentation")?;
    if let Some(holder) = object.get("holder") {
        check_url_or_object_with_id(holder, "holder")?;
    }
    if let Some(credentials) = objects(object.get("verifiableCredential"), "verifiableCredential")?
    {
        for (index, credential) in credentials.iter().enumerate() {
            let path = format!("verifiableCredential[{index}]");
            if is_enveloped(credential) {
                check_envelope(credential, &path, "EnvelopedVerifiableCredential")?;
            } else {
                check_credential(&Value::Object((*credential).clone()))?;
            }
        }
    }
    Ok(version)
}

/// Whether an object is an enveloped credential or presentation (its content is in a
/// `data:` URL, secured by the envelope's format).
pub fn is_enveloped(object: &Map<String, Value>) -> bool {
    types(object.get("type")).is_some_and(|types| {
        types.iter().any(|name| {
            name.starts_with("Enveloped") && name.ends_with("Presentation")
                || name.starts_with("Enveloped") && name.ends_with("Credential")
        })
    })
}

fn check_envelope(
    object: &Map<String, Value>,
    path: &str,
    required_type: &'static str,
) -> Result<(), DataModelError> {
    match object.get("@context") {
        Some(_) => {
            check_context(object, &format!("{path}.@context"))?;
        }
        None => return Err(DataModelError::Missing(format!("{path}.@context"))),
    }
    if !types(object.get("type")).is_some_and(|types| types.contains(&required_type)) {
        return Err(DataModelError::Envelope(
            path.into(),
            "type must be the envelope's type",
        ));
    }
    match object.get("id").and_then(Value::as_str) {
        Some(id) if id.starts_with("data:") => Ok(()),
        _ => Err(DataModelError::Envelope(
            path.into(),
            "id must be a data: URL holding the secured document",
        )),
    }
}

/// `@context`: an ordered set beginning with a base context; then URLs or objects.
fn check_context(object: &Map<String, Value>, path: &str) -> Result<Version, DataModelError> {
    let items: Vec<&Value> = match object.get("@context") {
        None => return Err(DataModelError::Missing(path.into())),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::String(_)) => vec![single],
        Some(_) => return Err(DataModelError::BaseContext),
    };
    let version = match items.first().and_then(|first| first.as_str()) {
        Some(CREDENTIALS_V2) => Version::V2_0,
        Some(CREDENTIALS_V1) => Version::V1_1,
        _ => return Err(DataModelError::BaseContext),
    };
    for (index, item) in items.iter().enumerate().skip(1) {
        match item {
            Value::String(url) if is_url(url) => {}
            Value::Object(_) => {}
            _ => return Err(DataModelError::ContextItem(format!("{path}[{index}]"))),
        }
    }
    Ok(version)
}

/// `id`, `type` (with the required type), `name` and `description`, and `proof` types.
fn check_common(
    object: &Map<String, Value>,
    prefix: &str,
    required_type: &'static str,
) -> Result<(), DataModelError> {
    if let Some(id) = object.get("id") {
        check_url(id, &format!("{prefix}id"))?;
    }
    let types = match object.get("type") {
        None => return Err(DataModelError::Missing(format!("{prefix}type"))),
        Some(value) => types(Some(value)).ok_or(DataModelError::Type(format!("{prefix}type")))?,
    };
    if !types.contains(&required_type) {
        return Err(DataModelError::RequiredType(required_type));
    }
    check_names(object, prefix)?;
    typed_objects(object, "proof", false)?;
    Ok(())
}

/// `name` and `description`: strings or language value objects, or sets of them.
fn check_names(object: &Map<String, Value>, prefix: &str) -> Result<(), DataModelError> {
    for name in ["name", "description"] {
        let Some(value) = object.get(name) else {
            continue;
        };
        let language_value = |value: &Value| match value {
            Value::String(_) => true,
            Value::Object(language) => {
                language.get("@value").is_some_and(Value::is_string)
                    && language.iter().all(|(key, value)| match key.as_str() {
                        "@value" | "@language" | "@direction" => value.is_string(),
                        _ => false,
                    })
            }
            _ => false,
        };
        let ok = match value {
            Value::Array(items) => !items.is_empty() && items.iter().all(language_value),
            other => language_value(other),
        };
        if !ok {
            return Err(DataModelError::LanguageValue(format!("{prefix}{name}")));
        }
    }
    Ok(())
}

/// Properties whose values are objects that must each have a `type` (and, for
/// `credentialSchema`, an `id`); an `id` must be one URL.
fn typed_objects(
    object: &Map<String, Value>,
    name: &str,
    id_required: bool,
) -> Result<(), DataModelError> {
    let Some(items) = objects(object.get(name), name)? else {
        return Ok(());
    };
    for (index, item) in items.iter().enumerate() {
        let path = format!("{name}[{index}]");
        match item.get("type") {
            None => return Err(DataModelError::Missing(format!("{path}.type"))),
            Some(value) => {
                types(Some(value)).ok_or(DataModelError::Type(format!("{path}.type")))?;
            }
        }
        match item.get("id") {
            Some(id) => check_url(id, &format!("{path}.id"))?,
            None if id_required => return Err(DataModelError::Missing(format!("{path}.id"))),
            None => {}
        }
    }
    Ok(())
}

/// `relatedResource`: objects with unique URL ids, each with a digest.
fn check_related_resources(object: &Map<String, Value>) -> Result<(), DataModelError> {
    let Some(items) = objects(object.get("relatedResource"), "relatedResource")? else {
        return Ok(());
    };
    let mut seen = std::collections::BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("relatedResource[{index}]");
        let id = item
            .get("id")
            .ok_or_else(|| DataModelError::Missing(format!("{path}.id")))?;
        check_url(id, &format!("{path}.id"))?;
        if !seen.insert(id.as_str().unwrap_or_default()) {
            return Err(DataModelError::RelatedResource(path, "ids must be unique"));
        }
        if !item.contains_key("digestSRI") && !item.contains_key("digestMultibase") {
            return Err(DataModelError::RelatedResource(
                path,
                "needs digestSRI or digestMultibase",
            ));
        }
    }
    Ok(())
}

/// A check of one digest property's value against a resource's bytes.
type DigestCheck = fn(&str, &[u8]) -> Result<(), DigestError>;

/// The digests of each `relatedResource` whose bytes `held` has, checked against those
/// bytes (VC Data Model 2.0 §5.3: a mismatch MUST be an error). A resource not held cannot
/// be checked without fetching it, which is never done: its digests pass unchecked. Run
/// after [`check_credential`], which checks their shape.
///
/// # Errors
/// [`DataModelError::RelatedDigest`], or [`DataModelError::NotObjects`] for a malformed
/// `relatedResource`.
pub fn check_related_digests(document: &Value, held: &HeldResources) -> Result<(), DataModelError> {
    let Some(items) = objects(document.get("relatedResource"), "relatedResource")? else {
        return Ok(());
    };
    for (index, item) in items.iter().enumerate() {
        let Some(bytes) = item
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| held.bytes(id))
        else {
            continue;
        };
        let failed =
            |error| DataModelError::RelatedDigest(format!("relatedResource[{index}]"), error);
        let checks: [(&'static str, DigestCheck); 2] = [
            ("digestSRI", resource::check_sri),
            ("digestMultibase", resource::check_multibase),
        ];
        for (field, check) in checks {
            // One digest, or several (each must hold).
            let values: Vec<&Value> = match item.get(field) {
                None => continue,
                Some(Value::Array(values)) => values.iter().collect(),
                Some(value) => vec![value],
            };
            for value in values {
                let text = value.as_str().ok_or(failed(DigestError::Malformed {
                    field,
                    reason: "it is not a string",
                }))?;
                check(text, bytes).map_err(failed)?;
            }
        }
    }
    Ok(())
}

/// A URL, or an object whose `id` is one.
fn check_url_or_object_with_id(value: &Value, path: &str) -> Result<(), DataModelError> {
    match value {
        Value::Object(object) => match object.get("id") {
            Some(id) => check_url(id, &format!("{path}.id")),
            None => Err(DataModelError::Missing(format!("{path}.id"))),
        },
        other => check_url(other, path),
    }
}

fn check_url(value: &Value, path: &str) -> Result<(), DataModelError> {
    match value.as_str() {
        Some(text) if is_url(text) => Ok(()),
        _ => Err(DataModelError::NotUrl(path.into())),
    }
}

/// An absolute URL as the data model means it: a scheme, a colon, and no white space.
pub fn is_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    scheme_chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.chars().any(char::is_whitespace)
}

/// A `type` value's names: one string, or a non-empty array of strings.
fn types(value: Option<&Value>) -> Option<Vec<&str>> {
    match value? {
        Value::String(name) if !name.is_empty() => Some(vec![name.as_str()]),
        Value::Array(names) if !names.is_empty() => names
            .iter()
            .map(|name| name.as_str().filter(|name| !name.is_empty()))
            .collect(),
        _ => None,
    }
}

/// A property holding an object or a non-empty array of objects; `None` when absent.
fn objects<'a>(
    value: Option<&'a Value>,
    path: &str,
) -> Result<Option<Vec<&'a Map<String, Value>>>, DataModelError> {
    match value {
        None => Ok(None),
        Some(Value::Object(object)) => Ok(Some(vec![object])),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(Value::as_object)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| DataModelError::NotObjects(path.into())),
        Some(_) => Err(DataModelError::NotObjects(path.into())),
    }
}

/// A date-time property, when present: an XML Schema `dateTimeStamp`.
fn date_time(
    object: &Map<String, Value>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, DataModelError> {
    match object.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(parse_date_time_stamp)
            .map(Some)
            .ok_or_else(|| DataModelError::DateTime(name.into())),
    }
}

/// Parses an XML Schema `dateTimeStamp`: RFC 3339 with `T` and a time zone.
pub fn parse_date_time_stamp(text: &str) -> Option<DateTime<Utc>> {
    if text.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn credential() -> Value {
        json!({
            "@context": [CREDENTIALS_V2, "https://example.org/ctx", {"x": "https://x.example/x"}],
            "id": "urn:uuid:1c3b6b4e-0a0c-4a51-9c85-2f0a3f7d8c10",
            "type": ["VerifiableCredential", "ExampleCredential"],
            "issuer": {"id": "did:example:issuer", "name": [{"@value": "办公室", "@language": "zh"}]},
            "validFrom": "2026-01-01T00:00:00.123-06:00",
            "validUntil": "2027-01-01T00:00:00Z",
            "credentialSubject": [{"id": "did:example:subject", "name": "x"}, {"claim": 1}],
            "credentialStatus": {"id": "https://example.org/status#1", "type": "BitstringStatusListEntry"},
            "credentialSchema": [{"id": "https://example.org/schema.json", "type": "JsonSchema"}],
            "relatedResource": [{"id": "https://example.org/a", "digestSRI": "sha384-x"}]
        })
    }

    #[test]
    fn digests_of_held_resources_are_checked_and_others_pass_unchecked() {
        let held = HeldResources::new();
        let with = |resources: Value| {
            let mut document = credential();
            document["relatedResource"] = resources;
            check_related_digests(&document, &held)
        };
        // The W3C data-model suite's digests of the base context (VC Data Model 2.0 §B.1).
        let right = json!([{"id": CREDENTIALS_V2,
            "digestSRI": "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg",
            "digestMultibase": "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"}]);
        assert_eq!(with(right), Ok(()));
        for wrong in [
            json!({"id": CREDENTIALS_V2, "digestMultibase": "uM4RgWQc3RUDtjJCSgTJtTfvpZ7SPEg_LNO0ESlovQC0"}),
            json!({"id": CREDENTIALS_V2,
                "digestSRI": "sha384-_rCVIV7fSXXTNIvpiq26jRDyj8JG8TDjij-tD0ewLk4JpnXEz6a5AeeY_1qQ0d0P"}),
            json!([{"id": "https://example.org/a", "digestSRI": "sha384-x"},
                {"id": CREDENTIALS_V2, "digestSRI": ["sha256-AAAA"]}]),
        ] {
            assert!(
                matches!(with(wrong.clone()), Err(DataModelError::RelatedDigest(..))),
                "{wrong}"
            );
        }
        // A resource not held: its digest cannot be checked without a fetch.
        assert_eq!(
            with(json!({"id": "https://example.org/a", "digestSRI": "sha384-x"})),
            Ok(())
        );
    }

    fn broken(change: impl FnOnce(&mut Value)) -> DataModelError {
        let mut document = credential();
        change(&mut document);
        check_credential(&document).expect_err("the change breaks a rule")
    }

    #[test]
    fn a_conforming_credential_passes() {
        assert_eq!(check_credential(&credential()), Ok(Version::V2_0));
    }

    #[test]
    fn each_rule_refuses_what_it_names() {
        assert_eq!(
            broken(|c| {
                c.as_object_mut().expect("object").remove("@context");
            }),
            DataModelError::Missing("@context".into())
        );
        assert_eq!(
            broken(|c| {
                c["@context"] = json!(["https://example.org/ctx", CREDENTIALS_V2]);
            }),
            DataModelError::BaseContext
        );
        assert_eq!(
            broken(|c| {
                c["@context"] = json!([CREDENTIALS_V2, 7]);
            }),
            DataModelError::ContextItem("@context[1]".into())
        );
        assert_eq!(
            broken(|c| {
                c["id"] = json!(["urn:a", "urn:b"]);
            }),
            DataModelError::NotUrl("id".into())
        );
        assert_eq!(
            broken(|c| {
                c["type"] = json!(["ExampleCredential"]);
            }),
            DataModelError::RequiredType("VerifiableCredential")
        );
        assert_eq!(
            broken(|c| {
                c["issuer"] = json!("not a url");
            }),
            DataModelError::NotUrl("issuer".into())
        );
        assert_eq!(
            broken(|c| {
                c["issuer"] = json!({"id": null});
            }),
            DataModelError::NotUrl("issuer.id".into())
        );
        assert_eq!(
            broken(|c| {
                c["credentialSubject"] = json!([{}, {"a": 1}]);
            }),
            DataModelError::EmptySubject("credentialSubject[0]".into())
        );
        assert_eq!(
            broken(|c| {
                c["validFrom"] = json!("2026-01-01 00:00:00Z");
            }),
            DataModelError::DateTime("validFrom".into())
        );
        assert_eq!(
            broken(|c| {
                c["validFrom"] = json!("2028-01-01T00:00:00Z");
            }),
            DataModelError::ValidityOrder
        );
        assert_eq!(
            broken(|c| {
                c["credentialStatus"] = json!({"id": "https://example.org/s"});
            }),
            DataModelError::Missing("credentialStatus[0].type".into())
        );
        assert_eq!(
            broken(|c| {
                c["credentialStatus"] = json!({"id": ["urn:a", "urn:b"], "type": "X"});
            }),
            DataModelError::NotUrl("credentialStatus[0].id".into())
        );
        assert_eq!(
            broken(|c| {
                c["credentialSchema"] = json!({"type": "JsonSchema"});
            }),
            DataModelError::Missing("credentialSchema[0].id".into())
        );
        assert_eq!(
            broken(|c| {
                c["name"] = json!({"@value": 3});
            }),
            DataModelError::LanguageValue("name".into())
        );
        assert!(matches!(
            broken(|c| {
                c["relatedResource"] = json!([{"id": "https://a.example", "digestSRI": "x"},
                                              {"id": "https://a.example", "digestSRI": "x"}]);
            }),
            DataModelError::RelatedResource(..)
        ));
    }

    #[test]
    fn a_presentation_checks_its_credentials_and_envelopes() {
        let presentation = json!({
            "@context": [CREDENTIALS_V2],
            "type": "VerifiablePresentation",
            "holder": "did:example:holder",
            "verifiableCredential": [credential(), {
                "@context": [CREDENTIALS_V2],
                "type": "EnvelopedVerifiableCredential",
                "id": "data:application/vc+sd-jwt,eyJ..."
            }]
        });
        assert_eq!(check_presentation(&presentation), Ok(Version::V2_0));
        let mut bad = presentation.clone();
        bad["verifiableCredential"][1]["id"] = json!("https://example.org/vc");
        assert!(matches!(
            check_presentation(&bad),
            Err(DataModelError::Envelope(..))
        ));
        let mut bad = presentation;
        bad["holder"] = json!({"name": "x"});
        assert_eq!(
            check_presentation(&bad),
            Err(DataModelError::Missing("holder.id".into()))
        );
    }
}
