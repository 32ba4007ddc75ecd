//! Recognition at this node: answers "is this credential recognised in region R?" from R's
//! agreements as R's log gives them (the own log, or this node's mirror of R's), and counts
//! the answers per (from region, to region, type, outcome) for the statistics — counts only,
//! never who.

use chrono::Utc;
use talent_core::federation::Federation;
use talent_core::recognition::{self, Presented, Recognition};

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

/// Answers for the `presented` credential in `region` (by its registry in `issuers` and the
/// agreements of `federation`, `None` for the development member), and counts the flow of a
/// verified one (from the member whose log holds it) in `store`.
///
/// # Errors
/// [`RecognitionError`].
pub fn recognise(
    issuers: &Issuers,
    federation: Option<&Federation>,
    store: &Store,
    presented: Presented<'_>,
    region: &str,
) -> Result<Recognition, RecognitionError> {
    let registry = issuers
        .registry(region)
        .ok_or_else(|| RecognitionError::UnknownRegion(region.to_owned()))?;
    let answer = recognition::recognise_in(&registry, presented, federation, Utc::now());
    // Only verified credentials of known members are counted: the region and type then
    // come from the federation and the fixed type list, never from free text a caller sent.
    if let Presented::Verified(credential) = presented
        && let member = credential.member()
        && let (Some(_), Some(credential_type)) = (
            federation.and_then(|federation| federation.member(member)),
            credential.view().credential_type(),
        )
    {
        let outcome = if answer.recognised {
            "recognised"
        } else {
            answer.outcome.map_or("not-recognised", |o| o.as_str())
        };
        store.count_recognition(member, region, credential_type.as_str(), outcome)?;
    }
    Ok(answer)
}
