//! Proof sets and chains (VC Data Integrity §4.1–4.2): a document whose `proof` is an array
//! of proofs, each verifying on its own, and a proof naming in `previousProof` the proofs it
//! was made over (the unsecured document then carries those proofs as its `proof`).

use serde_json::{Map, Value};

use super::{Cryptosuite, ProofError, VerifiedProof};
use crate::did::KeyCache;
use crate::rdfc::ContextLoader;

/// Verifies every proof of `secured` (one proof object, or a non-empty array of them),
/// requiring `expected_purpose` of each; a proof with `previousProof` is verified over the
/// document carrying the proofs it names. All must verify.
///
/// # Errors
/// The first proof's error; [`ProofError::MissingProof`] for an empty set;
/// [`ProofError::PreviousProof`] for a `previousProof` naming no proof of the set.
pub fn verify_proof_set(
    secured: &Value,
    expected_purpose: &'static str,
    contexts: &ContextLoader,
) -> Result<Vec<VerifiedProof>, ProofError> {
    let document = secured.as_object().ok_or(ProofError::NotAnObject)?;
    let proofs: Vec<&Map<String, Value>> = match document.get("proof") {
        Some(Value::Object(proof)) => vec![proof],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(Value::as_object)
            .collect::<Option<_>>()
            .ok_or(ProofError::MissingProof)?,
        _ => return Err(ProofError::MissingProof),
    };
    let mut unsecured = document.clone();
    unsecured.remove("proof");
    let mut keys = KeyCache::new();
    proofs
        .iter()
        .map(|proof| {
            let previous = previous_proofs(proof, &proofs)?;
            let mut over = unsecured.clone();
            match previous.as_slice() {
                [] => {}
                [one] => {
                    over.insert("proof".into(), Value::Object((*one).clone()));
                }
                many => {
                    over.insert(
                        "proof".into(),
                        Value::Array(many.iter().map(|p| Value::Object((*p).clone())).collect()),
                    );
                }
            }
            super::prepare_over(
                &over,
                proof,
                expected_purpose,
                contexts,
                &mut keys,
                Cryptosuite::from_any_name,
            )?
            .verify()
        })
        .collect()
}

/// The proofs of `set` that `proof`'s `previousProof` names by `id`.
fn previous_proofs<'a>(
    proof: &Map<String, Value>,
    set: &[&'a Map<String, Value>],
) -> Result<Vec<&'a Map<String, Value>>, ProofError> {
    let names: Vec<&str> = match proof.get("previousProof") {
        None => return Ok(Vec::new()),
        Some(Value::String(id)) => vec![id.as_str()],
        Some(Value::Array(ids)) => ids
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| ProofError::PreviousProof("previousProof must be ids".into()))?,
        Some(_) => {
            return Err(ProofError::PreviousProof(
                "previousProof must be ids".into(),
            ));
        }
    };
    names
        .into_iter()
        .map(|name| {
            set.iter()
                .copied()
                .find(|candidate| candidate.get("id").and_then(Value::as_str) == Some(name))
                .ok_or_else(|| ProofError::PreviousProof(name.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    use super::*;
    use crate::did::DidKey;
    use crate::multibase;
    use crate::proof::ASSERTION_METHOD;

    /// An eddsa-jcs-2022 proof by `seed`'s key over `over`, with `id` and `previous`.
    fn proof(over: &Value, seed: u8, id: &str, previous: Option<Value>) -> Value {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let did = DidKey::from_verifying_key(&key.verifying_key());
        let mut config = json!({
            "id": id,
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "created": "2026-12-07T00:00:00Z",
            "verificationMethod": did.verification_method(),
            "proofPurpose": ASSERTION_METHOD,
        });
        if let Some(previous) = previous {
            config["previousProof"] = previous;
        }
        let hash = Cryptosuite::EddsaJcs2022.hash_data(&config, over);
        config["proofValue"] = json!(multibase::encode_base58btc(&key.sign(&hash).to_bytes()));
        config
    }

    fn document() -> Value {
        json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
               "issuer": "did:example:i", "credentialSubject": {"id": "did:example:s"}})
    }

    #[test]
    fn a_set_verifies_each_proof_and_a_chain_its_previous_proofs() {
        let unsecured = document();
        let first = proof(&unsecured, 1, "urn:proof:1", None);
        let independent = proof(&unsecured, 2, "urn:proof:2", None);
        let mut over = unsecured.clone();
        over["proof"] = first.clone();
        let chained = proof(&over, 3, "urn:proof:3", Some(json!("urn:proof:1")));
        let mut secured = unsecured.clone();
        secured["proof"] = json!([first, independent, chained]);
        let contexts = ContextLoader::new();
        let verified = verify_proof_set(&secured, ASSERTION_METHOD, &contexts).expect("all verify");
        assert_eq!(verified.len(), 3);

        // One changed proof fails the set; a chain link to a missing proof is refused.
        let mut changed = secured.clone();
        changed["proof"][1]["created"] = json!("2026-12-08T00:00:00Z");
        assert!(matches!(
            verify_proof_set(&changed, ASSERTION_METHOD, &contexts),
            Err(ProofError::SignatureMismatch { .. })
        ));
        let mut dangling = secured.clone();
        dangling["proof"][2]["previousProof"] = json!("urn:proof:9");
        assert_eq!(
            verify_proof_set(&dangling, ASSERTION_METHOD, &contexts),
            Err(ProofError::PreviousProof("urn:proof:9".into()))
        );
        // Without its previous proof in the unsecured document, the chained proof fails.
        let mut unchained = secured;
        unchained["proof"][2]
            .as_object_mut()
            .expect("proof")
            .remove("previousProof");
        assert!(verify_proof_set(&unchained, ASSERTION_METHOD, &contexts).is_err());
        assert_eq!(
            verify_proof_set(&json!({"proof": []}), ASSERTION_METHOD, &contexts),
            Err(ProofError::MissingProof)
        );
    }
}
