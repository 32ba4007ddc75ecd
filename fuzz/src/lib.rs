//! What the fuzz targets share: the fixtures of the property tests (valid signed objects of
//! the development federation, `core/tests/fixtures`), made once per process, and the
//! oracles that say when an accepted input is a bug.

use std::sync::OnceLock;

use serde_json::Value;
use talent_core::federation::Federation;
use talent_core::schema::SchemaSet;

#[path = "../../core/tests/fixtures/mod.rs"]
pub mod fixtures;

/// The compiled schemas, once per process.
pub fn schemas() -> &'static SchemaSet {
    static SCHEMAS: OnceLock<SchemaSet> = OnceLock::new();
    SCHEMAS.get_or_init(SchemaSet::new)
}

/// The development federation, once per process.
pub fn federation() -> &'static Federation {
    static FEDERATION: OnceLock<Federation> = OnceLock::new();
    FEDERATION.get_or_init(fixtures::federation)
}

/// The fixture credential, once per process.
pub fn signed_title() -> &'static Value {
    static TITLE: OnceLock<Value> = OnceLock::new();
    TITLE.get_or_init(fixtures::signed_title)
}

/// The fixture log, once per process.
pub fn log() -> &'static fixtures::Log {
    static LOG: OnceLock<fixtures::Log> = OnceLock::new();
    LOG.get_or_init(fixtures::log)
}

/// Whether `document` is `original` or differs from it only by values appended to its
/// `@context` array. `eddsa-jcs-2022` signs the proof's `@context` in place of the
/// document's and only requires the document's to start with it, so such a copy verifies by
/// the specification; any other difference must not.
pub fn same_or_context_appended(document: &Value, original: &Value) -> bool {
    let (Some(document), Some(original)) = (document.as_object(), original.as_object()) else {
        return document == original;
    };
    let mut without = document.clone();
    let mut original_without = original.clone();
    let context = without.remove("@context");
    let original_context = original_without.remove("@context");
    if without != original_without {
        return false;
    }
    match (context, original_context) {
        (Some(Value::Array(context)), Some(Value::Array(original))) => {
            context.starts_with(&original)
        }
        (context, original) => context == original,
    }
}
