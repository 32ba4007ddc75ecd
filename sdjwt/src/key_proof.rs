//! The OpenID4VCI key proof (`proof_type: jwt`, OpenID4VCI 1.0 Appendix F.1): a JWT of
//! `typ: openid4vci-proof+jwt` signed by the wallet's key, which its header carries as
//! `jwk`, over the credential issuer (`aud`) and the issuer's fresh `nonce`. The key it
//! proves becomes the credential's `cnf.jwk`.

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use crate::SdJwtError;
use crate::jwk;
use crate::jws::Jws;

/// The key proof's `typ`.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// What the credential issuer expects of a key proof.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The credential issuer identifier (`aud`).
    pub audience: &'a str,
    /// The nonce the issuer handed out (its nonce endpoint).
    pub nonce: &'a str,
    /// The issuer's time, in seconds since the epoch.
    pub now: i64,
    /// How far `iat` may lie from `now`, either way, in seconds.
    pub window: i64,
}

/// The holder's key proven by `proof`, after checking its type, signature, audience,
/// nonce and time. Only a `jwk` header is taken (no `kid`, no `x5c`): a wallet's key
/// needs no resolution.
///
/// # Errors
/// [`SdJwtError`]: the JWS's errors, [`SdJwtError::MissingHolderKey`],
/// [`SdJwtError::UnsupportedKey`], [`SdJwtError::WrongAudience`],
/// [`SdJwtError::WrongNonce`], [`SdJwtError::StaleIssuedAt`].
pub fn holder_key(proof: &str, expected: Expected<'_>) -> Result<VerifyingKey, SdJwtError> {
    let jws = Jws::parse(proof)?;
    jws.require_typ(PROOF_TYP)?;
    let key = jwk::verifying_key(
        jws.header()
            .get("jwk")
            .ok_or(SdJwtError::MissingHolderKey)?,
    )?;
    jws.verify(&key, "key proof")?;
    let audience_matches = match jws.claims().get("aud") {
        Some(Value::String(aud)) => aud == expected.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected.audience)),
        _ => false,
    };
    if !audience_matches {
        return Err(SdJwtError::WrongAudience);
    }
    if jws.string_claim("nonce") != Some(expected.nonce) {
        return Err(SdJwtError::WrongNonce);
    }
    let iat = jws
        .numeric_claim("iat")
        .ok_or(SdJwtError::MissingClaim("iat"))?;
    if (iat - expected.now).abs() > expected.window {
        return Err(SdJwtError::StaleIssuedAt(iat));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws;
    use ed25519_dalek::SigningKey;
    use serde_json::{Map, json};

    fn proof(key: &SigningKey, typ: &str, aud: &str, nonce: &str) -> String {
        let mut header = Map::new();
        header.insert("typ".to_owned(), json!(typ));
        header.insert("jwk".to_owned(), jwk::ed25519_jwk(&key.verifying_key()));
        jws::sign(
            &header,
            &json!({"aud": aud, "nonce": nonce, "iat": 100}),
            key,
        )
    }

    const EXPECTED: Expected<'static> = Expected {
        audience: "https://issuer",
        nonce: "c-nonce",
        now: 120,
        window: 300,
    };

    #[test]
    fn a_proof_gives_its_key_and_a_wrong_one_nothing() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let good = proof(&key, PROOF_TYP, "https://issuer", "c-nonce");
        assert_eq!(holder_key(&good, EXPECTED), Ok(key.verifying_key()));
        let other_aud = proof(&key, PROOF_TYP, "https://elsewhere", "c-nonce");
        assert_eq!(
            holder_key(&other_aud, EXPECTED),
            Err(SdJwtError::WrongAudience)
        );
        let old_nonce = proof(&key, PROOF_TYP, "https://issuer", "old");
        assert_eq!(
            holder_key(&old_nonce, EXPECTED),
            Err(SdJwtError::WrongNonce)
        );
        let kb = proof(&key, "kb+jwt", "https://issuer", "c-nonce");
        assert!(matches!(
            holder_key(&kb, EXPECTED),
            Err(SdJwtError::WrongTyp { .. })
        ));
    }
}
