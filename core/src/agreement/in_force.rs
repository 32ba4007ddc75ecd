//! **In force.** An agreement applies from its `validFrom`; it ends at its `validUntil`, at
//! a logged withdrawal (a status change to 03, 04, 06 or 07), or when a later agreement of
//! the same region that `supersedes` it starts, whichever is first. Ending is not
//! retroactive: after the end, the agreement still covers credentials conferred *and signed*
//! before it (the signing time keeps an issuer from backdating `conferredOn`). Likewise a
//! superseding agreement covers only credentials conferred from its own start: what was
//! conferred before stays under the agreement it replaced.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::identifiers::CredentialId;

use super::document::Agreement;

/// An agreement with the end the log gives it (expiry, withdrawal or supersession).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementInForce {
    /// The agreement.
    pub agreement: Agreement,
    /// When it stopped applying to new credentials, and why.
    pub ended: Option<(DateTime<Utc>, String)>,
}

/// Gives each agreement its end from the log: `withdrawals` (agreement id → when its
/// status left 01) and supersession by later agreements of the same region.
pub fn in_force(
    agreements: Vec<Agreement>,
    withdrawals: &BTreeMap<CredentialId, DateTime<Utc>>,
) -> Vec<AgreementInForce> {
    let superseded: BTreeMap<CredentialId, (DateTime<Utc>, String)> = agreements
        .iter()
        .flat_map(|later| {
            later.supersedes.iter().filter_map(|id| {
                agreements
                    .iter()
                    .find(|a| a.id == *id && a.region == later.region)
                    .map(|_| {
                        (
                            *id,
                            (
                                later.valid_from,
                                format!("was superseded by {}", later.name),
                            ),
                        )
                    })
            })
        })
        .collect();
    agreements
        .into_iter()
        .map(|agreement| {
            let ended = [
                withdrawals
                    .get(&agreement.id)
                    .map(|t| (*t, "was withdrawn".to_owned())),
                superseded.get(&agreement.id).cloned(),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(time, _)| *time);
            AgreementInForce { agreement, ended }
        })
        .collect()
}
