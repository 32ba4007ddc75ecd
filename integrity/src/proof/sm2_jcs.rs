//! The `sm2-jcs-2025` cryptosuite's own parts (this project's suite, written down in
//! `docs/sm2-jcs-2025.md`): `eddsa-jcs-2022` with SM3 (GB/T 32905) in place of SHA-256 for
//! the two hashes of hashData, and an SM2 signature (GB/T 32918.2) over hashData in place
//! of Ed25519.
//!
//! The SM2 signer hashes `Z_A ‖ hashData` with SM3, where `Z_A` binds the distinguishing ID
//! [`SM2_DISTINGUISHING_ID`](crate::did::SM2_DISTINGUISHING_ID) and the public key; the
//! signature is `r ‖ s`, two 32-byte big-endian integers in `[1, n − 1]`.

use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, VerifyingKey};
use sm3::{Digest, Sm3};

use super::ProofError;
use crate::keys::Sm2SigningKey;

/// SM3 of the concatenated `parts`.
pub(super) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sm3::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The SM2 signature `r ‖ s` of `hash_data` (the signer computes `SM3(Z_A ‖ hashData)`).
///
/// # Errors
/// [`ProofError::SigningFailed`] in the case the standard tells the signer to draw another
/// nonce (`r = 0` or `r + k = n`), which the deterministic nonce cannot: probability about
/// 2⁻²⁵⁶.
pub(super) fn sign(key: &Sm2SigningKey, hash_data: &[u8; 64]) -> Result<[u8; 64], ProofError> {
    let signature: Signature = key
        .inner()
        .try_sign(hash_data)
        .map_err(|_| ProofError::SigningFailed)?;
    Ok(signature.to_bytes().into())
}

/// The signature whose bytes are `r ‖ s`.
///
/// # Errors
/// [`ProofError::InvalidSm2Signature`] unless `1 ≤ r, s ≤ n − 1`.
pub(super) fn signature(bytes: &[u8; 64]) -> Result<Signature, ProofError> {
    Signature::from_slice(bytes).map_err(|_| ProofError::InvalidSm2Signature)
}

/// Whether `signature` is `key`'s SM2 signature of `hash_data`.
pub(super) fn verifies(key: &VerifyingKey, hash_data: &[u8; 64], signature: &Signature) -> bool {
    key.verify(hash_data, signature).is_ok()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use rand::{Rng, SeedableRng};
    use serde_json::{Value, json};

    use super::*;
    use crate::did::DidKey;
    use crate::did::SM2_DISTINGUISHING_ID;
    use crate::jcs;
    use crate::keys::IssuerKey;
    use crate::multibase;
    use crate::proof::{
        ASSERTION_METHOD, Cryptosuite, ProofOptions, prepare, prepare_canonical, sign, verify,
        verify_batch,
    };

    /// n, the order of the SM2 group, big-endian.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5,
        0x41, 0x23,
    ];

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex"))
            .collect()
    }

    fn key() -> Sm2SigningKey {
        Sm2SigningKey::from_bytes(&[0x5a; 32]).expect("an SM2 key")
    }

    fn options() -> ProofOptions {
        ProofOptions {
            created: "2026-11-26T00:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        }
    }

    fn document(name: &str) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"name": name}
        })
    }

    fn signed() -> Value {
        sign(&document("张三"), &key(), &options()).expect("signs")
    }

    fn with_proof_value(bytes: &[u8]) -> Value {
        let mut signed = signed();
        signed["proof"]["proofValue"] = multibase::encode_base58btc(bytes).into();
        signed
    }

    /// The signature example of GB/T 32918.5 (GM/T 0003.5, the recommended curve): the
    /// standard's key signs "message digest" with ID 1234567812345678; the crate verifies it
    /// with our ID.
    #[test]
    fn the_standards_example_signature_verifies() {
        let secret: [u8; 32] =
            hex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
                .try_into()
                .expect("32 bytes");
        let key = Sm2SigningKey::from_bytes(&secret).expect("the standard's key");
        let signature = Signature::from_slice(&hex(concat!(
            "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3",
            "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
        )))
        .expect("in range");
        assert_eq!(key.verifying_key().distid(), SM2_DISTINGUISHING_ID);
        assert!(
            key.verifying_key()
                .verify(b"message digest", &signature)
                .is_ok()
        );
        assert!(
            key.verifying_key()
                .verify(b"message digesT", &signature)
                .is_err()
        );
    }

    #[test]
    fn round_trip_is_deterministic_and_names_the_suite() {
        let signed = signed();
        assert_eq!(signed["proof"]["cryptosuite"], "sm2-jcs-2025");
        assert_eq!(
            signed,
            self::signed(),
            "the same key signs the same bytes the same way"
        );
        let verified = verify(&signed, ASSERTION_METHOD).expect("verifies");
        assert_eq!(verified.cryptosuite, Cryptosuite::Sm2Jcs2025);
        assert_eq!(verified.controller, key().did());
        assert_eq!(
            signed["proof"]["verificationMethod"],
            key().did().verification_method()
        );
    }

    #[test]
    fn hash_data_is_sm3_of_both_canonical_forms() {
        let signed = signed();
        let mut config = signed["proof"].clone();
        config.as_object_mut().expect("object").remove("proofValue");
        let hash_data = Cryptosuite::Sm2Jcs2025.hash_data(&config, &document("张三"));
        assert_eq!(hash_data[..32], digest(&[&jcs::canonicalize(&config)]));
        assert_eq!(
            hash_data[32..],
            digest(&[&jcs::canonicalize(&document("张三"))])
        );
        // SM3 of "abc" (GB/T 32905 Appendix A.1).
        assert_eq!(
            digest(&[b"a", b"bc"]).to_vec(),
            hex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        );
        let prepared = prepare(&signed, ASSERTION_METHOD).expect("prepares");
        assert_eq!(prepared.message, hash_data);
    }

    #[test]
    fn canonical_text_prepares_as_the_value_does() {
        let signed = signed();
        let text = String::from_utf8(jcs::canonicalize(&signed)).expect("UTF-8");
        let top: serde_json::Map<String, Value> = serde_json::from_str(&text).expect("object");
        let proof_text = serde_json::to_string(&top["proof"]).expect("proof");
        let context_text = serde_json::to_string(&top["@context"]).expect("context");
        let proof_at = text.find(&proof_text).expect("the proof's text");
        let context_at = text.find(&context_text).expect("the context's text");
        let fast = prepare_canonical(
            &text,
            &text[proof_at..proof_at + proof_text.len()],
            Some(&text[context_at..context_at + context_text.len()]),
            ASSERTION_METHOD,
            &mut crate::did::KeyCache::new(),
        )
        .expect("handled");
        let slow = prepare(&signed, ASSERTION_METHOD).expect("prepares");
        assert_eq!(fast.message, slow.message);
        assert_eq!(fast.proof, slow.proof);
        fast.verify().expect("verifies");
    }

    #[test]
    fn a_key_of_the_other_kind_is_refused_precisely() {
        let mut relabelled = signed();
        relabelled["proof"]["cryptosuite"] = "eddsa-jcs-2022".into();
        assert_eq!(
            verify(&relabelled, ASSERTION_METHOD),
            Err(ProofError::KeySuiteMismatch {
                cryptosuite: Cryptosuite::EddsaJcs2022,
                key: crate::did::KeyKind::Sm2
            })
        );
        let ed25519 = SigningKey::from_bytes(&[42; 32]);
        let mut relabelled = sign(&document("张三"), &ed25519, &options()).expect("signs");
        relabelled["proof"]["cryptosuite"] = "sm2-jcs-2025".into();
        let error = verify(&relabelled, ASSERTION_METHOD).expect_err("refused");
        assert_eq!(
            error,
            ProofError::KeySuiteMismatch {
                cryptosuite: Cryptosuite::Sm2Jcs2025,
                key: crate::did::KeyKind::Ed25519
            }
        );
        assert_eq!(
            error.to_string(),
            "cryptosuite sm2-jcs-2025 is signed with SM2 keys, but the verification method holds an Ed25519 key"
        );
        // The SM2 proof's verification method swapped for an Ed25519 one.
        let mut swapped = signed();
        swapped["proof"]["verificationMethod"] =
            DidKey::from_verifying_key(&ed25519.verifying_key())
                .verification_method()
                .into();
        assert!(matches!(
            verify(&swapped, ASSERTION_METHOD),
            Err(ProofError::KeySuiteMismatch { .. })
        ));
    }

    #[test]
    fn proof_values_out_of_range_are_refused_before_verifying() {
        let good = multibase::decode_base58btc(
            signed()["proof"]["proofValue"].as_str().expect("a string"),
        )
        .expect("base58btc");
        let (r, s) = good.split_at(32);
        let mut n_plus_one = N;
        n_plus_one[31] += 1;
        for (r, s) in [
            (&[0u8; 32][..], s),
            (r, &[0u8; 32][..]),
            (&N[..], s),
            (r, &N[..]),
            (&n_plus_one[..], s),
            (r, &[0xff; 32][..]),
        ] {
            assert_eq!(
                verify(&with_proof_value(&[r, s].concat()), ASSERTION_METHOD),
                Err(ProofError::InvalidSm2Signature),
                "r {r:02x?} s {s:02x?}"
            );
        }
        for length in [1, 32, 63, 65, 72] {
            let mut bytes = good.clone();
            bytes.resize(length, 1);
            assert_eq!(
                verify(&with_proof_value(&bytes), ASSERTION_METHOD),
                Err(ProofError::ProofValueLength(length))
            );
        }
        // A DER-encoded signature (what OpenSSL writes) is not `r ‖ s`.
        let mut der = vec![0x30, 0x44, 0x02, 0x20];
        der.extend_from_slice(r);
        der.extend_from_slice(&[0x02, 0x20]);
        der.extend_from_slice(s);
        assert_eq!(
            verify(&with_proof_value(&der), ASSERTION_METHOD),
            Err(ProofError::ProofValueLength(70))
        );
        // r + s = n: in range, and no signature (the verifier's t = 0).
        let mut r_plus_s_is_n = [0u8; 64];
        r_plus_s_is_n[31] = 1;
        r_plus_s_is_n[32..].copy_from_slice(&N);
        r_plus_s_is_n[63] -= 1;
        assert!(matches!(
            verify(&with_proof_value(&r_plus_s_is_n), ASSERTION_METHOD),
            Err(ProofError::SignatureMismatch { .. })
        ));
    }

    #[test]
    fn tampering_with_document_proof_or_signature_fails() {
        let mut document = signed();
        document["credentialSubject"]["name"] = "李四".into();
        let mut created = signed();
        created["proof"]["created"] = "2026-11-26T00:00:01Z".into();
        let mut signature = multibase::decode_base58btc(
            signed()["proof"]["proofValue"].as_str().expect("a string"),
        )
        .expect("base58btc");
        signature[40] ^= 1;
        for tampered in [document, created, with_proof_value(&signature)] {
            assert!(
                matches!(
                    verify(&tampered, ASSERTION_METHOD),
                    Err(ProofError::SignatureMismatch { .. })
                ),
                "{tampered}"
            );
        }
    }

    /// Fuzz-style: random `proofValue`s, as bytes and as text, never panic and never verify.
    #[test]
    fn random_proof_values_fail_without_panicking() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2025);
        let base = signed();
        let mut prepared = Vec::new();
        for round in 0..400 {
            let mut document = base.clone();
            let value: Value = match round % 3 {
                0 => {
                    let bytes: Vec<u8> = (0..64).map(|_| rng.r#gen()).collect();
                    multibase::encode_base58btc(&bytes).into()
                }
                1 => {
                    let length = rng.gen_range(0..100);
                    let text: String = (0..length)
                        .map(|_| char::from(rng.gen_range(b'0'..=b'z')))
                        .collect();
                    format!("z{text}").into()
                }
                _ => {
                    let mut bytes = multibase::decode_base58btc(
                        base["proof"]["proofValue"].as_str().expect("a string"),
                    )
                    .expect("base58btc");
                    let at = rng.gen_range(0..64);
                    bytes[at] ^= 1 << rng.gen_range(0..8);
                    multibase::encode_base58btc(&bytes).into()
                }
            };
            document["proof"]["proofValue"] = value;
            match prepare(&document, ASSERTION_METHOD) {
                Ok(proof) => {
                    assert!(proof.verify_signature().is_err(), "{document}");
                    prepared.push(proof);
                }
                Err(error) => assert!(
                    matches!(
                        error,
                        ProofError::InvalidSm2Signature
                            | ProofError::ProofValueLength(_)
                            | ProofError::ProofValueEncoding(_)
                    ),
                    "{error}"
                ),
            }
        }
        assert!(prepared.len() > 200, "{}", prepared.len());
        assert_eq!(verify_batch(&prepared), Err(0));
    }

    #[test]
    fn batches_mix_both_suites_and_find_the_bad_sm2_proof() {
        let ed25519 = IssuerKey::from(SigningKey::from_bytes(&[42; 32]));
        let sm2 = IssuerKey::from(key());
        let mut documents: Vec<Value> = (0..8)
            .map(|i| {
                let issuer = if i % 2 == 0 { &ed25519 } else { &sm2 };
                sign(&document(&format!("张三{i}")), issuer, &options()).expect("signs")
            })
            .collect();
        let prepare_all = |documents: &[Value]| -> Vec<_> {
            documents
                .iter()
                .map(|document| prepare(document, ASSERTION_METHOD).expect("well-formed"))
                .collect()
        };
        assert_eq!(verify_batch(&prepare_all(&documents)), Ok(()));
        documents[5]["credentialSubject"]["name"] = "李四".into();
        assert_eq!(verify_batch(&prepare_all(&documents)), Err(5));
    }
}
