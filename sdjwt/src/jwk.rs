//! Ed25519 public keys as JWKs (`{"kty": "OKP", "crv": "Ed25519", "x": …}`, RFC 8037): the
//! holder's key in `cnf.jwk` and in a key proof's header.

use ed25519_dalek::VerifyingKey;
use serde_json::{Value, json};

use crate::{SdJwtError, b64, unb64};

/// `key` as an OKP JWK with only its public members.
pub fn ed25519_jwk(key: &VerifyingKey) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": b64(key.as_bytes())})
}

/// The Ed25519 key of an OKP JWK. A JWK with private members (`d`) is refused: a wallet
/// that sends its secret key has made a mistake nobody should build on.
///
/// # Errors
/// [`SdJwtError::UnsupportedKey`] for any other key, a private key or a bad point.
pub fn verifying_key(jwk: &Value) -> Result<VerifyingKey, SdJwtError> {
    let object = jwk.as_object().ok_or(SdJwtError::UnsupportedKey)?;
    if object.get("kty").and_then(Value::as_str) != Some("OKP")
        || object.get("crv").and_then(Value::as_str) != Some("Ed25519")
        || object.contains_key("d")
    {
        return Err(SdJwtError::UnsupportedKey);
    }
    let x = object
        .get("x")
        .and_then(Value::as_str)
        .ok_or(SdJwtError::UnsupportedKey)?;
    let bytes: [u8; 32] = unb64(x, "jwk x")
        .map_err(|_| SdJwtError::UnsupportedKey)?
        .try_into()
        .map_err(|_| SdJwtError::UnsupportedKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| SdJwtError::UnsupportedKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn a_key_round_trips_and_other_keys_are_refused() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(verifying_key(&ed25519_jwk(&key)), Ok(key));
        let mut private = ed25519_jwk(&key);
        private["d"] = json!("AAAA");
        assert_eq!(verifying_key(&private), Err(SdJwtError::UnsupportedKey));
        let ec = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"});
        assert_eq!(verifying_key(&ec), Err(SdJwtError::UnsupportedKey));
        let short = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
        assert_eq!(verifying_key(&short), Err(SdJwtError::UnsupportedKey));
    }
}
