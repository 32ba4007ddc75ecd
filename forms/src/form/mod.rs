//! Issue forms generated from the JSON Schemas: which fields an issue request of a type has,
//! how each is entered, its Chinese and English label, and how entered text becomes the
//! request the node validates.
//!
//! One model serves the web console's forms and the CSV bulk import (the `bulk` module,
//! which builds on this one): a CSV row is a form submission whose column headers are the
//! fields' labels. The fields come from `schemas/api/issue-request.json` (the type's request
//! subject) by resolving `$ref`s and `allOf`s through the embedded documents
//! (`schema_fields`), so a field added to a schema appears in the form without code; only
//! its label is written down (`labels`, [`label`]). Entered text becomes JSON in `values`.
//!
//! Field paths are dotted JSON paths into the request (`credentialSubject.employer.name`).
//! A value left empty is left out of the request, so the schema's own `required` decides.

mod labels;
mod schema_fields;
mod values;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use talent_core::credential::{CredentialError, CredentialType, IssueRequest};
use talent_core::schema::{SchemaKind, SchemaSet, Violation};

pub use labels::{display_order, label};
use values::{convert, insert};

/// How a field is entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// An RFC 3339 full-date (`2024-12-20`).
    Date,
    /// An RFC 3339 date-time; a bare date is taken as midnight China time (+08:00).
    DateTime,
    /// One of these values.
    Choice(Vec<String>),
    /// Any of these values (a set).
    Choices(Vec<String>),
    /// A list of texts: one per line in a form, separated by `;` `；` or `、` in a CSV cell.
    Lines,
    /// Yes or no.
    Bool,
    /// A JSON value entered as text (rules of an agreement: nested lists of objects).
    Json,
}

/// One field of an issue form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// Dotted JSON path in the request, e.g. `credentialSubject.employer.name`.
    pub path: String,
    /// How it is entered.
    pub kind: FieldKind,
    /// Whether the schema requires it (for objects inside the subject: when the object is
    /// given).
    pub required: bool,
    /// Chinese label (also the CSV header).
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// The schema's description, as help text.
    pub help: Option<String>,
    /// The longest text the schema allows.
    pub max_length: Option<u64>,
}

/// The fields of the issue form of one credential type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSpec {
    /// The type the form issues.
    pub credential_type: CredentialType,
    /// Its fields in schema order: the subject's fields first, then the envelope's.
    pub fields: Vec<FormField>,
}

/// A field whose entered value cannot be used, or that the schema or the node refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path; `""` when the error concerns the whole request.
    pub path: String,
    /// What is wrong, in English (never the offending value).
    pub message: String,
}

/// Entered values by field path (blank values count as absent).
pub type FormValues = BTreeMap<String, String>;

impl FormSpec {
    /// The form of `credential_type`, generated from the issue-request schema.
    pub fn for_type(credential_type: CredentialType) -> FormSpec {
        FormSpec {
            credential_type,
            fields: schema_fields::fields(credential_type),
        }
    }

    /// The field at `path`.
    pub fn field(&self, path: &str) -> Option<&FormField> {
        self.fields.iter().find(|field| field.path == path)
    }

    /// The issue request of the entered `values`, or every field whose text cannot be
    /// converted (a date that is no date, a choice not offered, JSON that does not parse). A
    /// value for a path the form does not have is an error too. Whether the request is
    /// complete and valid is for [`FormSpec::check`] (and the node) to say.
    ///
    /// # Errors
    /// The fields that could not be converted, in form order.
    pub fn request(&self, values: &FormValues) -> Result<Value, Vec<FieldError>> {
        let (request, errors) = self.convert(values);
        if errors.is_empty() {
            Ok(request)
        } else {
            Err(errors)
        }
    }

    /// The request and every problem the node would find without an issuer: unconvertible
    /// values, schema violations, the identity number's check digit and an empty validity
    /// window — all of them, each once, in form order.
    ///
    /// # Errors
    /// The problems, by field.
    pub fn check(
        &self,
        values: &FormValues,
        schemas: &SchemaSet,
    ) -> Result<Value, Vec<FieldError>> {
        let (request, mut errors) = self.convert(values);
        let add = |error: FieldError, errors: &mut Vec<FieldError>| {
            if error.path.is_empty() || !errors.iter().any(|known| known.path == error.path) {
                errors.push(error);
            }
        };
        if let Err(schema_error) = schemas.validate(SchemaKind::IssueRequest, &request) {
            for violation in &schema_error.violations {
                add(self.violation_field(violation), &mut errors);
            }
        }
        if let Err(error) = IssueRequest::from_json(&request).and_then(|parsed| parsed.check())
            && let Some(field_error) = self.credential_error(&error)
        {
            add(field_error, &mut errors);
        }
        if errors.is_empty() {
            Ok(request)
        } else {
            errors.sort_by_key(|error| self.position(&error.path));
            Err(errors)
        }
    }

    /// The field a refusal of issuance names: the identity number (check digit) or the
    /// validity window; `None` for a refusal that concerns no field of the form.
    pub fn credential_error(&self, error: &CredentialError) -> Option<FieldError> {
        match error {
            CredentialError::Identifier { field, source } => {
                Some(self.named_field(field, source.to_string()))
            }
            CredentialError::EmptyValidityWindow => {
                Some(self.named_field("validUntil", error.to_string()))
            }
            _ => None,
        }
    }

    /// Converts what converts; the rest are errors.
    fn convert(&self, values: &FormValues) -> (Value, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut request = Map::new();
        request.insert("type".into(), Value::from(self.credential_type.as_str()));
        request.insert("credentialSubject".into(), Value::Object(Map::new()));
        for (path, text) in values {
            if text.trim().is_empty() {
                continue;
            }
            let Some(field) = self.field(path) else {
                errors.push(FieldError {
                    path: path.clone(),
                    message: format!("{} has no field {path}", self.credential_type.as_str()),
                });
                continue;
            };
            match convert(&field.kind, text) {
                Ok(value) => insert(&mut request, path, value),
                Err(message) => errors.push(FieldError {
                    path: path.clone(),
                    message,
                }),
            }
        }
        errors.sort_by_key(|error| self.position(&error.path));
        (Value::Object(request), errors)
    }

    fn position(&self, path: &str) -> usize {
        self.fields
            .iter()
            .position(|field| field.path == path)
            .unwrap_or(usize::MAX)
    }

    /// The form field a schema violation concerns, as a [`FieldError`]: the field at its
    /// pointer, or, for a missing required property, the field it names; `""` when no field
    /// of the form matches.
    pub fn violation_field(&self, violation: &Violation) -> FieldError {
        let mut path = violation.pointer.trim_start_matches('/').replace('/', ".");
        if let Some(missing) = quoted(&violation.message)
            && violation.message.contains("required")
        {
            path = if path.is_empty() {
                missing
            } else {
                format!("{path}.{missing}")
            };
        }
        // A violation inside a list or a JSON field belongs to the field holding it.
        let field = self
            .fields
            .iter()
            .filter(|field| path == field.path || path.starts_with(&format!("{}.", field.path)))
            .max_by_key(|field| field.path.len());
        FieldError {
            path: field.map(|field| field.path.clone()).unwrap_or_default(),
            message: violation.message.clone(),
        }
    }

    /// The field an error of the node names by its dotted path (e.g. the identity number's
    /// check digit: `credentialSubject.idNumber`).
    pub fn named_field(&self, name: &str, message: String) -> FieldError {
        let path = if self.field(name).is_some() {
            name.to_owned()
        } else {
            String::new()
        };
        FieldError { path, message }
    }
}

/// The first `"…"`-quoted text of a message.
fn quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let end = message[start..].find('"')? + start;
    Some(message[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(spec: &FormSpec) -> Vec<&str> {
        spec.fields
            .iter()
            .map(|field| field.path.as_str())
            .collect()
    }

    #[test]
    fn title_form_has_the_schema_fields() {
        let spec = FormSpec::for_type(CredentialType::ProfessionalTitleCredential);
        let paths = paths(&spec);
        for expected in [
            "credentialSubject.name",
            "credentialSubject.idNumber",
            "credentialSubject.employer.name",
            "credentialSubject.employer.creditCode",
            "credentialSubject.series",
            "credentialSubject.level",
            "credentialSubject.conferredOn",
            "validFrom",
            "validUntil",
            "certificateNumber",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {paths:?}"
            );
        }
        assert!(!paths.contains(&"credentialSubject.region"));
        assert!(!paths.contains(&"credentialSubject.idNumberMasked"));
        let level = spec.field("credentialSubject.level").expect("level");
        assert_eq!(
            level.kind,
            FieldKind::Choice(
                ["员级", "助理级", "中级", "副高级", "正高级"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert!(level.required);
        assert_eq!(level.label_zh, "级别");
        assert_eq!(
            spec.field("credentialSubject.conferredOn").map(|f| &f.kind),
            Some(&FieldKind::Date)
        );
        assert!(
            spec.field("credentialSubject.idNumber")
                .is_some_and(|f| f.required)
        );
        assert!(
            spec.field("credentialSubject.employer.creditCode")
                .is_some_and(|f| !f.required)
        );
        assert!(
            spec.field("validFrom")
                .is_some_and(|f| f.kind == FieldKind::DateTime && !f.required)
        );
    }

    #[test]
    fn every_type_has_a_form() {
        for ty in CredentialType::ALL {
            let spec = FormSpec::for_type(ty);
            assert!(spec.fields.len() >= 4, "{ty:?}: {:?}", paths(&spec));
        }
        let card = FormSpec::for_type(CredentialType::TalentServiceCardCredential);
        assert_eq!(
            card.field("credentialSubject.flexible").map(|f| &f.kind),
            Some(&FieldKind::Bool)
        );
        assert_eq!(
            card.field("credentialSubject.benefits").map(|f| &f.kind),
            Some(&FieldKind::Lines)
        );
        let accreditation = FormSpec::for_type(CredentialType::IssuerAccreditationCredential);
        assert!(matches!(
            accreditation.field("credentialSubject.scope.types").map(|f| &f.kind),
            Some(FieldKind::Choices(types)) if types.len() == 5
        ));
        let agreement = FormSpec::for_type(CredentialType::RecognitionAgreementCredential);
        assert_eq!(
            agreement.field("credentialSubject.rules").map(|f| &f.kind),
            Some(&FieldKind::Json)
        );
        assert!(
            agreement
                .field("credentialSubject.basis.document")
                .is_some()
        );
    }

    #[test]
    fn entered_values_become_a_request() {
        let spec = FormSpec::for_type(CredentialType::ProfessionalTitleCredential);
        let values: FormValues = [
            ("credentialSubject.name", " 张三 "),
            ("credentialSubject.employer.name", "重庆某某科技有限公司"),
            ("credentialSubject.level", "正高级"),
            ("credentialSubject.conferredOn", "2024/12/20"),
            ("credentialSubject.specialty", ""),
            ("validFrom", "2025-01-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let request = spec.request(&values).expect("converts");
        assert_eq!(request["type"], "ProfessionalTitleCredential");
        assert_eq!(request["credentialSubject"]["name"], "张三");
        assert_eq!(
            request["credentialSubject"]["employer"]["name"],
            "重庆某某科技有限公司"
        );
        assert_eq!(request["credentialSubject"]["conferredOn"], "2024-12-20");
        assert_eq!(request["validFrom"], "2025-01-01T00:00:00+08:00");
        assert!(request["credentialSubject"].get("specialty").is_none());
    }

    #[test]
    fn unconvertible_values_name_their_field() {
        let spec = FormSpec::for_type(CredentialType::ProfessionalTitleCredential);
        let values: FormValues = [
            ("credentialSubject.level", "特级"),
            ("credentialSubject.conferredOn", "yesterday"),
            ("credentialSubject.nonsense", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let errors = spec.request(&values).expect_err("refused");
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "credentialSubject.level",
                "credentialSubject.conferredOn",
                "credentialSubject.nonsense"
            ]
        );
    }

    #[test]
    fn check_lists_every_problem_at_once() {
        let spec = FormSpec::for_type(CredentialType::ProfessionalTitleCredential);
        let values: FormValues = [
            ("credentialSubject.name", "张三"),
            ("credentialSubject.idNumber", "110105194912310021"),
            ("credentialSubject.level", "特级"),
            ("credentialSubject.series", "工程"),
            ("credentialSubject.titleName", "工程师"),
            ("credentialSubject.committee", "评委会"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let errors = spec.check(&values, &SchemaSet::new()).expect_err("refused");
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "credentialSubject.idNumber",
                "credentialSubject.level",
                "credentialSubject.conferredOn"
            ]
        );
    }

    #[test]
    fn violations_map_to_fields() {
        let spec = FormSpec::for_type(CredentialType::ProfessionalTitleCredential);
        let at = |pointer: &str, message: &str| {
            spec.violation_field(&Violation {
                pointer: pointer.into(),
                message: message.into(),
            })
            .path
        };
        assert_eq!(
            at("/credentialSubject/employer/creditCode", "does not match"),
            "credentialSubject.employer.creditCode"
        );
        assert_eq!(
            at("/credentialSubject", "\"series\" is a required property"),
            "credentialSubject.series"
        );
        assert_eq!(at("", "\"credentialSubject\" is a required property"), "");
        assert_eq!(at("/validFrom", "is not a date-time"), "validFrom");
    }
}
