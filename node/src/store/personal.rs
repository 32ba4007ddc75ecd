//! How the `personal` column family protects full resident ID numbers at rest.
//!
//! A value is sealed with XChaCha20-Poly1305 under the member's personal-data key, with the
//! credential id as associated data: a value copied onto another credential's key does not
//! open. Its layout is `0x01 ‖ 24-byte random nonce ‖ ciphertext ‖ 16-byte tag`; a value
//! written before encryption (18 ASCII characters, never starting with 0x01) is recognised
//! as [`Stored::Plaintext`] so [`crate::store::Store::open`] can migrate it.
//!
//! Looking a person up by full ID number needs no decryption: the `personal_index` column
//! family is keyed by HMAC-SHA256 of the ID number under a second, separate key (a plain
//! hash would be reversed by trying every plausible ID number; the key makes that need the
//! key file).

use chacha20poly1305::KeyInit as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use talent_core::identifiers::{CredentialId, ResidentIdNumber};

/// First byte of a sealed value: the format (cipher, nonce size, associated data) it uses.
const SEALED_V1: u8 = 0x01;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Associated data before the credential UUID: names the purpose, so a value sealed under
/// the same key for anything else (the key check) never opens as a credential's.
const AAD_LABEL: &[u8] = b"talent-registry personal v1\0";
/// The key check's associated data and the text whose index tag it seals (see
/// [`PersonalKeys::key_check`]).
const KEY_CHECK_LABEL: &[u8] = b"talent-registry personal key check v1";

/// Associated data label of a sealed query-log record (see [`PersonalKeys::seal_query`]).
const QUERY_AAD_LABEL: &[u8] = b"talent-registry query v1\0";
/// HMAC input label of a holder access code (see [`PersonalKeys::holder_code`]).
const HOLDER_CODE_LABEL: &[u8] = b"talent-registry holder access code v1\0";

/// Bytes of an HMAC-SHA256 index tag.
pub const INDEX_TAG_BYTES: usize = 32;

/// The two secret keys of personal data: one seals the values, one keys the look-up index.
/// Kept apart so that the index key (needed for every search) never decrypts anything.
#[derive(Clone)]
pub struct PersonalKeys {
    cipher: XChaCha20Poly1305,
    index: Hmac<Sha256>,
}

impl std::fmt::Debug for PersonalKeys {
    // Never prints key material.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PersonalKeys(…)")
    }
}

/// A `personal` value as read from the store.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored {
    /// Sealed by [`PersonalKeys::seal`].
    Sealed,
    /// Written in plaintext by a version before encryption: the ID number it holds.
    Plaintext(String),
}

/// A sealed value that does not open: another key, another credential, or altered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the value does not open under the personal-data key (other key, other credential, or altered)"
)]
pub struct NotOpened;

impl PersonalKeys {
    /// The keys from their 32 bytes each.
    pub fn new(encryption: &[u8; 32], index: &[u8; 32]) -> PersonalKeys {
        PersonalKeys {
            cipher: XChaCha20Poly1305::new(&Key::from(*encryption)),
            // HMAC accepts a key of any length; 32 bytes cannot fail.
            index: <Hmac<Sha256> as Mac>::new_from_slice(index)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        }
    }

    /// Fresh random keys (first start, tests); the caller stores them.
    pub fn generate() -> ([u8; 32], [u8; 32]) {
        let mut encryption = [0u8; 32];
        let mut index = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut encryption);
        rand::rngs::OsRng.fill_bytes(&mut index);
        (encryption, index)
    }

    /// The stored value of `resident`'s ID number for credential `id`.
    pub fn seal(&self, id: CredentialId, resident: &ResidentIdNumber) -> Vec<u8> {
        self.seal_bytes(
            &associated_data(id),
            resident.expose_for_local_storage().as_bytes(),
        )
    }

    fn seal_bytes(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Encryption fails only for messages longer than the cipher's limit (256 GiB).
            .unwrap_or_else(|_| unreachable!("an ID number is far below the AEAD limit"));
        let mut value = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
        value.push(SEALED_V1);
        value.extend_from_slice(&nonce);
        value.extend_from_slice(&sealed);
        value
    }

    /// The ID number in a sealed value of credential `id`.
    ///
    /// # Errors
    /// [`NotOpened`] for a value that is not sealed, sealed under another key or for
    /// another credential, or altered.
    pub fn open(&self, id: CredentialId, value: &[u8]) -> Result<String, NotOpened> {
        let plaintext = self.open_bytes(&associated_data(id), value)?;
        String::from_utf8(plaintext).map_err(|_| NotOpened)
    }

    fn open_bytes(&self, aad: &[u8], value: &[u8]) -> Result<Vec<u8>, NotOpened> {
        let (&format, rest) = value.split_first().ok_or(NotOpened)?;
        if format != SEALED_V1 || rest.len() < NONCE_BYTES + TAG_BYTES {
            return Err(NotOpened);
        }
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| NotOpened)?;
        self.cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad })
            .map_err(|_| NotOpened)
    }

    /// The index tag of an ID number: HMAC-SHA256 under the index key.
    pub fn index_tag(&self, resident: &ResidentIdNumber) -> [u8; INDEX_TAG_BYTES] {
        self.tag(resident.expose_for_local_storage().as_bytes())
    }

    fn tag(&self, message: &[u8]) -> [u8; INDEX_TAG_BYTES] {
        let mut mac = self.index.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// A value that proves which keys sealed a store: the index key's tag of a fixed text,
    /// sealed under the encryption key. Stored once; [`PersonalKeys::matches_key_check`]
    /// tells at every start whether the keys on disk are still those keys.
    pub fn key_check(&self) -> Vec<u8> {
        self.seal_bytes(KEY_CHECK_LABEL, &self.tag(KEY_CHECK_LABEL))
    }

    /// Whether `check` was made by [`PersonalKeys::key_check`] with these two keys.
    pub fn matches_key_check(&self, check: &[u8]) -> bool {
        self.open_bytes(KEY_CHECK_LABEL, check)
            .is_ok_and(|tag| tag.as_slice() == self.tag(KEY_CHECK_LABEL).as_slice())
    }

    /// What kind of `personal` value `value` is.
    pub fn classify(value: &[u8]) -> Stored {
        match value.first() {
            Some(&SEALED_V1) => Stored::Sealed,
            _ => Stored::Plaintext(String::from_utf8_lossy(value).into_owned()),
        }
    }
}

#[cfg(test)]
impl PersonalKeys {
    /// Fixed keys, so a unit test can reopen a store it wrote.
    pub(crate) fn for_tests() -> PersonalKeys {
        PersonalKeys::new(&[7; 32], &[9; 32])
    }
}

/// The associated data of credential `id`'s value.
impl PersonalKeys {
    /// A query-log record of credential `id` at key `key`, sealed: who asked and why is
    /// personal data of the talent and of the verifier. Bound to its key, so a record
    /// moved to another credential or slot does not open.
    pub fn seal_query(&self, id: CredentialId, key: &[u8], record: &[u8]) -> Vec<u8> {
        self.seal_bytes(&query_associated_data(id, key), record)
    }

    /// The record in a sealed query-log value.
    ///
    /// # Errors
    /// [`NotOpened`] for a value sealed under another key, for another credential or key,
    /// or altered.
    pub fn open_query(
        &self,
        id: CredentialId,
        key: &[u8],
        value: &[u8],
    ) -> Result<Vec<u8>, NotOpened> {
        self.open_bytes(&query_associated_data(id, key), value)
    }

    /// The holder access code of credential `id`: what the office hands the talent with the
    /// credential, and what opens the credential's query log. An HMAC under the index key
    /// with its own label (no index tag is ever computed over this input), in RFC 4648
    /// base32 without padding, 26 characters (128 bits).
    pub fn holder_code(&self, id: CredentialId) -> String {
        let mut mac = self.index.clone();
        mac.update(HOLDER_CODE_LABEL);
        mac.update(&id.uuid().into_bytes());
        let tag = mac.finalize().into_bytes();
        data_encoding::BASE32_NOPAD.encode(&tag[..16])
    }

    /// Whether `code` is credential `id`'s holder access code (case, spaces and dashes
    /// ignored; compared in constant time).
    pub fn matches_holder_code(&self, id: CredentialId, code: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let given: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let expected = self.holder_code(id);
        given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }
}

fn query_associated_data(id: CredentialId, key: &[u8]) -> Vec<u8> {
    let mut aad = QUERY_AAD_LABEL.to_vec();
    aad.extend_from_slice(&id.uuid().into_bytes());
    aad.extend_from_slice(key);
    aad
}

fn associated_data(id: CredentialId) -> Vec<u8> {
    let mut aad = AAD_LABEL.to_vec();
    aad.extend_from_slice(&id.uuid().into_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> PersonalKeys {
        let (encryption, index) = PersonalKeys::generate();
        PersonalKeys::new(&encryption, &index)
    }

    fn id(text: &str) -> CredentialId {
        CredentialId::parse_lenient(text).expect("id")
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_credential_and_key() {
        let keys = keys();
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        let first = id("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d");
        let second = id("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e");
        let value = keys.seal(first, &resident);
        assert!(
            !value
                .windows(18)
                .any(|window| window == b"11010519491231002X"),
            "no plaintext in the sealed value"
        );
        assert_eq!(PersonalKeys::classify(&value), Stored::Sealed);
        assert_eq!(
            keys.open(first, &value).as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(keys.open(second, &value), Err(NotOpened), "moved value");
        assert_eq!(PersonalKeys::keys_open(&value, first), Err(NotOpened));
        let mut altered = value.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(keys.open(first, &altered), Err(NotOpened));
        assert_eq!(keys.open(first, &[]), Err(NotOpened));
        assert_ne!(
            value,
            keys.seal(first, &resident),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn index_tags_are_keyed_and_the_key_check_names_both_keys() {
        let (encryption, index) = PersonalKeys::generate();
        let keys = PersonalKeys::new(&encryption, &index);
        let resident: ResidentIdNumber = "11010519491231002X".parse().expect("valid id");
        assert_eq!(keys.index_tag(&resident), keys.index_tag(&resident));
        let (other_encryption, other_index) = PersonalKeys::generate();
        let other_index_keys = PersonalKeys::new(&encryption, &other_index);
        assert_ne!(
            keys.index_tag(&resident),
            other_index_keys.index_tag(&resident)
        );
        let check = keys.key_check();
        assert!(keys.matches_key_check(&check));
        assert!(!other_index_keys.matches_key_check(&check));
        assert!(!PersonalKeys::new(&other_encryption, &index).matches_key_check(&check));
    }

    #[test]
    fn plaintext_of_an_older_version_is_recognised() {
        assert_eq!(
            PersonalKeys::classify(b"11010519491231002X"),
            Stored::Plaintext("11010519491231002X".into())
        );
    }

    impl PersonalKeys {
        /// Opens with fresh keys: what an attacker without the key file gets.
        fn keys_open(value: &[u8], id: CredentialId) -> Result<String, NotOpened> {
            keys().open(id, value)
        }
    }
}
