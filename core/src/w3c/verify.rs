//! General W3C verification: any credential or presentation secured by a Data Integrity
//! proof this project verifies, whoever issued it. The registry's own checks (schema,
//! authority, log inclusion, logged status) come on top, for the credentials they apply to.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofError, VerifiedProof};
use talent_integrity::rdfc::ContextLoader;
use talent_integrity::resource::HeldResources;

use super::data_model::{self, parse_date_time_stamp};
use crate::credential::Namespace;
use crate::verify::{Check, CheckName};

/// `proofPurpose` of a presentation's proof.
pub const AUTHENTICATION: &str = "authentication";

/// What general verification reads from memory instead of fetching: the JSON-LD contexts
/// an `eddsa-rdfc-2022` proof is canonicalised with (any other is refused), and the
/// resources whose bytes the digests of a `relatedResource` are checked against
/// ([`KnownDocuments::of_registry`] for a registry node).
#[derive(Debug, Clone, Default)]
pub struct KnownDocuments {
    /// JSON-LD contexts by URL.
    pub contexts: ContextLoader,
    /// Resources whose exact bytes are held, by URL.
    pub resources: HeldResources,
}

impl KnownDocuments {
    /// What a registry node reads from memory: the contexts of
    /// [`crate::schema::json_ld_contexts`]; as resources whose digests a `relatedResource`
    /// may give, the W3C base context as VC Data Model 2.0 publishes it and this registry's
    /// context ([`crate::schema::CONTEXT_V1`]) at its legacy URL and under each of
    /// `namespaces` (the members' nodes), which serve exactly those bytes.
    pub fn of_registry(namespaces: &[Namespace]) -> KnownDocuments {
        let context = crate::schema::CONTEXT_V1.as_bytes();
        let resources = namespaces.iter().fold(
            HeldResources::new().with(crate::schema::CONTEXT_V1_URL, context),
            |held, namespace| held.with(namespace.context_url(), context),
        );
        KnownDocuments {
            contexts: crate::schema::json_ld_contexts(namespaces),
            resources,
        }
    }
}

/// Every proof of a document (one, or a set or chain): all must verify. An
/// `eddsa-rdfc-2022` proof is canonicalised with `contexts`.
fn verify_proofs(
    document: &Value,
    purpose: &'static str,
    contexts: &ContextLoader,
) -> Result<Vec<VerifiedProof>, ProofError> {
    proof::verify_proof_set(document, purpose, contexts)
}

/// The detail of a passed proof check: each proof's suite and signer.
fn proofs_detail(proofs: &[VerifiedProof]) -> String {
    proofs
        .iter()
        .map(|proof| format!("{} proof by {}", proof.cryptosuite, proof.controller))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a presentation's proof must answer: the verifier's challenge and domain, when it
/// set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresentationOptions {
    /// The `challenge` the holder must have signed.
    pub challenge: Option<String>,
    /// The `domain` the holder must have signed.
    pub domain: Option<String>,
}

/// The checks of a presentation and, in order, of each credential it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationChecks {
    /// The presentation's own checks (data model, and proof when it has one).
    pub presentation: Vec<Check>,
    /// Each embedded credential's checks (an enveloped one: its data model only).
    pub credentials: Vec<Vec<Check>>,
}

impl PresentationChecks {
    /// True when every check of the presentation and of its credentials passed.
    pub fn verified(&self) -> bool {
        self.presentation
            .iter()
            .chain(self.credentials.iter().flatten())
            .all(|check| check.ok)
    }
}

/// The general checks of a credential at `now`: `dataModel`, `proof` (an
/// `assertionMethod` proof), `issuer` (the proof's key is the issuer's when the issuer is a
/// did:key) and `validity`. A check that cannot run after an earlier failure is skipped.
/// The data model check includes the digests of related resources `known` holds; JSON-LD
/// contexts come from `known` only.
pub fn verify_credential(
    document: &Value,
    known: &KnownDocuments,
    now: DateTime<Utc>,
) -> Vec<Check> {
    let mut checks = Vec::with_capacity(4);
    let conforms = data_model::check_credential(document)
        .and_then(|_| data_model::check_related_digests(document, &known.resources));
    match conforms {
        Ok(_) => checks.push(Check::pass(CheckName::DataModel, "conforms")),
        Err(error) => {
            checks.push(Check::fail(CheckName::DataModel, error.to_string()));
            for name in [CheckName::Proof, CheckName::Issuer, CheckName::Validity] {
                checks.push(Check::skip(name, "the document is not a credential"));
            }
            return checks;
        }
    }
    let object = document
        .as_object()
        .expect("the data model checked an object");
    match verify_proofs(document, ASSERTION_METHOD, &known.contexts) {
        Ok(verified) => {
            checks.push(Check::pass(CheckName::Proof, proofs_detail(&verified)));
            checks.push(issuer_check(object, &verified));
        }
        Err(error) => {
            checks.push(Check::fail(CheckName::Proof, error.to_string()));
            checks.push(Check::skip(CheckName::Issuer, "no verified proof"));
        }
    }
    checks.push(validity_check(object, now));
    checks
}

/// The general checks of a presentation: `dataModel`, its `proof` when it has one (an
/// `authentication` proof answering `options`; without a proof, a challenge asked for
/// fails), and [`verify_credential`] for each embedded credential.
pub fn verify_presentation(
    document: &Value,
    options: &PresentationOptions,
    known: &KnownDocuments,
    now: DateTime<Utc>,
) -> PresentationChecks {
    let mut checks = PresentationChecks {
        presentation: Vec::with_capacity(2),
        credentials: Vec::new(),
    };
    if let Err(error) = data_model::check_presentation(document) {
        checks
            .presentation
            .push(Check::fail(CheckName::DataModel, error.to_string()));
        return checks;
    }
    checks
        .presentation
        .push(Check::pass(CheckName::DataModel, "conforms"));
    let object = document
        .as_object()
        .expect("the data model checked an object");
    if object.contains_key("proof") {
        checks
            .presentation
            .push(presentation_proof(document, options, &known.contexts));
    } else if options.challenge.is_some() || options.domain.is_some() {
        checks.presentation.push(Check::fail(
            CheckName::Proof,
            "a challenge or domain was asked for, but the presentation has no proof",
        ));
    }
    let credentials = match object.get("verifiableCredential") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    for credential in credentials {
        let enveloped = credential.as_object().is_some_and(data_model::is_enveloped);
        checks.credentials.push(if enveloped {
            vec![Check::pass(
                CheckName::DataModel,
                "an enveloped credential: its envelope conforms (its securing format is not verified here)",
            )]
        } else {
            verify_credential(credential, known, now)
        });
    }
    checks
}

/// A presentation's proof (or each of its proofs): `authentication`, with the challenge and
/// domain asked for, one of them by the holder when the holder is a did:key.
fn presentation_proof(
    document: &Value,
    options: &PresentationOptions,
    contexts: &ContextLoader,
) -> Check {
    let proofs = match &document["proof"] {
        Value::Array(proofs) => proofs.iter().collect(),
        proof => vec![proof],
    };
    for proof in proofs {
        for (name, expected) in [
            ("challenge", &options.challenge),
            ("domain", &options.domain),
        ] {
            let Some(expected) = expected else {
                continue;
            };
            // `domain` may be one string or a set of them.
            let answers = match &proof[name] {
                Value::Array(values) => values.iter().any(|v| v.as_str() == Some(expected)),
                value => value.as_str() == Some(expected.as_str()),
            };
            if !answers {
                return Check::fail(
                    CheckName::Proof,
                    format!("the proof's {name} is not the one asked for"),
                );
            }
        }
    }
    match verify_proofs(document, AUTHENTICATION, contexts) {
        Ok(verified) => match document.get("holder").map(holder_id) {
            Some(Some(holder))
                if !verified
                    .iter()
                    .any(|proof| proof.controller.to_string() == holder) =>
            {
                Check::fail(
                    CheckName::Proof,
                    format!(
                        "not signed by the holder {holder} ({})",
                        proofs_detail(&verified)
                    ),
                )
            }
            _ => Check::pass(CheckName::Proof, proofs_detail(&verified)),
        },
        Err(error) => Check::fail(CheckName::Proof, error.to_string()),
    }
}

fn holder_id(holder: &Value) -> Option<String> {
    match holder {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
    // A holder that is not a did:key is not compared: only did:key proofs verify here.
    .filter(|id| id.starts_with("did:key:"))
}

/// The issuer signed one of the proofs, when it is a did:key; another kind of issuer id
/// cannot be bound to a key here, and fails.
fn issuer_check(object: &Map<String, Value>, proofs: &[VerifiedProof]) -> Check {
    let issuer = match object.get("issuer") {
        Some(Value::String(id)) => id.as_str(),
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    match issuer.parse::<DidKey>() {
        Ok(issuer) if proofs.iter().any(|proof| proof.controller == issuer) => {
            Check::pass(CheckName::Issuer, issuer.to_string())
        }
        Ok(issuer) => Check::fail(
            CheckName::Issuer,
            format!(
                "not signed by the issuer {issuer} ({})",
                proofs_detail(proofs)
            ),
        ),
        Err(_) => Check::fail(
            CheckName::Issuer,
            format!("issuer {issuer:?} is not a did:key this verifier can bind to the proof's key"),
        ),
    }
}

/// `validFrom` ≤ now ≤ `validUntil` (1.1: `issuanceDate` ≤ now ≤ `expirationDate`).
fn validity_check(object: &Map<String, Value>, now: DateTime<Utc>) -> Check {
    let time = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|name| object.get(*name).and_then(Value::as_str))
            .and_then(parse_date_time_stamp)
    };
    let from = time(["validFrom", "issuanceDate"]);
    let until = time(["validUntil", "expirationDate"]);
    match (from, until) {
        (Some(from), _) if now < from => {
            Check::fail(CheckName::Validity, format!("not valid before {from}"))
        }
        (_, Some(until)) if now > until => {
            Check::fail(CheckName::Validity, format!("expired at {until}"))
        }
        _ => Check::pass(CheckName::Validity, "valid now"),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;
    use talent_integrity::multibase;
    use talent_integrity::proof::{Cryptosuite, ProofOptions, sign};

    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn did(seed: u8) -> String {
        DidKey::from_verifying_key(&key(seed).verifying_key()).to_string()
    }

    fn contexts() -> KnownDocuments {
        KnownDocuments::of_registry(&[])
    }

    fn signed_credential(issuer_seed: u8, signer_seed: u8) -> Value {
        let unsigned = json!({
            "@context": [data_model::CREDENTIALS_V2],
            "type": ["VerifiableCredential"],
            "issuer": did(issuer_seed),
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject", "name": "ExampleClaim"}
        });
        sign(
            &unsigned,
            &key(signer_seed),
            &ProofOptions {
                created: "2026-01-01T00:00:00Z".into(),
                proof_purpose: ASSERTION_METHOD,
            },
        )
        .expect("signs")
    }

    fn now() -> DateTime<Utc> {
        parse_date_time_stamp("2026-12-07T00:00:00Z").expect("time")
    }

    fn failed(checks: &[Check]) -> Vec<&'static str> {
        checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| check.name.as_str())
            .collect()
    }

    #[test]
    fn any_issuers_credential_verifies_and_a_changed_claim_does_not() {
        let credential = signed_credential(1, 1);
        assert_eq!(
            failed(&verify_credential(&credential, &contexts(), now())),
            Vec::<&str>::new()
        );
        let mut changed = credential;
        changed["credentialSubject"]["name"] = json!("OtherClaim");
        assert_eq!(
            failed(&verify_credential(&changed, &contexts(), now())),
            ["proof", "issuer"]
        );
    }

    #[test]
    fn the_signer_must_be_the_issuer_and_the_time_inside_the_window() {
        assert_eq!(
            failed(&verify_credential(
                &signed_credential(1, 2),
                &contexts(),
                now()
            )),
            ["issuer"]
        );
        let early = parse_date_time_stamp("2025-12-31T00:00:00Z").expect("time");
        assert_eq!(
            failed(&verify_credential(
                &signed_credential(1, 1),
                &contexts(),
                early
            )),
            ["validity"]
        );
        let broken = json!({"type": ["VerifiableCredential"]});
        assert_eq!(
            failed(&verify_credential(&broken, &contexts(), now())),
            ["dataModel", "proof", "issuer", "validity"]
        );
    }

    #[test]
    fn a_presentation_answers_its_challenge_and_carries_verified_credentials() {
        let unsigned = json!({
            "@context": [data_model::CREDENTIALS_V2],
            "type": ["VerifiablePresentation"],
            "holder": did(3),
            "verifiableCredential": [signed_credential(1, 1)]
        });
        // A proof whose configuration carries the challenge, made by hand: the proof
        // configuration is every proof member but `proofValue`.
        let signed = |challenge: &str| {
            let holder = DidKey::from_verifying_key(&key(3).verifying_key());
            let mut config = json!({
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-jcs-2022",
                "created": "2026-01-01T00:00:00Z",
                "verificationMethod": holder.verification_method(),
                "proofPurpose": AUTHENTICATION,
                "challenge": challenge
            });
            let hash = Cryptosuite::EddsaJcs2022.hash_data(&config, &unsigned);
            let signature = key(3).sign(&hash).to_bytes();
            config["proofValue"] = json!(multibase::encode_base58btc(&signature));
            let mut document = unsigned.clone();
            document["proof"] = config;
            document
        };
        let options = PresentationOptions {
            challenge: Some("c-1".into()),
            domain: None,
        };
        let checks = verify_presentation(&signed("c-1"), &options, &contexts(), now());
        assert!(checks.verified(), "{checks:?}");
        assert_eq!(checks.credentials.len(), 1);
        let replayed = verify_presentation(&signed("c-0"), &options, &contexts(), now());
        assert_eq!(failed(&replayed.presentation), ["proof"]);
        let unsigned_checks = verify_presentation(&unsigned, &options, &contexts(), now());
        assert_eq!(failed(&unsigned_checks.presentation), ["proof"]);
        let without_challenge = verify_presentation(
            &unsigned,
            &PresentationOptions::default(),
            &contexts(),
            now(),
        );
        assert!(without_challenge.verified());
    }
}
