//! Trust anchors a node serves (`talent-verify trust update`): checked against the pinned
//! federation, alone and against the fixture's stored anchors. Only the fixture log's
//! checkpoint opens, so a head that passes has its size.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use talent_core::trust::TrustAnchors;
use talent_core_fuzz::fixtures::{MEMBER, NOW};
use talent_core_fuzz::{federation, log};

fuzz_target!(|data: &[u8]| {
    let Ok(anchors) = serde_json::from_slice::<TrustAnchors>(data) else {
        return;
    };
    let stored = TrustAnchors::new(
        federation(),
        BTreeMap::from([(
            MEMBER.to_owned(),
            String::from_utf8(log().checkpoint.clone()).expect("UTF-8 note"),
        )]),
        NOW.to_owned(),
    );
    for stored in [None, Some(&stored)] {
        if let Ok(heads) = anchors.check(federation(), stored) {
            for head in heads {
                assert_eq!(head.member, MEMBER);
                assert_eq!(head.size, log().tree.size());
            }
        }
    }
});
