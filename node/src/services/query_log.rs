//! The holder-visible query log: who verified a credential of this member's own log at this
//! node, for what purpose, through which channel, and with what outcome. The talent reads
//! it with the holder access code the office handed over with the credential (as the
//! national title platform shows its holders their credential's queries).
//!
//! Verifiers state who they are and why (`verifier`, `purpose`); neither is authenticated,
//! both are bounded and stored sealed. A verification of a credential held only in a
//! mirror is not recorded here: its holder's code opens the issuing member's log only.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use talent_core::identifiers::CredentialId;

use crate::store::{Store, StoreError};

/// Longest `verifier`, in characters.
pub const MAX_VERIFIER_CHARS: usize = 100;
/// Longest `purpose`, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// The way a verification reached the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    /// `POST /api/v1/verify`.
    Api,
    /// `POST /credentials/verify` or `/presentations/verify`.
    VcApi,
    /// The console's employer page.
    Console,
}

/// Who asks, and why: what the query log records of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// The verifier, as it names itself (`None`: anonymous).
    pub verifier: Option<String>,
    /// The purpose it states (`None`: none stated).
    pub purpose: Option<String>,
    /// How the request came.
    pub channel: Channel,
}

/// Why an inquiry or a holder's request was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueryLogError {
    /// `verifier` or `purpose` is longer than allowed.
    #[error("`{field}` is longer than {limit} characters")]
    TooLong {
        /// Which.
        field: &'static str,
        /// Its limit.
        limit: usize,
    },
    /// The access code is not the credential's (or the credential is not this member's).
    #[error("the holder access code does not open this credential's query log")]
    CodeMismatch,
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Inquiry {
    /// An inquiry from the fields a request gave, checked against their bounds; blank
    /// fields count as absent.
    ///
    /// # Errors
    /// [`QueryLogError::TooLong`].
    pub fn new(
        verifier: Option<&str>,
        purpose: Option<&str>,
        channel: Channel,
    ) -> Result<Inquiry, QueryLogError> {
        let field = |value: Option<&str>, field: &'static str, limit: usize| match value
            .map(str::trim)
            .filter(|value| !value.is_empty())
        {
            Some(value) if value.chars().count() > limit => {
                Err(QueryLogError::TooLong { field, limit })
            }
            value => Ok(value.map(str::to_owned)),
        };
        Ok(Inquiry {
            verifier: field(verifier, "verifier", MAX_VERIFIER_CHARS)?,
            purpose: field(purpose, "purpose", MAX_PURPOSE_CHARS)?,
            channel,
        })
    }
}

/// One record, as the holder reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRecord {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who, as they named themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
    /// Why, as they said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// How.
    pub channel: Channel,
    /// Whether the credential verified.
    pub verified: bool,
}

/// Records `inquiry` about own credential `id`. A failure to record is logged, not
/// returned: the verifier gets its answer either way.
pub fn record(store: &Arc<Store>, id: CredentialId, inquiry: &Inquiry, verified: bool) {
    let now = Utc::now();
    let record = QueryRecord {
        at: talent_core::credential::format_datetime(now),
        verifier: inquiry.verifier.clone(),
        purpose: inquiry.purpose.clone(),
        channel: inquiry.channel,
        verified,
    };
    let nanos = now
        .timestamp_nanos_opt()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    let bytes = serde_json::to_vec(&record).unwrap_or_default();
    if let Err(error) = store.record_query(id, nanos, &bytes) {
        tracing::warn!(%error, "could not record a verification in the query log");
    }
}

/// Credential `id`'s query log, newest first, for the holder of `code`.
///
/// # Errors
/// [`QueryLogError::CodeMismatch`]; storage errors.
pub fn for_holder(
    store: &Store,
    id: CredentialId,
    code: &str,
) -> Result<Vec<QueryRecord>, QueryLogError> {
    if !store.matches_holder_code(id, code) {
        return Err(QueryLogError::CodeMismatch);
    }
    Ok(store
        .queries(id)?
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PersonalKeys;

    #[test]
    fn the_holder_reads_what_verifiers_said_and_no_one_else_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(dir.path(), PersonalKeys::for_tests()).expect("store"));
        let id = CredentialId::from_uuid(uuid::Uuid::now_v7());
        let other = CredentialId::from_uuid(uuid::Uuid::now_v7());
        let inquiry =
            Inquiry::new(Some(" 重庆某公司 "), Some("招聘核验"), Channel::Api).expect("ok");
        record(&store, id, &inquiry, true);
        record(
            &store,
            id,
            &Inquiry::new(None, Some(""), Channel::Console).expect("ok"),
            false,
        );

        let code = store.holder_code(id);
        assert_eq!(code.len(), 26);
        let records = for_holder(&store, id, &code.to_lowercase()).expect("opens");
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].verifier.as_deref(), Some("重庆某公司"));
        assert_eq!(records[1].purpose.as_deref(), Some("招聘核验"));
        assert_eq!(
            (records[0].verifier.as_ref(), records[0].verified),
            (None, false)
        );

        assert!(matches!(
            for_holder(&store, id, &store.holder_code(other)),
            Err(QueryLogError::CodeMismatch)
        ));
        assert!(matches!(
            for_holder(&store, id, "AAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Err(QueryLogError::CodeMismatch)
        ));
        assert!(matches!(
            Inquiry::new(
                None,
                Some(&"长".repeat(MAX_PURPOSE_CHARS + 1)),
                Channel::Api
            ),
            Err(QueryLogError::TooLong {
                field: "purpose",
                ..
            })
        ));
    }
}
