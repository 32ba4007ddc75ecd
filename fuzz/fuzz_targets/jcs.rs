//! RFC 8785 canonical JSON: writing is idempotent, and the one-pass scan that proves bytes
//! canonical (which a mirror relies on) never says yes to bytes that are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use talent_integrity::jcs;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        let _ = jcs::is_canonical(data);
        let _ = jcs::canonical_members(data);
        return;
    };
    let canonical = jcs::canonicalize(&value);
    let again: Value = serde_json::from_slice(&canonical).expect("canonical bytes parse");
    assert_eq!(jcs::canonicalize(&again), canonical, "not idempotent");
    assert!(
        jcs::is_canonical(data) <= (canonical == data),
        "the scan proved non-canonical bytes"
    );
    if let Some(spans) = jcs::canonical_members(data) {
        let object = value.as_object().expect("an object");
        let (written, written_spans) = jcs::canonicalize_object_members(object);
        assert_eq!(written, data);
        assert_eq!(spans, written_spans);
    }
});
