//! The member's secret keys: loaded from the data directory, generated on first start.
//!
//! Each key is a file `<data>/keys/<role>.key` holding the Ed25519 seed as a secret multikey
//! (`z3u2…`), mode 0600. Keys are written atomically (temporary file, fsync, rename), so a
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

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use talent_integrity::did::DidKey;
use talent_integrity::multibase;

use crate::store::PersonalKeys;

/// What a key is used for; also its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// Signs credentials: the member's authority DID.
    Authority,
    /// Signs log checkpoints.
    Log,
    /// Cosigns other members' checkpoints.
    Witness,
}

impl KeyRole {
    fn file_name(self) -> &'static str {
        match self {
            KeyRole::Authority => "authority.key",
            KeyRole::Log => "log.key",
            KeyRole::Witness => "witness.key",
        }
    }
}

/// The member's three signing keys.
#[derive(Debug)]
pub struct MemberKeys {
    /// Authority (credential signing) key.
    pub authority: SigningKey,
    /// Log (checkpoint signing) key.
    pub log: SigningKey,
    /// Witness (cosigning) key.
    pub witness: SigningKey,
}

impl MemberKeys {
    /// Loads the keys from `<data>/keys`, generating any that do not exist yet when
    /// `generate_missing` is set.
    ///
    /// # Errors
    /// A key file that cannot be read, is not a secret multikey, or is readable by others.
    pub fn load_or_generate(data_dir: &Path, generate_missing: bool) -> anyhow::Result<MemberKeys> {
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let load = |role| load_or_generate_one(&dir, role, generate_missing);
        Ok(MemberKeys {
            authority: load(KeyRole::Authority)?,
            log: load(KeyRole::Log)?,
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
        DidKey::from_verifying_key(&self.authority.verifying_key())
    }
}

impl MemberKeys {
    /// Copies the three key files from `source` (e.g. the dev-only keys of the demo
    /// federation) into `<data>/keys`, mode 0600, unless keys are already there.
    ///
    /// # Errors
    /// A source key is missing or malformed, or the copy cannot be written.
    pub fn install_from(data_dir: &Path, source: &Path) -> anyhow::Result<()> {
        if MemberKeys::exist(data_dir) {
            return Ok(());
        }
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for role in [KeyRole::Authority, KeyRole::Log, KeyRole::Witness] {
            let from = key_path(source, role);
            let text =
                fs::read_to_string(&from).with_context(|| format!("reading {}", from.display()))?;
            let seed = multibase::decode_ed25519_secret(text.trim())
                .with_context(|| format!("{} is not an Ed25519 secret multikey", from.display()))?;
            write_key(&key_path(&dir, role), &SigningKey::from_bytes(&seed))?;
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
    pub fn stage_authority_successor(data_dir: &Path, key: &SigningKey) -> anyhow::Result<()> {
        write_key(&data_dir.join("keys").join(AUTHORITY_SUCCESSOR_FILE), key)
    }

    /// The staged successor, if a rotation was interrupted.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not a key.
    pub fn staged_authority_successor(data_dir: &Path) -> anyhow::Result<Option<SigningKey>> {
        let path = data_dir.join("keys").join(AUTHORITY_SUCCESSOR_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let seed = multibase::decode_ed25519_secret(text.trim())
            .with_context(|| format!("{} is not an Ed25519 secret multikey", path.display()))?;
        Ok(Some(SigningKey::from_bytes(&seed)))
    }

    /// Makes the staged successor `authority.key`, keeping the previous key as
    /// `authority-retired-<unix seconds>.key` (it signed what is already logged).
    ///
    /// # Errors
    /// A rename fails.
    pub fn promote_authority_successor(data_dir: &Path) -> anyhow::Result<()> {
        let dir = data_dir.join("keys");
        let retired = dir.join(format!(
            "authority-retired-{}.key",
            chrono::Utc::now().timestamp()
        ));
        fs::rename(key_path(&dir, KeyRole::Authority), &retired)
            .with_context(|| format!("retiring the authority key to {}", retired.display()))?;
        fs::rename(
            dir.join(AUTHORITY_SUCCESSOR_FILE),
            key_path(&dir, KeyRole::Authority),
        )
        .context("promoting the successor authority key")?;
        fs::File::open(&dir)?.sync_all()?;
        Ok(())
    }

    /// Removes a staged successor whose rotation never reached the log.
    ///
    /// # Errors
    /// The file cannot be removed.
    pub fn discard_authority_successor(data_dir: &Path) -> anyhow::Result<()> {
        let path = data_dir.join("keys").join(AUTHORITY_SUCCESSOR_FILE);
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))
    }
}

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
pub fn load_or_generate_personal(data_dir: &Path) -> anyhow::Result<PersonalKeys> {
    let dir = data_dir.join("keys");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (fresh_data, fresh_index) = PersonalKeys::generate();
    let data = load_or_store_symmetric(&dir.join(PERSONAL_DATA_FILE), fresh_data)?;
    let index = load_or_store_symmetric(&dir.join(PERSONAL_INDEX_FILE), fresh_index)?;
    Ok(PersonalKeys::new(&data, &index))
}

/// The 32-byte key in `path`, or `fresh` written there when the file does not exist.
fn load_or_store_symmetric(path: &Path, fresh: [u8; 32]) -> anyhow::Result<[u8; 32]> {
    match fs::read_to_string(path) {
        Ok(text) => {
            refuse_readable_by_others(path)?;
            parse_hex_key(text.trim())
                .with_context(|| format!("{} is not a key of 64 hex digits", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let text: String = fresh.iter().map(|byte| format!("{byte:02x}")).collect();
            write_secret(path, &text)?;
            tracing::info!(path = %path.display(), "generated a new personal key");
            Ok(fresh)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn parse_hex_key(text: &str) -> anyhow::Result<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        bail!("{} characters", text.chars().count());
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair)?;
        *byte = u8::from_str_radix(pair, 16).with_context(|| format!("{pair:?} is not hex"))?;
    }
    Ok(key)
}

fn refuse_readable_by_others(path: &Path) -> anyhow::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by other users (mode {:o}); run chmod 600 on it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

fn key_path(dir: &Path, role: KeyRole) -> PathBuf {
    dir.join(role.file_name())
}

fn load_or_generate_one(dir: &Path, role: KeyRole, generate: bool) -> anyhow::Result<SigningKey> {
    let path = key_path(dir, role);
    match fs::read_to_string(&path) {
        Ok(text) => {
            refuse_readable_by_others(&path)?;
            let seed = multibase::decode_ed25519_secret(text.trim())
                .with_context(|| format!("{} is not an Ed25519 secret multikey", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && generate => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            write_key(&path, &key)?;
            tracing::info!(path = %path.display(), "generated a new {:?} key", role);
            Ok(key)
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    write_secret(path, &multibase::encode_ed25519_secret(key.as_bytes()))
}

/// Writes `text` and a newline to `path` atomically, mode 0600.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("key.tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))?;
    writeln!(file, "{text}")?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = MemberKeys::load_or_generate(dir.path(), true).expect("generates");
        let second = MemberKeys::load_or_generate(dir.path(), false).expect("loads");
        assert_eq!(first.authority_did(), second.authority_did());
        assert_ne!(first.authority.as_bytes(), first.log.as_bytes());
    }

    #[test]
    fn refuses_world_readable_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        MemberKeys::load_or_generate(dir.path(), true).expect("generates");
        let path = dir.path().join("keys/authority.key");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = MemberKeys::load_or_generate(dir.path(), false).expect_err("refused");
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
        assert!(MemberKeys::load_or_generate(dir.path(), false).is_err());
    }
}
