//! Reading own credentials for an operator: one by id (the API's fetch, the console's
//! pages and downloads) and the console's search, newest first, by name, masked or full ID
//! number, credential id, type, category or date. Every read goes through
//! [`super::read_access`]: an issuer token finds only its own issuer's credentials.
//!
//! A search by full ID number confirms who holds a credential, so
//! [`search_by_full_id`] is rate-limited per operator ([`crate::rate_limit`]) and recorded
//! in the audit log ([`crate::audit`]) before its answer is given; it is matched by the
//! keyed index, never by decrypting anything.

use std::time::{Duration, Instant};

use serde_json::Value;
use talent_core::credential::CredentialType;
use talent_core::credential::CredentialView;
use talent_core::identifiers::{CredentialId, ResidentIdNumber};
use talent_core::status::CredentialStatus;

use super::HeldLogs;
use super::read_access::{may_read, may_read_issued_by};
use crate::audit::{AuditError, IdSearchAudit, Outcome};
use crate::issuers::Issuers;
use crate::rate_limit::RateLimiter;
use crate::store::{LogSpace, StoreError};
use crate::tokens::Operator;

/// Most entries one search reads, newest first (a bound on the time a search takes).
const SEARCH_SCAN_LIMIT: u64 = 200_000;
/// Most results one search gives.
const SEARCH_RESULTS: usize = 100;
/// Entries read from the store at a time.
const SEARCH_CHUNK: u64 = 1024;

/// Why an own credential cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No own credential has this id, or the operator may not read it (answered alike).
    #[error("no credential {0} on this node")]
    NotFound(CredentialId),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The logged credential is not JSON.
    #[error("the logged credential is not JSON: {0}")]
    Entry(#[from] serde_json::Error),
}

/// The leaf index of own credential `id`.
///
/// # Errors
/// [`ReadError::NotFound`] when the own log holds no credential `id`.
pub fn own_index(logs: &HeldLogs, id: CredentialId) -> Result<u64, ReadError> {
    logs.store
        .credential_index(id)?
        .ok_or(ReadError::NotFound(id))
}

/// The logged bytes of own credential `id` and its leaf index, if `operator` may read it.
///
/// # Errors
/// [`ReadError::NotFound`] also for a credential the operator may not read.
pub fn read_own(
    logs: &HeldLogs,
    issuers: &Issuers,
    operator: &Operator,
    id: CredentialId,
) -> Result<(u64, Vec<u8>), ReadError> {
    let index = own_index(logs, id)?;
    let bytes = logs.log.entry(index)?.ok_or(ReadError::NotFound(id))?;
    if !may_read(issuers, operator, &bytes) {
        return Err(ReadError::NotFound(id));
    }
    Ok((index, bytes))
}

/// A logged credential of this member, with its status as of the log's head.
#[derive(Debug)]
pub struct OwnCredential {
    /// Its id.
    pub id: CredentialId,
    /// Its leaf index in the own log.
    pub index: u64,
    /// The signed credential.
    pub credential: Value,
    /// Its status now.
    pub status: CredentialStatus,
}

/// Own credential `id` with its status, if `operator` may read it.
///
/// # Errors
/// [`ReadError`], as [`read_own`].
pub fn own_credential(
    logs: &HeldLogs,
    issuers: &Issuers,
    operator: &Operator,
    id: CredentialId,
) -> Result<OwnCredential, ReadError> {
    let (index, bytes) = read_own(logs, issuers, operator, id)?;
    let credential: Value = serde_json::from_slice(&bytes)?;
    let size = logs.log.head().size;
    let status = logs
        .store
        .status(LogSpace::Own, id, size)?
        .map_or(CredentialStatus::Valid, |(_, status)| status);
    Ok(OwnCredential {
        id,
        index,
        credential,
        status,
    })
}

/// What a search asks for; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    /// Name (a part of it), masked or full ID number, or the end of a credential id.
    pub text: Option<String>,
    /// Credential type (its `type` name).
    pub credential_type: Option<String>,
    /// 金凤凰 category or level, exactly.
    pub class: Option<String>,
    /// Valid from on or after this day (YYYY-MM-DD).
    pub from: Option<String>,
    /// Valid from on or before this day (YYYY-MM-DD).
    pub to: Option<String>,
}

/// One search result.
#[derive(Debug)]
pub struct Hit {
    /// The credential id (`urn:uuid:…`).
    pub id: String,
    /// Its type.
    pub credential_type: Option<CredentialType>,
    /// The talent's name.
    pub name: String,
    /// The masked ID number.
    pub masked: String,
    /// Category, level or card class.
    pub class: String,
    /// The day it is valid from.
    pub valid_from: String,
    /// Its status now.
    pub status: CredentialStatus,
}

/// The results of a search and how many log entries it read.
#[derive(Debug)]
pub struct Found {
    /// At most 100 results, newest first.
    pub hits: Vec<Hit>,
    /// Entries read (the newest ones).
    pub scanned: u64,
}

fn text_of<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The level-like field of a subject: 金凤凰 category, title/skill/qualification level or
/// card class.
fn class_of(subject: &Value) -> &str {
    ["category", "level", "cardClass"]
        .iter()
        .find_map(|name| subject.get(*name).and_then(Value::as_str))
        .unwrap_or_default()
}

/// Whether a search text has the shape of a full resident ID number (17 digits and a digit
/// or X), whether or not its check character is right: such text stays out of URLs.
pub fn looks_like_full_id(text: &str) -> bool {
    let bytes = text.trim().as_bytes();
    bytes.len() == 18 && id_shaped(bytes)
}

/// Whether 18 bytes are 17 digits and a digit or X.
fn id_shaped(bytes: &[u8]) -> bool {
    bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17].eq_ignore_ascii_case(&b'x'))
}

/// Whether a text holds something shaped like a full ID number anywhere in it.
pub fn holds_full_id(text: &str) -> bool {
    text.as_bytes().windows(18).any(id_shaped)
}

/// The full ID number a search text asks for, if it asks for one.
pub fn full_id_in(text: Option<&str>) -> Option<ResidentIdNumber> {
    let q = text?.trim();
    if !looks_like_full_id(q) {
        return None;
    }
    q.to_ascii_uppercase().parse().ok()
}

/// Searches the newest own entries for what `criteria` ask and `operator` may read.
///
/// # Errors
/// [`StoreError`] reading entries or statuses.
pub fn search(
    logs: &HeldLogs,
    issuers: &Issuers,
    operator: &Operator,
    criteria: &Criteria,
) -> Result<Found, StoreError> {
    let q = criteria
        .text
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    // A full ID number is searched by its masked form, then confirmed in the local table.
    let full_id = full_id_in(criteria.text.as_deref());
    let masked = full_id
        .as_ref()
        .map(|full| full.masked().as_str().to_owned());
    let wanted_type = criteria
        .credential_type
        .as_deref()
        .and_then(|t| t.parse::<CredentialType>().ok());
    let class = criteria
        .class
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let from = criteria.from.as_deref().filter(|d| !d.is_empty());
    let to = criteria.to.as_deref().filter(|d| !d.is_empty());
    let size = logs.log.head().size;
    let stop = size.saturating_sub(SEARCH_SCAN_LIMIT);
    let mut hits = Vec::new();
    let mut end = size;
    while end > stop && hits.len() < SEARCH_RESULTS {
        let start = end.saturating_sub(SEARCH_CHUNK).max(stop);
        let entries = logs.store.entries(LogSpace::Own, start..end)?;
        for bytes in entries.iter().rev() {
            let Ok(credential) = serde_json::from_slice::<Value>(bytes) else {
                continue;
            };
            let view = CredentialView::of(&credential);
            let Some(ty) = view.credential_type() else {
                continue;
            };
            let subject = view.subject();
            let id = text_of(&credential, "/id");
            let name = subject
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let masked_id = text_of(subject, "/idNumberMasked");
            let valid_from = text_of(&credential, "/validFrom");
            let day = valid_from.get(..10).unwrap_or_default();
            let matches_q = match (q, &masked) {
                (None, _) => true,
                (Some(_), Some(masked)) => masked_id == masked,
                (Some(q), None) => name.contains(q) || masked_id == q || id.ends_with(q),
            };
            if !matches_q
                || wanted_type.is_some_and(|wanted| wanted != ty)
                || class.is_some_and(|class| class_of(subject) != class)
                || from.is_some_and(|from| day < from)
                || to.is_some_and(|to| day > to)
            {
                continue;
            }
            let Ok(credential_id) = CredentialId::parse_lenient(id) else {
                continue;
            };
            // Exactly what the API lets this token read.
            let issuer = credential["issuer"].as_str();
            if !may_read_issued_by(issuers, operator, issuer) {
                continue;
            }
            // By the keyed index: nothing is decrypted to answer a search.
            if let Some(full) = &full_id
                && !logs.store.holds_resident_id(credential_id, full)?
            {
                continue;
            }
            let status = logs
                .store
                .status(LogSpace::Own, credential_id, size)?
                .map_or(CredentialStatus::Valid, |(_, status)| status);
            hits.push(Hit {
                id: id.to_owned(),
                credential_type: Some(ty),
                name: name.to_owned(),
                masked: masked_id.to_owned(),
                class: class_of(subject).to_owned(),
                valid_from: day.to_owned(),
                status,
            });
            if hits.len() == SEARCH_RESULTS {
                break;
            }
        }
        end = start;
    }
    Ok(Found {
        hits,
        scanned: size - end,
    })
}

/// What a search by full ID number gave.
#[derive(Debug)]
pub enum IdSearch {
    /// The search ran and is recorded.
    Answered(Found),
    /// The operator's allowance is spent (recorded): nothing was searched; the allowance
    /// comes back after this long (`Duration::MAX`: never).
    RateLimited(Duration),
}

/// Why a search by full ID number gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum IdSearchError {
    /// The search failed (nothing is recorded: nothing was answered).
    #[error(transparent)]
    Search(#[from] StoreError),
    /// The audit log could not be written: no answer without its record.
    #[error("the ID-number search could not be audited")]
    NotAudited(#[source] AuditError),
}

/// The rate-limited, audited search for the credentials of `full_id` (which `criteria`'s
/// text names), for `operator`: the allowance is taken first, and every outcome (searched
/// with its count, or refused) is written to `audit` before it is given.
///
/// # Errors
/// [`IdSearchError`].
pub fn search_by_full_id(
    logs: &HeldLogs,
    issuers: &Issuers,
    limiter: &RateLimiter,
    audit: &IdSearchAudit,
    operator: &Operator,
    full_id: &ResidentIdNumber,
    criteria: &Criteria,
) -> Result<IdSearch, IdSearchError> {
    if let Err(wait) = limiter.take(&operator.token_id, Instant::now()) {
        audit
            .record(operator, full_id, Outcome::RateLimited, None)
            .map_err(IdSearchError::NotAudited)?;
        return Ok(IdSearch::RateLimited(wait));
    }
    let found = search(logs, issuers, operator, criteria)?;
    audit
        .record(operator, full_id, Outcome::Searched, Some(found.hits.len()))
        .map_err(IdSearchError::NotAudited)?;
    Ok(IdSearch::Answered(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_id_numbers_are_recognised_wherever_they_are_in_a_search() {
        assert!(looks_like_full_id(" 11010519491231002x "));
        assert!(
            looks_like_full_id("110105194912310021"),
            "whatever its check digit"
        );
        assert!(!looks_like_full_id("1101**********002X"), "the masked form");
        assert!(!looks_like_full_id("李明华"));
        assert!(holds_full_id("李 11010519491231002X"));
        assert!(holds_full_id("q11010519491231002Xq"));
        assert!(!holds_full_id("1101051949123100"));
        assert_eq!(
            full_id_in(Some("11010519491231002x")).map(|id| id.masked()),
            Some("1101**********002X".parse().expect("masked"))
        );
        assert!(
            full_id_in(Some("110105194912310021")).is_none(),
            "bad check digit"
        );
    }

    #[test]
    fn the_level_like_field_is_the_first_of_category_level_and_card_class() {
        let subject = serde_json::json!({"level": "高级", "cardClass": "A"});
        assert_eq!(class_of(&subject), "高级");
        assert_eq!(class_of(&serde_json::json!({"cardClass": "A"})), "A");
        assert_eq!(class_of(&serde_json::json!({})), "");
    }
}
