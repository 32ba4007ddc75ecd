//! `did:key` identifiers for Ed25519 keys ([did:key method](https://w3c-ccg.github.io/did-key-spec/)).
//!
//! A did:key *is* its public key, so resolving one needs no network: the DID document has a
//! single verification method `did:key:<mk>#<mk>` whose controller is `did:key:<mk>`.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::multibase::{self, MultibaseError};

/// Verification methods already parsed, so that checking many objects by few signers
/// (a mirror catching up) decodes and decompresses each key once.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: std::collections::HashMap<String, DidKey>,
}

impl KeyCache {
    /// Most keys kept; past it the cache starts over (a log has few signers).
    const CAPACITY: usize = 1024;

    /// An empty cache.
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// [`DidKey::from_verification_method`], remembered.
    ///
    /// # Errors
    /// As [`DidKey::from_verification_method`] (errors are not cached).
    pub fn controller(&mut self, method: &str) -> Result<DidKey, DidError> {
        if let Some(did) = self.keys.get(method) {
            return Ok(did.clone());
        }
        let did = DidKey::from_verification_method(method)?;
        if self.keys.len() >= KeyCache::CAPACITY {
            self.keys.clear();
        }
        self.keys.insert(method.to_owned(), did.clone());
        Ok(did)
    }
}

/// Scheme and method prefix of every did:key.
pub const DID_KEY_PREFIX: &str = "did:key:";

/// Why a string is not a usable Ed25519 did:key or verification method.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DidError {
    /// The identifier does not start with `did:key:`.
    #[error("not a did:key identifier")]
    NotDidKey,
    /// The method-specific identifier is not a valid Ed25519 multikey.
    #[error("did:key multikey: {0}")]
    Multikey(#[from] MultibaseError),
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("did:key does not hold a valid Ed25519 public key")]
    InvalidPoint,
    /// A verification method's fragment is missing or is not the key itself.
    #[error("verification method fragment must repeat the did:key multikey")]
    FragmentMismatch,
}

/// An Ed25519 `did:key`, parsed and checked: holding one means the key is a valid point.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DidKey {
    multikey: String,
    key: VerifyingKey,
}

impl DidKey {
    /// The DID of an Ed25519 public key.
    pub fn from_verifying_key(key: &VerifyingKey) -> DidKey {
        DidKey {
            multikey: multibase::encode_ed25519_public(key.as_bytes()),
            key: *key,
        }
    }

    /// Parses a verification method id `did:key:<mk>#<mk>` and returns its controller DID.
    ///
    /// # Errors
    /// [`DidError::FragmentMismatch`] when the fragment is absent or differs from the key, or
    /// any error of parsing the DID itself.
    pub fn from_verification_method(method: &str) -> Result<DidKey, DidError> {
        let (did, fragment) = method.split_once('#').ok_or(DidError::FragmentMismatch)?;
        let did: DidKey = did.parse()?;
        if fragment != did.multikey {
            return Err(DidError::FragmentMismatch);
        }
        Ok(did)
    }

    /// The verification method id of this key: `did:key:<mk>#<mk>`.
    pub fn verification_method(&self) -> String {
        format!("{DID_KEY_PREFIX}{}#{}", self.multikey, self.multikey)
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether `text` is this DID as written (`did:key:<multikey>`), without formatting it.
    pub fn is_written_as(&self, text: &str) -> bool {
        text.strip_prefix(DID_KEY_PREFIX) == Some(self.multikey.as_str())
    }

    /// The multibase multikey (`z6Mk…`) without the `did:key:` prefix.
    pub fn multikey(&self) -> &str {
        &self.multikey
    }
}

impl FromStr for DidKey {
    type Err = DidError;

    fn from_str(value: &str) -> Result<DidKey, DidError> {
        let multikey = value
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or(DidError::NotDidKey)?;
        let bytes = multibase::decode_ed25519_public(multikey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| DidError::InvalidPoint)?;
        Ok(DidKey {
            multikey: multikey.to_owned(),
            key,
        })
    }
}

impl fmt::Display for DidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DID_KEY_PREFIX}{}", self.multikey)
    }
}

impl fmt::Debug for DidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DidKey({self})")
    }
}

impl Serialize for DidKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DidKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DidKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_DID: &str = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";

    #[test]
    fn parses_and_displays() {
        let did: DidKey = VECTOR_DID.parse().expect("vector did:key");
        assert_eq!(did.to_string(), VECTOR_DID);
        assert_eq!(
            did.verification_method(),
            format!("{VECTOR_DID}#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
        );
    }

    #[test]
    fn verification_method_needs_matching_fragment() {
        let ok = format!("{VECTOR_DID}#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
        assert!(DidKey::from_verification_method(&ok).is_ok());
        assert_eq!(
            DidKey::from_verification_method(VECTOR_DID),
            Err(DidError::FragmentMismatch)
        );
        assert_eq!(
            DidKey::from_verification_method(&format!("{VECTOR_DID}#key-1")),
            Err(DidError::FragmentMismatch)
        );
    }

    #[test]
    fn rejects_other_methods_and_codecs() {
        assert_eq!(
            "did:web:example.com".parse::<DidKey>(),
            Err(DidError::NotDidKey)
        );
        // An X25519 key (multicodec 0xec) is not an Ed25519 multikey.
        let mut x25519 = vec![0xec, 0x01];
        x25519.extend_from_slice(&[9u8; 32]);
        let did = format!("did:key:{}", multibase::encode_base58btc(&x25519));
        assert!(matches!(
            did.parse::<DidKey>(),
            Err(DidError::Multikey(MultibaseError::WrongMulticodec { .. }))
        ));
    }
}
