//! # talent-sdjwt
//!
//! Selective disclosure for the registry's holders: SD-JWT (RFC 9901) and SD-JWT VC
//! (draft-ietf-oauth-sd-jwt-vc) over compact JWS with EdDSA (Ed25519), and the
//! OpenID4VCI key proof a wallet sends to bind a credential to its key.
//!
//! Why hand-written (docs/holders.md, "Why our own code"): the Rust SD-JWT crates either
//! follow an older draft (`sd-jwt-rs` 0.7: no `sd_hash` in the key-binding JWT) or draw
//! salts from a thread RNG and leave JWS verification to the caller (`sd-jwt-payload`
//! 0.5), and this crate is pure like the registry's other libraries: the caller hands in
//! salts, keys and the time. What is here is small (base64url, SHA-256, Ed25519 from
//! `ed25519-dalek`), checked against the RFC's vectors and, in the integration tests,
//! against the OpenWallet Foundation's JavaScript implementation.
//!
//! | module | owns |
//! |---|---|
//! | [`jws`] | compact JWS with `alg: EdDSA`: signing input, sign, parse, verify |
//! | [`jwk`] | Ed25519 public keys as OKP JWKs (RFC 8037) |
//! | [`disclosure`] | one disclosure: encoding, parsing, its digest |
//! | [`sd_jwt`] | an SD-JWT: concealing claims when issuing, the serialisation, resolving disclosures when verifying |
//! | [`key_binding`] | the KB-JWT: making one (for tests and tools) and checking `aud`, `nonce`, `iat`, `sd_hash` |
//! | [`key_proof`] | the OpenID4VCI `openid4vci-proof+jwt`: the holder's key, its `aud`, `nonce` and `iat` |
//! | [`vc`] | the registry's SD-JWT VC: made from a logged W3C credential, read back after verification |

pub mod disclosure;
pub mod error;
pub mod jwk;
pub mod jws;
pub mod key_binding;
pub mod key_proof;
pub mod sd_jwt;
pub mod vc;

pub use error::SdJwtError;

/// Unpadded base64url (RFC 7515 §2), the encoding of every JOSE part and digest.
pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; `what` names the part in the error.
pub(crate) fn unb64(text: &str, what: &'static str) -> Result<Vec<u8>, SdJwtError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| SdJwtError::Encoding(what))
}
