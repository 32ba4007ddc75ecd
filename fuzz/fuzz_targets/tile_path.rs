//! A tile or entry bundle path (`GET /log/tile/…`): a path that parses is written back the
//! same, and its geometry never overflows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_tlog::tile::{TILE_WIDTH, TilePath};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = text.parse::<TilePath>() else {
        return;
    };
    assert_eq!(path.to_string(), text.strip_prefix('/').unwrap_or(text));
    let range = path.entry_range();
    assert!(range.end - range.start <= TILE_WIDTH);
    assert!(path.stored_hash_indexes().len() as u64 <= TILE_WIDTH);
});
