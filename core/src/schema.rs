//! JSON Schemas (draft 2020-12) of every credential type and API body, and the project's JSON-LD
//! context.
//!
//! The documents live in `schemas/` at the top of the repository and are embedded here at build
//! time, so validation needs no file system and no network: every schema is registered under its
//! `$id` (`https://talent-registry.example/schemas/…`) and `$ref`s between them resolve from
//! that registry alone. The node serves the same bytes ([`documents`], [`CONTEXT_V1`]).
//!
//! Layout of `schemas/`:
//!
//! - `common.json` — value formats, the W3C VC 2.0 envelope and the talent subject fields;
//! - `credentials/<Type>.json` — one schema per [`CredentialType`], each with `$defs/subject`
//!   (the subject in a credential) and `$defs/fields` (the type's own subject fields);
//! - `api/issue-request.json`, `api/verify-request.json` — request bodies; the issue request
//!   reuses each type's `$defs/fields`;
//! - `context/v1.jsonld` — the JSON-LD context ([`CONTEXT_V1_URL`]).
//!
//! Formats (`date`, `date-time`, `uri`) are asserted, not just annotated. Violation messages
//! never repeat the offending value (an issue request may carry a full identity number), only
//! its location and what was expected.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Registry, ValidationError, Validator};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use talent_integrity::rdfc::ContextLoader;

// The context's URL belongs to the credential model, which names it in every `@context`.
pub use crate::credential::CONTEXT_V1_URL;
use crate::credential::{CredentialType, Namespace, SCHEMA_BASE_URL};

/// The JSON-LD context document served at [`CONTEXT_V1_URL`] (`schemas/context/v1.jsonld`).
pub const CONTEXT_V1: &str = include_str!("../../schemas/context/v1.jsonld");

/// The JSON-LD contexts an `eddsa-rdfc-2022` proof is made and checked with: the W3C
/// contexts embedded in talent-integrity and this registry's ([`CONTEXT_V1`]) at its legacy
/// URL ([`CONTEXT_V1_URL`]) and under each of `namespaces` (the federation members' nodes),
/// which all serve the same document.
pub fn json_ld_contexts<'a>(namespaces: impl IntoIterator<Item = &'a Namespace>) -> ContextLoader {
    namespaces.into_iter().fold(
        ContextLoader::new().with_context(CONTEXT_V1_URL, CONTEXT_V1),
        |loader, namespace| loader.with_context(namespace.context_url(), CONTEXT_V1),
    )
}

/// How many violations the [`SchemaError`] display lists before summarising the rest.
const DISPLAYED_VIOLATIONS: usize = 3;

/// Every document under `schemas/`, by path relative to it.
static DOCUMENTS: [(&str, &str); 11] = [
    ("common.json", include_str!("../../schemas/common.json")),
    (
        "credentials/GoldenPhoenixTalentCredential.json",
        include_str!("../../schemas/credentials/GoldenPhoenixTalentCredential.json"),
    ),
    (
        "credentials/ProfessionalTitleCredential.json",
        include_str!("../../schemas/credentials/ProfessionalTitleCredential.json"),
    ),
    (
        "credentials/SkillLevelCredential.json",
        include_str!("../../schemas/credentials/SkillLevelCredential.json"),
    ),
    (
        "credentials/ProfessionalQualificationCredential.json",
        include_str!("../../schemas/credentials/ProfessionalQualificationCredential.json"),
    ),
    (
        "credentials/TalentServiceCardCredential.json",
        include_str!("../../schemas/credentials/TalentServiceCardCredential.json"),
    ),
    (
        "credentials/IssuerAccreditationCredential.json",
        include_str!("../../schemas/credentials/IssuerAccreditationCredential.json"),
    ),
    (
        "credentials/RecognitionAgreementCredential.json",
        include_str!("../../schemas/credentials/RecognitionAgreementCredential.json"),
    ),
    (
        "api/issue-request.json",
        include_str!("../../schemas/api/issue-request.json"),
    ),
    (
        "api/verify-request.json",
        include_str!("../../schemas/api/verify-request.json"),
    ),
    ("context/v1.jsonld", CONTEXT_V1),
];

/// Every document under `schemas/` as `(path relative to schemas/, contents)`, for serving:
/// the JSON Schemas (`common.json`, `credentials/<Type>.json`, `api/*.json`) and the JSON-LD
/// context (`context/v1.jsonld`). A schema's `$id` is [`SCHEMA_BASE_URL`] followed by its path.
pub fn documents() -> &'static [(&'static str, &'static str)] {
    &DOCUMENTS
}

/// The document at `path` (as [`documents`] lists it) as the node whose namespace is
/// `namespace` serves it: a JSON Schema with its `$id` under that node, so that its relative
/// `$ref`s resolve there too; the context unchanged.
pub fn served_document(path: &str, namespace: &Namespace) -> Option<String> {
    let (_, text) = DOCUMENTS.iter().find(|(name, _)| *name == path)?;
    let legacy_id = format!("\"$id\": \"{SCHEMA_BASE_URL}{path}\"");
    let own_id = format!("\"$id\": \"{}/schemas/{path}\"", namespace.base_url());
    Some(text.replacen(&legacy_id, &own_id, 1))
}

/// Which document a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    /// A complete credential of this type, with or without its `proof`.
    Credential(CredentialType),
    /// The body of an issue request (`POST /api/v1/credentials`).
    IssueRequest,
    /// The body of a verify request.
    VerifyRequest,
}

impl SchemaKind {
    /// The schema's path relative to `schemas/`, as listed by [`documents`], e.g.
    /// `credentials/SkillLevelCredential.json`.
    pub fn path(self) -> String {
        match self {
            SchemaKind::Credential(ty) => format!("credentials/{}.json", ty.as_str()),
            SchemaKind::IssueRequest => "api/issue-request.json".to_owned(),
            SchemaKind::VerifyRequest => "api/verify-request.json".to_owned(),
        }
    }

    /// The schema's `$id`, e.g.
    /// `https://talent-registry.example/schemas/credentials/SkillLevelCredential.json`: how
    /// the schemas name each other, and the `credentialSchema.id` of a legacy credential.
    pub fn id(self) -> String {
        format!("{SCHEMA_BASE_URL}{}", self.path())
    }
}

/// One way a document fails its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// JSON pointer (RFC 6901) of the failing location in the document; `""` is the whole
    /// document. A property that is not allowed is pointed at itself
    /// (`/credentialSubject/idNumber`); a missing one at the object that lacks it.
    pub pointer: String,
    /// What is wrong, in English. Never contains the offending value.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// A document that does not satisfy its schema, with all its violations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", summary(.violations))]
pub struct SchemaError {
    /// Every violation found, ordered by pointer; never empty.
    pub violations: Vec<Violation>,
}

fn summary(violations: &[Violation]) -> String {
    let mut out = String::from("schema violation: ");
    for (i, violation) in violations.iter().take(DISPLAYED_VIOLATIONS).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&violation.to_string());
    }
    if violations.len() > DISPLAYED_VIOLATIONS {
        out.push_str(&format!(
            "; and {} more",
            violations.len() - DISPLAYED_VIOLATIONS
        ));
    }
    out
}

/// The compiled validators of every credential type and API body. Build it once
/// ([`SchemaSet::new`]) and share it: it is immutable, `Send` and `Sync`.
pub struct SchemaSet {
    credentials: HashMap<CredentialType, Validator>,
    issue_request: Validator,
    verify_request: Validator,
}

impl fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut credentials: Vec<_> = self.credentials.keys().collect();
        credentials.sort();
        f.debug_struct("SchemaSet")
            .field("credentials", &credentials)
            .finish_non_exhaustive()
    }
}

impl Default for SchemaSet {
    fn default() -> Self {
        Self::new()
    }
}

impl SchemaSet {
    /// Compiles every embedded schema.
    ///
    /// # Panics
    ///
    /// Only if an embedded schema is not valid JSON, not a valid draft 2020-12 schema, or has a
    /// `$ref` that does not resolve among the embedded documents. The schemas are fixed at build
    /// time, so this is a build defect, not an input error; the unit test
    /// `embedded_schemas_compile` proves it does not happen.
    pub fn new() -> SchemaSet {
        let mut registry = Registry::new();
        for (path, text) in DOCUMENTS.iter().filter(|(path, _)| path.ends_with(".json")) {
            let document = parse_embedded(path, text);
            registry = registry
                .add(format!("{SCHEMA_BASE_URL}{path}"), document)
                .unwrap_or_else(|error| panic!("embedded schema {path}: bad $id: {error}"));
        }
        let registry = registry
            .prepare()
            .unwrap_or_else(|error| panic!("embedded schemas do not resolve: {error}"));

        let compile = |kind: SchemaKind| -> Validator {
            let path = kind.path();
            let text = DOCUMENTS
                .iter()
                .find(|(candidate, _)| *candidate == path)
                .map(|(_, text)| *text)
                .unwrap_or_else(|| panic!("no embedded schema {path} for {kind:?}"));
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(&registry)
                .should_validate_formats(true)
                .build(&parse_embedded(&path, text))
                .unwrap_or_else(|error| panic!("embedded schema {path} does not compile: {error}"))
        };

        SchemaSet {
            credentials: CredentialType::ALL
                .iter()
                .map(|&ty| (ty, compile(SchemaKind::Credential(ty))))
                .collect(),
            issue_request: compile(SchemaKind::IssueRequest),
            verify_request: compile(SchemaKind::VerifyRequest),
        }
    }

    /// Validates `doc` against the schema of `kind`.
    ///
    /// Violations come ordered by pointer (parents first, array indices numerically). A
    /// property the schema does not know is reported only when nothing else fails inside the
    /// object that holds it: JSON Schema cannot tell which properties a failing part of a
    /// schema would have accepted, so that report would list valid properties too.
    ///
    /// # Errors
    ///
    /// [`SchemaError`] with every violation when `doc` does not satisfy the schema.
    pub fn validate(&self, kind: SchemaKind, doc: &Value) -> Result<(), SchemaError> {
        let validator = match kind {
            SchemaKind::Credential(ty) => match self.credentials.get(&ty) {
                Some(validator) => validator,
                // `new` compiles a validator for every `CredentialType::ALL`; a type outside
                // `ALL` would be a defect of `credential.rs`, reported rather than panicking.
                None => {
                    return Err(SchemaError {
                        violations: vec![Violation {
                            pointer: String::new(),
                            message: format!("no schema for credential type {ty:?}"),
                        }],
                    });
                }
            },
            SchemaKind::IssueRequest => &self.issue_request,
            SchemaKind::VerifyRequest => &self.verify_request,
        };
        // Most documents are valid: `is_valid` stops at nothing and builds no errors, which
        // makes it several times cheaper than collecting them.
        if validator.is_valid(doc) {
            return Ok(());
        }
        let mut violations: Vec<Violation> = Vec::new();
        // (object pointer, violation) of each property `unevaluatedProperties` rejected.
        let mut unevaluated: Vec<(String, Violation)> = Vec::new();
        for error in validator.iter_errors(doc) {
            let pointer = error.instance_path().as_str();
            match error.kind() {
                ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                    for name in unexpected {
                        unevaluated.push((pointer.to_owned(), not_allowed_in(pointer, name)));
                    }
                }
                _ => {
                    for violation in to_violations(&error) {
                        if !violations.contains(&violation) {
                            violations.push(violation);
                        }
                    }
                }
            }
        }
        // A subschema that fails drops its annotations (JSON Schema 2020-12 core), so once
        // anything inside an object fails, `unevaluatedProperties` also reports every property
        // the failing part declared. Its verdict on that object is only trusted when nothing
        // else failed there; a really unknown property shows up once the rest is fixed.
        let reliable = violations.len();
        for (object, violation) in unevaluated {
            let prefix = format!("{object}/");
            let shadowed = violations[..reliable]
                .iter()
                .any(|other| other.pointer == object || other.pointer.starts_with(&prefix));
            if !shadowed && !violations.contains(&violation) {
                violations.push(violation);
            }
        }
        // Stable: violations at one location keep the schema's order.
        violations.sort_by(|a, b| compare_pointers(&a.pointer, &b.pointer));
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SchemaError { violations })
        }
    }
}

fn parse_embedded(path: &str, text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|error| panic!("embedded schema {path} is not JSON: {error}"))
}

/// Turns one validator error (`unevaluatedProperties` aside, see [`SchemaSet::validate`]) into
/// violations. A property that may not be there is reported at its own location, one violation
/// per property: in JSON Schema terms the failing instance is that property (the `false` schema
/// of `additionalProperties`). Messages are the validator's masked ones, which leave the
/// offending value out.
fn to_violations(error: &ValidationError<'_>) -> Vec<Violation> {
    let pointer = error.instance_path().as_str();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| not_allowed_in(pointer, name))
            .collect(),
        ValidationErrorKind::FalseSchema => {
            let name = pointer
                .rsplit('/')
                .next()
                .map(unescape_pointer_token)
                .unwrap_or_default();
            vec![Violation {
                pointer: pointer.to_owned(),
                message: not_allowed_message(&name),
            }]
        }
        // The validator names only the first few options; ours are short closed lists
        // (levels, categories, types) that a person fixing the document needs in full.
        ValidationErrorKind::Enum { options } => {
            let options = options
                .as_array()
                .map(|options| {
                    options
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| options.to_string());
            vec![Violation {
                pointer: pointer.to_owned(),
                message: format!("value is not one of {options}"),
            }]
        }
        _ => vec![Violation {
            pointer: pointer.to_owned(),
            message: error.masked().to_string(),
        }],
    }
}

/// The violation of property `name` of the object at `object`, which may not be there.
fn not_allowed_in(object: &str, name: &str) -> Violation {
    Violation {
        pointer: format!("{object}/{}", escape_pointer_token(name)),
        message: not_allowed_message(name),
    }
}

fn not_allowed_message(name: &str) -> String {
    format!("property {name:?} is not allowed here")
}

/// Orders JSON pointers token by token, array indices numerically, so a parent comes before
/// its children and `/rules/2` before `/rules/10`.
fn compare_pointers(a: &str, b: &str) -> Ordering {
    let mut left = a.split('/');
    let mut right = b.split('/');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// RFC 6901 §3: `~` is written `~0` and `/` is written `~1` inside a reference token.
fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape_pointer_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_keys_of_both_key_kinds_are_accepted_and_others_refused() {
        let schemas = SchemaSet::new();
        let request = |did: &str| {
            serde_json::json!({
                "type": "IssuerAccreditationCredential",
                "credentialSubject": {
                    "id": did,
                    "name": "重庆某智能装备有限公司",
                    "creditCode": "91500000MA5U1234XH",
                    "scope": {"types": ["GoldenPhoenixTalentCredential"]}
                }
            })
        };
        let valid = |did: &str| {
            schemas
                .validate(SchemaKind::IssueRequest, &request(did))
                .is_ok()
        };
        assert!(valid(
            "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
        ));
        // The SM2 key of the sm2-jcs-2025 vector (integrity/tests/vectors).
        assert!(valid(
            "did:key:zEPJcGHUVYyrGAXXGQhLF39KAny4ojC9RPmA777H2iVztKwBd"
        ));
        assert!(!valid(
            "did:key:zEPJcGHUVYyrGAXXGQhLF39KAny4ojC9RPmA777H2iVztKwB"
        ));
        assert!(!valid(
            "did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"
        ));
    }

    #[test]
    fn embedded_schemas_compile() {
        let set = SchemaSet::new();
        assert_eq!(set.credentials.len(), CredentialType::ALL.len());
    }

    #[test]
    fn schema_set_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SchemaSet>();
    }

    #[test]
    fn every_schema_id_matches_its_path() {
        for (path, text) in documents()
            .iter()
            .filter(|(path, _)| path.ends_with(".json"))
        {
            let schema: Value = serde_json::from_str(text).expect("embedded JSON");
            assert_eq!(
                schema["$id"].as_str(),
                Some(format!("{SCHEMA_BASE_URL}{path}").as_str()),
                "{path}"
            );
            assert_eq!(
                schema["$schema"].as_str(),
                Some("https://json-schema.org/draft/2020-12/schema"),
                "{path}"
            );
        }
    }

    #[test]
    fn every_credential_type_has_its_schema() {
        for ty in CredentialType::ALL {
            let path = SchemaKind::Credential(ty).path();
            assert!(
                documents().iter().any(|(candidate, _)| *candidate == path),
                "{path}"
            );
        }
    }

    #[test]
    fn pointers_sort_parent_first_and_indices_numerically() {
        let mut pointers = vec![
            "/rules/10",
            "/rules/2/id",
            "",
            "/rules",
            "/@context/1",
            "/id",
        ];
        pointers.sort_by(|a, b| compare_pointers(a, b));
        assert_eq!(
            pointers,
            [
                "",
                "/@context/1",
                "/id",
                "/rules",
                "/rules/2/id",
                "/rules/10"
            ]
        );
    }

    #[test]
    fn pointer_tokens_round_trip() {
        assert_eq!(escape_pointer_token("a/b~c"), "a~1b~0c");
        assert_eq!(unescape_pointer_token("a~1b~0c"), "a/b~c");
        assert_eq!(unescape_pointer_token("~01"), "~1");
    }

    #[test]
    fn display_lists_the_first_violations() {
        let violation = |pointer: &str| Violation {
            pointer: pointer.to_owned(),
            message: "bad".to_owned(),
        };
        let error = SchemaError {
            violations: vec![
                violation(""),
                violation("/a"),
                violation("/b"),
                violation("/c"),
                violation("/d"),
            ],
        };
        assert_eq!(
            error.to_string(),
            "schema violation: (document): bad; /a: bad; /b: bad; and 2 more"
        );
    }
}
