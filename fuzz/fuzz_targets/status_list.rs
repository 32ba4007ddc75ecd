//! W3C Bitstring Status Lists (bundles, `GET /status/…`): an `encodedList` (input starting
//! with `u`) decodes within the size bound and re-encodes to the same bits; otherwise the
//! input is a list credential or a credential's `credentialStatus`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use talent_core::status_list::{Bitstring, StatusEntry, StatusListCredential};

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'u') {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        if let Ok(list) = Bitstring::decode(text) {
            assert!(list.bits() <= 8 * (16 << 20));
            assert_eq!(Bitstring::decode(&list.encode()), Ok(list));
        }
        return;
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = StatusListCredential::from_json(&value);
    if let Ok(entries) = StatusEntry::all_of(&value) {
        for entry in entries {
            assert_eq!(StatusEntry::from_json(&entry.to_json()), Ok(entry));
        }
    }
});
