//! An entry bundle (a peer's `tile/entries/…` response): decoding with the count its path
//! promises (the first byte + 1), and a decoded bundle encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_tlog::bundle::{decode, push_entry};

fuzz_target!(|data: &[u8]| {
    let Some((&count, bundle)) = data.split_first() else {
        return;
    };
    let Ok(entries) = decode(bundle, usize::from(count) + 1) else {
        return;
    };
    let mut again = Vec::new();
    for entry in &entries {
        push_entry(&mut again, entry).expect("a decoded entry fits");
    }
    assert_eq!(again, bundle);
});
