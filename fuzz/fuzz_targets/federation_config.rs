//! A federation configuration (`federation.toml`, and the one a node serves in its trust
//! anchors): errors point inside the text, and a configuration that parses writes out as
//! TOML that parses to the same federation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_core::federation::Federation;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Federation::parse(text) {
        Ok(federation) => {
            let again = Federation::parse(&federation.to_toml()).expect("written TOML parses");
            assert_eq!(again, federation);
        }
        Err(error) => {
            assert!(error.line >= 1 && error.line <= text.lines().count().max(1) + 1);
            assert!(error.column >= 1);
        }
    }
});
