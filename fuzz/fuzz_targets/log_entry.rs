//! A log entry (what a mirror reads from a peer's bundles): decoding, the whole check, and the
//! fast path of a catch-up (`prepare_entry_with` + `verify_entries`), which must answer as the
//! whole check does. Only the fixture log's entries verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_integrity::did::KeyCache;
use talent_integrity::jcs;
use talent_core::log_entry::{decode, prepare_entry_with, verify_entries, verify_entry};
use talent_core_fuzz::log;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = decode(data) {
        assert_eq!(
            jcs::canonicalize(&entry.object),
            data,
            "a non-canonical entry decoded"
        );
    }
    let whole = verify_entry(data);
    if whole.is_ok() {
        assert!(
            log().entries.iter().any(|entry| entry == data),
            "an entry the fuzzer made verified"
        );
    }
    let fast = prepare_entry_with(data, &mut KeyCache::new())
        .map_err(|_| ())
        .and_then(|prepared| verify_entries(vec![prepared], &[data]).map_err(|_| ()));
    assert_eq!(fast.is_ok(), whole.is_ok(), "the fast path disagrees");
    if let (Ok(fast), Ok(whole)) = (fast, whole) {
        assert_eq!(fast[0].id, whole.id);
        assert_eq!(fast[0].signer, whole.signer);
        assert_eq!(fast[0].kind, whole.entry.kind);
    }
});
