//! An `add-checkpoint` body (`POST /log/add-checkpoint`, C2SP tlog-witness) through the
//! witness: parsed bodies write back to the same bytes, and the witness (which last cosigned
//! size 3 of the fixture log) cosigns only the fixture log's checkpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_tlog::cosignature::Cosigner;
use talent_tlog::witness::{
    AddCheckpointRequest, WitnessOutcome, WitnessRecord, WitnessedLog, add_checkpoint,
};
use talent_core_fuzz::fixtures::{self, MEMBER, NOW_SECS};
use talent_core_fuzz::{federation, log};

fuzz_target!(|data: &[u8]| {
    let Ok(request) = AddCheckpointRequest::parse(data) else {
        return;
    };
    assert_eq!(
        request.to_bytes(),
        data,
        "a parsed body writes back differently"
    );
    let _ = request.origin();
    let member = federation().member(MEMBER).expect("member");
    let logs = [WitnessedLog {
        origin: member.log_origin.clone(),
        log_vkey: member.log_vkey.clone(),
        log_sm2_vkey: None,
    }];
    let previous = WitnessRecord {
        size: 3,
        root: log().tree.root_at(3).expect("root"),
        checkpoint: Vec::new(),
    };
    let witness = federation().member("cd-hz").expect("witness");
    let cosigner =
        Cosigner::new(&witness.witness_name, fixtures::key("cd-hz", "witness")).expect("cosigner");
    for previous in [None, Some(&previous)] {
        if let Ok(WitnessOutcome::Cosigned { record, .. }) =
            add_checkpoint(&request, &logs, previous, &cosigner, NOW_SECS)
        {
            assert_eq!(record.size, log().tree.size());
            assert_eq!(record.root, log().tree.root());
        }
    }
});
