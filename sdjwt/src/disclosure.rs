//! One disclosure (RFC 9901 §4.2.1): `base64url(JSON [salt, name, value])`, and its digest,
//! `base64url(SHA-256(the disclosure's ASCII))`, which the issuer signs in an `_sd` array.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{SdJwtError, b64, unb64};

/// The `_sd_alg` this registry uses and accepts.
pub const SD_ALG: &str = "sha-256";

/// A disclosure of an object property: its encoded text (what the digest covers, kept as
/// received) and what it discloses.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    encoded: String,
    salt: String,
    name: String,
    value: Value,
}

impl Disclosure {
    /// A disclosure of `name: value` with `salt` (at least 128 bits of randomness,
    /// base64url, RFC 9901 §9.3: the caller draws it).
    pub fn new(salt: &str, name: &str, value: Value) -> Disclosure {
        let array = Value::Array(vec![Value::from(salt), Value::from(name), value.clone()]);
        Disclosure {
            encoded: b64(array.to_string().as_bytes()),
            salt: salt.to_owned(),
            name: name.to_owned(),
            value,
        }
    }

    /// Parses a received disclosure of an object property. Array-element disclosures (two
    /// members) are refused: this registry makes none.
    ///
    /// # Errors
    /// [`SdJwtError::Encoding`], [`SdJwtError::Malformed`].
    pub fn parse(encoded: &str) -> Result<Disclosure, SdJwtError> {
        let bytes = unb64(encoded, "disclosure")?;
        let Ok(Value::Array(mut parts)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(SdJwtError::Malformed("disclosure"));
        };
        if parts.len() != 3 {
            return Err(SdJwtError::Malformed("disclosure"));
        }
        let value = parts.pop().unwrap_or(Value::Null);
        let (Some(Value::String(name)), Some(Value::String(salt))) = (parts.pop(), parts.pop())
        else {
            return Err(SdJwtError::Malformed("disclosure"));
        };
        Ok(Disclosure {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// The encoded disclosure, as it travels after a `~`.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The claim name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The claim value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The salt.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The digest put in `_sd`.
    pub fn digest(&self) -> String {
        digest_of(&self.encoded)
    }
}

/// `base64url(SHA-256(text))`: a disclosure's digest and the KB-JWT's `sd_hash`.
pub fn digest_of(text: &str) -> String {
    b64(&Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 9901's own disclosures (the "complex eIDAS" example, Appendix A), each with the
    /// digest the RFC gives.
    #[test]
    fn the_rfc_disclosures_give_the_rfc_digests() {
        let gender = Disclosure::parse("WyJpUWdKZXZKYUI4YlNkd05peG8tbnRnIiwgImdlbmRlciIsICJNIl0")
            .expect("parses");
        assert_eq!(
            (gender.salt(), gender.name(), gender.value()),
            ("iQgJevJaB8bSdwNixo-ntg", "gender", &json!("M"))
        );
        assert_eq!(
            gender.digest(),
            "VdZWIPp4ngYgkSij8ZJUuxnFlVl0WB1ERhPVztWbv3U"
        );
        let birth = Disclosure::parse(
            "WyJxWGxBbGhIMkNwaGE3aGpvYnBZMVFnIiwgImRhdGVfb2ZfYmlydGgiLCAiMTkyMi0wMy0xMyJd",
        )
        .expect("parses");
        assert_eq!(birth.name(), "date_of_birth");
        assert_eq!(
            birth.digest(),
            "CMibWTnxlPV4t9PikOhxL-hrLT5UCkSMAqp1ZIQEDxE"
        );
    }

    #[test]
    fn a_made_disclosure_parses_back() {
        let made = Disclosure::new("c2FsdHNhbHRzYWx0c2FsdA", "name", json!("陈思远"));
        assert_eq!(Disclosure::parse(made.encoded()), Ok(made));
    }

    #[test]
    fn array_element_and_malformed_disclosures_are_refused() {
        let element = b64(br#"["salt", "US"]"#);
        assert_eq!(
            Disclosure::parse(&element),
            Err(SdJwtError::Malformed("disclosure"))
        );
        let number_name = b64(br#"["salt", 1, "x"]"#);
        assert!(Disclosure::parse(&number_name).is_err());
        assert!(Disclosure::parse("***").is_err());
    }
}
