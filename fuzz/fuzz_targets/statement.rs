//! Status changes and key rotations (log entries, `POST /api/v1/credentials/{id}/status`):
//! what reads is written canonically, and the canonical form reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use talent_core::statement::Statement;

fuzz_target!(|data: &[u8]| {
    let Ok(object) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(statement) = Statement::from_json(&object) else {
        return;
    };
    let unsigned = match &statement {
        Statement::StatusChange(change) => change.to_unsigned(),
        Statement::KeyRotation(rotation) => rotation.to_unsigned(),
    };
    let again = Statement::from_json(&unsigned).expect("the canonical form reads");
    let again_unsigned = match &again {
        Statement::StatusChange(change) => change.to_unsigned(),
        Statement::KeyRotation(rotation) => rotation.to_unsigned(),
    };
    assert_eq!(unsigned, again_unsigned);
    assert_eq!(statement.id(), again.id());
});
