//! An offline proof bundle (`talent-verify verify bundle.json`): reading it, verifying it
//! against the pinned federation with and without the quorum, and recognition. Only the
//! fixture's credential may verify with the quorum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use talent_core::proof_bundle::{BundleOptions, ProofBundle};
use talent_core_fuzz::fixtures;
use talent_core_fuzz::{federation, same_or_context_appended, schemas, signed_title};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(bundle) = ProofBundle::from_json(&value) else {
        return;
    };
    for require_quorum in [true, false] {
        let options = BundleOptions {
            now: fixtures::now() + chrono::Duration::days(1),
            schemas: schemas(),
            trust: federation(),
            require_quorum,
            max_status_age: Some(86_400 * 30),
        };
        let Ok(verification) = bundle.verification(&options) else {
            continue;
        };
        assert!(
            !verification.verdict.verified
                || same_or_context_appended(&bundle.credential, signed_title()),
            "a changed bundle verified: {value}"
        );
        for region in ["cq-sc", "cd-hz", "xx"] {
            let _ = bundle.recognise(
                region,
                verification.verified.as_ref(),
                federation(),
                options.now,
            );
        }
    }
});
