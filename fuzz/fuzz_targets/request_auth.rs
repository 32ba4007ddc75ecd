//! Member-signed request headers (`Talent-Member/Timestamp/Signature`) and the request they
//! sign. The input is six fields separated by 0xff: member, timestamp, signature, method,
//! path, body. Only the fixture's own signed request verifies with cq-sc's witness key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_core::request_auth::{parse_headers, sign_request, verify_request};
use talent_core_fuzz::fixtures::{self, MEMBER, NOW_SECS};

fuzz_target!(|data: &[u8]| {
    let fields: Vec<&[u8]> = data.splitn(6, |&b| b == 0xff).collect();
    let [member, timestamp, signature, method, path, body] = fields[..] else {
        return;
    };
    let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
    let (Some(member), Some(timestamp), Some(signature), Some(method), Some(path)) = (
        text(member),
        text(timestamp),
        text(signature),
        text(method),
        text(path),
    ) else {
        return;
    };
    let present = |s: &str| (!s.is_empty()).then_some(s.to_owned());
    let Ok(Some(parsed)) = parse_headers(
        present(&member).as_deref(),
        present(&timestamp).as_deref(),
        present(&signature).as_deref(),
    ) else {
        return;
    };
    assert_eq!(parsed.member, member);
    assert_eq!(parsed.timestamp.to_string(), timestamp);
    let key = fixtures::key(MEMBER, "witness");
    if verify_request(
        &parsed,
        &key.verifying_key(),
        &method,
        &path,
        body,
        NOW_SECS,
    )
    .is_ok()
    {
        let expected = sign_request(MEMBER, &key, &method, &path, parsed.timestamp, body);
        assert_eq!(
            expected[2].1, signature,
            "a request the fuzzer signed verified"
        );
    }
});
