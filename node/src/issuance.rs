//! Issuing credentials: validate the request, build the VC, sign it with the member's
//! authority key, store it durably. The HTTP handler and later the bulk importer call this.

use std::sync::Arc;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::credential::{self, CredentialError, IssueRequest};
use talent_core::did::DidKey;
use talent_core::identifiers::{CredentialId, RegionId};
use talent_core::jcs;
use talent_core::proof::{self, ASSERTION_METHOD, ProofOptions};
use talent_core::schema::{SchemaError, SchemaKind, SchemaSet};
use uuid::Uuid;

use crate::store::{Store, StoredCredential};

/// Why an issuance failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The request does not match the issue-request schema.
    #[error(transparent)]
    Schema(SchemaError),
    /// The request cannot become a credential.
    #[error(transparent)]
    Credential(CredentialError),
    /// Signing or storage failed; nothing was stored.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// A credential that is signed and durably stored.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    /// Its id.
    pub id: CredentialId,
    /// The signed VC.
    pub credential: Value,
}

/// Issues credentials as the member's authority.
#[derive(Debug)]
pub struct IssuanceService {
    store: Arc<Store>,
    schemas: Arc<SchemaSet>,
    authority_key: SigningKey,
    authority: DidKey,
    member: RegionId,
}

impl IssuanceService {
    /// A service signing with `authority_key` for `member`.
    pub fn new(
        store: Arc<Store>,
        schemas: Arc<SchemaSet>,
        authority_key: SigningKey,
        member: RegionId,
    ) -> IssuanceService {
        let authority = DidKey::from_verifying_key(&authority_key.verifying_key());
        IssuanceService {
            store,
            schemas,
            authority_key,
            authority,
            member,
        }
    }

    /// Validates, signs and durably stores one credential.
    ///
    /// # Errors
    /// [`IssueError::Schema`] or [`IssueError::Credential`] for a bad request (nothing is
    /// written), [`IssueError::Internal`] when storage fails (nothing is acknowledged).
    pub async fn issue(&self, body: &Value) -> Result<IssuedCredential, IssueError> {
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
        let signed = proof::sign(&prepared.document, &self.authority_key, &options)
            .map_err(|error| IssueError::Internal(error.into()))?;
        let bytes = jcs::canonicalize(&signed);
        let store = Arc::clone(&self.store);
        let resident_id = prepared.resident_id;
        tokio::task::spawn_blocking(move || {
            store.put_credentials(&[StoredCredential {
                id,
                signed_jcs: &bytes,
                resident_id: resident_id.as_ref(),
            }])
        })
        .await
        .map_err(|error| IssueError::Internal(error.into()))?
        .map_err(|error| IssueError::Internal(error.into()))?;
        Ok(IssuedCredential {
            id,
            credential: signed,
        })
    }
}
