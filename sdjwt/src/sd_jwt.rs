//! An SD-JWT (RFC 9901): the issuer-signed JWT whose `_sd` arrays hold the digests of
//! concealed claims, its disclosures, and in a presentation the key-binding JWT:
//! `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::SdJwtError;
use crate::disclosure::{Disclosure, SD_ALG};
use crate::jws::Jws;

/// Conceals the properties `names` of `object` (those present): each becomes a disclosure
/// whose digest goes into the object's `_sd` array, sorted so that the order reveals
/// nothing of the claims. `salt` draws one fresh salt per call.
pub fn conceal(
    object: &mut Map<String, Value>,
    names: &[&str],
    mut salt: impl FnMut() -> String,
) -> Vec<Disclosure> {
    let mut disclosures = Vec::new();
    for name in names {
        if let Some(value) = object.remove(*name) {
            disclosures.push(Disclosure::new(&salt(), name, value));
        }
    }
    if !disclosures.is_empty() {
        let mut digests: Vec<String> = disclosures.iter().map(Disclosure::digest).collect();
        digests.sort();
        object.insert(
            "_sd".to_owned(),
            Value::Array(digests.into_iter().map(Value::from).collect()),
        );
    }
    disclosures
}

/// The SD-JWT an issuer hands out: `<JWT>~<D1>~…~<Dn>~`.
pub fn serialize(issuer_jwt: &str, disclosures: &[Disclosure]) -> String {
    let mut text = format!("{issuer_jwt}~");
    for disclosure in disclosures {
        text.push_str(disclosure.encoded());
        text.push('~');
    }
    text
}

/// A received SD-JWT or SD-JWT+KB, parsed but not verified.
#[derive(Debug, Clone)]
pub struct Presentation {
    /// The issuer-signed JWT.
    pub issuer_jwt: Jws,
    /// The disclosures, in the order received.
    pub disclosures: Vec<Disclosure>,
    /// The key-binding JWT, when one follows the last `~`.
    pub key_binding: Option<Jws>,
    /// `<JWT>~<D1>~…~<Dn>~`: what the KB-JWT's `sd_hash` covers.
    pub sd_jwt_text: String,
}

impl Presentation {
    /// Parses `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]`.
    ///
    /// # Errors
    /// [`SdJwtError::Malformed`] when there is no `~`; the errors of [`Jws::parse`] and
    /// [`Disclosure::parse`].
    pub fn parse(text: &str) -> Result<Presentation, SdJwtError> {
        let last = text.rfind('~').ok_or(SdJwtError::Malformed("SD-JWT"))?;
        let (sd_jwt_text, key_binding) = text.split_at(last + 1);
        let mut parts = sd_jwt_text[..last].split('~');
        let issuer_jwt = Jws::parse(parts.next().unwrap_or(""))?;
        let disclosures = parts.map(Disclosure::parse).collect::<Result<_, _>>()?;
        let key_binding = match key_binding {
            "" => None,
            kb => Some(Jws::parse(kb)?),
        };
        Ok(Presentation {
            issuer_jwt,
            disclosures,
            key_binding,
            sd_jwt_text: sd_jwt_text.to_owned(),
        })
    }

    /// The issuer's claims with every presented disclosure put back in place, `_sd` and
    /// `_sd_alg` removed (RFC 9901 §7.1). The issuer's signature must be checked first.
    ///
    /// # Errors
    /// [`SdJwtError::UnsupportedHashAlg`], [`SdJwtError::DuplicateDigest`],
    /// [`SdJwtError::ClaimConflict`], [`SdJwtError::UnreferencedDisclosure`].
    pub fn disclosed_claims(&self) -> Result<Map<String, Value>, SdJwtError> {
        let mut claims = self.issuer_jwt.claims().clone();
        match claims.remove("_sd_alg") {
            None => {}
            Some(Value::String(alg)) if alg == SD_ALG => {}
            Some(other) => {
                return Err(SdJwtError::UnsupportedHashAlg(
                    other.as_str().unwrap_or("").to_owned(),
                ));
            }
        }
        let mut pending: HashMap<String, &Disclosure> = HashMap::new();
        for disclosure in &self.disclosures {
            if pending.insert(disclosure.digest(), disclosure).is_some() {
                return Err(SdJwtError::DuplicateDigest(disclosure.digest()));
            }
        }
        let mut seen = Vec::new();
        resolve_object(&mut claims, &mut pending, &mut seen)?;
        if let Some(unused) = pending.values().next() {
            return Err(SdJwtError::UnreferencedDisclosure(unused.name().to_owned()));
        }
        Ok(claims)
    }
}

/// Replaces the digests of `object` (and of every object below it) by their disclosures.
fn resolve_object(
    object: &mut Map<String, Value>,
    pending: &mut HashMap<String, &Disclosure>,
    seen: &mut Vec<String>,
) -> Result<(), SdJwtError> {
    if let Some(digests) = object.remove("_sd") {
        let Value::Array(digests) = digests else {
            return Err(SdJwtError::Malformed("_sd"));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(SdJwtError::Malformed("_sd"));
            };
            if seen.contains(&digest) {
                return Err(SdJwtError::DuplicateDigest(digest));
            }
            seen.push(digest.clone());
            // A digest without a disclosure is a claim not disclosed (or a decoy).
            let Some(disclosure) = pending.remove(&digest) else {
                continue;
            };
            let name = disclosure.name();
            if name == "_sd" || name == "..." || object.contains_key(name) {
                return Err(SdJwtError::ClaimConflict(name.to_owned()));
            }
            let mut value = disclosure.value().clone();
            resolve_value(&mut value, pending, seen)?;
            object.insert(name.to_owned(), value);
        }
    }
    for value in object.values_mut() {
        resolve_value(value, pending, seen)?;
    }
    Ok(())
}

fn resolve_value(
    value: &mut Value,
    pending: &mut HashMap<String, &Disclosure>,
    seen: &mut Vec<String>,
) -> Result<(), SdJwtError> {
    match value {
        Value::Object(object) => resolve_object(object, pending, seen),
        Value::Array(items) => {
            // Array-element digests (`{"...": d}`) are never disclosed here: this registry
            // makes none, and `Disclosure::parse` refuses their two-member disclosures.
            items.retain(|item| {
                !item
                    .as_object()
                    .is_some_and(|o| o.len() == 1 && o.contains_key("..."))
            });
            items
                .iter_mut()
                .try_for_each(|item| resolve_value(item, pending, seen))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws;
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    fn salts() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("salt-{n:020}")
        }
    }

    fn issued(disclose: &[&str]) -> (String, Vec<Disclosure>) {
        let mut subject = json!({"name": "陈思远", "category": "领军人才", "tier": "塔身"})
            .as_object()
            .cloned()
            .expect("object");
        let disclosures = conceal(&mut subject, &["name", "category", "tier"], salts());
        let payload =
            json!({"iss": "did:example:i", "_sd_alg": "sha-256", "credentialSubject": subject});
        let jwt = jws::sign(&Map::new(), &payload, &SigningKey::from_bytes(&[3; 32]));
        let chosen: Vec<Disclosure> = disclosures
            .iter()
            .filter(|d| disclose.contains(&d.name()))
            .cloned()
            .collect();
        (serialize(&jwt, &chosen), disclosures)
    }

    #[test]
    fn only_the_presented_disclosures_come_back() {
        let (text, _) = issued(&["category"]);
        let claims = Presentation::parse(&text)
            .expect("parses")
            .disclosed_claims()
            .expect("resolves");
        assert_eq!(
            Value::Object(claims),
            json!({"iss": "did:example:i", "credentialSubject": {"category": "领军人才"}})
        );
    }

    #[test]
    fn a_foreign_or_repeated_disclosure_is_refused() {
        let (text, _) = issued(&["category"]);
        let foreign = Disclosure::new("x", "name", json!("王五"));
        let with_foreign = format!("{text}{}~", foreign.encoded());
        assert_eq!(
            Presentation::parse(&with_foreign)
                .expect("parses")
                .disclosed_claims(),
            Err(SdJwtError::UnreferencedDisclosure("name".to_owned()))
        );
        let (text, all) = issued(&["category"]);
        let category = all.iter().find(|d| d.name() == "category").expect("one");
        let repeated = format!("{text}{}~", category.encoded());
        assert!(matches!(
            Presentation::parse(&repeated)
                .expect("parses")
                .disclosed_claims(),
            Err(SdJwtError::DuplicateDigest(_))
        ));
    }

    #[test]
    fn a_disclosure_may_not_overwrite_a_plain_claim() {
        let disclosure = Disclosure::new("s", "iss", json!("did:example:evil"));
        let payload = json!({"iss": "did:example:i", "_sd": [disclosure.digest()]});
        let jwt = jws::sign(&Map::new(), &payload, &SigningKey::from_bytes(&[3; 32]));
        let text = serialize(&jwt, &[disclosure]);
        assert_eq!(
            Presentation::parse(&text)
                .expect("parses")
                .disclosed_claims(),
            Err(SdJwtError::ClaimConflict("iss".to_owned()))
        );
    }
}
