//! Operator accounts: bearer tokens with a role, stored hashed in `<data>/tokens.json`.
//!
//! - `admin`: everything (issue any type as the authority, accredit, change any status,
//!   read the log).
//! - `issuer`, bound to one issuer DID: issue (as the authority, when bound to it) or submit
//!   credentials it signed itself, and change the status of its own credentials.
//! - `auditor`: read-only: fetch credentials, read the log's tiles.
//!
//! A token is `trt_<id>_<secret>`; only `SHA-256(secret)` is stored. `registry-node token …`
//! edits the file (atomically: write, fsync, rename) whether or not the node runs; the node
//! re-reads it when it changes, so a revocation takes effect at the next request.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use talent_integrity::did::DidKey;

/// File name of the token store inside the data directory.
pub const TOKENS_FILE: &str = "tokens.json";
/// Prefix of every token (lets secret scanners recognise one).
const TOKEN_PREFIX: &str = "trt_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Issue and manage the credentials of one issuer DID.
    Issuer,
    /// Read only.
    Auditor,
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Issuer => "issuer",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> anyhow::Result<Role> {
        match name {
            "admin" => Ok(Role::Admin),
            "issuer" => Ok(Role::Issuer),
            "auditor" => Ok(Role::Auditor),
            other => bail!("unknown role {other:?} (admin, issuer, auditor)"),
        }
    }
}

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// Public id (the middle part of the token).
    pub id: String,
    /// Who holds it, for the operator's records.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// For `issuer`: the issuer DID it acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Hex SHA-256 of the secret part.
    pub secret_sha256: String,
    /// Creation time (RFC 3339).
    pub created: String,
    /// Revocation time, once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

/// An authenticated operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The token's id.
    pub token_id: String,
    /// The token's holder name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The issuer DID an `issuer` token acts for.
    pub issuer: Option<DidKey>,
}

/// Why a bearer token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer` header.
    #[error("this endpoint needs an operator token (Authorization: Bearer trt_…)")]
    Missing,
    /// Malformed, unknown, wrong secret or revoked: the caller is not told which.
    #[error("the operator token is not valid")]
    Invalid,
}

impl TokenError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_required",
            TokenError::Invalid => "token_invalid",
        }
    }
}

fn operator_of(record: &TokenRecord) -> Operator {
    Operator {
        token_id: record.id.clone(),
        name: record.name.clone(),
        role: record.role,
        issuer: record.issuer.as_deref().and_then(|did| did.parse().ok()),
    }
}

fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn read_file(path: &Path) -> anyhow::Result<TokenFile> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid token file", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_file(path: &Path, file: &TokenFile) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("json.tmp");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    out.write_all(&serde_json::to_vec_pretty(file)?)?;
    out.sync_all()?;
    std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Creates a token in `data_dir`; returns its record and the token itself (shown once).
///
/// # Errors
/// An `issuer` token without an issuer DID (or another role with one), a bad DID, or the
/// file cannot be read or written.
pub fn create(
    data_dir: &Path,
    role: Role,
    issuer: Option<&str>,
    name: &str,
) -> anyhow::Result<(TokenRecord, String)> {
    let issuer = match (role, issuer) {
        (Role::Issuer, Some(did)) => Some(
            did.parse::<DidKey>()
                .map_err(|error| anyhow::anyhow!("--issuer {did:?}: {error}"))?
                .to_string(),
        ),
        (Role::Issuer, None) => bail!("an issuer token needs --issuer <did:key>"),
        (_, Some(_)) => bail!("only issuer tokens are bound to an issuer DID"),
        (_, None) => None,
    };
    if name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join(TOKENS_FILE);
    let mut file = read_file(&path)?;
    let mut random = [0u8; 40];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let id: String = random[..6].iter().map(|b| format!("{b:02x}")).collect();
    let secret = URL_SAFE_NO_PAD.encode(&random[6..]);
    let record = TokenRecord {
        id: id.clone(),
        name: name.trim().to_owned(),
        role,
        issuer,
        secret_sha256: secret_hash(&secret),
        created: talent_core::credential::format_datetime(chrono::Utc::now()),
        revoked: None,
    };
    file.tokens.push(record.clone());
    write_file(&path, &file)?;
    Ok((record, format!("{TOKEN_PREFIX}{id}_{secret}")))
}

/// Revokes token `id` in `data_dir`.
///
/// # Errors
/// No such token, or the file cannot be read or written.
pub fn revoke(data_dir: &Path, id: &str) -> anyhow::Result<TokenRecord> {
    let path = data_dir.join(TOKENS_FILE);
    let mut file = read_file(&path)?;
    let Some(record) = file.tokens.iter_mut().find(|record| record.id == id) else {
        bail!("no token {id:?} in {}", path.display());
    };
    if record.revoked.is_none() {
        record.revoked = Some(talent_core::credential::format_datetime(chrono::Utc::now()));
    }
    let revoked = record.clone();
    write_file(&path, &file)?;
    Ok(revoked)
}

/// The tokens of `data_dir`.
///
/// # Errors
/// The file cannot be read.
pub fn list(data_dir: &Path) -> anyhow::Result<Vec<TokenRecord>> {
    Ok(read_file(&data_dir.join(TOKENS_FILE))?.tokens)
}

/// The node's view of the token file, re-read when it changes.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    stamp: Option<(SystemTime, u64)>,
    tokens: HashMap<String, TokenRecord>,
}

impl Tokens {
    /// The tokens of the node whose data is in `data_dir`.
    pub fn open(data_dir: &Path) -> Tokens {
        Tokens {
            path: data_dir.join(TOKENS_FILE),
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Checks an `Authorization` header value.
    ///
    /// # Errors
    /// [`TokenError`].
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Operator, TokenError> {
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(TokenError::Missing)?
            .trim();
        let (id, secret) = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .ok_or(TokenError::Invalid)?;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&mut cache);
        let record = cache.tokens.get(id).ok_or(TokenError::Invalid)?;
        // Comparing digests: timing reveals nothing useful about the secret.
        if record.revoked.is_some() || record.secret_sha256 != secret_hash(secret) {
            return Err(TokenError::Invalid);
        }
        Ok(operator_of(record))
    }

    /// The operator an earlier [`Tokens::authenticate`] returned, as the token file has it
    /// now: work that outlives its request (an import's batches) and every write re-check
    /// it, so a revoked token stops it at once and a changed role or issuer applies.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] when the token is revoked or gone.
    pub fn recheck(&self, operator: &Operator) -> Result<Operator, TokenError> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&mut cache);
        match cache.tokens.get(&operator.token_id) {
            Some(record) if record.revoked.is_none() => Ok(operator_of(record)),
            _ => Err(TokenError::Invalid),
        }
    }

    fn refresh(&self, cache: &mut Cache) {
        let stamp = std::fs::metadata(&self.path).ok().map(|meta| {
            (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            )
        });
        if stamp == cache.stamp && cache.stamp.is_some() {
            return;
        }
        match read_file(&self.path) {
            Ok(file) => {
                cache.tokens = file
                    .tokens
                    .into_iter()
                    .map(|record| (record.id.clone(), record))
                    .collect();
                cache.stamp = stamp;
            }
            Err(error) => {
                // Keep serving with the last good set rather than locking everyone out.
                tracing::error!(error = format!("{error:#}"), "token file unreadable");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tokens_authenticate_until_revoked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = Tokens::open(dir.path());
        assert_eq!(tokens.authenticate(None), Err(TokenError::Missing));
        let (record, token) = create(dir.path(), Role::Admin, None, "ops").expect("creates");
        let header = format!("Bearer {token}");
        let operator = tokens.authenticate(Some(&header)).expect("valid");
        assert_eq!(operator.role, Role::Admin);
        assert_eq!(operator.token_id, record.id);
        let forged = format!("Bearer {TOKEN_PREFIX}{}_AAAA", record.id);
        assert_eq!(tokens.authenticate(Some(&forged)), Err(TokenError::Invalid));
        assert_eq!(
            tokens.authenticate(Some("Bearer nonsense")),
            Err(TokenError::Invalid)
        );
        let stored = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).expect("file");
        assert!(!stored.contains(token.rsplit('_').next().expect("secret")));
        assert_eq!(tokens.recheck(&operator), Ok(operator.clone()));
        revoke(dir.path(), &record.id).expect("revokes");
        // The file's length changes with the revocation, so the cache notices.
        assert_eq!(tokens.authenticate(Some(&header)), Err(TokenError::Invalid));
        assert_eq!(tokens.recheck(&operator), Err(TokenError::Invalid));
    }

    #[test]
    fn issuer_tokens_need_an_issuer() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(create(dir.path(), Role::Issuer, None, "x").is_err());
        assert!(create(dir.path(), Role::Issuer, Some("did:key:nope"), "x").is_err());
        assert!(create(dir.path(), Role::Auditor, Some("did:key:nope"), "x").is_err());
    }
}
