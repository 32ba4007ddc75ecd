//! Holders with wallets (issue 22, docs/holders.md): an office hands a talent a credential
//! offer (OpenID4VCI 1.0, pre-authorized code flow) and the wallet receives the credential
//! as an SD-JWT VC bound to its key; an employer's page asks for a presentation (OpenID4VP
//! 1.0, DCQL, `direct_post`) and the node verifies what the wallet discloses against the
//! logged credential.
//!
//! Every secret handed out here (pre-authorized codes, transaction codes, access tokens,
//! nonces, request states, result tokens) is single use, short-lived, stored only as its
//! SHA-256 ([`pending`]) and in memory: a restart ends every open offer and request, which
//! the office or employer then makes again.

pub mod error;
pub mod issuer;
pub mod pending;
pub mod verifier;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

pub use self::error::HolderError;
use self::issuer::{AccessGrant, Offer};
use self::pending::Pending;
use self::verifier::{PresentationRequest, RequestResult};

/// How long a credential offer may wait for its wallet.
pub const OFFER_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long an access token, a credential nonce and a presentation request live.
pub const SHORT_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long an employer may fetch a presentation's result.
pub const RESULT_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Most entries of each kind open at once (offers, tokens, nonces, requests, results).
pub const MAX_PENDING: usize = 10_000;
/// Wrong transaction codes an offer survives: a photographed QR code without its PIN
/// gives 3 guesses at a 6-digit code (one in 333,333).
pub const TX_CODE_ATTEMPTS: u32 = 3;
/// How far a wallet's `iat` may be from the node's clock.
pub const IAT_WINDOW_SECONDS: i64 = 300;

/// The node's open offers, tokens, nonces and presentation requests.
#[derive(Debug)]
pub struct Holders {
    /// Open offers by pre-authorized code.
    pub offers: Pending<Offer>,
    /// Access tokens by token.
    pub access: Pending<AccessGrant>,
    /// Credential-request nonces (`c_nonce`).
    pub nonces: Pending<()>,
    /// Open presentation requests by request id.
    pub requests: Pending<PresentationRequest>,
    /// Request ids by `state`, for the wallet's response.
    pub states: Pending<String>,
    /// Results by the employer's result token.
    pub results: Pending<RequestResult>,
}

impl Default for Holders {
    fn default() -> Holders {
        Holders {
            offers: Pending::new("credential offers", MAX_PENDING, OFFER_LIFETIME),
            access: Pending::new("access tokens", MAX_PENDING, SHORT_LIFETIME),
            nonces: Pending::new("nonces", MAX_PENDING, SHORT_LIFETIME),
            requests: Pending::new("presentation requests", MAX_PENDING, SHORT_LIFETIME),
            states: Pending::new("presentation requests", MAX_PENDING, SHORT_LIFETIME),
            results: Pending::new("presentation results", MAX_PENDING, RESULT_LIFETIME),
        }
    }
}

/// A fresh secret: 256 random bits, base64url.
pub fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh disclosure salt: 128 random bits, base64url (RFC 9901 §9.3).
pub fn salt() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What a URI query value keeps unescaped: RFC 3986's unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` percent-encoded as one query parameter value.
pub fn query_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).collect()
}

/// The `vct` of credential type `type_name` at the node reached at `public_url`.
pub fn vct(public_url: &str, type_name: &str) -> String {
    format!("{public_url}/vct/{type_name}")
}

/// The seconds since the epoch of an RFC 3339 time.
fn epoch_seconds(text: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text?)
        .ok()
        .map(|time| time.timestamp())
}
