//! Entered text as JSON: each field kind's conversion, and the dotted paths values are set
//! at in the request.

use serde_json::{Map, Value};

use super::FieldKind;

/// Converts entered text to the JSON value of a field.
pub(super) fn convert(kind: &FieldKind, text: &str) -> Result<Value, String> {
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
pub(super) fn insert(object: &mut Map<String, Value>, path: &str, value: Value) {
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
