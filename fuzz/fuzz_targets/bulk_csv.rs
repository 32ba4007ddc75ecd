//! A bulk CSV file (console import, `registry-node import`): every row becomes a request the
//! issuance path reads, or problems that never quote an ID number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_forms::bulk;
use talent_core::credential::IssueRequest;
use talent_core_fuzz::schemas;

fuzz_target!(|data: &[u8]| {
    let Ok(plan) = bulk::plan(data, schemas()) else {
        return;
    };
    for (_, request) in plan.valid_requests() {
        let request = IssueRequest::from_json(request).expect("a planned request reads");
        request
            .check()
            .expect("a planned request passes the checks");
    }
    // An 18-character cell that could be an ID number is never quoted in a problem.
    let text = String::from_utf8_lossy(data);
    for cell in text.split([',', '\n', '"']).map(str::trim) {
        if cell.len() == 18 && cell.bytes().take(17).all(|b| b.is_ascii_digit()) {
            assert!(plan.errors().all(|error| !error.message.contains(cell)));
        }
    }
});
