//! Recognition at this node: answers "is this credential recognised in region R?" from R's
//! agreements as R's log gives them (the own log, or this node's mirror of R's), and counts
//! the answers per (from region, to region, type, outcome) for the statistics — counts only,
//! never who.

use chrono::Utc;
use serde_json::Value;
use talent_core::credential::CredentialType;
use talent_core::federation::Federation;
use talent_core::recognition::{self, Recognition};

use crate::issuers::Issuers;
use crate::store::{Store, StoreError};

/// Why a recognition question cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum RecognitionError {
    /// This node holds no log of the region asked about.
    #[error("this node holds no log of region {0:?}, so it knows none of its agreements")]
    UnknownRegion(String),
    /// Counting failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Answers for `credential` (whose verdict was `valid`), issued by `member` (the member
/// whose log holds it), in `region` (by its registry in `issuers` and the agreements of
/// `federation`, `None` for the development member), and counts the flow in `store`.
///
/// # Errors
/// [`RecognitionError`].
pub fn recognise(
    issuers: &Issuers,
    federation: Option<&Federation>,
    store: &Store,
    credential: &Value,
    valid: bool,
    member: &str,
    region: &str,
) -> Result<Recognition, RecognitionError> {
    let registry = issuers
        .registry(region)
        .ok_or_else(|| RecognitionError::UnknownRegion(region.to_owned()))?;
    let answer =
        recognition::recognise_in(&registry, credential, valid, member, federation, Utc::now());
    let known_member = federation.and_then(|federation| federation.member(member));
    // Only verified credentials of known members are counted: the region and type then
    // come from the federation and the fixed type list, never from free text a caller sent.
    if let (true, Some(_), Some(credential_type)) = (
        valid,
        known_member,
        CredentialType::from_type_array(&credential["type"]),
    ) {
        let outcome = if answer.recognised {
            "recognised"
        } else {
            answer.outcome.map_or("not-recognised", |o| o.as_str())
        };
        store.count_recognition(member, region, credential_type.as_str(), outcome)?;
    }
    Ok(answer)
}
