//! Properties of member-signed requests (`talent_core::request_auth`), what every federation
//! read and `add-checkpoint` carries: a signed request verifies, the headers read back as
//! written, any change to what was signed is a bad signature, and any header text is
//! refused without a panic.

mod fixtures;
mod support;

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use support::cases;
use talent_core::request_auth::{
    MAX_CLOCK_SKEW_SECS, RequestAuthError, RequestSignature, parse_headers, sign_request,
    verify_request,
};

/// A request as a member makes one.
#[derive(Debug, Clone)]
struct Request {
    member: String,
    method: String,
    path: String,
    timestamp: u64,
    body: Vec<u8>,
}

fn any_request() -> impl Strategy<Value = Request> {
    (
        "[a-z][a-z0-9-]{1,31}",
        prop::sample::select(vec!["GET", "POST", "get", "Post"]),
        "/[!-~]{0,60}",
        0u64..=u64::MAX / 2,
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(member, method, path, timestamp, body)| Request {
            member,
            method: method.to_owned(),
            path,
            timestamp,
            body,
        })
}

fn key() -> SigningKey {
    fixtures::key(fixtures::MEMBER, "witness")
}

/// Signs `request` and reads its headers back.
fn signed(request: &Request) -> (RequestSignature, [(&'static str, String); 3]) {
    let headers = sign_request(
        &request.member,
        &key(),
        &request.method,
        &request.path,
        request.timestamp,
        &request.body,
    );
    let parsed = parse_headers(
        Some(&headers[0].1),
        Some(&headers[1].1),
        Some(&headers[2].1),
    )
    .expect("well-formed")
    .expect("present");
    (parsed, headers)
}

fn verify(sig: &RequestSignature, request: &Request, now: u64) -> Result<(), RequestAuthError> {
    verify_request(
        sig,
        &key().verifying_key(),
        &request.method,
        &request.path,
        &request.body,
        now,
    )
}

proptest! {
    #![proptest_config(cases(256))]

    /// A signed request verifies anywhere within the clock skew, and its headers read back
    /// as written.
    #[test]
    fn signed_requests_verify(request in any_request(), skew in -300i64..=300) {
        let (sig, headers) = signed(&request);
        prop_assert_eq!(&sig.member, &request.member);
        prop_assert_eq!(sig.timestamp.to_string(), headers[1].1.clone());
        let now = request.timestamp.saturating_add_signed(skew);
        prop_assert_eq!(verify(&sig, &request, now), Ok(()));
        let late = request.timestamp + MAX_CLOCK_SKEW_SECS + 1 + skew.unsigned_abs();
        let refused = matches!(verify(&sig, &request, late), Err(RequestAuthError::Expired { .. }));
        prop_assert!(refused);
    }

    /// Any change to what was signed — member, method (other than its case), target, time,
    /// body, a signature bit, the key — is a bad signature.
    #[test]
    fn any_change_is_a_bad_signature(
        request in any_request(),
        change in 0usize..7,
        bit in 0usize..512,
        other_path in "/[!-~]{0,60}",
        other_body in prop::collection::vec(any::<u8>(), 0..200),
        delta in 1u64..=300,
    ) {
        let (mut sig, _) = signed(&request);
        let mut presented = request.clone();
        let mut now = request.timestamp;
        match change {
            0 => sig.member = format!("{}x", request.member.get(..31).unwrap_or(&request.member)),
            1 => {
                presented.method =
                    if request.method.eq_ignore_ascii_case("GET") { "POST" } else { "GET" }.into();
            }
            2 => {
                prop_assume!(other_path != request.path);
                presented.path = other_path;
            }
            3 => {
                sig.timestamp += delta;
                now = sig.timestamp;
            }
            4 => {
                prop_assume!(other_body != request.body);
                presented.body = other_body;
            }
            5 => sig.signature[bit / 8] ^= 1 << (bit % 8),
            _ => {
                let other = SigningKey::from_bytes(&[0x5a; 32]);
                let result = verify_request(
                    &sig,
                    &other.verifying_key(),
                    &request.method,
                    &request.path,
                    &request.body,
                    now,
                );
                prop_assert_eq!(result, Err(RequestAuthError::BadSignature));
                return Ok(());
            }
        }
        prop_assert_eq!(verify(&sig, &presented, now), Err(RequestAuthError::BadSignature));
    }

    /// Any header values: refused or read without a panic; what is read is canonical (the
    /// member id as given, the timestamp's decimal, the signature's base64 written back).
    #[test]
    fn any_headers_are_read_or_refused(
        member in prop::option::of(prop_oneof!["[a-z][a-z0-9-]{1,31}", "[a-z0-9A-Z -]{0,40}"]),
        timestamp in prop::option::of(prop_oneof!["[0-9]{0,22}", "[+ -]?[0-9a-f]{0,10}"]),
        signature in prop::option::of(prop_oneof![
            prop::collection::vec(any::<u8>(), 63..=65).prop_map(|bytes| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(bytes)
            }),
            "[A-Za-z0-9+/]{84,88}={0,2}",
            "[!-~]{0,100}",
        ]),
    ) {
        match parse_headers(member.as_deref(), timestamp.as_deref(), signature.as_deref()) {
            Ok(Some(sig)) => {
                prop_assert_eq!(Some(sig.member.as_str()), member.as_deref());
                prop_assert_eq!(Some(sig.timestamp.to_string()), timestamp);
                use base64::Engine as _;
                let written = base64::engine::general_purpose::STANDARD.encode(sig.signature);
                prop_assert_eq!(Some(written), signature);
            }
            Ok(None) => prop_assert!(member.is_none() && timestamp.is_none() && signature.is_none()),
            Err(_) => {}
        }
    }
}
