//! Member-signed federation requests: round trip, every mutation, clock skew limits, headers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey};
use talent_core::request_auth::{
    HEADER_MEMBER, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_CLOCK_SKEW_SECS, RequestAuthError,
    RequestSignature, parse_headers, sign_request, signed_message, verify_request,
};

const MEMBER: &str = "cq-sc";
const PATH: &str = "/log/tile/0/x001/234.p/5";
const NOW: u64 = 1_750_000_000;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[11u8; 32])
}

fn signed(method: &str, path: &str, timestamp: u64, body: &[u8]) -> RequestSignature {
    let headers = sign_request(MEMBER, &key(), method, path, timestamp, body);
    let value = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| *header == name)
            .map(|(_, value)| value.as_str())
    };
    parse_headers(
        value(HEADER_MEMBER),
        value(HEADER_TIMESTAMP),
        value(HEADER_SIGNATURE),
    )
    .expect("well-formed")
    .expect("present")
}

#[test]
fn message_layout_is_exactly_as_documented() {
    let message = signed_message(MEMBER, "get", PATH, NOW, b"");
    assert_eq!(
        String::from_utf8(message).expect("UTF-8"),
        "talent-registry/request/v1\ncq-sc\nGET\n/log/tile/0/x001/234.p/5\n1750000000\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    );
    let message = signed_message("cd-hz", "POST", "/federation/hint?x=1", 7, b"abc");
    assert_eq!(
        String::from_utf8(message).expect("UTF-8"),
        "talent-registry/request/v1\ncd-hz\nPOST\n/federation/hint?x=1\n7\n\
         ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
    );
}

#[test]
fn headers_carry_member_timestamp_and_signature() {
    let headers = sign_request(MEMBER, &key(), "GET", PATH, NOW, b"");
    assert_eq!(headers[0], ("Talent-Member", MEMBER.to_owned()));
    assert_eq!(headers[1], ("Talent-Timestamp", NOW.to_string()));
    assert_eq!(headers[2].0, "Talent-Signature");
    let expected = key().sign(&signed_message(MEMBER, "GET", PATH, NOW, b""));
    assert_eq!(headers[2].1, BASE64.encode(expected.to_bytes()));
}

#[test]
fn round_trip_verifies() {
    let body = b"old 5\n\ncheckpoint";
    let sig = signed("POST", "/log/add-checkpoint", NOW, body);
    assert_eq!(sig.member, MEMBER);
    assert_eq!(sig.timestamp, NOW);
    assert_eq!(
        verify_request(
            &sig,
            &key().verifying_key(),
            "POST",
            "/log/add-checkpoint",
            body,
            NOW
        ),
        Ok(())
    );
    // Method case does not matter: the message upper-cases it.
    let sig = signed("get", PATH, NOW, b"");
    assert_eq!(
        verify_request(&sig, &key().verifying_key(), "GET", PATH, b"", NOW),
        Ok(())
    );
}

#[test]
fn every_mutation_is_a_bad_signature() {
    let vk = key().verifying_key();
    let sig = signed("GET", PATH, NOW, b"");
    let bad = Err(RequestAuthError::BadSignature);
    assert_eq!(
        verify_request(&sig, &vk, "GET", "/log/tile/0/x001/234.p/6", b"", NOW),
        bad
    );
    assert_eq!(
        verify_request(&sig, &vk, "GET", "/log/tile/0/x001/234", b"", NOW),
        bad
    );
    assert_eq!(
        verify_request(&sig, &vk, "GET", "/log/tile/0/x001/234.p/5?a", b"", NOW),
        bad
    );
    assert_eq!(verify_request(&sig, &vk, "POST", PATH, b"", NOW), bad);
    assert_eq!(verify_request(&sig, &vk, "GET", PATH, b"x", NOW), bad);
    let other_member = RequestSignature {
        member: "cd-hz".to_owned(),
        ..sig.clone()
    };
    assert_eq!(
        verify_request(&other_member, &vk, "GET", PATH, b"", NOW),
        bad
    );
    let other_time = RequestSignature {
        timestamp: NOW + 1,
        ..sig.clone()
    };
    assert_eq!(verify_request(&other_time, &vk, "GET", PATH, b"", NOW), bad);
    for bit in 0..512 {
        let mut flipped = sig.clone();
        flipped.signature[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            verify_request(&flipped, &vk, "GET", PATH, b"", NOW),
            bad,
            "bit {bit}"
        );
    }
    let other_key = SigningKey::from_bytes(&[12u8; 32]).verifying_key();
    assert_eq!(verify_request(&sig, &other_key, "GET", PATH, b"", NOW), bad);
}

#[test]
fn clock_skew_limits() {
    let vk = key().verifying_key();
    assert_eq!(MAX_CLOCK_SKEW_SECS, 300);
    let at = |timestamp: u64, now: u64| {
        verify_request(
            &signed("GET", PATH, timestamp, b""),
            &vk,
            "GET",
            PATH,
            b"",
            now,
        )
    };
    assert_eq!(at(NOW - 300, NOW), Ok(()));
    assert_eq!(at(NOW + 300, NOW), Ok(()));
    assert_eq!(
        at(NOW - 301, NOW),
        Err(RequestAuthError::Expired { skew: 301 })
    );
    assert_eq!(
        at(NOW + 301, NOW),
        Err(RequestAuthError::Expired { skew: -301 })
    );
    assert_eq!(
        at(u64::MAX, 0),
        Err(RequestAuthError::Expired { skew: i64::MIN })
    );
    assert_eq!(
        at(0, u64::MAX),
        Err(RequestAuthError::Expired { skew: i64::MAX })
    );
    assert_eq!(at(0, 300), Ok(()));
}

#[test]
fn headers_all_or_nothing() {
    assert_eq!(parse_headers(None, None, None), Ok(None));
    let sig = BASE64.encode([0u8; 64]);
    let sig = Some(sig.as_str());
    let cases = [
        (None, Some("1"), sig, HEADER_MEMBER),
        (Some(MEMBER), None, sig, HEADER_TIMESTAMP),
        (Some(MEMBER), Some("1"), None, HEADER_SIGNATURE),
        (Some(MEMBER), None, None, HEADER_TIMESTAMP),
        (None, None, sig, HEADER_MEMBER),
    ];
    for (member, timestamp, signature, missing) in cases {
        assert_eq!(
            parse_headers(member, timestamp, signature),
            Err(RequestAuthError::MissingHeader(missing))
        );
    }
}

#[test]
fn malformed_header_values() {
    let good_sig = BASE64.encode([0u8; 64]);
    let check = |member: &str, timestamp: &str, signature: &str, header: &'static str| {
        assert_eq!(
            parse_headers(Some(member), Some(timestamp), Some(signature)),
            Err(RequestAuthError::MalformedHeader(header)),
            "{member:?} {timestamp:?} {signature:?}"
        );
    };
    for member in ["", "CQ-SC", "cq sc", "cq-sc\n", "x", "1cq"] {
        check(member, "1", &good_sig, HEADER_MEMBER);
    }
    for timestamp in [
        "",
        "01",
        "+1",
        "-1",
        " 1",
        "1.0",
        "18446744073709551616",
        "0x10",
    ] {
        check(MEMBER, timestamp, &good_sig, HEADER_TIMESTAMP);
    }
    let short = BASE64.encode([0u8; 63]);
    let long = BASE64.encode([0u8; 65]);
    let unpadded = good_sig.trim_end_matches('=').to_owned();
    for signature in [
        short.as_str(),
        long.as_str(),
        "not base64!",
        unpadded.as_str(),
        "",
    ] {
        check(MEMBER, "1", signature, HEADER_SIGNATURE);
    }
    assert_eq!(
        parse_headers(Some(MEMBER), Some("0"), Some(&good_sig)).map(|s| s.map(|s| s.timestamp)),
        Ok(Some(0))
    );
}

#[test]
fn error_codes_are_stable() {
    let codes: Vec<&str> = [
        RequestAuthError::MissingHeader(HEADER_MEMBER),
        RequestAuthError::MalformedHeader(HEADER_SIGNATURE),
        RequestAuthError::UnknownMember("zz".to_owned()),
        RequestAuthError::Expired { skew: 301 },
        RequestAuthError::BadSignature,
    ]
    .iter()
    .map(RequestAuthError::code)
    .collect();
    assert_eq!(
        codes,
        [
            "auth_missing",
            "auth_malformed",
            "auth_unknown_member",
            "auth_expired",
            "auth_bad_signature"
        ]
    );
}
