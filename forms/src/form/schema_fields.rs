//! The fields of a form, found by walking the issue-request schema: `$ref`s resolved
//! through the embedded documents, `allOf` branches merged, each property's kind read from
//! its keywords.

use std::collections::BTreeMap;

use serde_json::Value;
use talent_core::credential::CredentialType;
use talent_core::schema::documents;

use super::labels::{display_order, label};
use super::{FieldKind, FormField};

/// The fields of `credential_type`'s form, from the issue-request schema: the branch of
/// its `allOf` for the type gives the subject, the request itself the envelope.
pub(super) fn fields(credential_type: CredentialType) -> Vec<FormField> {
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
    fields
}

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
