//! The member's secret keys: loaded from the data directory, generated on first start.
//!
//! Each key is a file `<data>/keys/<role>.key` holding the Ed25519 seed as a secret multikey
//! (`z3u2…`), mode 0600. Keys are written atomically (temporary file, fsync, rename), so a
//! crash during first start never leaves a half-written key behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use talent_core::did::DidKey;
use talent_core::multibase;

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

fn key_path(dir: &Path, role: KeyRole) -> PathBuf {
    dir.join(role.file_name())
}

fn load_or_generate_one(dir: &Path, role: KeyRole, generate: bool) -> anyhow::Result<SigningKey> {
    let path = key_path(dir, role);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let mode = fs::metadata(&path)?.permissions().mode();
            if mode & 0o077 != 0 {
                bail!(
                    "{} is readable by other users (mode {:o}); run chmod 600 on it",
                    path.display(),
                    mode & 0o777
                );
            }
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
    let temporary = path.with_extension("key.tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("creating {}", temporary.display()))?;
    writeln!(file, "{}", multibase::encode_ed25519_secret(key.as_bytes()))?;
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
    fn missing_key_is_an_error_without_generation() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(MemberKeys::load_or_generate(dir.path(), false).is_err());
    }
}
