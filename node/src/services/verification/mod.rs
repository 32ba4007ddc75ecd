//! Verification at this node: the verdict on a presented credential, against the log entry
//! that is exactly it (in the own log or a verified mirror, see [`locate`]), verified
//! together with the concurrent requests of its thread ([`Batcher`]), and, when a region is
//! asked about, whether it is recognised there. The one path of `POST /api/v1/verify`,
//! `POST /credentials/verify` and the console's verification page.

mod batch;
mod locate;

use std::sync::Arc;

use serde_json::Value;
use talent_core::credential::CredentialView;
use talent_core::identifiers::CredentialId;
use talent_core::recognition::{Presented, Recognition};
use talent_core::schema::SchemaSet;
use talent_core::verify::Verdict;
use talent_tlog::merkle::ProofError;

pub use self::batch::Batcher;
use self::batch::{Checked, Request};
use super::HeldLogs;
use super::query_log::{self, Inquiry};
use crate::issuers::Issuers;
use crate::recognition::{RecognitionError, recognise};
use crate::store::StoreError;

/// What a credential is verified against: the logs this node holds, the schemas and the
/// issuer registries of those logs. Cheap to clone (handles).
#[derive(Debug, Clone)]
pub struct Sources {
    /// The own log and the mirrors.
    pub logs: HeldLogs,
    /// Compiled JSON Schemas.
    pub schemas: Arc<SchemaSet>,
    /// Issuer registries of the own log and every mirror.
    pub issuers: Arc<Issuers>,
}

/// Why a verification could not be answered (a failed check is a verdict, not an error).
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// Recognition was asked about a region this node holds no log of.
    #[error("this node holds no log of region {0:?}")]
    UnknownRegion(String),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An inclusion proof could not be built from the log.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
    /// The node's logs disagree with their own indexes (a bug, or a store changed under
    /// the node).
    #[error("{0}")]
    Inconsistent(String),
    /// The batch that held the request ended without answering it (its runtime stopped).
    #[error("a verification batch failed")]
    BatchFailed,
    /// The blocking task answering the recognition question failed.
    #[error("recognition task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<RecognitionError> for VerificationError {
    fn from(error: RecognitionError) -> VerificationError {
        match error {
            RecognitionError::UnknownRegion(region) => VerificationError::UnknownRegion(region),
            RecognitionError::Store(error) => VerificationError::Store(error),
        }
    }
}

/// A verdict and, when a region was asked about, the recognition answer there.
#[derive(Debug)]
pub struct Answer {
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the credential is recognised in the region asked about.
    pub recognition: Option<Recognition>,
}

/// The verdict on `credential` alone, verified in its thread's next turn (see [`Batcher`]).
///
/// # Errors
/// [`VerificationError`] when the evidence cannot be read.
pub async fn verdict(
    batcher: &Batcher,
    sources: Sources,
    credential: Value,
    require_quorum: bool,
    inquiry: &Inquiry,
) -> Result<Verdict, VerificationError> {
    let asked = Asked::of(&credential, &sources);
    let request = Request {
        sources,
        credential,
        require_quorum,
        keep_verified: false,
    };
    let checked = batcher.verify(request).await?;
    asked.record(&checked, inquiry);
    Ok(checked.verdict)
}

/// What the query log needs of a request, taken before the batch takes the credential.
struct Asked {
    id: Option<CredentialId>,
    store: Arc<crate::store::Store>,
    own: Arc<str>,
}

impl Asked {
    fn of(credential: &Value, sources: &Sources) -> Asked {
        Asked {
            id: CredentialView::of(credential).id(),
            store: Arc::clone(&sources.logs.store),
            own: Arc::from(sources.logs.member.id.as_str()),
        }
    }

    /// Records the inquiry when the credential is exactly an entry of the own log.
    fn record(&self, checked: &Checked, inquiry: &Inquiry) {
        if let (Some(id), Some(member)) = (self.id, &checked.log_member)
            && **member == *self.own
        {
            query_log::record(&self.store, id, inquiry, checked.verdict.verified);
        }
    }
}

/// Verifies `credential` at this node (in its thread's next turn, see [`Batcher`]) and,
/// with `region`, answers whether it is recognised there.
///
/// # Errors
/// [`VerificationError::UnknownRegion`] for a region this node holds no log of; storage
/// errors.
pub async fn answer(
    batcher: &Batcher,
    sources: Sources,
    credential: Value,
    require_quorum: bool,
    region: Option<String>,
    inquiry: &Inquiry,
) -> Result<Answer, VerificationError> {
    let inquired = Asked::of(&credential, &sources);
    // Kept only when recognition is asked: the batch takes the credential.
    let asked = region
        .as_ref()
        .map(|_| (credential.clone(), sources.clone()));
    let request = Request {
        sources,
        credential,
        require_quorum,
        keep_verified: region.is_some(),
    };
    let checked = batcher.verify(request).await?;
    inquired.record(&checked, inquiry);
    let Checked {
        verdict,
        log_member,
        verified,
    } = checked;
    let recognition = match (region, asked) {
        (Some(region), Some((credential, sources))) => {
            let recognition = tokio::task::spawn_blocking(move || {
                // The issuing member is the log that holds the credential; a credential
                // no log holds is not valid, and its claimed region only names it.
                let issuing = log_member.unwrap_or_else(|| {
                    CredentialView::of(&credential)
                        .region()
                        .unwrap_or_default()
                        .to_owned()
                });
                let presented = match &verified {
                    Some(credential) => Presented::Verified(credential),
                    None => Presented::NotVerified {
                        credential: &credential,
                        issuing: &issuing,
                    },
                };
                let federation = sources
                    .logs
                    .federation
                    .as_ref()
                    .map(|federation| federation.config.as_ref());
                recognise(
                    &sources.issuers,
                    federation,
                    &sources.logs.store,
                    presented,
                    &region,
                )
            })
            .await??;
            Some(recognition)
        }
        _ => None,
    };
    Ok(Answer {
        verdict,
        recognition,
    })
}
