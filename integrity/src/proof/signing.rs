//! Making proofs: the keys that sign ([`ProofKey`]), a proof of a document
//! ([`create_proof`], [`sign`]), and a signer that also gives the secured document's
//! canonical bytes ([`ProofSigner`]).

use serde_json::Value;

use super::{Cryptosuite, ProofError, ProofOptions, config, eddsa_jcs, sm2_jcs};
use crate::did::DidKey;
use crate::jcs;
use crate::keys::{IssuerKey, Sm2SigningKey};
use crate::multibase;

mod sealed {
    /// Only this crate's key types make proofs.
    pub trait Sealed {}
    impl Sealed for ed25519_dalek::SigningKey {}
    impl Sealed for crate::keys::Sm2SigningKey {}
    impl Sealed for crate::keys::IssuerKey {}
    impl<K: Sealed + ?Sized> Sealed for &K {}
}

/// A private key that makes proofs: an Ed25519 key (`eddsa-jcs-2022`), an
/// [`Sm2SigningKey`] (`sm2-jcs-2025`), or an [`IssuerKey`] holding either.
pub trait ProofKey: sealed::Sealed {
    /// The cryptosuite of the key's proofs.
    fn cryptosuite(&self) -> Cryptosuite;

    /// The did:key of the public key.
    fn did(&self) -> DidKey;

    /// The signature of hashData, as `proofValue` holds it (before multibase).
    ///
    /// # Errors
    /// [`ProofError::SigningFailed`] (SM2 only, probability about 2⁻²⁵⁶).
    fn sign_hash_data(&self, hash_data: &[u8; 64]) -> Result<[u8; 64], ProofError>;
}

impl ProofKey for ed25519_dalek::SigningKey {
    fn cryptosuite(&self) -> Cryptosuite {
        Cryptosuite::EddsaJcs2022
    }

    fn did(&self) -> DidKey {
        DidKey::from_verifying_key(&self.verifying_key())
    }

    fn sign_hash_data(&self, hash_data: &[u8; 64]) -> Result<[u8; 64], ProofError> {
        Ok(eddsa_jcs::sign(self, hash_data))
    }
}

impl ProofKey for Sm2SigningKey {
    fn cryptosuite(&self) -> Cryptosuite {
        Cryptosuite::Sm2Jcs2025
    }

    fn did(&self) -> DidKey {
        Sm2SigningKey::did(self)
    }

    fn sign_hash_data(&self, hash_data: &[u8; 64]) -> Result<[u8; 64], ProofError> {
        sm2_jcs::sign(self, hash_data)
    }
}

impl ProofKey for IssuerKey {
    fn cryptosuite(&self) -> Cryptosuite {
        match self {
            IssuerKey::Ed25519(key) => key.cryptosuite(),
            IssuerKey::Sm2(key) => key.cryptosuite(),
        }
    }

    fn did(&self) -> DidKey {
        IssuerKey::did(self)
    }

    fn sign_hash_data(&self, hash_data: &[u8; 64]) -> Result<[u8; 64], ProofError> {
        match self {
            IssuerKey::Ed25519(key) => key.sign_hash_data(hash_data),
            IssuerKey::Sm2(key) => key.sign_hash_data(hash_data),
        }
    }
}

impl<K: ProofKey + ?Sized> ProofKey for &K {
    fn cryptosuite(&self) -> Cryptosuite {
        (**self).cryptosuite()
    }

    fn did(&self) -> DidKey {
        (**self).did()
    }

    fn sign_hash_data(&self, hash_data: &[u8; 64]) -> Result<[u8; 64], ProofError> {
        (**self).sign_hash_data(hash_data)
    }
}

/// Signs `unsecured` with `key`'s cryptosuite and returns the proof object (with
/// `proofValue`).
///
/// # Errors
/// [`ProofError::NotAnObject`], [`ProofError::AlreadySigned`], [`ProofError::SigningFailed`].
pub fn create_proof<K: ProofKey + ?Sized>(
    unsecured: &Value,
    key: &K,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let document = unsecured.as_object().ok_or(ProofError::NotAnObject)?;
    if document.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    let suite = key.cryptosuite();
    let did = key.did();
    let mut config = config::proof_config(document, suite, &did.verification_method(), options);
    let signature = key.sign_hash_data(&suite.hash_data(&config, unsecured))?;
    if let Value::Object(map) = &mut config {
        map.insert(
            "proofValue".into(),
            multibase::encode_base58btc(&signature).into(),
        );
    }
    Ok(config)
}

/// Signs `unsecured` and returns the secured document with its `proof`.
///
/// # Errors
/// As [`create_proof`].
pub fn sign<K: ProofKey + ?Sized>(
    unsecured: &Value,
    key: &K,
    options: &ProofOptions,
) -> Result<Value, ProofError> {
    let proof = create_proof(unsecured, key, options)?;
    let mut secured = unsecured.clone();
    if let Value::Object(map) = &mut secured {
        map.insert("proof".into(), proof);
    }
    Ok(secured)
}

/// A signing key with its verification method, formatted once for all the proofs it
/// makes (formatting a did:key is a base58 encoding).
#[derive(Debug, Clone)]
pub struct ProofSigner {
    key: IssuerKey,
    verification_method: String,
}

/// A document signed by [`ProofSigner::sign_canonical`]: the secured document and its JCS
/// bytes.
#[derive(Debug, Clone)]
pub struct SignedDocument {
    /// The document with its `proof`.
    pub document: Value,
    /// `JCS(document)`, made from the canonical bytes the signature was computed over.
    pub canonical: Vec<u8>,
}

impl ProofSigner {
    /// A signer with `key` (an Ed25519 key, an [`Sm2SigningKey`] or an [`IssuerKey`]).
    pub fn new(key: impl Into<IssuerKey>) -> ProofSigner {
        let key = key.into();
        let verification_method = key.did().verification_method();
        ProofSigner {
            key,
            verification_method,
        }
    }

    /// The signing key.
    pub fn key(&self) -> &IssuerKey {
        &self.key
    }

    /// Signs `unsecured` as [`sign`] does, canonicalising the document once: the bytes
    /// hashed for the signature become, with the proof's canonical bytes put among them
    /// in name order, the JCS of the secured document (what a log entry stores).
    ///
    /// # Errors
    /// [`ProofError::NotAnObject`], [`ProofError::AlreadySigned`],
    /// [`ProofError::SigningFailed`].
    pub fn sign_canonical(
        &self,
        mut unsecured: Value,
        options: &ProofOptions,
    ) -> Result<SignedDocument, ProofError> {
        let document = unsecured.as_object_mut().ok_or(ProofError::NotAnObject)?;
        if document.contains_key("proof") {
            return Err(ProofError::AlreadySigned);
        }
        let suite = self.key.cryptosuite();
        let (document_bytes, spans) = jcs::canonicalize_object_members(document);
        let mut config = config::proof_config(document, suite, &self.verification_method, options);
        let mut hash_data = [0u8; 64];
        hash_data[..32].copy_from_slice(&suite.digest(&[&jcs::canonicalize(&config)]));
        hash_data[32..].copy_from_slice(&suite.digest(&[&document_bytes]));
        let signature = self.key.sign_hash_data(&hash_data)?;
        if let Value::Object(map) = &mut config {
            map.insert(
                "proofValue".into(),
                multibase::encode_base58btc(&signature).into(),
            );
        }
        let before = document
            .keys()
            .filter(|name| jcs::compare_utf16(name, "proof").is_lt())
            .count();
        let canonical = config::insert_proof_member(
            &document_bytes,
            &spans,
            before,
            &jcs::canonicalize(&config),
        );
        document.insert("proof".into(), config);
        Ok(SignedDocument {
            document: unsecured,
            canonical,
        })
    }
}
