//! Compact JWS (RFC 7515) with `alg: EdDSA` over Ed25519 (RFC 8037): the only algorithm
//! this registry signs with or accepts, so no algorithm confusion can arise.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde_json::{Map, Value};

use crate::{SdJwtError, b64, unb64};

/// The one JWS algorithm: EdDSA with Ed25519.
pub const ALG_EDDSA: &str = "EdDSA";

/// The text a JWS signature covers: `base64url(header) "." base64url(payload)`; the
/// header gets `alg: EdDSA`.
pub fn signing_input(header: &Map<String, Value>, payload: &Value) -> String {
    let mut header = header.clone();
    header.insert("alg".to_owned(), Value::from(ALG_EDDSA));
    format!(
        "{}.{}",
        b64(Value::Object(header).to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    )
}

/// The compact JWS of `signing_input` (from [`signing_input`]) and its signature.
pub fn assemble(signing_input: &str, signature: &[u8; 64]) -> String {
    format!("{signing_input}.{}", b64(signature))
}

/// `payload` signed with `key` under `header` (plus `alg: EdDSA`), as a compact JWS.
pub fn sign(header: &Map<String, Value>, payload: &Value, key: &SigningKey) -> String {
    use ed25519_dalek::Signer;
    let input = signing_input(header, payload);
    assemble(&input, &key.sign(input.as_bytes()).to_bytes())
}

/// A parsed compact JWS whose signature is not yet checked.
#[derive(Debug, Clone)]
pub struct Jws {
    header: Map<String, Value>,
    payload: Map<String, Value>,
    signing_input: String,
    signature: Signature,
}

impl Jws {
    /// Parses a compact JWS whose header has `alg: EdDSA` and whose payload is a JSON
    /// object.
    ///
    /// # Errors
    /// [`SdJwtError::NotCompactJws`], [`SdJwtError::Encoding`], [`SdJwtError::Malformed`],
    /// [`SdJwtError::UnsupportedAlg`].
    pub fn parse(text: &str) -> Result<Jws, SdJwtError> {
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SdJwtError::NotCompactJws);
        };
        let header = object(&unb64(header, "JWS header")?, "JWS header")?;
        let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != ALG_EDDSA {
            return Err(SdJwtError::UnsupportedAlg(alg.to_owned()));
        }
        let signature_bytes: [u8; 64] = unb64(signature, "JWS signature")?
            .try_into()
            .map_err(|_| SdJwtError::Malformed("JWS signature"))?;
        Ok(Jws {
            header,
            payload: object(&unb64(payload, "JWS payload")?, "JWS payload")?,
            signing_input: text[..text.len() - signature.len() - 1].to_owned(),
            signature: Signature::from_bytes(&signature_bytes),
        })
    }

    /// The protected header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The payload's claims.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// Requires the header's `typ` to be `expected`.
    ///
    /// # Errors
    /// [`SdJwtError::WrongTyp`].
    pub fn require_typ(&self, expected: &'static str) -> Result<(), SdJwtError> {
        let found = self.header.get("typ").and_then(Value::as_str).unwrap_or("");
        if found == expected {
            Ok(())
        } else {
            Err(SdJwtError::WrongTyp {
                expected,
                found: found.to_owned(),
            })
        }
    }

    /// Checks the signature under `key` (strictly: small-order keys and non-canonical
    /// signatures are refused); `what` names the JWT in the error.
    ///
    /// # Errors
    /// [`SdJwtError::BadSignature`].
    pub fn verify(&self, key: &VerifyingKey, what: &'static str) -> Result<(), SdJwtError> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| SdJwtError::BadSignature(what))
    }

    /// An integer claim (`iat`, `exp`, …).
    pub fn numeric_claim(&self, name: &str) -> Option<i64> {
        self.payload.get(name).and_then(Value::as_i64)
    }

    /// A string claim.
    pub fn string_claim(&self, name: &str) -> Option<&str> {
        self.payload.get(name).and_then(Value::as_str)
    }
}

fn object(bytes: &[u8], what: &'static str) -> Result<Map<String, Value>, SdJwtError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SdJwtError::Malformed(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_signed_jws_parses_and_verifies_and_a_changed_one_does_not() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let mut header = Map::new();
        header.insert("typ".to_owned(), json!("kb+jwt"));
        let text = sign(&header, &json!({"nonce": "n"}), &key);
        let jws = Jws::parse(&text).expect("parses");
        assert_eq!(jws.string_claim("nonce"), Some("n"));
        jws.require_typ("kb+jwt").expect("typ");
        jws.verify(&key.verifying_key(), "test").expect("verifies");
        let other = SigningKey::from_bytes(&[2; 32]).verifying_key();
        assert_eq!(
            jws.verify(&other, "test"),
            Err(SdJwtError::BadSignature("test"))
        );
        let (input, signature) = text.rsplit_once('.').expect("dot");
        let changed_payload = format!(
            "{}.{}.{signature}",
            input.split('.').next().expect("header"),
            b64(br#"{"nonce":"m"}"#)
        );
        let changed = Jws::parse(&changed_payload).expect("parses");
        assert!(changed.verify(&key.verifying_key(), "test").is_err());
    }

    #[test]
    fn other_algorithms_and_shapes_are_refused() {
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(b"{}"));
        assert_eq!(
            Jws::parse(&none).map(|_| ()),
            Err(SdJwtError::UnsupportedAlg("none".to_owned()))
        );
        assert_eq!(
            Jws::parse("a.b").map(|_| ()),
            Err(SdJwtError::NotCompactJws)
        );
        assert_eq!(
            Jws::parse("!.b.c").map(|_| ()),
            Err(SdJwtError::Encoding("JWS header"))
        );
    }
}
