//! Checks on the way to the log that need no store: a batch's size, a submitted object's
//! freshness, a recognition agreement the engine can read.

use chrono::{DateTime, Utc};
use serde_json::Value;
use talent_core::credential::{self, CredentialType};

use super::{IssueError, MAX_BATCH_CREDENTIALS, SUBMIT_CLOCK_SKEW_SECONDS};

/// Refuses a recognition agreement the recognition engine would not read.
pub(super) fn check_agreement(document: &Value) -> Result<(), IssueError> {
    if CredentialType::from_type_array(&document["type"])
        == Some(CredentialType::RecognitionAgreementCredential)
    {
        talent_core::recognition::Agreement::from_credential(document)
            .map_err(IssueError::Agreement)?;
    }
    Ok(())
}

/// Refuses a batch of no requests or of more than [`MAX_BATCH_CREDENTIALS`].
pub(super) fn check_batch_size(count: usize) -> Result<(), IssueError> {
    if count == 0 || count > MAX_BATCH_CREDENTIALS {
        return Err(IssueError::BatchSize(count));
    }
    Ok(())
}

/// Refuses a submitted object signed (`created`) more than [`SUBMIT_CLOCK_SKEW_SECONDS`]
/// before or after the node's time `now`.
pub(super) fn check_fresh(created: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), IssueError> {
    if (created - now).num_seconds().abs() > SUBMIT_CLOCK_SKEW_SECONDS {
        return Err(IssueError::NotFresh {
            created: credential::format_datetime(created),
            now: credential::format_datetime(now),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;

    #[test]
    fn batches_hold_one_to_the_limit() {
        assert!(matches!(check_batch_size(0), Err(IssueError::BatchSize(0))));
        assert!(check_batch_size(1).is_ok());
        assert!(check_batch_size(MAX_BATCH_CREDENTIALS).is_ok());
        assert!(matches!(
            check_batch_size(MAX_BATCH_CREDENTIALS + 1),
            Err(IssueError::BatchSize(count)) if count == MAX_BATCH_CREDENTIALS + 1
        ));
    }

    #[test]
    fn submissions_are_fresh_within_the_skew_either_way() {
        let now = Utc::now();
        let skew = TimeDelta::seconds(SUBMIT_CLOCK_SKEW_SECONDS);
        for created in [now, now - skew, now + skew] {
            assert!(check_fresh(created, now).is_ok(), "{created}");
        }
        for created in [
            now - skew - TimeDelta::seconds(1),
            now + skew + TimeDelta::seconds(1),
        ] {
            assert!(
                matches!(check_fresh(created, now), Err(IssueError::NotFresh { .. })),
                "{created}"
            );
        }
    }

    #[test]
    fn only_agreements_the_engine_cannot_read_are_refused() {
        // Not an agreement: nothing to read.
        let title = json!({"type": ["VerifiableCredential", "ProfessionalTitleCredential"]});
        assert!(check_agreement(&title).is_ok());
        // An agreement without its terms.
        let agreement = json!({
            "type": ["VerifiableCredential", "RecognitionAgreementCredential"],
            "credentialSubject": {},
        });
        assert!(matches!(
            check_agreement(&agreement),
            Err(IssueError::Agreement(_))
        ));
    }
}
