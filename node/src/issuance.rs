//! Issuing credentials: validate the request, build the VC, sign it with the member's
//! authority key, append it to the log and answer once it is durable. The HTTP handlers
//! and later the bulk importer call this.

use std::sync::Arc;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::credential::{self, CredentialError, IssueRequest, PreparedCredential};
use talent_core::did::DidKey;
use talent_core::identifiers::{CredentialId, RegionId};
use talent_core::proof::{self, ASSERTION_METHOD, ProofOptions};
use talent_core::schema::{SchemaError, SchemaKind, SchemaSet};
use talent_core::tlog::entry::{self, EntryError};
use uuid::Uuid;

use crate::log::sequencer::{Appended, PendingEntry, SequenceError, Sequencer};

/// Most credentials one batch request may carry.
pub const MAX_BATCH_CREDENTIALS: usize = 1000;

/// Why an issuance failed. Nothing of a failed request is stored.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request does not match the issue-request schema.
    #[error(transparent)]
    Schema(SchemaError),
    /// The request cannot become a credential.
    #[error(transparent)]
    Credential(CredentialError),
    /// The signed credential is too large for a log entry.
    #[error(transparent)]
    Entry(EntryError),
    /// Some items of a batch are invalid: (position, error) for each; none was issued.
    #[error("{} of the batch's credentials are invalid; none was issued", .0.len())]
    Batch(Vec<(usize, IssueError)>),
    /// The batch holds no credentials or more than [`MAX_BATCH_CREDENTIALS`].
    #[error("a batch holds 1 to {MAX_BATCH_CREDENTIALS} credentials, not {0}")]
    BatchSize(usize),
    /// The log could not take or commit the entries.
    #[error(transparent)]
    Log(SequenceError),
    /// Signing failed (an internal invariant broke); nothing was stored.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// A credential that is signed and durably logged.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    /// Its id.
    pub id: CredentialId,
    /// The signed VC.
    pub credential: Value,
    /// Where it is in the log, with the checkpoint and inclusion proof.
    pub log: Appended,
}

/// Issues credentials as the member's authority.
#[derive(Debug)]
pub struct IssuanceService {
    schemas: Arc<SchemaSet>,
    sequencer: Sequencer,
    authority_key: SigningKey,
    authority: DidKey,
    member: RegionId,
}

/// A signed credential waiting for the log.
struct Signed {
    prepared: PreparedCredential,
    credential: Value,
    entry: Vec<u8>,
}

impl IssuanceService {
    /// A service signing with `authority_key` for `member`, logging through `sequencer`.
    pub fn new(
        schemas: Arc<SchemaSet>,
        sequencer: Sequencer,
        authority_key: SigningKey,
        member: RegionId,
    ) -> IssuanceService {
        let authority = DidKey::from_verifying_key(&authority_key.verifying_key());
        IssuanceService {
            schemas,
            sequencer,
            authority_key,
            authority,
            member,
        }
    }

    /// Validates, signs and durably logs one credential.
    ///
    /// # Errors
    /// [`IssueError::Schema`], [`IssueError::Credential`] or [`IssueError::Entry`] for a bad
    /// request, [`IssueError::Log`] when the log is busy or failed.
    pub async fn issue(&self, body: &Value) -> Result<IssuedCredential, IssueError> {
        let signed = self.sign(body)?;
        let mut issued = self.append(vec![signed]).await?;
        issued
            .pop()
            .ok_or_else(|| IssueError::Internal(anyhow::anyhow!("the log acknowledged no entry")))
    }

    /// Validates every request first, then signs and logs all of them as one durable
    /// append. One invalid request refuses the whole batch.
    ///
    /// # Errors
    /// [`IssueError::BatchSize`], [`IssueError::Batch`] listing every invalid item,
    /// [`IssueError::Log`].
    pub async fn issue_batch(&self, bodies: &[Value]) -> Result<Vec<IssuedCredential>, IssueError> {
        if bodies.is_empty() || bodies.len() > MAX_BATCH_CREDENTIALS {
            return Err(IssueError::BatchSize(bodies.len()));
        }
        let mut signed = Vec::with_capacity(bodies.len());
        let mut invalid = Vec::new();
        for (position, body) in bodies.iter().enumerate() {
            match self.sign(body) {
                Ok(item) => signed.push(item),
                Err(error) => invalid.push((position, error)),
            }
        }
        if !invalid.is_empty() {
            return Err(IssueError::Batch(invalid));
        }
        self.append(signed).await
    }

    fn sign(&self, body: &Value) -> Result<Signed, IssueError> {
        self.schemas
            .validate(SchemaKind::IssueRequest, body)
            .map_err(IssueError::Schema)?;
        let request = IssueRequest::from_json(body).map_err(IssueError::Credential)?;
        let now = Utc::now();
        let id = CredentialId::from_uuid(Uuid::now_v7());
        let prepared = credential::prepare(request, &self.authority, &self.member, id, now)
            .map_err(IssueError::Credential)?;
        // The request schema and `prepare` together must yield a valid credential; checking
        // the result too means a gap between them is refused here, never signed.
        self.schemas
            .validate(
                SchemaKind::Credential(prepared.credential_type),
                &prepared.document,
            )
            .map_err(IssueError::Schema)?;
        let options = ProofOptions {
            created: credential::format_datetime(now),
            proof_purpose: ASSERTION_METHOD,
        };
        let credential = proof::sign(&prepared.document, &self.authority_key, &options)
            .map_err(|error| IssueError::Internal(error.into()))?;
        let entry = entry::encode(&credential).map_err(IssueError::Entry)?;
        Ok(Signed {
            prepared,
            credential,
            entry,
        })
    }

    async fn append(&self, signed: Vec<Signed>) -> Result<Vec<IssuedCredential>, IssueError> {
        let mut pending = Vec::with_capacity(signed.len());
        let mut issued = Vec::with_capacity(signed.len());
        for item in signed {
            pending.push(PendingEntry {
                entry: item.entry,
                credential_id: Some(item.prepared.id),
                resident_id: item.prepared.resident_id,
            });
            issued.push((item.prepared.id, item.credential));
        }
        let appended = self
            .sequencer
            .append(pending)
            .await
            .map_err(IssueError::Log)?;
        Ok(issued
            .into_iter()
            .zip(appended)
            .map(|((id, credential), log)| IssuedCredential {
                id,
                credential,
                log,
            })
            .collect())
    }
}
