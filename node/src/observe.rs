//! What every request leaves behind for the operator: a request id (the client's
//! `x-request-id` when it is a sane one, a new UUIDv7 otherwise), echoed in the response's
//! `x-request-id` and carried by a `request` tracing span around the whole handler, so
//! every log line the request causes names it; and its response counted by route group and
//! status class ([`crate::metrics::HttpMetrics`]).
//!
//! The span holds the request id, the method and the route's template
//! (`/api/v1/credentials/{id}`, never the path a client sent): no token, no body and no
//! query string reach the log through it. With `registry_node::observe=debug` each
//! response is logged (`response`, its status and time in microseconds).

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::{HttpMetrics, route_group};

/// The header a request id travels in, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest client request id the node keeps; a longer one is replaced.
pub const MAX_REQUEST_ID_LENGTH: usize = 64;

/// The client's request id when it is 1–64 characters of `A–Z a–z 0–9 . _ -`: safe in a
/// log line and a header, and short enough not to bloat either. Anything else is ignored.
pub fn accepted_request_id(header: Option<&HeaderValue>) -> Option<&str> {
    let value = header?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LENGTH
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    sane.then_some(value)
}

/// A new request id: a UUIDv7 (time-ordered), its random bits from the thread's RNG
/// rather than a `getrandom` system call per request (`Uuid::now_v7`'s way).
pub fn new_request_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let random: [u8; 10] = rand::random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// The middleware (`axum::middleware::from_fn_with_state`): runs the request inside its
/// span, echoes its id and counts its response.
pub async fn observe(
    State(http): State<Arc<HttpMetrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = match accepted_request_id(request.headers().get(REQUEST_ID_HEADER)) {
        Some(id) => id.to_owned(),
        None => new_request_id(),
    };
    let group = route_group(request.uri().path());
    let span = {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("-", MatchedPath::as_str);
        tracing::info_span!("request", id = %id, method = %request.method(), route)
    };
    // A sane or generated id is always a valid header value.
    let value = HeaderValue::from_str(&id).ok();
    if let Some(value) = &value {
        // Handlers see the id the log shows, whichever the client sent.
        request
            .headers_mut()
            .insert(REQUEST_ID_HEADER, value.clone());
    }
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    http.count(group, status);
    // The access log, for `RUST_LOG=registry_node::observe=debug`: off by default, where it
    // costs one level check per request.
    tracing::debug!(
        parent: &span,
        status,
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "response"
    );
    if let Some(value) = value {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        let header = |text: &str| HeaderValue::from_str(text).expect("a header value");
        for kept in ["abc", "0f1e-22_x.y", &"a".repeat(64)] {
            assert_eq!(accepted_request_id(Some(&header(kept))), Some(kept));
        }
        for refused in [
            "",
            &"a".repeat(65),
            "has space",
            "new\tline",
            "quote\"",
            "{\"json\":1}",
            "trt_ab/cd",
        ] {
            assert_eq!(
                accepted_request_id(Some(&header(refused))),
                None,
                "{refused:?}"
            );
        }
        let generated = new_request_id();
        let parsed = uuid::Uuid::parse_str(&generated).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 7, "{generated}");
        assert_eq!(
            accepted_request_id(Some(&header(&generated))),
            Some(generated.as_str()),
            "a generated id is itself a sane one"
        );
        let binary = HeaderValue::from_bytes(b"caf\xc3\xa9").expect("opaque bytes");
        assert_eq!(accepted_request_id(Some(&binary)), None);
        assert_eq!(accepted_request_id(None), None);
    }
}
