//! A checkpoint note (`GET /log/checkpoint`, trust anchors, bundles): opening it with the
//! member's log key and checking its cosignatures. Only the fixture log's checkpoint opens,
//! and a cosignature verifies only on its body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_tlog::checkpoint::open_checkpoint;
use talent_tlog::cosignature::verify_cosignatures;
use talent_core_fuzz::fixtures::MEMBER;
use talent_core_fuzz::{federation, log};

fuzz_target!(|data: &[u8]| {
    let member = federation().member(MEMBER).expect("member");
    let fixture = log().tree.root();
    if let Ok(checkpoint) = open_checkpoint(data, &member.log_origin, &member.log_vkey) {
        assert_eq!(checkpoint.size(), log().tree.size());
        assert_eq!(checkpoint.root(), &fixture);
    }
    if let Ok(cosignatures) = verify_cosignatures(data, &federation().cosigners_of(MEMBER))
        && !cosignatures.is_empty()
    {
        let fixture_body = log()
            .checkpoint
            .split(|&b| b == b'\n')
            .take(3)
            .collect::<Vec<_>>();
        let body = data.split(|&b| b == b'\n').take(3).collect::<Vec<_>>();
        assert_eq!(body, fixture_body, "a cosignature verified on another body");
    }
});
