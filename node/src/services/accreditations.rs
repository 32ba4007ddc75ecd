//! The accreditations of this member's delegated issuers as its office manages them: each
//! with its status in the own log and whether it is in force now. Public facts (issuers and
//! scopes), never talents.

use chrono::{DateTime, Utc};
use talent_core::accreditation::Accreditation;
use talent_core::status::CredentialStatus;

use super::HeldLogs;
use crate::issuers::Issuers;
use crate::store::{LogSpace, StoreError};

/// One accreditation with its standing.
#[derive(Debug, Clone)]
pub struct AccreditationStanding {
    /// The accreditation as its credential states it.
    pub accreditation: Accreditation,
    /// Its status in the own log (valid unless a status change says otherwise).
    pub status: CredentialStatus,
    /// Valid, and `now` is within its window: the issuer may issue under it now.
    pub in_force: bool,
}

/// Every accreditation in the own issuer registry, in log order, with its standing at `now`
/// under the own log's current head.
///
/// # Errors
/// Reading a status from the store failed.
pub fn own(
    logs: &HeldLogs,
    issuers: &Issuers,
    now: DateTime<Utc>,
) -> Result<Vec<AccreditationStanding>, StoreError> {
    let registry = issuers.own();
    let size = logs.log.head().size;
    registry
        .accreditations()
        .map(|accreditation| {
            let status = logs
                .store
                .status(LogSpace::Own, accreditation.id, size)?
                .map_or(CredentialStatus::Valid, |(_, status)| status);
            let in_force = status.is_valid()
                && accreditation.valid_from <= now
                && accreditation.valid_until.is_none_or(|until| now < until);
            Ok(AccreditationStanding {
                accreditation: accreditation.clone(),
                status,
                in_force,
            })
        })
        .collect()
}
