//! Batch verification of prepared proofs' Ed25519 signatures: one multiscalar
//! multiplication for many signatures, whose answer is the one-by-one answer. SM2
//! (`sm2-jcs-2025`) signatures in the same list are verified one by one.

use std::borrow::Borrow;

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::Digest;

use super::{PreparedProof, SuiteSignature};
use crate::did::PublicKey;

/// Verifies many prepared proofs' signatures at once (Ed25519 batch verification, several
/// times faster per signature than one by one). On failure it names the first proof whose
/// signature does not verify on its own.
///
/// A failed batch is re-checked one by one, so the answer is the one-by-one answer (see
/// [`batch_verifies`] for the one way a batch can be more lenient).
///
/// # Errors
/// The position of the first proof that fails [`PreparedProof::verify`].
pub fn verify_batch<P: Borrow<PreparedProof>>(proofs: &[P]) -> Result<(), usize> {
    let refs: Vec<&PreparedProof> = proofs.iter().map(Borrow::borrow).collect();
    if batch_verifies(&refs) {
        return Ok(());
    }
    match refs
        .iter()
        .position(|proof| proof.verify_signature().is_err())
    {
        Some(position) => Err(position),
        // Every signature verifies alone; the batch refused a malformed encoding.
        None => Ok(()),
    }
}

/// Whether every proof's signature verifies: the Ed25519 ones checked as one batch, the
/// SM2 ones one by one (SM2 has no batch equation of this kind).
///
/// The Ed25519 batch is the randomised
/// equation `Σ zᵢ·(Rᵢ + hᵢ·Aᵢ − sᵢ·B) = 0`, the one `ed25519_dalek::verify_batch` checks,
/// with the terms of proofs signed by the same key merged into one (`(Σ zᵢhᵢ)·A`). Credentials
/// come from few issuers, so this halves the points of the multiscalar multiplication, which
/// is most of the cost of a batch.
///
/// `false` means "not all verified, check them one by one": it is also the answer for a
/// signature whose `s` or `R` is not in canonical form, which the one-by-one check
/// ([`PreparedProof::verify`], `ed25519_dalek`'s `verify`) always rejects but the equation
/// alone might not. The one remaining difference is inherent to batch verification: a signer
/// that deliberately puts a small-order component into its own signature's `R` fails the
/// one-by-one check, and passes the batch when the random `zᵢ` cancels it (probability at
/// most 1/2 per such signature, not under the signer's control as the `zᵢ` hash every
/// signature of the batch). No correctly made signature, and no signature made without the
/// issuer's key, is affected.
///
/// The `zᵢ` are derived from the batch itself (SHA-512 of every `hᵢ` and `sᵢ`), as
/// `ed25519_dalek` derives them, so the library needs no random source.
pub fn batch_verifies(proofs: &[&PreparedProof]) -> bool {
    let mut ed25519 = Vec::with_capacity(proofs.len());
    for proof in proofs {
        match (&proof.signature, proof.proof.controller.public_key()) {
            (SuiteSignature::Ed25519(signature), PublicKey::Ed25519(key)) => {
                ed25519.push(Ed25519Term {
                    message: &proof.message,
                    signature,
                    key,
                });
            }
            _ => {
                if proof.verify_signature().is_err() {
                    return false;
                }
            }
        }
    }
    ed25519_batch_verifies(&ed25519)
}

/// One Ed25519 signature of a batch.
struct Ed25519Term<'p> {
    message: &'p [u8; 64],
    signature: &'p Signature,
    key: &'p VerifyingKey,
}

/// The batch equation of [`batch_verifies`] over Ed25519 signatures.
fn ed25519_batch_verifies(proofs: &[Ed25519Term<'_>]) -> bool {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
    use sha2::Sha512;

    if proofs.is_empty() {
        return true;
    }
    let mut transcript = Sha512::new();
    transcript.update(b"talent-registry ed25519 batch v1");
    transcript.update((proofs.len() as u64).to_le_bytes());
    let mut terms = Vec::with_capacity(proofs.len());
    for proof in proofs {
        let r_bytes = proof.signature.r_bytes();
        let Some(s) =
            Option::<Scalar>::from(Scalar::from_canonical_bytes(*proof.signature.s_bytes()))
        else {
            return false;
        };
        if !is_canonical_point_encoding(r_bytes) {
            return false;
        }
        let key = proof.key;
        let hram: [u8; 64] = Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key.as_bytes())
            .chain_update(proof.message)
            .finalize()
            .into();
        transcript.update(hram);
        transcript.update(proof.signature.s_bytes());
        terms.push((Scalar::from_bytes_mod_order_wide(&hram), s));
    }
    let seed: [u8; 64] = transcript.finalize().into();

    // Scalars and points: B, then every R, then one A per distinct key.
    let mut scalars = Vec::with_capacity(proofs.len() + 2);
    let mut points = Vec::with_capacity(proofs.len() + 2);
    scalars.push(Scalar::ZERO);
    points.push(Some(ED25519_BASEPOINT_POINT));
    let mut keys: Vec<(&[u8; 32], Scalar, EdwardsPoint)> = Vec::new();
    let mut b_coefficient = Scalar::ZERO;
    let mut block = [0u8; 64];
    for (index, (proof, (hram, s))) in proofs.iter().zip(terms).enumerate() {
        // Four 128-bit coefficients per SHA-512 block.
        if index % 4 == 0 {
            block = Sha512::new()
                .chain_update(seed)
                .chain_update((index as u64).to_le_bytes())
                .finalize()
                .into();
        }
        let at = (index % 4) * 16;
        let mut z_bytes = [0u8; 32];
        z_bytes[..16].copy_from_slice(&block[at..at + 16]);
        let z = Scalar::from_bytes_mod_order(z_bytes);
        b_coefficient += z * s;
        scalars.push(z);
        points.push(CompressedEdwardsY(*proof.signature.r_bytes()).decompress());
        let key = proof.key;
        match keys
            .iter_mut()
            .find(|(bytes, _, _)| *bytes == key.as_bytes())
        {
            Some((_, coefficient, _)) => *coefficient += z * hram,
            None => keys.push((key.as_bytes(), z * hram, key.to_edwards())),
        }
    }
    scalars[0] = -b_coefficient;
    for (_, coefficient, point) in keys {
        scalars.push(coefficient);
        points.push(Some(point));
    }
    EdwardsPoint::optional_multiscalar_mul(scalars, points).is_some_and(|sum| sum.is_identity())
}

/// Whether 32 bytes are the one encoding `compress` gives their point: `y` below the field
/// prime, and no sign bit on the two points with `x = 0` (`y = ±1`). `ed25519_dalek`'s
/// `verify` compares `R` as bytes, so it rejects the other encodings that `decompress`
/// accepts; checking this keeps the batch from accepting them.
fn is_canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // p = 2²⁵⁵ − 19, little-endian: ed ff … ff 7f.
    let at_least_p = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    if at_least_p {
        return false;
    }
    let one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
    let minus_one = y[0] == 0xec && y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    !(sign == 1 && (one || minus_one))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use serde_json::{Value, json};

    use super::*;
    use crate::proof::{ASSERTION_METHOD, ProofOptions, prepare, sign};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42u8; 32])
    }

    fn options() -> ProofOptions {
        ProofOptions {
            created: "2026-11-26T00:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        }
    }

    #[test]
    fn batch_verification_finds_the_bad_signature() {
        let documents: Vec<Value> = (0..10)
            .map(|i| {
                let document = json!({
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"name": format!("张三{i}")}
                });
                sign(&document, &key(), &options()).expect("signs")
            })
            .collect();
        let prepare_all = |documents: &[Value]| -> Vec<PreparedProof> {
            documents
                .iter()
                .map(|document| prepare(document, ASSERTION_METHOD).expect("well-formed"))
                .collect()
        };
        assert_eq!(verify_batch(&prepare_all(&documents)), Ok(()));
        let mut tampered = documents.clone();
        tampered[7]["credentialSubject"]["name"] = json!("李四");
        assert_eq!(verify_batch(&prepare_all(&tampered)), Err(7));
    }
}
