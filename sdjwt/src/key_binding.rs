//! The key-binding JWT (RFC 9901 §4.3): the holder's signature over the verifier's
//! audience and nonce and over the SD-JWT and disclosures it presents (`sd_hash`), which
//! makes a presentation useless to anyone who copies it.

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};

use crate::SdJwtError;
use crate::disclosure::digest_of;
use crate::jws::{self, Jws};
use crate::sd_jwt::Presentation;

/// The KB-JWT's `typ`.
pub const KB_TYP: &str = "kb+jwt";

/// What a verifier expects of a key-binding JWT.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Its own identifier (`aud`): for OpenID4VP, the request's `client_id`.
    pub audience: &'a str,
    /// The nonce it handed out for this presentation.
    pub nonce: &'a str,
    /// The verifier's time, in seconds since the epoch.
    pub now: i64,
    /// How far `iat` may lie from `now`, either way, in seconds.
    pub window: i64,
}

/// The KB-JWT over `sd_jwt_text` (`<JWT>~<D1>~…~`) for `audience` and `nonce` at `iat`,
/// signed by the holder's `key`: what a wallet appends. For tests and tools.
pub fn make(sd_jwt_text: &str, audience: &str, nonce: &str, iat: i64, key: &SigningKey) -> String {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::from(KB_TYP));
    let payload = json!({
        "iat": iat,
        "aud": audience,
        "nonce": nonce,
        "sd_hash": digest_of(sd_jwt_text),
    });
    jws::sign(&header, &payload, key)
}

/// Checks the presentation's key-binding JWT against the holder's key and `expected`.
///
/// # Errors
/// [`SdJwtError::MissingKeyBinding`], [`SdJwtError::WrongTyp`],
/// [`SdJwtError::BadSignature`], [`SdJwtError::WrongAudience`], [`SdJwtError::WrongNonce`],
/// [`SdJwtError::StaleIssuedAt`], [`SdJwtError::WrongSdHash`].
pub fn check(
    presentation: &Presentation,
    holder: &VerifyingKey,
    expected: Expected<'_>,
) -> Result<(), SdJwtError> {
    let kb: &Jws = presentation
        .key_binding
        .as_ref()
        .ok_or(SdJwtError::MissingKeyBinding)?;
    kb.require_typ(KB_TYP)?;
    kb.verify(holder, "key-binding JWT")?;
    if kb.string_claim("aud") != Some(expected.audience) {
        return Err(SdJwtError::WrongAudience);
    }
    if kb.string_claim("nonce") != Some(expected.nonce) {
        return Err(SdJwtError::WrongNonce);
    }
    let iat = kb
        .numeric_claim("iat")
        .ok_or(SdJwtError::MissingClaim("iat"))?;
    if (iat - expected.now).abs() > expected.window {
        return Err(SdJwtError::StaleIssuedAt(iat));
    }
    if kb.string_claim("sd_hash") != Some(digest_of(&presentation.sd_jwt_text).as_str()) {
        return Err(SdJwtError::WrongSdHash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::Disclosure;
    use crate::sd_jwt::{conceal, serialize};

    fn presentation(holder: &SigningKey, tamper: impl FnOnce(&mut String)) -> Presentation {
        let mut claims = json!({"a": 1, "b": 2})
            .as_object()
            .cloned()
            .expect("object");
        let disclosures = conceal(&mut claims, &["a", "b"], || "salt".to_owned() + "x");
        let jwt = jws::sign(&Map::new(), &Value::Object(claims), holder);
        let mut sd_jwt = serialize(&jwt, &disclosures[..1]);
        let kb = make(&sd_jwt, "https://verifier", "n-1", 1_000, holder);
        tamper(&mut sd_jwt);
        Presentation::parse(&format!("{sd_jwt}{kb}")).expect("parses")
    }

    const EXPECTED: Expected<'static> = Expected {
        audience: "https://verifier",
        nonce: "n-1",
        now: 1_010,
        window: 300,
    };

    #[test]
    fn a_fresh_binding_passes_and_every_changed_expectation_fails() {
        let holder = SigningKey::from_bytes(&[9; 32]);
        let key = holder.verifying_key();
        let good = presentation(&holder, |_| {});
        check(&good, &key, EXPECTED).expect("binds");
        let wrong_aud = Expected {
            audience: "https://other",
            ..EXPECTED
        };
        assert_eq!(
            check(&good, &key, wrong_aud),
            Err(SdJwtError::WrongAudience)
        );
        let wrong_nonce = Expected {
            nonce: "n-2",
            ..EXPECTED
        };
        assert_eq!(check(&good, &key, wrong_nonce), Err(SdJwtError::WrongNonce));
        let late = Expected {
            now: 5_000,
            ..EXPECTED
        };
        assert_eq!(
            check(&good, &key, late),
            Err(SdJwtError::StaleIssuedAt(1_000))
        );
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(matches!(
            check(&good, &other, EXPECTED),
            Err(SdJwtError::BadSignature(_))
        ));
    }

    #[test]
    fn an_added_disclosure_breaks_sd_hash() {
        let holder = SigningKey::from_bytes(&[9; 32]);
        let extra = Disclosure::new("salty", "c", json!(3));
        let added = presentation(&holder, |text| {
            text.push_str(extra.encoded());
            text.push('~');
        });
        assert_eq!(
            check(&added, &holder.verifying_key(), EXPECTED),
            Err(SdJwtError::WrongSdHash)
        );
    }
}
