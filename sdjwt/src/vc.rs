//! The registry's SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): a logged W3C credential of a
//! talent type re-issued as `typ: dc+sd-jwt` by the same authority key, every subject claim
//! selectively disclosable, the facts that tie it to the registry plain:
//!
//! ```text
//! { "iss": <authority did:key>, "iat", "nbf"?, "exp"?, "vct": <type URL>,
//!   "cnf": {"jwk": <holder key>},
//!   "credential_id": <the W3C credential's id>, "region": <issuing member>,
//!   "log": {"origin", "index"}, "credentialStatus": <the W3C credential's entries>,
//!   "credentialSubject": {"_sd": [...]}, "_sd_alg": "sha-256" }
//! ```
//!
//! The status is the W3C credential's own `credentialStatus` (the same slots of the same
//! Bitstring Status Lists), not a Token Status List; docs/holders.md says why.

use ed25519_dalek::VerifyingKey;
use serde_json::{Map, Value, json};

use crate::SdJwtError;
use crate::disclosure::SD_ALG;
use crate::jwk;
use crate::jws;
use crate::key_binding;
use crate::sd_jwt::{Presentation, conceal, serialize};

/// The SD-JWT VC's `typ`.
pub const VC_TYP: &str = "dc+sd-jwt";

/// Subject members that are not concealed: the issuing region, which the registry's
/// verification and recognition need and which names a member, not a person.
const PLAIN_SUBJECT_MEMBERS: [&str; 1] = ["region"];

/// What the issuer knows when it makes an SD-JWT VC of a logged credential.
#[derive(Debug, Clone, Copy)]
pub struct Issuance<'a> {
    /// The logged W3C credential (signed, with `id`, `issuer`, `credentialSubject`).
    pub credential: &'a Value,
    /// Its `vct`: the type's URL under the node's public URL.
    pub vct: &'a str,
    /// The log that holds it, and where.
    pub log_origin: &'a str,
    /// Its leaf index.
    pub log_index: u64,
    /// The holder's key, proven by the wallet's key proof.
    pub holder: &'a VerifyingKey,
    /// The authority's verification method (`kid`).
    pub kid: &'a str,
    /// When the SD-JWT is made (`iat`), and the credential's validity (`nbf`, `exp`), in
    /// seconds since the epoch.
    pub issued_at: i64,
    /// `validFrom`.
    pub not_before: Option<i64>,
    /// `validUntil`.
    pub expires: Option<i64>,
}

/// Makes the SD-JWT VC (`<JWT>~<D1>~…~<Dn>~`): `salt` draws one fresh salt per disclosure
/// and `sign` signs the JWS signing input as the authority.
///
/// # Errors
/// [`SdJwtError::Unsupported`] for a credential without `id`, `issuer` or a subject
/// object.
pub fn issue(
    issuance: Issuance<'_>,
    salt: impl FnMut() -> String,
    sign: impl FnOnce(&str) -> [u8; 64],
) -> Result<String, SdJwtError> {
    let credential = issuance.credential;
    let id = credential["id"]
        .as_str()
        .ok_or(SdJwtError::Unsupported("the credential has no id"))?;
    let issuer = credential["issuer"]
        .as_str()
        .ok_or(SdJwtError::Unsupported(
            "the credential's issuer is not a string",
        ))?;
    let mut subject = credential["credentialSubject"]
        .as_object()
        .cloned()
        .ok_or(SdJwtError::Unsupported("the subject is not an object"))?;
    let concealed: Vec<String> = subject
        .keys()
        .filter(|name| !PLAIN_SUBJECT_MEMBERS.contains(&name.as_str()))
        .cloned()
        .collect();
    let concealed: Vec<&str> = concealed.iter().map(String::as_str).collect();
    let region = subject.remove("region").unwrap_or(Value::Null);
    let disclosures = conceal(&mut subject, &concealed, salt);
    let mut payload = json!({
        "iss": issuer,
        "iat": issuance.issued_at,
        "vct": issuance.vct,
        "cnf": {"jwk": jwk::ed25519_jwk(issuance.holder)},
        "credential_id": id,
        "region": region,
        "log": {"origin": issuance.log_origin, "index": issuance.log_index},
        "credentialSubject": subject,
        "_sd_alg": SD_ALG,
    });
    if let Some(status) = credential.get("credentialStatus") {
        payload["credentialStatus"] = status.clone();
    }
    if let Some(nbf) = issuance.not_before {
        payload["nbf"] = json!(nbf);
    }
    if let Some(exp) = issuance.expires {
        payload["exp"] = json!(exp);
    }
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::from(VC_TYP));
    header.insert("kid".to_owned(), Value::from(issuance.kid));
    let input = jws::signing_input(&header, &payload);
    Ok(serialize(
        &jws::assemble(&input, &sign(&input)),
        &disclosures,
    ))
}

/// A verified SD-JWT VC presentation: what the issuer signed and the holder disclosed.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosed {
    /// `iss`.
    pub issuer: String,
    /// `kid` of the issuer's signature, when given.
    pub kid: Option<String>,
    /// `vct`.
    pub vct: String,
    /// The W3C credential's id.
    pub credential_id: String,
    /// The issuing region.
    pub region: Option<String>,
    /// The log position the issuer stated.
    pub log: Value,
    /// The status entries the issuer stated.
    pub credential_status: Option<Value>,
    /// The disclosed subject claims only.
    pub subject: Map<String, Value>,
}

/// What a verifier expects of a presentation besides the issuer's key.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The key binding: audience, nonce, time.
    pub key_binding: key_binding::Expected<'a>,
}

/// Verifies an SD-JWT VC presentation (`<JWT>~<D…>~<KB-JWT>`): `typ`, the issuer's
/// signature under the key `issuer_key` gives for (`iss`, `kid`), the disclosures, the
/// validity window, the holder's key binding; answers what was disclosed.
///
/// # Errors
/// [`SdJwtError`], each refusal its own variant; `issuer_key`'s refusal as
/// [`SdJwtError::BadSignature`] is the caller's to choose.
pub fn verify_presentation(
    text: &str,
    issuer_key: impl FnOnce(&str, Option<&str>) -> Result<VerifyingKey, SdJwtError>,
    expected: Expected<'_>,
) -> Result<Disclosed, SdJwtError> {
    let presentation = Presentation::parse(text)?;
    let jwt = &presentation.issuer_jwt;
    jwt.require_typ(VC_TYP)?;
    let issuer = jwt
        .string_claim("iss")
        .ok_or(SdJwtError::MissingClaim("iss"))?;
    let kid = jwt.header().get("kid").and_then(Value::as_str);
    jwt.verify(&issuer_key(issuer, kid)?, "issuer")?;
    let now = expected.key_binding.now;
    if jwt.numeric_claim("exp").is_some_and(|exp| now >= exp)
        || jwt.numeric_claim("nbf").is_some_and(|nbf| now < nbf)
    {
        return Err(SdJwtError::NotValidNow);
    }
    let holder = jwt
        .claims()
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .ok_or(SdJwtError::MissingHolderKey)?;
    key_binding::check(
        &presentation,
        &jwk::verifying_key(holder)?,
        expected.key_binding,
    )?;
    let mut claims = presentation.disclosed_claims()?;
    let string = |claims: &Map<String, Value>, name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(SdJwtError::MissingClaim(name))
    };
    Ok(Disclosed {
        issuer: issuer.to_owned(),
        kid: kid.map(str::to_owned),
        vct: string(&claims, "vct")?,
        credential_id: string(&claims, "credential_id")?,
        region: claims
            .get("region")
            .and_then(Value::as_str)
            .map(str::to_owned),
        log: claims.remove("log").unwrap_or(Value::Null),
        credential_status: claims.remove("credentialStatus"),
        subject: match claims.remove("credentialSubject") {
            Some(Value::Object(subject)) => subject,
            _ => return Err(SdJwtError::MissingClaim("credentialSubject")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disclosure::Disclosure;
    use ed25519_dalek::{Signer, SigningKey};

    fn credential() -> Value {
        json!({
            "id": "urn:uuid:01a24efd-07c9-7181-a58c-b30e29ad6b3d",
            "issuer": "did:key:z6Mkissuer",
            "type": ["VerifiableCredential", "GoldenPhoenixTalentCredential"],
            "credentialStatus": [{"type": "BitstringStatusListEntry", "statusListIndex": "7"}],
            "credentialSubject": {
                "name": "陈思远", "idNumberMasked": "1101**********002X",
                "category": "领军人才", "tier": "塔身", "region": "cq-sc",
                "employer": {"name": "重庆某公司", "creditCode": "91500000MA5U1234XH"}
            }
        })
    }

    struct Parties {
        issuer: SigningKey,
        holder: SigningKey,
    }

    fn issued(parties: &Parties) -> String {
        let credential = credential();
        let holder = parties.holder.verifying_key();
        let mut n = 0;
        issue(
            Issuance {
                credential: &credential,
                vct: "https://node.example/vct/GoldenPhoenixTalentCredential",
                log_origin: "cq-sc.example/log",
                log_index: 4,
                holder: &holder,
                kid: "did:key:z6Mkissuer#z6Mkissuer",
                issued_at: 1_000,
                not_before: Some(900),
                expires: Some(10_000),
            },
            || {
                n += 1;
                format!("salt-{n:022}")
            },
            |input| parties.issuer.sign(input.as_bytes()).to_bytes(),
        )
        .expect("issuable")
    }

    /// The holder keeps only the disclosures of `names` and binds the result.
    fn present(parties: &Parties, sd_jwt: &str, names: &[&str], nonce: &str) -> String {
        let mut parts = sd_jwt.trim_end_matches('~').split('~');
        let mut kept = format!("{}~", parts.next().expect("jwt"));
        for part in parts {
            let disclosure = Disclosure::parse(part).expect("disclosure");
            if names.contains(&disclosure.name()) {
                kept.push_str(part);
                kept.push('~');
            }
        }
        let kb = key_binding::make(
            &kept,
            "x509_san_dns:employer",
            nonce,
            1_010,
            &parties.holder,
        );
        format!("{kept}{kb}")
    }

    fn expected(nonce: &str) -> Expected<'_> {
        Expected {
            key_binding: key_binding::Expected {
                audience: "x509_san_dns:employer",
                nonce,
                now: 1_020,
                window: 300,
            },
        }
    }

    #[test]
    fn the_holder_discloses_the_category_without_name_or_id() {
        let parties = Parties {
            issuer: SigningKey::from_bytes(&[5; 32]),
            holder: SigningKey::from_bytes(&[6; 32]),
        };
        let sd_jwt = issued(&parties);
        assert!(!sd_jwt.contains("陈思远"), "the JWT itself carries no name");
        let presentation = present(&parties, &sd_jwt, &["category"], "n1");
        let issuer = parties.issuer.verifying_key();
        let disclosed = verify_presentation(&presentation, |_, _| Ok(issuer), expected("n1"))
            .expect("verifies");
        assert_eq!(
            disclosed.subject,
            json!({"category": "领军人才"})
                .as_object()
                .cloned()
                .expect("map")
        );
        assert_eq!(disclosed.region.as_deref(), Some("cq-sc"));
        assert_eq!(
            disclosed.credential_id,
            "urn:uuid:01a24efd-07c9-7181-a58c-b30e29ad6b3d"
        );
        assert_eq!(
            disclosed.log,
            json!({"origin": "cq-sc.example/log", "index": 4})
        );
        assert_eq!(
            verify_presentation(&presentation, |_, _| Ok(issuer), expected("n2")),
            Err(SdJwtError::WrongNonce)
        );
        let stranger = SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(
            verify_presentation(&presentation, |_, _| Ok(stranger), expected("n1")),
            Err(SdJwtError::BadSignature("issuer"))
        );
    }

    #[test]
    fn a_presentation_bound_by_another_key_is_refused() {
        let parties = Parties {
            issuer: SigningKey::from_bytes(&[5; 32]),
            holder: SigningKey::from_bytes(&[6; 32]),
        };
        let thief = Parties {
            issuer: SigningKey::from_bytes(&[5; 32]),
            holder: SigningKey::from_bytes(&[9; 32]),
        };
        let sd_jwt = issued(&parties);
        let stolen = present(&thief, &sd_jwt, &["category"], "n1");
        let issuer = parties.issuer.verifying_key();
        assert_eq!(
            verify_presentation(&stolen, |_, _| Ok(issuer), expected("n1")),
            Err(SdJwtError::BadSignature("key-binding JWT"))
        );
    }
}
