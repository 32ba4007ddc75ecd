//! A presented credential (any bytes) through the verification pipeline, offline and with log
//! evidence, alone and in a batch. Only the fixture credential (modulo values appended to its
//! `@context`, which the specification allows) may verify: the fuzzer cannot sign.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use talent_integrity::did::KeyCache;
use talent_core::verify::{IssuerContext, LogContext, VerifyOptions, verify_credentials};
use talent_core_fuzz::fixtures::{self, Evidence};
use talent_core_fuzz::{log, same_or_context_appended, schemas, signed_title};

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for evidence in [Evidence::None, Evidence::Log] {
        let verdict = fixtures::verdict(&document, schemas(), log(), evidence);
        assert!(
            !verdict.verified || same_or_context_appended(&document, signed_title()),
            "a changed credential verified: {document}"
        );
    }
    // The batch gives each credential its own verdict, whatever the others are.
    let options = VerifyOptions {
        now: fixtures::now() + chrono::Duration::days(1),
        schemas: schemas(),
        log: LogContext::NotRequested,
        issuers: IssuerContext::NotRequested,
        status: None,
    };
    let verdicts = verify_credentials(&[&document, signed_title()], &options, &mut KeyCache::new());
    assert!(verdicts[1].verified, "the fixture failed beside {document}");
    assert_eq!(
        verdicts[0],
        talent_core::verify::verify_credential(&document, &options)
    );
});
