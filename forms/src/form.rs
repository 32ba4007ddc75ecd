//! Issue forms generated from the JSON Schemas: which fields an issue request of a type has,
//! how each is entered, its Chinese and English label, and how entered text becomes the
//! request the node validates.
//!
//! One model serves the web console's forms and the CSV bulk import ([`crate::bulk`]): a CSV
//! row is a form submission whose column headers are the fields' labels. The fields come
//! from `schemas/api/issue-request.json` (the type's request subject) by resolving `$ref`s
//! and `allOf`s through the embedded documents, so a field added to a schema appears in the
//! form without code; only its label lives here ([`label`]).
//!
//! Field paths are dotted JSON paths into the request (`credentialSubject.employer.name`).
//! A value left empty is left out of the request, so the schema's own `required` decides.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use talent_core::credential::{CredentialError, CredentialType, IssueRequest};
use talent_core::schema::{SchemaKind, SchemaSet, Violation, documents};

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

/// A schema fragment and the document its relative `$ref`s resolve against.
#[derive(Clone, Copy)]
struct Node<'a> {
    doc: &'a str,
    schema: &'a Value,
}

/// The embedded documents, parsed once.
fn parsed() -> &'static BTreeMap<&'static str, Value> {
    static PARSED: std::sync::OnceLock<BTreeMap<&'static str, Value>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| {
        documents()
            .iter()
            .filter(|(path, _)| path.ends_with(".json"))
            .filter_map(|(path, text)| Some((*path, serde_json::from_str(text).ok()?)))
            .collect()
    })
}

/// Resolves `$ref` (relative document path and `#/…` pointer) from `doc`.
fn resolve<'a>(
    docs: &'a BTreeMap<&'static str, Value>,
    doc: &'a str,
    reference: &str,
) -> Option<Node<'a>> {
    let (target, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    let target_doc: &'a str = if target.is_empty() {
        doc
    } else {
        let base = doc.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut parts: Vec<&str> = if base.is_empty() {
            Vec::new()
        } else {
            base.split('/').collect()
        };
        for part in target.split('/') {
            match part {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                other => parts.push(other),
            }
        }
        let joined = parts.join("/");
        docs.keys().copied().find(|key| *key == joined)?
    };
    let root = docs.get(target_doc)?;
    let schema = if pointer.is_empty() {
        root
    } else {
        root.pointer(pointer)?
    };
    Some(Node {
        doc: target_doc,
        schema,
    })
}

/// What a schema says about an object: its properties (in order) and required names, with
/// `$ref`, `allOf` and `if/then/else` branches merged (a conditional property counts, the
/// condition itself is left to validation).
#[derive(Default)]
struct ObjectShape<'a> {
    properties: Vec<(String, Vec<Node<'a>>)>,
    required: Vec<String>,
}

impl<'a> ObjectShape<'a> {
    fn collect(&mut self, docs: &'a BTreeMap<&'static str, Value>, node: Node<'a>, depth: usize) {
        if depth > 16 {
            return;
        }
        let Some(object) = node.schema.as_object() else {
            return;
        };
        if let Some(reference) = object.get("$ref").and_then(Value::as_str)
            && let Some(target) = resolve(docs, node.doc, reference)
        {
            self.collect(docs, target, depth + 1);
        }
        for key in ["allOf"] {
            for branch in object
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.collect(
                    docs,
                    Node {
                        doc: node.doc,
                        schema: branch,
                    },
                    depth + 1,
                );
            }
        }
        if let Some(properties) = object.get("properties").and_then(Value::as_object) {
            for (name, schema) in properties {
                if schema == &Value::Bool(false) {
                    continue;
                }
                let part = Node {
                    doc: node.doc,
                    schema,
                };
                match self.properties.iter_mut().find(|(known, _)| known == name) {
                    Some((_, parts)) => parts.push(part),
                    None => self.properties.push((name.clone(), vec![part])),
                }
            }
        }
        for name in object
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !self.required.iter().any(|known| known == name)
            {
                self.required.push(name.to_owned());
            }
        }
    }
}

/// The keywords of a property schema after following its `$ref` chain (outer keywords win).
#[derive(Default)]
struct Flat<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Flat<'a> {
    fn of(docs: &'a BTreeMap<&'static str, Value>, parts: &[Node<'a>]) -> Flat<'a> {
        let mut flat = Flat::default();
        for part in parts {
            flat.follow(docs, *part, 0);
        }
        flat
    }

    fn follow(&mut self, docs: &'a BTreeMap<&'static str, Value>, node: Node<'a>, depth: usize) {
        if depth > 16 {
            return;
        }
        self.nodes.push(node);
        if let Some(reference) = node.schema.get("$ref").and_then(Value::as_str)
            && let Some(target) = resolve(docs, node.doc, reference)
        {
            self.follow(docs, target, depth + 1);
        }
    }

    fn get(&self, keyword: &str) -> Option<&'a Value> {
        self.nodes.iter().find_map(|node| node.schema.get(keyword))
    }

    fn is_object(&self) -> bool {
        self.get("properties").is_some() || self.get("type") == Some(&Value::from("object"))
    }
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value?
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// The kind of a flattened property schema, or `None` for an object (walked into).
fn kind_of<'a>(docs: &'a BTreeMap<&'static str, Value>, flat: &Flat<'a>) -> Option<FieldKind> {
    if let Some(values) = strings(flat.get("enum")) {
        return Some(FieldKind::Choice(values));
    }
    match flat.get("type").and_then(Value::as_str) {
        Some("boolean") => return Some(FieldKind::Bool),
        Some("array") => {
            let items = flat
                .get("items")
                .map(|items| {
                    let doc = flat
                        .nodes
                        .iter()
                        .find(|node| node.schema.get("items").is_some())
                        .map_or("", |node| node.doc);
                    Flat::of(docs, &[Node { doc, schema: items }])
                })
                .unwrap_or_default();
            if let Some(values) = strings(items.get("enum")) {
                return Some(FieldKind::Choices(values));
            }
            if items.get("type") == Some(&Value::from("string")) {
                return Some(FieldKind::Lines);
            }
            return Some(FieldKind::Json);
        }
        Some("object") => return None,
        _ => {}
    }
    if flat.get("properties").is_some() {
        return None;
    }
    match flat.get("format").and_then(Value::as_str) {
        Some("date") => Some(FieldKind::Date),
        Some("date-time") => Some(FieldKind::DateTime),
        _ => Some(FieldKind::Text),
    }
}

/// Fields the form leaves out: the node fills in the region, and staff enter the full
/// identity number (the node masks it) rather than a masked one.
const NOT_ENTERED: [&str; 2] = [
    "credentialSubject.region",
    "credentialSubject.idNumberMasked",
];

impl FormSpec {
    /// The form of `credential_type`, generated from the issue-request schema.
    pub fn for_type(credential_type: CredentialType) -> FormSpec {
        let docs = parsed();
        let mut fields = Vec::new();
        let request = docs.get("api/issue-request.json");
        // The branch of the request's allOf whose `if` names this type.
        let subject = request
            .and_then(|request| request.get("allOf")?.as_array())
            .into_iter()
            .flatten()
            .find(|branch| {
                branch
                    .pointer("/if/properties/type/const")
                    .and_then(Value::as_str)
                    == Some(credential_type.as_str())
            })
            .and_then(|branch| branch.pointer("/then/properties/credentialSubject"));
        if let Some(subject) = subject {
            let node = Node {
                doc: "api/issue-request.json",
                schema: subject,
            };
            walk(
                docs,
                node,
                "credentialSubject",
                true,
                credential_type,
                &mut fields,
            );
        }
        if let Some(request) = request {
            let node = Node {
                doc: "api/issue-request.json",
                schema: request,
            };
            let mut shape = ObjectShape::default();
            shape.collect(docs, node, 0);
            for (name, parts) in &shape.properties {
                if matches!(name.as_str(), "type" | "credentialSubject") {
                    continue;
                }
                let flat = Flat::of(docs, parts);
                if let Some(kind) = kind_of(docs, &flat) {
                    fields.push(field(
                        name.clone(),
                        kind,
                        shape.required.contains(name),
                        &flat,
                        credential_type,
                    ));
                }
            }
        }
        // serde_json maps are sorted by key, so the schema's own order is lost: show
        // fields in the order of the label table.
        fields.sort_by_key(|field| display_order(&field.path));
        FormSpec {
            credential_type,
            fields,
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

fn field(
    path: String,
    kind: FieldKind,
    required: bool,
    flat: &Flat<'_>,
    ty: CredentialType,
) -> FormField {
    let (label_zh, label_en) = label(ty, &path);
    FormField {
        help: flat
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        max_length: flat.get("maxLength").and_then(Value::as_u64),
        label_zh: label_zh.to_owned(),
        label_en: label_en.to_owned(),
        path,
        kind,
        required,
    }
}

fn walk<'a>(
    docs: &'a BTreeMap<&'static str, Value>,
    node: Node<'a>,
    prefix: &str,
    required_here: bool,
    ty: CredentialType,
    fields: &mut Vec<FormField>,
) {
    let mut shape = ObjectShape::default();
    shape.collect(docs, node, 0);
    for (name, parts) in &shape.properties {
        let path = format!("{prefix}.{name}");
        if NOT_ENTERED.contains(&path.as_str()) {
            continue;
        }
        let flat = Flat::of(docs, parts);
        // The request requires exactly one of idNumber and idNumberMasked; the form offers
        // only idNumber, so it is required here.
        let required = required_here
            && (shape.required.contains(name) || path == "credentialSubject.idNumber");
        match kind_of(docs, &flat) {
            Some(kind) => fields.push(field(path, kind, required, &flat, ty)),
            None if flat.is_object() => walk_object(docs, parts, &path, required, ty, fields),
            None => {}
        }
    }
}

fn walk_object<'a>(
    docs: &'a BTreeMap<&'static str, Value>,
    parts: &[Node<'a>],
    prefix: &str,
    required_here: bool,
    ty: CredentialType,
    fields: &mut Vec<FormField>,
) {
    for part in parts {
        walk(docs, *part, prefix, required_here, ty, fields);
    }
}

/// Converts entered text to the JSON value of a field.
fn convert(kind: &FieldKind, text: &str) -> Result<Value, String> {
    let text = text.trim();
    match kind {
        FieldKind::Text => Ok(Value::from(text)),
        FieldKind::Date => normalise_date(text)
            .map(Value::from)
            .ok_or_else(|| "expected a date like 2024-12-20".to_owned()),
        FieldKind::DateTime => {
            if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
                Ok(Value::from(text))
            } else {
                normalise_date(text)
                    .map(|date| Value::from(format!("{date}T00:00:00+08:00")))
                    .ok_or_else(|| {
                        "expected a date like 2025-03-01 or an RFC 3339 date-time".to_owned()
                    })
            }
        }
        FieldKind::Choice(values) => values
            .iter()
            .find(|value| value.as_str() == text)
            .map(|value| Value::from(value.as_str()))
            .ok_or_else(|| format!("expected one of {}", values.join(", "))),
        FieldKind::Choices(values) => {
            let mut chosen = Vec::new();
            for item in split_list(text) {
                match values.iter().find(|value| value.as_str() == item) {
                    Some(value) if !chosen.contains(&Value::from(value.as_str())) => {
                        chosen.push(Value::from(value.as_str()));
                    }
                    Some(_) => {}
                    None => return Err(format!("expected some of {}", values.join(", "))),
                }
            }
            Ok(Value::Array(chosen))
        }
        FieldKind::Lines => Ok(Value::Array(split_list(text).map(Value::from).collect())),
        FieldKind::Bool => match text.to_lowercase().as_str() {
            "是" | "yes" | "y" | "true" | "on" | "1" => Ok(Value::Bool(true)),
            "否" | "no" | "n" | "false" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err("expected 是/否 (yes/no)".to_owned()),
        },
        FieldKind::Json => serde_json::from_str(text).map_err(|error| format!("not JSON: {error}")),
    }
}

/// The items of a list entered as lines or separated by `;`, `；`, `、` or `,`.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', ';', '；', '、', ','])
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// `2024-12-20`, `2024/12/20` or `2024.12.20` as an RFC 3339 full-date.
fn normalise_date(text: &str) -> Option<String> {
    let unified = text.replace(['/', '.'], "-");
    chrono::NaiveDate::parse_from_str(&unified, "%Y-%m-%d")
        .ok()
        .map(|date| date.format("%Y-%m-%d").to_string())
}

/// Sets `value` at the dotted `path` of `object`, creating objects on the way.
fn insert(object: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = object;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let next = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(inner) = next else {
            return;
        };
        current = inner;
    }
}

/// Labels of subject fields (by path below `credentialSubject`, or of envelope fields), in
/// the order forms show them: the person, then the types' own fields (a field several types
/// share, such as `level`, once), then validity. The Chinese label is also the CSV header.
const LABELS: [(&str, &str, &str); 45] = [
    ("id", "标识", "Identifier"),
    ("name", "姓名", "Name"),
    ("idNumber", "身份证号", "Resident ID number"),
    (
        "creditCode",
        "统一社会信用代码",
        "Unified social credit code",
    ),
    ("employer", "工作单位", "Employer"),
    ("employer.name", "工作单位", "Employer"),
    (
        "employer.creditCode",
        "单位统一社会信用代码",
        "Employer credit code",
    ),
    ("district", "区县园区", "District or park"),
    ("holder", "持有人DID", "Holder DID"),
    ("category", "类别", "Category"),
    ("tier", "层级", "Tier"),
    ("field", "领域", "Field"),
    ("route", "认定方式", "Route"),
    ("policy", "政策依据", "Policy"),
    ("series", "系列", "Series"),
    ("specialty", "专业", "Specialty"),
    ("occupationCode", "职业代码", "Occupation code"),
    ("occupation", "职业", "Occupation"),
    ("qualification", "资格名称", "Qualification"),
    ("level", "级别", "Level"),
    ("titleName", "职称名称", "Title"),
    ("committee", "评审委员会", "Review committee"),
    ("approvalNumber", "批准文号", "Approval number"),
    ("conferredOn", "取得日期", "Conferred on"),
    ("assessmentBody", "评价机构", "Assessment body"),
    ("authority", "发证机关", "Issuing authority"),
    ("cardClass", "卡类别", "Card class"),
    ("basis", "申领依据", "Basis"),
    ("flexible", "柔性引进", "Flexible introduction"),
    ("benefits", "服务待遇", "Benefits"),
    ("scope.types", "授权类型", "Types in scope"),
    ("scope.levels", "授权级别", "Levels in scope"),
    ("scope.categories", "授权类别", "Categories in scope"),
    ("scope.districts", "授权区县", "Districts in scope"),
    ("basis.document", "依据文件", "Basis document"),
    ("basis.date", "文件日期", "Document date"),
    ("basis.url", "文件链接", "Document URL"),
    ("rules", "互认规则", "Rules"),
    ("supersedes", "取代协议", "Supersedes"),
    ("illustrative", "示例性质", "Illustrative"),
    ("region", "地区", "Region"),
    ("idNumberMasked", "身份证号", "ID number"),
    ("validFrom", "生效时间", "Valid from"),
    ("validUntil", "有效期至", "Valid until"),
    ("certificateNumber", "证书编号", "Certificate number"),
];

/// The Chinese and English label of a field. A field without an entry is labelled by its
/// name.
pub fn label(credential_type: CredentialType, path: &str) -> (&str, &str) {
    let name = path.strip_prefix("credentialSubject.").unwrap_or(path);
    match (credential_type, name) {
        (CredentialType::IssuerAccreditationCredential, "id") => {
            return ("被授权方DID", "Accredited issuer DID");
        }
        (
            CredentialType::IssuerAccreditationCredential
            | CredentialType::RecognitionAgreementCredential,
            "name",
        ) => return ("名称", "Name"),
        _ => {}
    }
    LABELS
        .iter()
        .find(|(known, _, _)| *known == name)
        .map_or((name, name), |(_, zh, en)| (zh, en))
}

/// Where a field goes in a form or on a credential page: its place in the label table,
/// unknown fields last.
pub fn display_order(path: &str) -> usize {
    let name = path.strip_prefix("credentialSubject.").unwrap_or(path);
    LABELS
        .iter()
        .position(|(known, _, _)| *known == name)
        .unwrap_or(LABELS.len())
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
