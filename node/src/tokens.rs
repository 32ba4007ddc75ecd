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

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use talent_integrity::did::{DidError, DidKey};

use crate::file_error::FileError;

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
    type Err = TokenFileError;

    fn from_str(name: &str) -> Result<Role, TokenFileError> {
        match name {
            "admin" => Ok(Role::Admin),
            "issuer" => Ok(Role::Issuer),
            "auditor" => Ok(Role::Auditor),
            other => Err(TokenFileError::UnknownRole(other.to_owned())),
        }
    }
}

/// Why `registry-node token …` could not create, revoke or list tokens. The file is left
/// as it was.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// A role name that is none of `admin`, `issuer`, `auditor`.
    #[error("unknown role {0:?} (admin, issuer, auditor)")]
    UnknownRole(String),
    /// `--issuer` is not a did:key.
    #[error("--issuer {did:?}: {error}")]
    BadIssuer {
        /// What was given.
        did: String,
        /// Why it is not a did:key.
        #[source]
        error: DidError,
    },
    /// An `issuer` token without `--issuer`.
    #[error("an issuer token needs --issuer <did:key>")]
    IssuerMissing,
    /// `--issuer` for a role that acts for no issuer.
    #[error("only issuer tokens are bound to an issuer DID")]
    IssuerNotAllowed,
    /// `--name` is empty or blank.
    #[error("--name must not be empty")]
    EmptyName,
    /// No token has this id.
    #[error("no token {id:?} in {}", path.display())]
    NoSuchToken {
        /// The id asked for.
        id: String,
        /// The token file.
        path: PathBuf,
    },
    /// The token file is not the JSON this module writes.
    #[error("{} is not a valid token file: {error}", path.display())]
    Corrupt {
        /// The token file.
        path: PathBuf,
        /// Why it does not parse.
        #[source]
        error: serde_json::Error,
    },
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] FileError),
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

fn read_file(path: &Path) -> Result<TokenFile, TokenFileError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| TokenFileError::Corrupt {
            path: path.to_path_buf(),
            error,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(error) => Err(FileError::of("reading", path)(error).into()),
    }
}

fn write_file(path: &Path, file: &TokenFile) -> Result<(), TokenFileError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("json.tmp");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(FileError::of("writing", &temporary))?;
    let json = serde_json::to_vec_pretty(file)
        .map_err(|error| FileError::of("encoding", path)(std::io::Error::other(error)))?;
    out.write_all(&json)
        .and_then(|()| out.sync_all())
        .map_err(FileError::of("writing", &temporary))?;
    std::fs::rename(&temporary, path).map_err(FileError::of("replacing", path))?;
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
) -> Result<(TokenRecord, String), TokenFileError> {
    let issuer = match (role, issuer) {
        (Role::Issuer, Some(did)) => Some(
            did.parse::<DidKey>()
                .map_err(|error| TokenFileError::BadIssuer {
                    did: did.to_owned(),
                    error,
                })?
                .to_string(),
        ),
        (Role::Issuer, None) => return Err(TokenFileError::IssuerMissing),
        (_, Some(_)) => return Err(TokenFileError::IssuerNotAllowed),
        (_, None) => None,
    };
    if name.trim().is_empty() {
        return Err(TokenFileError::EmptyName);
    }
    std::fs::create_dir_all(data_dir).map_err(FileError::of("creating", data_dir))?;
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
pub fn revoke(data_dir: &Path, id: &str) -> Result<TokenRecord, TokenFileError> {
    let path = data_dir.join(TOKENS_FILE);
    let mut file = read_file(&path)?;
    let Some(record) = file.tokens.iter_mut().find(|record| record.id == id) else {
        return Err(TokenFileError::NoSuchToken {
            id: id.to_owned(),
            path,
        });
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
pub fn list(data_dir: &Path) -> Result<Vec<TokenRecord>, TokenFileError> {
    Ok(read_file(&data_dir.join(TOKENS_FILE))?.tokens)
}

/// The node's view of the token file, re-read when it changes.
///
/// Whether it changed is asked at every check (authentication and the re-check at each
/// write), so a revocation applies to the very next request. The asking costs little: the
/// node watches its data directory with inotify, and a check reads the pending notices
/// (a non-blocking read that finds none almost always) instead of looking the file up.
/// A change a command finished before the check is among those notices, since the kernel
/// queues them as part of the change itself. Where inotify is unavailable every check
/// stats the file, as it always did.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    cache: Mutex<Cache>,
    /// Notices of changes in the data directory; `None` when inotify is unavailable.
    notices: Option<rustix::fd::OwnedFd>,
}

#[derive(Debug, Default)]
struct Cache {
    /// Whether the file was read (or found absent) at least once.
    loaded: bool,
    stamp: Option<(SystemTime, u64)>,
    tokens: HashMap<String, Token>,
}

/// A token as a check needs it, derived once per read of the file.
#[derive(Debug)]
struct Token {
    /// SHA-256 of the secret; `None` for a stored digest that is not 64 hex digits, which
    /// no secret matches.
    secret_sha256: Option<[u8; 32]>,
    revoked: bool,
    operator: Operator,
}

impl Token {
    fn of(record: &TokenRecord) -> Token {
        Token {
            secret_sha256: hex_digest(&record.secret_sha256),
            revoked: record.revoked.is_some(),
            operator: operator_of(record),
        }
    }
}

/// The 32 bytes of a 64-digit hex digest.
fn hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |byte: u8| char::from(byte).to_digit(16);
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let value = digit(pair[0])? * 16 + digit(pair[1])?;
        *byte = u8::try_from(value).ok()?;
    }
    Some(digest)
}

impl Tokens {
    /// The tokens of the node whose data is in `data_dir`.
    pub fn open(data_dir: &Path) -> Tokens {
        Tokens {
            path: data_dir.join(TOKENS_FILE),
            cache: Mutex::new(Cache::default()),
            notices: watch(data_dir),
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
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        self.refresh(&mut cache);
        let token = cache.tokens.get(id).ok_or(TokenError::Invalid)?;
        // Comparing digests: timing reveals nothing useful about the secret.
        if token.revoked || token.secret_sha256 != Some(digest) {
            return Err(TokenError::Invalid);
        }
        Ok(token.operator.clone())
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
            Some(token) if !token.revoked => Ok(token.operator.clone()),
            _ => Err(TokenError::Invalid),
        }
    }

    fn refresh(&self, cache: &mut Cache) {
        if cache.loaded && !self.may_have_changed() {
            return;
        }
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
                    .iter()
                    .map(|record| (record.id.clone(), Token::of(record)))
                    .collect();
                cache.stamp = stamp;
                // A file that is absent is read again at every check without notices.
                cache.loaded = stamp.is_some() || self.notices.is_some();
            }
            Err(error) => {
                // Keep serving with the last good set rather than locking everyone out.
                tracing::error!(error = format!("{error:#}"), "token file unreadable");
            }
        }
    }

    /// Whether anything in the data directory changed since the last check: true when a
    /// notice is pending (drained here), and always without notices.
    fn may_have_changed(&self) -> bool {
        use std::mem::MaybeUninit;

        use rustix::fs::inotify::Reader;
        use rustix::io::Errno;

        let Some(notices) = &self.notices else {
            return true;
        };
        let mut buffer = [MaybeUninit::<u8>::uninit(); 1024];
        let mut reader = Reader::new(notices, &mut buffer);
        let mut changed = false;
        loop {
            match reader.next() {
                Ok(_) => changed = true,
                Err(Errno::AGAIN) => return changed,
                Err(Errno::INTR) => {}
                // Unreadable notices: look at the file itself.
                Err(_) => return true,
            }
        }
    }
}

/// Non-blocking notices of every change of an entry of `data_dir` (the token file is
/// replaced by a rename, or edited in place); `None` when inotify cannot watch it, and the
/// file is then stat()ed at every check.
fn watch(data_dir: &Path) -> Option<rustix::fd::OwnedFd> {
    use rustix::fs::inotify::{self, CreateFlags, WatchFlags};

    let notices = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok()?;
    let flags = WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MODIFY
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::ATTRIB
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF;
    match inotify::add_watch(&notices, data_dir, flags) {
        Ok(_) => Some(notices),
        Err(error) => {
            tracing::debug!(%error, "no inotify watch of the data directory; token checks stat the file");
            None
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
    fn a_token_file_edited_in_place_applies_at_the_next_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = Tokens::open(dir.path());
        let (record, token) = create(dir.path(), Role::Admin, None, "ops").expect("creates");
        let header = format!("Bearer {token}");
        let operator = tokens.authenticate(Some(&header)).expect("valid");
        // Many checks with nothing changed keep answering from the cache.
        for _ in 0..3 {
            assert_eq!(tokens.recheck(&operator), Ok(operator.clone()));
        }
        // Rewritten in place, same length (an editor's save): the role changes at once.
        let path = dir.path().join(TOKENS_FILE);
        let text = std::fs::read_to_string(&path).expect("file");
        let edited = text
            .replace("\"admin\"", "\"auditor\"")
            .replace("\"ops\"", "\"o\"");
        std::fs::write(&path, edited).expect("writes");
        let now = tokens.recheck(&operator).expect("still valid");
        assert_eq!(now.role, Role::Auditor);
        assert_eq!(now.token_id, record.id);
        // Removed: nothing is valid.
        std::fs::remove_file(&path).expect("removes");
        assert_eq!(tokens.authenticate(Some(&header)), Err(TokenError::Invalid));
    }

    #[test]
    fn stored_digests_are_read_as_bytes() {
        let digest = secret_hash("secret");
        let bytes = hex_digest(&digest).expect("64 hex digits");
        assert_eq!(bytes, <[u8; 32]>::from(Sha256::digest(b"secret")));
        assert_eq!(hex_digest("abc"), None);
        assert_eq!(hex_digest(&"zz".repeat(32)), None);
    }

    #[test]
    fn issuer_tokens_need_an_issuer() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(create(dir.path(), Role::Issuer, None, "x").is_err());
        assert!(create(dir.path(), Role::Issuer, Some("did:key:nope"), "x").is_err());
        assert!(create(dir.path(), Role::Auditor, Some("did:key:nope"), "x").is_err());
    }
}
