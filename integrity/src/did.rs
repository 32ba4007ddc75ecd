//! `did:key` identifiers for Ed25519 and SM2 keys ([did:key method](https://w3c-ccg.github.io/did-key-spec/)).
//!
//! A did:key *is* its public key, so resolving one needs no network: the DID document has a
//! single `Multikey` verification method `did:key:<mk>#<mk>` whose controller is
//! `did:key:<mk>`. The multikey is `ed25519-pub` (0xed, `z6Mk…`) with the 32-byte key, or
//! `sm2-pub` (0x1206, `zEP…`) with the 33-byte compressed SEC1 point.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use sm2::elliptic_curve::sec1::ToSec1Point;

use crate::multibase::{self, MultibaseError, PublicMultikey};

/// The SM2 distinguishing ID (`ID_A`) of every SM2 signature the registry makes or checks:
/// the default of GB/T 35276 (GM/T 0009) when none is agreed (`ENTL_A` = 128 bits).
pub const SM2_DISTINGUISHING_ID: &str = "1234567812345678";

/// The kind of a public or private key: which cryptosuite it signs or verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// An Ed25519 key (RFC 8032).
    Ed25519,
    /// An SM2 key (GB/T 32918, the SM2 recommended curve).
    Sm2,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Sm2 => "SM2",
        })
    }
}

/// The compressed SEC1 encoding of an SM2 public key.
pub(crate) fn sm2_compressed_point(key: &sm2::dsa::VerifyingKey) -> [u8; 33] {
    let point = key.to_sec1_point(true);
    let mut out = [0u8; 33];
    // A compressed encoding of a key (never the identity) is always 33 bytes.
    if let Some(bytes) = point.as_bytes().get(..33) {
        out.copy_from_slice(bytes);
    }
    out
}

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

/// Why a string is not a usable did:key or verification method.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DidError {
    /// The identifier does not start with `did:key:`.
    #[error("not a did:key identifier")]
    NotDidKey,
    /// The method-specific identifier is not a valid Ed25519 or SM2 multikey.
    #[error("did:key multikey: {0}")]
    Multikey(#[from] MultibaseError),
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("did:key does not hold a valid Ed25519 public key")]
    InvalidPoint,
    /// The 33 bytes are not the compressed SEC1 encoding (`02`/`03` and `x < p`) of a
    /// point on the SM2 curve other than the identity.
    #[error("did:key does not hold a valid SM2 public key (a compressed point on the curve)")]
    InvalidSm2Point,
    /// A verification method's fragment is missing or is not the key itself.
    #[error("verification method fragment must repeat the did:key multikey")]
    FragmentMismatch,
}

/// The public key a did:key holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PublicKey {
    /// An Ed25519 key: it verifies `eddsa-jcs-2022` proofs.
    Ed25519(VerifyingKey),
    /// An SM2 key with the distinguishing ID [`SM2_DISTINGUISHING_ID`]: it verifies
    /// `sm2-jcs-2025` proofs.
    Sm2(sm2::dsa::VerifyingKey),
}

impl PublicKey {
    /// Ed25519 or SM2.
    pub fn kind(&self) -> KeyKind {
        match self {
            PublicKey::Ed25519(_) => KeyKind::Ed25519,
            PublicKey::Sm2(_) => KeyKind::Sm2,
        }
    }
}

/// A `did:key` of an Ed25519 or SM2 key, parsed and checked: holding one means the key is a
/// valid point.
///
/// Two are equal when their multikeys are: the key is a function of its multikey, and each
/// key has one multikey (base58btc and both key encodings are canonical, and parsing
/// refuses the others).
#[derive(Clone)]
pub struct DidKey {
    multikey: String,
    key: PublicKey,
}

impl PartialEq for DidKey {
    fn eq(&self, other: &DidKey) -> bool {
        self.multikey == other.multikey
    }
}

impl Eq for DidKey {}

impl Hash for DidKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.multikey.hash(state);
    }
}

impl DidKey {
    /// The DID of an Ed25519 public key.
    pub fn from_verifying_key(key: &VerifyingKey) -> DidKey {
        DidKey {
            multikey: multibase::encode_ed25519_public(key.as_bytes()),
            key: PublicKey::Ed25519(*key),
        }
    }

    /// The DID of an SM2 public key whose distinguishing ID is [`SM2_DISTINGUISHING_ID`]
    /// (what an SM2 signing key of this crate guarantees).
    pub(crate) fn from_sm2_verifying_key(key: &sm2::dsa::VerifyingKey) -> DidKey {
        DidKey {
            multikey: multibase::encode_sm2_public(&sm2_compressed_point(key)),
            key: PublicKey::Sm2(key.clone()),
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
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Ed25519 or SM2.
    pub fn kind(&self) -> KeyKind {
        self.key.kind()
    }

    /// The Ed25519 public key, when the DID holds one.
    pub fn ed25519(&self) -> Option<&VerifyingKey> {
        match &self.key {
            PublicKey::Ed25519(key) => Some(key),
            PublicKey::Sm2(_) => None,
        }
    }

    /// The SM2 public key, when the DID holds one.
    pub fn sm2(&self) -> Option<&sm2::dsa::VerifyingKey> {
        match &self.key {
            PublicKey::Sm2(key) => Some(key),
            PublicKey::Ed25519(_) => None,
        }
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
        let key = match multibase::decode_public_multikey(multikey)? {
            PublicMultikey::Ed25519(bytes) => PublicKey::Ed25519(
                VerifyingKey::from_bytes(&bytes).map_err(|_| DidError::InvalidPoint)?,
            ),
            PublicMultikey::Sm2(point) => PublicKey::Sm2(sm2_key(&point)?),
        };
        Ok(DidKey {
            multikey: multikey.to_owned(),
            key,
        })
    }
}

/// The SM2 key of a compressed SEC1 point. Only the two compressed tags are taken: the
/// `sm2` crate would also read 33 bytes tagged `05` as a compact point, a second encoding of
/// the same key.
fn sm2_key(point: &[u8; 33]) -> Result<sm2::dsa::VerifyingKey, DidError> {
    if !matches!(point[0], 0x02 | 0x03) {
        return Err(DidError::InvalidSm2Point);
    }
    sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTINGUISHING_ID, point)
        .map_err(|_| DidError::InvalidSm2Point)
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
        // An X25519 key (multicodec 0xec) is neither an Ed25519 nor an SM2 multikey.
        let mut x25519 = vec![0xec, 0x01];
        x25519.extend_from_slice(&[9u8; 32]);
        let did = format!("did:key:{}", multibase::encode_base58btc(&x25519));
        assert!(matches!(
            did.parse::<DidKey>(),
            Err(DidError::Multikey(
                MultibaseError::UnsupportedKeyCodec { .. }
            ))
        ));
    }

    /// The public key of the private key of GB/T 32918.5's signature example (`3945208F…C5B8`),
    /// compressed.
    const SM2_POINT: &str = "0309f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020";

    fn sm2_point() -> [u8; 33] {
        let mut point = [0u8; 33];
        for (index, byte) in point.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&SM2_POINT[2 * index..2 * index + 2], 16).expect("hex");
        }
        point
    }

    fn sm2_did(bytes: &[u8]) -> String {
        let mut multikey = multibase::SM2_PUB_PREFIX.to_vec();
        multikey.extend_from_slice(bytes);
        format!("did:key:{}", multibase::encode_base58btc(&multikey))
    }

    #[test]
    fn sm2_did_key_parses_displays_and_names_its_kind() {
        let text = sm2_did(&sm2_point());
        let did: DidKey = text.parse().expect("SM2 did:key");
        assert_eq!(did.to_string(), text);
        assert!(did.multikey().starts_with("zEP"), "{did}");
        assert_eq!(did.kind(), KeyKind::Sm2);
        assert!(did.ed25519().is_none());
        let key = did.sm2().expect("an SM2 key");
        assert_eq!(key.distid(), SM2_DISTINGUISHING_ID);
        assert_eq!(sm2_compressed_point(key), sm2_point());
        let method = did.verification_method();
        assert_eq!(DidKey::from_verification_method(&method), Ok(did.clone()));
        let secret: [u8; 32] = [
            0x39, 0x45, 0x20, 0x8f, 0x7b, 0x21, 0x44, 0xb1, 0x3f, 0x36, 0xe3, 0x8a, 0xc6, 0xd3,
            0x9f, 0x95, 0x88, 0x93, 0x93, 0x69, 0x28, 0x60, 0xb5, 0x1a, 0x42, 0xfb, 0x81, 0xef,
            0x4d, 0xf7, 0xc5, 0xb8,
        ];
        let signer = crate::keys::Sm2SigningKey::from_bytes(&secret).expect("the standard's key");
        assert_eq!(signer.did(), did);
        assert_eq!(signer.public_point(), sm2_point());

        let ed25519: DidKey = VECTOR_DID.parse().expect("vector did:key");
        assert_eq!(ed25519.kind(), KeyKind::Ed25519);
        assert!(ed25519.sm2().is_none() && ed25519.ed25519().is_some());
        assert_ne!(ed25519, did);
    }

    #[test]
    fn malformed_sm2_did_keys_are_refused_precisely() {
        let point = sm2_point();
        // Field prime p and 2²⁵⁶ − 1 as x: not below p, so not a canonical encoding.
        let mut p = [0xff; 33];
        p[0] = 0x02;
        p[4] = 0xfe;
        p[25..29].copy_from_slice(&[0; 4]);
        let mut all_ones = [0xff; 33];
        all_ones[0] = 0x03;
        let mut other_tags = Vec::new();
        for tag in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff] {
            let mut bytes = point;
            bytes[0] = tag;
            other_tags.push(bytes);
        }
        for bytes in [p, all_ones, [0; 33]].into_iter().chain(other_tags) {
            assert_eq!(
                sm2_did(&bytes).parse::<DidKey>(),
                Err(DidError::InvalidSm2Point),
                "{bytes:02x?}"
            );
        }
        // The uncompressed encoding of the same key (65 bytes), and short or long points.
        let mut uncompressed = vec![0x04];
        uncompressed.extend_from_slice(&point[1..]);
        uncompressed.extend_from_slice(&[0x11; 32]);
        for bytes in [
            &uncompressed[..],
            &point[..32],
            &[point.as_slice(), &[0]].concat(),
            &[],
        ] {
            assert_eq!(
                sm2_did(bytes).parse::<DidKey>(),
                Err(DidError::Multikey(MultibaseError::WrongLength {
                    found: bytes.len(),
                    expected: 33
                })),
            );
        }
        // A verification method whose fragment is the Ed25519 form of another key.
        let method = format!(
            "{}#{}",
            sm2_did(&point),
            VECTOR_DID.trim_start_matches(DID_KEY_PREFIX)
        );
        assert_eq!(
            DidKey::from_verification_method(&method),
            Err(DidError::FragmentMismatch)
        );
    }

    /// Fuzz-style: random bytes after the `sm2-pub` prefix, and random flips of a valid SM2
    /// multikey, never panic; whatever parses is a key that writes back as the same text.
    #[test]
    fn random_sm2_multikeys_parse_or_fail_without_panicking() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let valid = sm2_did(&sm2_point());
        let mut parsed = 0;
        for round in 0..3000 {
            let text = if round % 2 == 0 {
                let length = rng.gen_range(0..40);
                let mut bytes: Vec<u8> = (0..length).map(|_| rng.r#gen()).collect();
                if let Some(tag) = bytes.first_mut() {
                    *tag = [0x02, 0x03, *tag][rng.gen_range(0..3)];
                }
                sm2_did(&bytes)
            } else {
                let mut chars: Vec<char> = valid.chars().collect();
                let at = rng.gen_range(8..chars.len());
                chars[at] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0Il"
                    [rng.gen_range(0..61)] as char;
                chars.into_iter().collect()
            };
            if let Ok(did) = text.parse::<DidKey>() {
                parsed += 1;
                assert_eq!(did.to_string(), text);
                let again: DidKey = did.to_string().parse().expect("round trip");
                assert_eq!(again, did);
            }
        }
        // About half of the random x coordinates are on the curve.
        assert!(parsed > 100, "{parsed}");
    }
}
