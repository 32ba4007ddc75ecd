//! The member's secret keys: loaded from the data directory, generated on first start.
//!
//! Each key is a file `<data>/keys/<role>.key` holding the Ed25519 seed as a secret multikey
//! (`z3u2…`), mode 0600. The authority key may instead be an SM2 key (a member whose
//! cryptosuite is `sm2-jcs-2025`): its 32-byte scalar as a secret multikey `sm2-priv`
//! ([`encode_sm2_secret`]). Keys are written atomically (temporary file, fsync, rename), so a
//! crash during first start never leaves a half-written key behind.
//!
//! Beside them, the two symmetric keys of personal data ([`load_or_generate_personal`]):
//! `personal-data.key` seals full ID numbers in the store, `personal-index.key` keys their
//! look-up hashes. Each holds 32 random bytes as 64 hex digits. They are this node's alone
//! (never in a federation's key directory, never sent anywhere) and are made on first start.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use talent_integrity::did::{DidKey, KeyKind};
use talent_integrity::keys::{IssuerKey, Sm2SigningKey};
use talent_integrity::multibase::{self, MultibaseError};

use crate::file_error::FileError;
use crate::store::PersonalKeys;

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file or directory operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// A signing key file does not hold an Ed25519 secret multikey.
    #[error("{} is not an Ed25519 secret multikey: {error}", path.display())]
    NotASecretMultikey {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        error: MultibaseError,
    },
    /// The authority key file holds neither an Ed25519 nor an SM2 secret multikey, or an
    /// SM2 scalar that is not a valid SM2 secret key.
    #[error(
        "{} is not an Ed25519 (z3u2…) or SM2 (sm2-priv) secret multikey: {reason}",
        path.display()
    )]
    NotAnAuthorityKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The SM2 checkpoint key file does not hold a valid SM2 secret multikey (`sm2-priv`).
    #[error("{} is not an SM2 (sm2-priv) secret multikey: {reason}", path.display())]
    NotAnSm2Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A symmetric key file does not hold 64 hex digits.
    #[error("{} is not a key of 64 hex digits: {reason}", path.display())]
    NotHex {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key file may be read by other users.
    #[error("{} is readable by other users (mode {mode:o}); run chmod 600 on it", path.display())]
    ReadableByOthers {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// The secret multikey in `text`, read from `path`.
fn decode_secret(text: &str, path: &Path) -> Result<SigningKey, KeyError> {
    let seed = multibase::decode_ed25519_secret(text.trim()).map_err(|error| {
        KeyError::NotASecretMultikey {
            path: path.to_path_buf(),
            error,
        }
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// An SM2 secret key as its secret multikey: `z` + base58(0x8626 ‖ scalar), multicodec
/// `sm2-priv` 0x1306 — the multicodec table's draft entry, see
/// [`multibase::SM2_PRIV_PREFIX`].
pub fn encode_sm2_secret(key: &Sm2SigningKey) -> String {
    multibase::encode_sm2_secret(&key.to_bytes())
}

/// The authority key in `text` (read from `path`): an Ed25519 or SM2 secret multikey.
fn decode_authority_secret(text: &str, path: &Path) -> Result<IssuerKey, KeyError> {
    let text = text.trim();
    let refused = |reason: String| KeyError::NotAnAuthorityKey {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = multibase::decode_base58btc(text).map_err(|error| refused(error.to_string()))?;
    if bytes.starts_with(&multibase::SM2_PRIV_PREFIX) {
        return sm2_secret(text)
            .map(IssuerKey::Sm2)
            .map_err(|reason| refused(format!("an SM2 key: {reason}")));
    }
    match multibase::decode_ed25519_secret(text) {
        Ok(seed) => Ok(IssuerKey::Ed25519(SigningKey::from_bytes(&seed))),
        Err(error) => Err(refused(error.to_string())),
    }
}

/// The SM2 secret key in `text` (read from `path`), in the format of an SM2 authority key.
fn decode_sm2_key(text: &str, path: &Path) -> Result<Sm2SigningKey, KeyError> {
    let refused = |reason: String| KeyError::NotAnSm2Key {
        path: path.to_path_buf(),
        reason,
    };
    sm2_secret(text).map_err(refused)
}

/// The SM2 secret multikey in `text`, or why it is none.
fn sm2_secret(text: &str) -> Result<Sm2SigningKey, String> {
    let scalar = multibase::decode_sm2_secret(text.trim()).map_err(|error| error.to_string())?;
    Sm2SigningKey::from_bytes(&scalar).map_err(|error| error.to_string())
}

/// File of the optional SM2 checkpoint key (`log_sm2_vkey` in federation.toml). Never
/// generated: a member names its SM2 key in the configuration first, so the key comes with
/// `--keys-from` or is put there by its operator.
pub const LOG_SM2_KEY_FILE: &str = "log-sm2.key";

/// Loads `<dir>/log-sm2.key` when it exists.
fn load_log_sm2(dir: &Path) -> Result<Option<Sm2SigningKey>, KeyError> {
    let path = dir.join(LOG_SM2_KEY_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            refuse_readable_by_others(&path)?;
            decode_sm2_key(&text, &path).map(Some)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(FileError::of("reading", &path)(error).into()),
    }
}

/// A fresh authority key of `kind`.
pub fn generate_authority_key(kind: KeyKind) -> IssuerKey {
    match kind {
        KeyKind::Sm2 => loop {
            // A random 32 bytes is a valid scalar unless it is 0 or not below n − 1: about
            // one draw in 2^32 is retried.
            let mut scalar = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut scalar);
            if let Ok(key) = Sm2SigningKey::from_bytes(&scalar) {
                return IssuerKey::Sm2(key);
            }
        },
        _ => IssuerKey::Ed25519(SigningKey::generate(&mut rand::rngs::OsRng)),
    }
}

/// Writes the authority key `key` to `path` as its secret multikey.
fn write_authority_key(path: &Path, key: &IssuerKey) -> Result<(), KeyError> {
    if let Some(key) = key.sm2() {
        write_secret(path, &encode_sm2_secret(key))
    } else if let Some(key) = key.ed25519() {
        write_key(path, key)
    } else {
        Err(KeyError::NotAnAuthorityKey {
            path: path.to_path_buf(),
            reason: format!("no file format for {} keys", key.kind()),
        })
    }
}

/// What a key is used for; also its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// Signs credentials: the member's authority DID.
    Authority,
    /// Signs log checkpoints.
    Log,
    /// Cosigns other members' checkpoints.
    Witness,
    /// Signs general W3C credentials for the VC-API when the operator enables the open
    /// issuer (never the authority; see `open_issuer`).
    OpenIssuer,
}

impl KeyRole {
    /// The file of this key in `<data>/keys`.
    pub fn file_name(self) -> &'static str {
        match self {
            KeyRole::Authority => "authority.key",
            KeyRole::Log => "log.key",
            KeyRole::Witness => "witness.key",
            KeyRole::OpenIssuer => "open-issuer.key",
        }
    }
}

/// The member's three signing keys.
#[derive(Debug)]
pub struct MemberKeys {
    /// Authority (credential signing) key: Ed25519 or SM2.
    pub authority: IssuerKey,
    /// Log (checkpoint signing) key.
    pub log: SigningKey,
    /// The optional SM2 checkpoint key (`keys/log-sm2.key`), which signs a second line on
    /// each checkpoint when the configuration names it (`log_sm2_vkey`).
    pub log_sm2: Option<Sm2SigningKey>,
    /// Witness (cosigning) key.
    pub witness: SigningKey,
}

impl MemberKeys {
    /// Loads the keys from `<data>/keys`, generating any that do not exist yet when
    /// `generate_missing` is set (an authority key of `authority_kind`).
    ///
    /// # Errors
    /// A key file that cannot be read, is not a secret multikey, or is readable by others.
    pub fn load_or_generate(
        data_dir: &Path,
        generate_missing: bool,
        authority_kind: KeyKind,
    ) -> Result<MemberKeys, KeyError> {
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir).map_err(FileError::of("creating", &dir))?;
        let load = |role| load_or_generate_one(&dir, role, generate_missing);
        Ok(MemberKeys {
            authority: load_or_generate_authority(&dir, generate_missing, authority_kind)?,
            log: load(KeyRole::Log)?,
            log_sm2: load_log_sm2(&dir)?,
            witness: load(KeyRole::Witness)?,
        })
    }

    /// Whether any key file exists in `<data>/keys`.
    pub fn exist(data_dir: &Path) -> bool {
        let dir = data_dir.join("keys");
        [KeyRole::Authority, KeyRole::Log, KeyRole::Witness]
            .into_iter()
            .any(|role| key_path(&dir, role).exists())
    }

    /// The authority DID.
    pub fn authority_did(&self) -> DidKey {
        self.authority.did()
    }
}

impl MemberKeys {
    /// Copies the three key files, and `log-sm2.key` when `source` has one, from `source`
    /// (e.g. the dev-only keys of the demo federation) into `<data>/keys`, mode 0600, unless
    /// keys are already there.
    ///
    /// # Errors
    /// A source key is missing or malformed, or the copy cannot be written.
    pub fn install_from(data_dir: &Path, source: &Path) -> Result<(), KeyError> {
        if MemberKeys::exist(data_dir) {
            return Ok(());
        }
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir).map_err(FileError::of("creating", &dir))?;
        for role in [KeyRole::Authority, KeyRole::Log, KeyRole::Witness] {
            let from = key_path(source, role);
            let text = fs::read_to_string(&from).map_err(FileError::of("reading", &from))?;
            let to = key_path(&dir, role);
            match role {
                KeyRole::Authority => {
                    write_authority_key(&to, &decode_authority_secret(&text, &from)?)?;
                }
                _ => write_key(&to, &decode_secret(&text, &from)?)?,
            }
        }
        let from = source.join(LOG_SM2_KEY_FILE);
        match fs::read_to_string(&from) {
            Ok(text) => write_secret(
                &dir.join(LOG_SM2_KEY_FILE),
                &encode_sm2_secret(&decode_sm2_key(&text, &from)?),
            )?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(FileError::of("reading", &from)(error).into()),
        }
        Ok(())
    }
}

/// File of an authority key that is being rotated to: written before the rotation is
/// logged, promoted to `authority.key` after (or removed at start if the rotation never
/// reached the log).
const AUTHORITY_SUCCESSOR_FILE: &str = "authority.next.key";

impl MemberKeys {
    /// Durably stores `key` as the authority's successor, before its rotation is logged.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn stage_authority_successor(data_dir: &Path, key: &IssuerKey) -> Result<(), KeyError> {
        write_authority_key(&data_dir.join("keys").join(AUTHORITY_SUCCESSOR_FILE), key)
    }

    /// The staged successor, if a rotation was interrupted.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a key.
    pub fn staged_authority_successor(data_dir: &Path) -> Result<Option<IssuerKey>, KeyError> {
        let path = data_dir.join("keys").join(AUTHORITY_SUCCESSOR_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = fs::read_to_string(&path).map_err(FileError::of("reading", &path))?;
        decode_authority_secret(&text, &path).map(Some)
    }

    /// Makes the staged successor `authority.key`, keeping the previous key as
    /// `authority-retired-<unix seconds>.key` (it signed what is already logged).
    ///
    /// # Errors
    /// A rename fails.
    pub fn promote_authority_successor(data_dir: &Path) -> Result<(), KeyError> {
        let dir = data_dir.join("keys");
        let retired = dir.join(format!(
            "authority-retired-{}.key",
            chrono::Utc::now().timestamp()
        ));
        fs::rename(key_path(&dir, KeyRole::Authority), &retired)
            .map_err(FileError::of("retiring the authority key to", &retired))?;
        let successor = dir.join(AUTHORITY_SUCCESSOR_FILE);
        fs::rename(&successor, key_path(&dir, KeyRole::Authority)).map_err(FileError::of(
            "promoting the successor authority key",
            &successor,
        ))?;
        sync_directory(&dir)
    }

    /// Removes a staged successor whose rotation never reached the log.
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn discard_authority_successor(data_dir: &Path) -> Result<(), KeyError> {
        let path = data_dir.join("keys").join(AUTHORITY_SUCCESSOR_FILE);
        fs::remove_file(&path).map_err(FileError::of("removing", &path))?;
        Ok(())
    }
}

/// The key files a node may hold in `<data>/keys` and reads at start (the health check
/// reads those present again: `GET /healthz`'s `key_unreadable`).
pub const KEY_FILES: [&str; 7] = [
    "authority.key",
    "log.key",
    "witness.key",
    LOG_SM2_KEY_FILE,
    "open-issuer.key",
    PERSONAL_DATA_FILE,
    PERSONAL_INDEX_FILE,
];

/// File of the key that seals full ID numbers in the store.
const PERSONAL_DATA_FILE: &str = "personal-data.key";
/// File of the key of the ID numbers' look-up hashes.
const PERSONAL_INDEX_FILE: &str = "personal-index.key";

/// Loads the personal-data keys from `<data>/keys`, generating a missing one. A generated
/// key that does not match the store's sealed data is caught by
/// [`crate::store::Store::open`] ([`crate::store::StoreError::PersonalKeysMismatch`]).
///
/// # Errors
/// A key file that cannot be read or written, is not 64 hex digits, or is readable by
/// others.
pub fn load_or_generate_personal(data_dir: &Path) -> Result<PersonalKeys, KeyError> {
    let dir = data_dir.join("keys");
    fs::create_dir_all(&dir).map_err(FileError::of("creating", &dir))?;
    let (fresh_data, fresh_index) = PersonalKeys::generate();
    let data = load_or_store_symmetric(&dir.join(PERSONAL_DATA_FILE), fresh_data)?;
    let index = load_or_store_symmetric(&dir.join(PERSONAL_INDEX_FILE), fresh_index)?;
    Ok(PersonalKeys::new(&data, &index))
}

/// Loads the personal-data keys from `<data>/keys` (a backup's), generating none.
///
/// # Errors
/// A key file that is missing, cannot be read, is not 64 hex digits, or is readable by
/// others.
pub fn load_personal(data_dir: &Path) -> Result<PersonalKeys, KeyError> {
    let dir = data_dir.join("keys");
    let load = |name: &str| {
        let path = dir.join(name);
        let text = fs::read_to_string(&path).map_err(FileError::of("reading", &path))?;
        refuse_readable_by_others(&path)?;
        parse_hex_key(text.trim()).map_err(|reason| KeyError::NotHex { path, reason })
    };
    Ok(PersonalKeys::new(
        &load(PERSONAL_DATA_FILE)?,
        &load(PERSONAL_INDEX_FILE)?,
    ))
}

/// Loads the log (checkpoint) key from `<data>/keys` (a backup's), generating none.
///
/// # Errors
/// A key file that is missing, cannot be read, is not a secret multikey, or is readable
/// by others.
pub fn load_log_key(data_dir: &Path) -> Result<SigningKey, KeyError> {
    load_or_generate_one(&data_dir.join("keys"), KeyRole::Log, false)
}

/// The 32-byte key in `path`, or `fresh` written there when the file does not exist.
fn load_or_store_symmetric(path: &Path, fresh: [u8; 32]) -> Result<[u8; 32], KeyError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            refuse_readable_by_others(path)?;
            parse_hex_key(text.trim()).map_err(|reason| KeyError::NotHex {
                path: path.to_path_buf(),
                reason,
            })
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let text: String = fresh.iter().map(|byte| format!("{byte:02x}")).collect();
            write_secret(path, &text)?;
            tracing::info!(path = %path.display(), "generated a new personal key");
            Ok(fresh)
        }
        Err(error) => Err(FileError::of("reading", path)(error).into()),
    }
}

/// 32 bytes from 64 hex digits; else what is wrong.
fn parse_hex_key(text: &str) -> Result<[u8; 32], String> {
    if text.len() != 64 || !text.is_ascii() {
        return Err(format!("{} characters", text.chars().count()));
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
        // ASCII, checked above: every pair is text.
        let pair = std::str::from_utf8(pair).unwrap_or_default();
        *byte = u8::from_str_radix(pair, 16).map_err(|_| format!("{pair:?} is not hex"))?;
    }
    Ok(key)
}

fn refuse_readable_by_others(path: &Path) -> Result<(), KeyError> {
    let mode = fs::metadata(path)
        .map_err(FileError::of("reading the mode of", path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::ReadableByOthers {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

/// The open issuer's key (`<data>/keys/open-issuer.key`), generated on first use.
///
/// # Errors
/// A key file that cannot be read or written, is not a secret multikey, or is readable by
/// others.
pub fn load_or_generate_open_issuer(data_dir: &Path) -> Result<SigningKey, KeyError> {
    let dir = data_dir.join("keys");
    fs::create_dir_all(&dir).map_err(FileError::of("creating", &dir))?;
    load_or_generate_one(&dir, KeyRole::OpenIssuer, true)
}

fn key_path(dir: &Path, role: KeyRole) -> PathBuf {
    dir.join(role.file_name())
}

fn load_or_generate_one(dir: &Path, role: KeyRole, generate: bool) -> Result<SigningKey, KeyError> {
    let path = key_path(dir, role);
    match fs::read_to_string(&path) {
        Ok(text) => {
            refuse_readable_by_others(&path)?;
            decode_secret(&text, &path)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && generate => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            write_key(&path, &key)?;
            tracing::info!(path = %path.display(), "generated a new {:?} key", role);
            Ok(key)
        }
        Err(error) => Err(FileError::of("reading", &path)(error).into()),
    }
}

fn load_or_generate_authority(
    dir: &Path,
    generate: bool,
    kind: KeyKind,
) -> Result<IssuerKey, KeyError> {
    let path = key_path(dir, KeyRole::Authority);
    match fs::read_to_string(&path) {
        Ok(text) => {
            refuse_readable_by_others(&path)?;
            decode_authority_secret(&text, &path)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && generate => {
            let key = generate_authority_key(kind);
            write_authority_key(&path, &key)?;
            tracing::info!(path = %path.display(), "generated a new {kind} authority key");
            Ok(key)
        }
        Err(error) => Err(FileError::of("reading", &path)(error).into()),
    }
}

fn write_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    write_secret(path, &multibase::encode_ed25519_secret(key.as_bytes()))
}

/// Writes `text` and a newline to `path` atomically, mode 0600.
fn write_secret(path: &Path, text: &str) -> Result<(), KeyError> {
    let temporary = path.with_extension("key.tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(FileError::of("creating", &temporary))?;
    writeln!(file, "{text}").map_err(FileError::of("writing", &temporary))?;
    file.sync_all()
        .map_err(FileError::of("syncing", &temporary))?;
    fs::rename(&temporary, path).map_err(FileError::of("renaming into", path))?;
    match path.parent() {
        Some(parent) => sync_directory(parent),
        None => Ok(()),
    }
}

/// Makes the entries of `dir` (a rename, a new file) durable.
fn sync_directory(dir: &Path) -> Result<(), KeyError> {
    fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(FileError::of("syncing", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first =
            MemberKeys::load_or_generate(dir.path(), true, KeyKind::Ed25519).expect("generates");
        let second =
            MemberKeys::load_or_generate(dir.path(), false, KeyKind::Ed25519).expect("loads");
        assert_eq!(first.authority_did(), second.authority_did());
        let authority = first.authority.ed25519().expect("an Ed25519 authority");
        assert_ne!(authority.as_bytes(), first.log.as_bytes());
    }

    #[test]
    fn an_sm2_authority_key_is_generated_kept_and_staged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first =
            MemberKeys::load_or_generate(dir.path(), true, KeyKind::Sm2).expect("generates");
        assert_eq!(first.authority.kind(), KeyKind::Sm2);
        let text = fs::read_to_string(dir.path().join("keys/authority.key")).expect("written");
        let bytes = multibase::decode_base58btc(text.trim()).expect("base58btc");
        assert_eq!(bytes.len(), 34);
        assert_eq!(bytes[..2], multibase::SM2_PRIV_PREFIX);
        // Whatever kind is asked for, an existing file is read as it is.
        let second =
            MemberKeys::load_or_generate(dir.path(), false, KeyKind::Ed25519).expect("loads");
        assert_eq!(first.authority_did(), second.authority_did());
        assert_eq!(first.authority.kind(), KeyKind::Sm2);
        // An Ed25519 successor of an SM2 key, and back.
        let next = generate_authority_key(KeyKind::Ed25519);
        MemberKeys::stage_authority_successor(dir.path(), &next).expect("staged");
        let staged = MemberKeys::staged_authority_successor(dir.path()).expect("read");
        assert_eq!(staged.map(|key| key.did()), Some(next.did()));
    }

    #[test]
    fn a_bad_sm2_authority_key_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        MemberKeys::load_or_generate(dir.path(), true, KeyKind::Sm2).expect("generates");
        let path = dir.path().join("keys/authority.key");
        // The scalar 0 is no SM2 secret key.
        let mut zero = multibase::SM2_PRIV_PREFIX.to_vec();
        zero.extend_from_slice(&[0; 32]);
        fs::write(&path, multibase::encode_base58btc(&zero)).expect("write");
        let error =
            MemberKeys::load_or_generate(dir.path(), false, KeyKind::Sm2).expect_err("refused");
        assert!(
            matches!(error, KeyError::NotAnAuthorityKey { .. }),
            "{error}"
        );
        let mut short = multibase::SM2_PRIV_PREFIX.to_vec();
        short.extend_from_slice(&[1; 31]);
        fs::write(&path, multibase::encode_base58btc(&short)).expect("write");
        let error =
            MemberKeys::load_or_generate(dir.path(), false, KeyKind::Sm2).expect_err("refused");
        assert!(error.to_string().contains("31"), "{error}");
    }

    #[test]
    fn refuses_world_readable_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        MemberKeys::load_or_generate(dir.path(), true, KeyKind::Ed25519).expect("generates");
        let path = dir.path().join("keys/authority.key");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let error =
            MemberKeys::load_or_generate(dir.path(), false, KeyKind::Ed25519).expect_err("refused");
        assert!(
            error.to_string().contains("readable by other users"),
            "{error}"
        );
    }

    #[test]
    fn personal_keys_are_generated_once_private_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = load_or_generate_personal(dir.path()).expect("generates");
        let check = first.key_check();
        for name in [PERSONAL_DATA_FILE, PERSONAL_INDEX_FILE] {
            let path = dir.path().join("keys").join(name);
            let mode = fs::metadata(&path).expect("written").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
            assert_eq!(fs::read_to_string(&path).expect("text").trim().len(), 64);
        }
        let second = load_or_generate_personal(dir.path()).expect("loads");
        assert!(second.matches_key_check(&check), "the same keys");
        let path = dir.path().join("keys").join(PERSONAL_INDEX_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        let error = load_or_generate_personal(dir.path()).expect_err("refused");
        assert!(
            error.to_string().contains("readable by other users"),
            "{error}"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(&path, "not hex\n").expect("write");
        assert!(load_or_generate_personal(dir.path()).is_err());
    }

    #[test]
    fn missing_key_is_an_error_without_generation() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(MemberKeys::load_or_generate(dir.path(), false, KeyKind::Ed25519).is_err());
    }
}
