//! What the property tests share: their case counts, a strategy for any JSON value, and the
//! ways a valid document is changed (a byte, a member).

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Value};
use talent_core::schema::SchemaSet;

/// A property's configuration with `cases` cases, or `PROPTEST_CASES` when set (for longer
/// runs: `PROPTEST_CASES=10000 cargo test -p talent-core --test prop_credential`). The
/// counts are chosen so that all property tests together add a few seconds to `cargo test`.
pub fn cases(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        // Shrinking a failure of a slow property (a signature check per case) is bounded.
        max_shrink_iters: 2048,
        // A failure prints its minimised input; a real bug's input becomes a unit test
        // beside the code it breaks, not a file proptest keeps.
        failure_persistence: None,
        rng_seed: seed(),
        ..Config::default()
    }
}

/// The seed of every property's cases: fixed, so that `cargo test` (and CI) draws the same
/// cases every run and a red run is a change of the code, not of the dice. Other seeds are
/// for exploring runs: `PROPTEST_RNG_SEED=<any u64>` (with `PROPTEST_CASES`).
pub fn seed() -> RngSeed {
    const FIXED: u64 = 0x7a1e_9e57_2026_1206;
    match std::env::var("PROPTEST_RNG_SEED") {
        Ok(_) => Config::default().rng_seed,
        Err(_) => RngSeed::Fixed(FIXED),
    }
}

/// The compiled schemas, once per test binary.
pub fn schemas() -> &'static SchemaSet {
    static SCHEMAS: OnceLock<SchemaSet> = OnceLock::new();
    SCHEMAS.get_or_init(SchemaSet::new)
}

/// Any string, with the characters that matter to JSON, JCS and the parsers more likely than
/// in a uniform draw: quotes, backslashes, control characters, surrogate-pair and high-BMP
/// characters (which sort differently in UTF-16), Chinese.
pub fn any_text() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('\n'),
        Just('\u{0}'),
        Just('\u{1f}'),
        Just('\u{7f}'),
        Just('\u{e000}'),
        Just('\u{ff21}'),
        Just('\u{2000b}'),
        Just('\u{1f600}'),
        Just('张'),
        Just(':'),
        Just('#'),
        Just('+'),
        Just('z'),
    ];
    prop::collection::vec(
        prop_oneof![3 => any::<char>(), 2 => special, 4 => prop::char::range('a', 'z')],
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Any JSON number serde_json holds: integers of every range and finite doubles.
pub fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

/// Any JSON value, nested a few levels.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any_number(),
        any_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any_text(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A change to a JSON document, at the node the index picks.
#[derive(Debug, Clone)]
pub enum Edit {
    /// The node becomes this value.
    Replace(Value),
    /// The node is removed from its object or array (the root is left alone).
    Remove,
    /// A member is added to the node (an object), or an item appended (an array).
    Add(String, Value),
}

/// Any [`Edit`].
pub fn any_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any_json().prop_map(Edit::Replace),
        Just(Edit::Remove),
        (any_text(), any_json()).prop_map(|(name, value)| Edit::Add(name, value)),
    ]
}

/// Every node of `value` as a JSON pointer, the root first.
pub fn pointers(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        match value {
            Value::Object(members) => {
                for (name, member) in members {
                    let escaped = name.replace('~', "~0").replace('/', "~1");
                    walk(member, format!("{at}/{escaped}"), out);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, format!("{at}/{index}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// `document` with `edit` made at the node `at` picks.
pub fn edited(document: &Value, at: Index, edit: &Edit) -> Value {
    let all = pointers(document);
    let pointer = at.get(&all);
    let mut changed = document.clone();
    match edit {
        Edit::Replace(value) => {
            if let Some(node) = changed.pointer_mut(pointer) {
                *node = value.clone();
            }
        }
        Edit::Remove => {
            if let Some((parent, last)) = pointer.rsplit_once('/') {
                let last = last.replace("~1", "/").replace("~0", "~");
                match changed.pointer_mut(parent) {
                    Some(Value::Object(members)) => {
                        members.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(index) = last.parse::<usize>() {
                            items.remove(index);
                        }
                    }
                    _ => {}
                }
            }
        }
        Edit::Add(name, value) => match changed.pointer_mut(pointer) {
            Some(Value::Object(members)) => {
                members.insert(name.clone(), value.clone());
            }
            Some(Value::Array(items)) => items.push(value.clone()),
            Some(other) => *other = value.clone(),
            None => {}
        },
    }
    changed
}

/// `bytes` with the byte at `at` XORed with `flip` (1..=255).
pub fn flipped(bytes: &[u8], at: Index, flip: u8) -> Vec<u8> {
    let mut changed = bytes.to_vec();
    let position = at.index(changed.len());
    changed[position] ^= flip;
    changed
}

/// Whether `document` is `original` or differs from it only by values appended to its
/// `@context` array: `eddsa-jcs-2022` signs the proof's `@context` in place of the
/// document's and requires only that the document's starts with it, so such a copy verifies
/// by the specification (and the credential schemas allow more contexts). Any other change
/// must not verify.
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
