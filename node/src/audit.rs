//! The audit log of searches by full ID number: one JSON line per search, appended and
//! flushed to disk before the search's answer is sent, in `DATA/audit/id-searches.jsonl`
//! (directory 0700, file 0600). A line names who searched (token id, name, role), when,
//! the outcome and how many credentials were found — never the full ID number: its masked
//! form and a keyed hash (HMAC-SHA-256 under `DATA/audit/id-search.key`), so an auditor can
//! count and match searches for the same person without reading the number.
//!
//! The node only appends; nothing rotates or rewrites the file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;
use talent_core::identifiers::ResidentIdNumber;

use crate::file_error::FileError;
use crate::tokens::Operator;

/// The audit directory inside the data directory.
pub const AUDIT_DIR: &str = "audit";
/// The log of searches by full ID number.
pub const ID_SEARCH_LOG: &str = "id-searches.jsonl";
/// The key of the hashes in that log.
const ID_SEARCH_KEY: &str = "id-search.key";

/// Why the audit log could not be opened or written. A search whose record fails is not
/// answered.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file or directory operation failed.
    #[error(transparent)]
    Io(#[from] FileError),
    /// The hash key file does not hold 64 hex digits.
    #[error("{} is not 64 hex digits", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
    },
}

/// What became of a search by full ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The search ran; `count` credentials were found.
    Searched,
    /// The operator's allowance was spent: the search did not run.
    RateLimited,
}

/// One line of the log.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    time: String,
    token_id: &'a str,
    operator: &'a str,
    role: &'a str,
    id_number_masked: String,
    id_number_hmac: String,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
}

/// The append-only audit log of searches by full ID number.
#[derive(Debug)]
pub struct IdSearchAudit {
    path: PathBuf,
    key: [u8; 32],
    file: Mutex<Option<File>>,
}

impl IdSearchAudit {
    /// The log of the node whose data is in `data_dir`: creates `audit/` (0700) and the
    /// hash key (0600) on first start. The log file itself is opened at the first search.
    ///
    /// # Errors
    /// The directory or key cannot be created or read.
    pub fn open(data_dir: &Path) -> Result<IdSearchAudit, AuditError> {
        let dir = data_dir.join(AUDIT_DIR);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(FileError::of("creating", &dir))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(FileError::of("restricting", &dir))?;
        let key = load_or_create_key(&dir.join(ID_SEARCH_KEY))?;
        Ok(IdSearchAudit {
            path: dir.join(ID_SEARCH_LOG),
            key,
            file: Mutex::new(None),
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the record of `operator`'s search for `id_number` and flushes it to disk.
    ///
    /// # Errors
    /// The file cannot be opened, written or synced: the caller must not answer the search.
    pub fn record(
        &self,
        operator: &Operator,
        id_number: &ResidentIdNumber,
        outcome: Outcome,
        count: Option<usize>,
    ) -> Result<(), AuditError> {
        let record = Record {
            time: talent_core::credential::format_datetime(chrono::Utc::now()),
            token_id: &operator.token_id,
            operator: &operator.name,
            role: operator.role.as_str(),
            id_number_masked: id_number.masked().as_str().to_owned(),
            id_number_hmac: hex(&hmac_sha256(
                &self.key,
                id_number.expose_for_local_storage().as_bytes(),
            )),
            outcome,
            count,
        };
        let mut line = serde_json::to_vec(&record)
            .map_err(|error| FileError::of("encoding", &self.path)(std::io::Error::other(error)))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let open = match &mut *file {
            Some(open) => open,
            empty => empty.insert(
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(&self.path)
                    .map_err(FileError::of("opening", &self.path))?,
            ),
        };
        // One write of the whole line: appends never interleave inside a line.
        let written = open.write_all(&line).and_then(|()| open.sync_data());
        if let Err(error) = written {
            // Reopen next time rather than keep a handle that failed.
            *file = None;
            return Err(FileError::of("writing", &self.path)(error).into());
        }
        Ok(())
    }
}

fn load_or_create_key(path: &Path) -> Result<[u8; 32], AuditError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_key(text.trim()).ok_or_else(|| AuditError::BadKey {
            path: path.to_path_buf(),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let temporary = path.with_extension("key.tmp");
            let mut out = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)
                .map_err(FileError::of("writing", &temporary))?;
            out.write_all(hex(&key).as_bytes())
                .and_then(|()| out.sync_all())
                .map_err(FileError::of("writing", &temporary))?;
            std::fs::rename(&temporary, path).map_err(FileError::of("creating", path))?;
            Ok(key)
        }
        Err(error) => Err(FileError::of("reading", path)(error).into()),
    }
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (index, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// HMAC-SHA-256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Role;

    #[test]
    fn hmac_matches_rfc_4231_test_case_1() {
        // RFC 4231 test case 1 uses a 20-byte key; padded with zeros to 32 bytes the HMAC is
        // the same (keys shorter than the block are zero-padded).
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        assert_eq!(
            hex(&hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn records_name_the_search_but_never_the_number() {
        let dir = tempfile::tempdir().expect("temp dir");
        let audit = IdSearchAudit::open(dir.path()).expect("opens");
        let operator = Operator {
            token_id: "abc123".into(),
            name: "窗口一".into(),
            role: Role::Admin,
            issuer: None,
        };
        let id: ResidentIdNumber = "11010519491231002X".parse().expect("valid");
        audit
            .record(&operator, &id, Outcome::Searched, Some(2))
            .expect("written");
        audit
            .record(&operator, &id, Outcome::RateLimited, None)
            .expect("written");
        let text = std::fs::read_to_string(audit.path()).expect("log");
        assert!(!text.contains("11010519491231002X"), "{text}");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("JSON line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["idNumberMasked"], "1101**********002X");
        assert_eq!(lines[0]["count"], 2);
        assert_eq!(lines[1]["outcome"], "rate_limited");
        assert_eq!(lines[0]["idNumberHmac"], lines[1]["idNumberHmac"]);
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(audit.path()), 0o600);
        assert_eq!(mode(&dir.path().join(AUDIT_DIR)), 0o700);
        // The key survives a restart: the same number hashes the same.
        let again = IdSearchAudit::open(dir.path()).expect("reopens");
        assert_eq!(again.key, audit.key);
    }
}
